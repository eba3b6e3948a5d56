//! [`PgStore`]: the journal on PostgreSQL (feature `postgres`), for many workers on
//! many machines.

mod error;
mod pool;
mod schema;
#[cfg(feature = "testing")]
mod server;
mod store;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Config, NoTls, Socket};

use super::payload::Payloads;
use super::{JournalError, Leases};
use pool::{Connect, Pool};
#[cfg(feature = "testing")]
pub use server::PgTestServer;

/// The [`AsyncStore`](super::AsyncStore) on PostgreSQL: a journal shared by workers on
/// many machines, with the same ownership, lease and fencing protocol as every store
/// (it passes [`conformance`](super::conformance)).
///
/// Every write is one transaction that locks the saga's row (`SELECT ... FOR UPDATE`),
/// checks the writer's epoch, and writes the record and the summary; a claim takes the
/// oldest claimable sagas with `FOR UPDATE SKIP LOCKED`, so workers claiming at once
/// never wait for each other nor get the same saga. Statements are prepared once per
/// connection and every value is a parameter: nothing of a saga's name, inputs or
/// outputs is ever spliced into SQL.
///
/// Connecting creates the schema, or migrates an older one, in one transaction under an
/// advisory lock (processes connecting to a fresh database at once wait for each
/// other); a journal a newer tale wrote gives [`JournalError::NewerSchema`]. Its
/// tables are prefixed `tale_`, readable with `psql`:
/// `SELECT id, name, current_step_name, last_error FROM tale_sagas WHERE status = 'stuck'`.
///
/// A lost connection (the server restarted, a backend was terminated, a statement
/// timed out) is an error of the call that met it ([`JournalError::Database`]), never a
/// panic: the durable run whose write failed stops before its next action, and a worker
/// resumes the saga once the database is back; the store opens a new connection for
/// the next call. Its calls need a tokio runtime (the connections' I/O runs on spawned
/// tasks). Leases are read from the store handle's clock, as for every store: the
/// machines' clocks decide only how soon a saga changes hands, never whether two
/// owners may write.
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> Result<(), tale::journal::JournalError> {
/// use tale::journal::{AsyncStore, PgStore, Status};
///
/// let store = PgStore::connect("host=/run/postgresql dbname=app user=app").await?;
/// let stuck = store.sagas(&[Status::Stuck]).await?;
/// # let _ = stuck;
/// # Ok(())
/// # }
/// ```
pub struct PgStore {
    pool: Pool,
    leases: Leases,
    payloads: Payloads,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = self.pool.config();
        f.debug_struct("PgStore")
            .field("hosts", &config.get_hosts())
            .field("dbname", &config.get_dbname())
            .field("user", &config.get_user())
            .field("worker", self.leases.worker_id())
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// The schema version this tale writes, and the newest it reads.
    pub const SCHEMA_VERSION: i64 = schema::SCHEMA_VERSION as i64;

    /// The most connections a store handle opens, by default.
    pub const DEFAULT_CONNECTIONS: usize = 8;

    /// Connects without TLS to the database `config` names (a libpq-style connection
    /// string or URL: `host=... dbname=... user=... password=...`, or
    /// `postgresql://user:password@host/dbname`), creating or migrating the journal's
    /// schema.
    ///
    /// Server settings go in the string's `options`: with
    /// `options='-c statement_timeout=5s'` a journal write that waits longer (on a lock,
    /// on a busy server) fails with [`JournalError::Database`], and its saga stops before
    /// its next action, for a worker to resume.
    ///
    /// # Errors
    ///
    /// [`JournalError::Database`] if the string does not parse (the message never
    /// quotes it: it may hold a password) or the server cannot be reached, and as
    /// [`connect_with`](Self::connect_with).
    pub async fn connect(config: &str) -> Result<Self, JournalError> {
        Self::connect_with(parse(config)?, NoTls).await
    }

    /// Connects to the database `config` names through `tls` (for instance the
    /// `tokio-postgres-rustls` connector), creating or migrating the journal's schema.
    ///
    /// # Errors
    ///
    /// [`JournalError::Database`] if the server cannot be reached or refuses the
    /// connection, [`JournalError::NewerSchema`] for a journal a newer tale wrote,
    /// [`JournalError::Foreign`] for a `tale_meta` table that is not tale's.
    pub async fn connect_with<T>(config: Config, tls: T) -> Result<Self, JournalError>
    where
        T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
        T::Stream: Send + 'static,
        T::TlsConnect: Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let connect: Connect = Arc::new(move |config: Config| {
            let tls = tls.clone();
            Box::pin(async move {
                let (client, connection) = config.connect(tls).await?;
                // The connection's I/O; it ends (and the client is closed) when the
                // server goes away.
                tokio::spawn(connection);
                Ok(client)
            })
        });
        let pool = Pool::new(config, connect, Self::DEFAULT_CONNECTIONS);
        let mut client = pool.client().await?;
        schema::create_or_migrate(&mut client).await?;
        Ok(Self {
            pool,
            leases: Leases::new(),
            payloads: Payloads::default(),
        })
    }

    /// Connects through TLS (rustls, feature `postgres-rustls`) to the database `config`
    /// names, trusting the certificates `tls` trusts: what managed PostgreSQL services
    /// require. Put `sslmode=require` in `config` so that the connection fails rather
    /// than falls back to plain text.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect), and [`JournalError::Database`] if the server's
    /// certificate is not trusted.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn demo(ca_der: Vec<u8>) -> Result<(), tale::journal::JournalError> {
    /// use std::sync::Arc;
    /// use tale::journal::PgStore;
    ///
    /// let mut roots = rustls::RootCertStore::empty();
    /// roots.add(ca_der.into()).expect("a CA certificate");
    /// let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
    ///     rustls::crypto::ring::default_provider(),
    /// ))
    /// .with_safe_default_protocol_versions()
    /// .expect("TLS 1.2 and 1.3")
    /// .with_root_certificates(roots)
    /// .with_no_client_auth();
    /// let store = PgStore::connect_tls("host=db.example.com dbname=app user=app sslmode=require", tls).await?;
    /// # drop(store);
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "postgres-rustls")]
    pub async fn connect_tls(
        config: &str,
        tls: rustls::ClientConfig,
    ) -> Result<Self, JournalError> {
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
        Self::connect_with(parse(config)?, tls).await
    }

    /// The same store, written as `leases` says (a worker id, a lease length, a clock);
    /// by default a fresh worker with leases of [`Leases::DEFAULT_TTL`].
    #[must_use]
    pub fn with_leases(mut self, leases: Leases) -> Self {
        self.leases = leases;
        self
    }

    /// The same store, its payloads (inputs, outputs, errors) sealed by `codec` (see
    /// [`PayloadCodec`](super::PayloadCodec)).
    #[must_use]
    pub fn with_codec(mut self, codec: impl super::PayloadCodec + 'static) -> Self {
        self.payloads = Payloads::sealed(codec);
        self
    }

    /// The same store, opening at most `n` connections (at least one).
    #[must_use]
    pub fn max_connections(mut self, n: usize) -> Self {
        self.pool = self.pool.resized(n);
        self
    }
}

/// A connection string, parsed; the error never quotes it (it may hold a password).
fn parse(config: &str) -> Result<Config, JournalError> {
    Config::from_str(config).map_err(|e| {
        JournalError::Database(
            format!("the PostgreSQL connection string does not parse: {e}").into(),
        )
    })
}
