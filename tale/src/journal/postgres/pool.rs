//! The store's connections: a few, opened on demand, each with the journal's
//! statements prepared once; a connection that failed is dropped, and the next call
//! opens a new one (the server restarted, a backend was terminated).

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_postgres::{Client, Config, Statement};

use super::error::db;
use super::schema;
use crate::compose::BoxFuture;
use crate::journal::JournalError;

/// Opens a connection (its I/O driven by a spawned task), TLS or not.
pub(super) type Connect =
    Arc<dyn Fn(Config) -> BoxFuture<'static, Result<Client, tokio_postgres::Error>> + Send + Sync>;

/// The statements every journal operation uses, prepared on each connection.
pub(super) struct Statements {
    pub(super) begin: Statement,
    pub(super) commit: Statement,
    pub(super) rollback: Statement,
    pub(super) insert_saga: Statement,
    pub(super) saga: Statement,
    pub(super) saga_for_update: Statement,
    pub(super) insert_record: Statement,
    pub(super) update_saga: Statement,
    pub(super) records: Statement,
    pub(super) sagas: Statement,
    pub(super) claimable: Statement,
}

/// A connection and its statements.
pub(super) struct Connection {
    pub(super) client: Client,
    pub(super) statements: Statements,
    /// A transaction begun by hand and not yet ended: if the call that began it is
    /// dropped half way, the connection is closed rather than reused (closing it rolls
    /// the transaction back).
    pub(super) in_transaction: bool,
}

impl Connection {
    async fn open(connect: &Connect, config: &Config) -> Result<Self, JournalError> {
        let client = connect(config.clone()).await.map_err(db)?;
        let prepare = |sql: String| {
            let client = &client;
            async move { client.prepare(&sql).await.map_err(db) }
        };
        let statements = Statements {
            begin: prepare("BEGIN".into()).await?,
            commit: prepare("COMMIT".into()).await?,
            rollback: prepare("ROLLBACK".into()).await?,
            insert_saga: prepare(schema::INSERT_SAGA.into()).await?,
            saga: prepare(schema::select_saga("")).await?,
            saga_for_update: prepare(schema::select_saga(" FOR UPDATE")).await?,
            insert_record: prepare(schema::INSERT_RECORD.into()).await?,
            update_saga: prepare(schema::UPDATE_SAGA.into()).await?,
            records: prepare(schema::SELECT_RECORDS.into()).await?,
            sagas: prepare(schema::select_sagas()).await?,
            claimable: prepare(schema::select_claimable()).await?,
        };
        Ok(Self {
            client,
            statements,
            in_transaction: false,
        })
    }
}

/// Up to `max` connections, opened on demand.
pub(super) struct Pool {
    config: Config,
    connect: Connect,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

/// A connection lent by the pool: given back when dropped, unless it failed.
pub(super) struct Lent<'p> {
    pool: &'p Pool,
    connection: Option<Connection>,
    _permit: SemaphorePermit<'p>,
}

impl Lent<'_> {
    pub(super) fn get(&mut self) -> &mut Connection {
        // Invariant: set until dropped.
        self.connection.as_mut().expect("a lent connection")
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take()
            && !connection.client.is_closed()
            && !connection.in_transaction
        {
            self.pool.idle().push(connection);
        }
    }
}

impl Pool {
    pub(super) fn new(config: Config, connect: Connect, max: usize) -> Self {
        Self {
            config,
            connect,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(max.max(1)),
        }
    }

    /// A pool of the same connections, at most `max` at once (its idle ones dropped).
    pub(super) fn resized(&self, max: usize) -> Self {
        Self::new(self.config.clone(), Arc::clone(&self.connect), max)
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection: an idle one that is still open, or a new one.
    pub(super) async fn get(&self) -> Result<Lent<'_>, JournalError> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| JournalError::Database(Box::new(e)))?;
        let reused = loop {
            match self.idle().pop() {
                Some(connection) if connection.client.is_closed() => continue,
                other => break other,
            }
        };
        let connection = match reused {
            Some(connection) => connection,
            None => Connection::open(&self.connect, &self.config).await?,
        };
        Ok(Lent {
            pool: self,
            connection: Some(connection),
            _permit: permit,
        })
    }

    /// Opens a connection outside the pool (for the schema's migration).
    pub(super) async fn client(&self) -> Result<Client, JournalError> {
        (self.connect)(self.config.clone()).await.map_err(db)
    }

    /// The configuration, for `Debug` (whose password tokio-postgres redacts).
    pub(super) fn config(&self) -> &Config {
        &self.config
    }
}
