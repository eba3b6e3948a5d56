//! Opening the journal an operator names: a SQLite file, or (feature `postgres`) a
//! PostgreSQL database, behind the one [`AsyncStore`] API, with errors a person
//! understands.

use std::path::Path;

use tale::journal::{AsyncStore, JournalError, Leases, SqliteStore, WorkerId};

/// An open journal: the store of a SQLite file or of a PostgreSQL database.
pub(crate) type Journal = Box<dyn AsyncStore>;

/// True if `target` names a PostgreSQL database rather than a file.
fn is_postgres(target: &str) -> bool {
    target.starts_with("postgres://")
        || target.starts_with("postgresql://")
        || target.contains("dbname=")
        || target.contains("host=")
}

/// Opens the journal `target` names, writing (when asked to) as `operator`.
pub(crate) async fn open(target: &str, operator: &str) -> Result<Journal, String> {
    let leases = Leases::new()
        .worker(WorkerId::named(&format!("tale-cli/{operator}")))
        .clock(crate::time::now);
    if is_postgres(target) {
        return open_postgres(target, leases).await;
    }
    let path = Path::new(target);
    if !path.exists() {
        return Err(format!(
            "no journal at {target}: the file does not exist (a SQLite journal is the file \
             your program opened with SqliteStore::open; a PostgreSQL one is named by a \
             postgresql:// URL)"
        ));
    }
    if !path.is_file() {
        return Err(format!("{target} is not a file"));
    }
    match SqliteStore::open(path) {
        Ok(store) => Ok(Box::new(store.with_leases(leases))),
        Err(JournalError::Foreign(why)) => Err(format!("{target} is not a tale journal: {why}")),
        Err(JournalError::Database(e))
            if e.to_string().contains("not a SQLite database")
                || e.to_string().contains("not a database") =>
        {
            Err(format!(
                "{target} is not a tale journal: it is not a SQLite database (or its header \
                 is damaged)"
            ))
        }
        Err(e) => Err(format!("{target}: {e}")),
    }
}

#[cfg(feature = "postgres")]
async fn open_postgres(target: &str, leases: Leases) -> Result<Journal, String> {
    match tale::journal::PgStore::connect(target).await {
        Ok(store) => Ok(Box::new(store.with_leases(leases))),
        Err(e) => Err(format!("the PostgreSQL journal: {e}")),
    }
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_target: &str, _leases: Leases) -> Result<Journal, String> {
    Err("this tale was built without PostgreSQL (feature `postgres`)".into())
}
