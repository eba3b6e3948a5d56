//! PostgreSQL errors as the journal reports them: the server's message and SQLSTATE,
//! or what cut the connection; never the connection's password.

use crate::journal::JournalError;

/// A database error, as the journal reports it (the server's message; never the
/// connection's password, which tokio-postgres does not put in its errors).
pub(super) fn db(error: tokio_postgres::Error) -> JournalError {
    JournalError::Database(Box::new(PgError(error)))
}

/// tokio-postgres's error, shown with what a person needs: the server's message and
/// SQLSTATE for an error the server raised (tokio-postgres shows only "db error"), the
/// cause otherwise ("error communicating with the server: ...").
#[derive(Debug)]
struct PgError(tokio_postgres::Error);

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(server) = self.0.as_db_error() {
            return write!(
                f,
                "{}: {} (SQLSTATE {})",
                server.severity(),
                server.message(),
                server.code().code()
            );
        }
        write!(f, "{}", self.0)?;
        if let Some(cause) = std::error::Error::source(&self.0) {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PgError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}
