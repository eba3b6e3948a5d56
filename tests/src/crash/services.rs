//! The outside world of the crash suites, in `services.db`: services that apply each
//! effect once per idempotency key and record every repeat.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use tale::journal::{IdempotencyKey, Phase, SagaId, fencing_token};

use super::plan::{Error, Plan};

/// The outside world, in `services.db`.
pub struct Services {
    /// The connection to `services.db`, shared by the tasks of an async child.
    pub conn: Mutex<Connection>,
    /// The worker (store handle) whose calls these are, as the journal names it.
    pub worker: String,
}

/// What a service answers: the effect's key and amount.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// The key the effect was applied under.
    pub key: String,
    /// What it is worth.
    pub amount: i64,
}

/// What an undo undoes.
pub enum Target<'a> {
    /// The effect of a completed step, from its receipt.
    Effect(&'a Receipt),
    /// Whatever the call with this key did, if anything (the step's outcome is unknown).
    Request(IdempotencyKey),
}

/// The services' tables.
pub const SERVICES_SCHEMA: &str = "
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS effects (
    key     TEXT    PRIMARY KEY,  -- the idempotency key: an effect is applied once
    saga    INTEGER NOT NULL,
    step    INTEGER NOT NULL,
    phase   TEXT    NOT NULL,     -- execute | compensate
    service TEXT    NOT NULL,     -- charge | reserve | refund | cancel
    target  TEXT,                 -- refund, cancel: the key of the effect undone, if any
    amount  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS duplicates (
    id      INTEGER PRIMARY KEY,
    key     TEXT    NOT NULL,
    phase   TEXT    NOT NULL,
    same    INTEGER NOT NULL      -- 1 if the repeat asked for the same effect
);
CREATE TABLE IF NOT EXISTS orders (
    saga    INTEGER PRIMARY KEY,
    name    TEXT    NOT NULL,
    inputs  TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS keyless (
    id      INTEGER PRIMARY KEY,
    what    TEXT    NOT NULL
);
-- Fencing: the highest epoch seen per saga; a call with a lower one is refused.
CREATE TABLE IF NOT EXISTS epochs (
    saga    INTEGER PRIMARY KEY,
    epoch   INTEGER NOT NULL
);
-- Every call, in the order the services served them, with who made it.
CREATE TABLE IF NOT EXISTS calls (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    saga     INTEGER NOT NULL,
    epoch    INTEGER NOT NULL,
    worker   TEXT    NOT NULL,
    key      TEXT    NOT NULL,
    accepted INTEGER NOT NULL   -- 0: refused as stale
);
COMMIT;
";

impl Services {
    /// The connection, whatever a panicking task left behind.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates `services.db` if needed (WAL mode, the tables), and connects to it. One
    /// connection at a time: SQLite may refuse the switch to WAL mode at once
    /// ("database is locked") when several connections make it together.
    pub fn create(dir: &Path) -> rusqlite::Result<Self> {
        let services = Self::connect(dir)?;
        services
            .conn()
            .pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        services.conn().execute_batch(SERVICES_SCHEMA)?;
        Ok(services)
    }

    /// Connects to the `services.db` that [`create`](Self::create) made.
    pub fn connect(dir: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(dir.join("services.db"))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // A killed process loses nothing in WAL mode whatever this says.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(Self {
            conn: Mutex::new(conn),
            worker: "?".into(),
        })
    }

    /// The same services, recording `worker` as the maker of every call.
    #[must_use]
    pub fn by(mut self, worker: &str) -> Self {
        worker.clone_into(&mut self.worker);
        self
    }

    /// Records that the saga `saga` serves this order.
    pub fn order(&self, saga: SagaId, name: &str, plan: &Plan) -> rusqlite::Result<()> {
        let inputs = serde_json::to_string(plan).expect("a plan serializes");
        self.conn().execute(
            "INSERT INTO orders (saga, name, inputs) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![saga.0, name, inputs],
        )?;
        Ok(())
    }

    /// A call that came without the key it should carry: recorded, for the checks.
    pub fn keyless(&self, what: &str) {
        // Best effort: the call fails anyway.
        let _ = self
            .conn()
            .execute("INSERT INTO keyless (what) VALUES (?1)", [what]);
    }

    /// Applies `service` under `key`, once: a repeat is answered with the first
    /// call's receipt and counted in `duplicates`. A call whose fencing token is older
    /// than the newest seen for its saga is refused ([`Error::Fenced`]); every call is
    /// recorded in `calls`.
    pub fn apply(
        &self,
        key: IdempotencyKey,
        service: &str,
        amount: i64,
        target: Option<Target<'_>>,
    ) -> Result<Receipt, Error> {
        let conn = self.conn();
        let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
        let text = key.to_string();
        if let Some(token) = fencing_token() {
            let epoch = i64::try_from(token.epoch).unwrap_or(i64::MAX);
            let newest: Option<i64> = tx
                .query_row(
                    "SELECT epoch FROM epochs WHERE saga = ?1",
                    [token.saga.0],
                    |r| r.get(0),
                )
                .optional()?;
            let accepted = newest.is_none_or(|newest| epoch >= newest);
            tx.execute(
                "INSERT INTO calls (saga, epoch, worker, key, accepted) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![token.saga.0, epoch, self.worker, text, accepted],
            )?;
            if !accepted {
                tx.commit()?;
                return Err(Error::Fenced);
            }
            tx.execute(
                "INSERT INTO epochs (saga, epoch) VALUES (?1, ?2) \
                 ON CONFLICT (saga) DO UPDATE SET epoch = excluded.epoch",
                params![token.saga.0, epoch],
            )?;
        }
        let phase = match key.phase {
            Phase::Execute => "execute",
            Phase::Compensate => "compensate",
        };
        let (target, amount) = match target {
            None => (None, amount),
            Some(Target::Effect(receipt)) => (Some(receipt.key.clone()), receipt.amount),
            Some(Target::Request(request)) => tx
                .query_row(
                    "SELECT key, amount FROM effects WHERE key = ?1",
                    [request.to_string()],
                    |r| Ok((Some(r.get::<_, String>(0)?), r.get::<_, i64>(1)?)),
                )
                .optional()?
                .unwrap_or((None, 0)),
        };
        let inserted = tx.execute(
            "INSERT INTO effects (key, saga, step, phase, service, target, amount) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (key) DO NOTHING",
            params![text, key.saga.0, key.index, phase, service, target, amount],
        )?;
        let receipt = if inserted == 1 {
            Receipt { key: text, amount }
        } else {
            let (first_service, first_target, first_amount) = tx.query_row(
                "SELECT service, target, amount FROM effects WHERE key = ?1",
                [&text],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                },
            )?;
            let same = first_service == service && first_target == target && first_amount == amount;
            tx.execute(
                "INSERT INTO duplicates (key, phase, same) VALUES (?1, ?2, ?3)",
                params![text, phase, same],
            )?;
            Receipt {
                key: text,
                amount: first_amount,
            }
        };
        tx.commit()?;
        Ok(receipt)
    }
}
