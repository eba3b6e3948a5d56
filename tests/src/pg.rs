//! The tests' PostgreSQL server: tale's [`PgTestServer`], the throwaway cluster it
//! starts (or `TALE_PG_URL`'s).

pub use tale::journal::PgTestServer;

/// The server of this test process.
#[must_use]
pub fn server() -> &'static PgTestServer {
    PgTestServer::shared()
}

/// True if the PostgreSQL tests are to be skipped (`TALE_PG_SKIP=1`, by hand only).
#[must_use]
pub fn skipped() -> bool {
    PgTestServer::skipped()
}
