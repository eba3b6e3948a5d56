//! The child process of the crash tests (`tests/tests/crash_recovery.rs`): it runs
//! durable sagas against test services, and the harness kills it with SIGKILL at
//! random points.
//!
//! ```text
//! crash_child run <dir> <seed> <n> [lanes]   start n new sagas (on `lanes` threads, default 1)
//! crash_child recover <dir>                  finish every saga the journal shows running
//! ```
//!
//! `<dir>` holds two SQLite files: `journal.db`, tale's journal, and `services.db`, the
//! outside world. The services (`charge`/`refund`, `reserve`/`cancel`) record each
//! effect in the `effects` table under the idempotency key of the step or compensation
//! that asked for it (`key` is the primary key): an effect asked for again under the
//! same key is not applied again, and the repeat is counted in `duplicates`. A saga's
//! inputs are its [`Plan`]: which step fails and how, which calls are slow, busy or
//! time out. The plans come from `<seed>`, so the same seed gives the same sagas.
//!
//! `run` prints `begun <saga id>` for each saga once its start is journaled. `recover`
//! prints `pending <saga id> <kind of its last record>` for each saga it finds running,
//! then `recovered <saga id> <status>` for each saga it finished, and exits with 2 if
//! one could not be recovered. The journal's durability is `TALE_CRASH_SYNC` (`full`,
//! `normal` (the default), `off`): the same for a process crash (which is what is
//! tested here), only slower or faster.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use std::{env, thread};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use tale::journal::{
    Durability, DurableError, DurableRun, IdempotencyKey, Interrupted, Origin, Phase, Recoverer,
    SagaId, SqliteStore, Status, Store, idempotency_key,
};
use tale::step::Describe;
use tale::{Executor, Retry, Step};

/// A step's error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Error {
    /// The service said no, for good.
    Rejected(String),
    /// The service is busy: worth another attempt.
    Busy,
    /// No answer: the call may or may not have been applied.
    Timeout,
    /// The services database failed, or a call came without its idempotency key.
    Service(String),
    /// See [`Interrupted`].
    Interrupted(Interrupted),
}

impl From<Interrupted> for Error {
    fn from(i: Interrupted) -> Self {
        Error::Interrupted(i)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Service(e.to_string())
    }
}

/// How a step's call ends, after its busy attempts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
enum Fail {
    /// It succeeds.
    #[default]
    No,
    /// The service refuses it before doing anything.
    Reject,
    /// The service applies it, then the answer is lost (uncertain steps only).
    Timeout,
}

/// What one step does, decided in advance so that every run of the saga (the first and
/// the replays) meets the same services.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct StepPlan {
    /// What the effect is worth.
    amount: i64,
    /// The first `busy` attempts of each run fail with [`Error::Busy`] (retried).
    busy: u32,
    /// The busy attempts fail after the effect was applied (the retry is a duplicate).
    busy_after_effect: bool,
    /// How the call ends.
    fail: Fail,
    /// The first `undo_busy` attempts of each compensation fail with [`Error::Busy`].
    undo_busy: u32,
    /// The compensation fails for good: the saga ends stuck.
    undo_fails: bool,
    /// Milliseconds the service takes before and after applying an effect.
    pause_ms: u64,
}

/// A saga's inputs.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Plan {
    /// A name for the order, unique in a harness run.
    order: String,
    /// One per step of the saga.
    steps: Vec<StepPlan>,
}

/// The two services: each effect has an undo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Service {
    /// `charge`, undone by `refund`.
    Bank,
    /// `reserve`, undone by `cancel`.
    Stock,
}

impl Service {
    fn effect(self) -> &'static str {
        match self {
            Service::Bank => "charge",
            Service::Stock => "reserve",
        }
    }
    fn undo(self) -> &'static str {
        match self {
            Service::Bank => "refund",
            Service::Stock => "cancel",
        }
    }
}

/// A step's name, service, and whether its outcome is uncertain.
type StepShape = (&'static str, Service, bool);

/// The sagas: their names and, for each step, its name, service and whether its outcome
/// is uncertain. `crash_recovery.rs` keeps the same table.
const SAGAS: [(&str, &[StepShape]); 3] = [
    (
        "trip",
        &[
            ("flight", Service::Stock, false),
            ("hotel", Service::Stock, false),
            ("payment", Service::Bank, true),
        ],
    ),
    (
        "order",
        &[
            ("stock", Service::Stock, false),
            ("payment", Service::Bank, true),
            ("shipping", Service::Stock, false),
            ("invoice", Service::Bank, false),
        ],
    ),
    (
        "transfer",
        &[
            ("debit", Service::Bank, false),
            ("fee", Service::Bank, false),
            ("hold", Service::Stock, true),
            ("credit", Service::Bank, false),
            ("receipt", Service::Stock, false),
        ],
    ),
];

/// splitmix64: small, seedable, good enough to draw plans.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True with probability `percent` %.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The saga number `i` of a run seeded with `seed`: which saga, and its plan.
fn plan(seed: u64, i: u64) -> (usize, Plan) {
    let mut rng = Rng(seed ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    rng.next();
    let kind = rng.below(SAGAS.len() as u64) as usize;
    let shape = SAGAS[kind].1;
    let mut steps: Vec<StepPlan> = shape
        .iter()
        .map(|_| {
            let busy = if rng.chance(15) {
                1 + rng.below(2) as u32
            } else {
                0
            };
            StepPlan {
                amount: 1 + rng.below(1000) as i64,
                busy,
                busy_after_effect: busy > 0 && rng.chance(50),
                fail: Fail::No,
                undo_busy: if rng.chance(15) {
                    1 + rng.below(2) as u32
                } else {
                    0
                },
                undo_fails: false,
                pause_ms: rng.below(5),
            }
        })
        .collect();
    // A third of the sagas fail at one step: refused, or a lost answer on an uncertain one.
    if rng.chance(35) {
        let at = rng.below(steps.len() as u64) as usize;
        steps[at].fail = if shape[at].2 && rng.chance(50) {
            Fail::Timeout
        } else {
            Fail::Reject
        };
    }
    // A few have a compensation that fails for good (it matters only if it runs).
    if rng.chance(4) {
        let at = rng.below(steps.len() as u64) as usize;
        steps[at].undo_fails = true;
    }
    let order = format!("{seed:016x}-{i}");
    (kind, Plan { order, steps })
}

/// The outside world, in `services.db`.
struct Services {
    conn: Connection,
}

/// What a service answers: the effect's key and amount.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Receipt {
    key: String,
    amount: i64,
}

/// What an undo undoes.
enum Target<'a> {
    /// The effect of a completed step, from its receipt.
    Effect(&'a Receipt),
    /// Whatever the call with this key did, if anything (the step's outcome is unknown).
    Request(IdempotencyKey),
}

const SERVICES_SCHEMA: &str = "
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
COMMIT;
";

impl Services {
    /// Creates `services.db` if needed (WAL mode, the tables), and connects to it. One
    /// connection at a time: SQLite may refuse the switch to WAL mode at once
    /// ("database is locked") when several connections make it together.
    fn create(dir: &Path) -> rusqlite::Result<Self> {
        let services = Self::connect(dir)?;
        services
            .conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        services.conn.execute_batch(SERVICES_SCHEMA)?;
        Ok(services)
    }

    /// Connects to the `services.db` that [`create`](Self::create) made.
    fn connect(dir: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(dir.join("services.db"))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // A killed process loses nothing in WAL mode whatever this says.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(Self { conn })
    }

    /// Records that the saga `saga` serves this order.
    fn order(&self, saga: SagaId, name: &str, plan: &Plan) -> rusqlite::Result<()> {
        let inputs = serde_json::to_string(plan).expect("a plan serializes");
        self.conn.execute(
            "INSERT INTO orders (saga, name, inputs) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![saga.0, name, inputs],
        )?;
        Ok(())
    }

    /// A call that came without the key it should carry: recorded, for the checks.
    fn keyless(&self, what: &str) {
        // Best effort: the call fails anyway.
        let _ = self
            .conn
            .execute("INSERT INTO keyless (what) VALUES (?1)", [what]);
    }

    /// Applies `service` under `key`, once: a repeat is answered with the first
    /// call's receipt and counted in `duplicates`.
    fn apply(
        &self,
        key: IdempotencyKey,
        service: &str,
        amount: i64,
        target: Option<Target<'_>>,
    ) -> Result<Receipt, Error> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let text = key.to_string();
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

fn pause(ms: u64) {
    if ms > 0 {
        thread::sleep(Duration::from_millis(ms));
    }
}

/// Busy errors are retried: up to 3 retries, 1 ms apart.
fn busy_retry() -> Retry<Error> {
    Retry::times(3)
        .constant(Duration::from_millis(1))
        .retry_if(|e| matches!(e, Error::Busy))
}

/// One step of a saga: a call to a service, with its undo.
struct Call<'e> {
    services: &'e Services,
    saga: SagaId,
    index: usize,
    name: &'static str,
    service: Service,
    uncertain: bool,
    plan: StepPlan,
    attempts: u32,
    undo_attempts: u32,
}

impl<'e> Call<'e> {
    fn new(services: &'e Services, saga: SagaId, name: &str, plan: &Plan, index: usize) -> Self {
        let shape = SAGAS
            .iter()
            .find(|(n, _)| *n == name)
            .expect("a known saga")
            .1;
        let (step, service, uncertain) = shape[index];
        Self {
            services,
            saga,
            index,
            name: step,
            service,
            uncertain,
            plan: plan.steps[index],
            attempts: 0,
            undo_attempts: 0,
        }
    }

    /// The key tale gives the running call: it must name this saga, step and phase.
    fn key(&self, phase: Phase) -> Result<IdempotencyKey, Error> {
        match idempotency_key() {
            Some(key)
                if key.saga == self.saga
                    && key.index as usize == self.index
                    && key.phase == phase =>
            {
                Ok(key)
            }
            other => {
                let what = format!(
                    "{} step {} ({phase:?}) ran with key {other:?}",
                    self.saga, self.index
                );
                self.services.keyless(&what);
                Err(Error::Service(what))
            }
        }
    }

    fn undo(&mut self, target: Option<&Receipt>) -> Result<(), Error> {
        self.undo_attempts += 1;
        let key = self.key(Phase::Compensate)?;
        pause(self.plan.pause_ms);
        if self.undo_attempts <= self.plan.undo_busy {
            return Err(Error::Busy);
        }
        if self.plan.undo_fails {
            return Err(Error::Rejected(format!("{} cannot be undone", self.name)));
        }
        let target = match target {
            Some(receipt) => Target::Effect(receipt),
            None => Target::Request(IdempotencyKey {
                phase: Phase::Execute,
                ..key
            }),
        };
        self.services
            .apply(key, self.service.undo(), 0, Some(target))?;
        pause(self.plan.pause_ms);
        Ok(())
    }
}

impl Describe for Call<'_> {
    type Error = Error;
    fn name(&self) -> &str {
        self.name
    }
    fn is_uncertain(&self) -> bool {
        self.uncertain
    }
    fn retry_policy(&self) -> Option<Retry<Error>> {
        Some(busy_retry())
    }
    fn compensation_retry_policy(&self) -> Option<Retry<Error>> {
        Some(busy_retry())
    }
}

impl Step for Call<'_> {
    type Output = Receipt;

    fn execute(&mut self) -> Result<Receipt, Error> {
        self.attempts += 1;
        let key = self.key(Phase::Execute)?;
        pause(self.plan.pause_ms);
        let busy = self.attempts <= self.plan.busy;
        if busy && !self.plan.busy_after_effect {
            return Err(Error::Busy);
        }
        if self.plan.fail == Fail::Reject {
            return Err(Error::Rejected(format!("{} refused", self.name)));
        }
        let receipt = self
            .services
            .apply(key, self.service.effect(), self.plan.amount, None)?;
        pause(self.plan.pause_ms);
        if busy {
            return Err(Error::Busy);
        }
        if self.plan.fail == Fail::Timeout {
            return Err(Error::Timeout);
        }
        Ok(receipt)
    }

    fn compensate(&mut self, receipt: &Receipt) -> Result<(), Error> {
        self.undo(Some(receipt))
    }

    fn compensate_uncertain(&mut self) -> Result<(), Error> {
        self.undo(None)
    }
}

type Outcome = Result<i64, DurableError<Error>>;

/// Starts or resumes a run of the saga `name`, and records its order (and, for a new
/// saga, says it began).
fn start<'x>(
    executor: &'x mut Executor,
    store: &'x dyn Store,
    name: &'x str,
    plan: &Plan,
    origin: Origin,
    services: &Services,
) -> Result<DurableRun<'x, Error, (), tale::SystemClock>, DurableError<Error>> {
    let run =
        DurableRun::start(executor, store, name, plan, origin).map_err(DurableError::Journal)?;
    services
        .order(run.saga_id(), name, plan)
        .expect("the services database records the order");
    if origin == Origin::New {
        println!("begun {}", run.saga_id().0);
    }
    Ok(run)
}

/// flight, hotel, payment (uncertain).
fn trip(store: &dyn Store, origin: Origin, plan: &Plan, services: &Services) -> Outcome {
    const NAME: &str = "trip";
    let mut executor = Executor::new();
    let mut run = start(&mut executor, store, NAME, plan, origin, services)?;
    let saga = run.saga_id();
    let mut flight = Call::new(services, saga, NAME, plan, 0);
    let result = match run.step(0, &mut flight) {
        Ok(r0) => {
            let mut hotel = Call::new(services, saga, NAME, plan, 1);
            let inner = match run.step(1, &mut hotel) {
                Ok(r1) => {
                    let mut payment = Call::new(services, saga, NAME, plan, 2);
                    match run.step(2, &mut payment) {
                        Ok(r2) => Ok(r0.amount + r1.amount + r2.amount),
                        Err(u) => {
                            run.compensate(1, &mut hotel, r1);
                            Err(u)
                        }
                    }
                }
                Err(u) => Err(u),
            };
            match inner {
                Ok(total) => Ok(total),
                Err(u) => {
                    run.compensate(0, &mut flight, r0);
                    Err(u)
                }
            }
        }
        Err(u) => Err(u),
    };
    run.finish(result)
}

/// stock, payment (uncertain), shipping, invoice.
fn order(store: &dyn Store, origin: Origin, plan: &Plan, services: &Services) -> Outcome {
    const NAME: &str = "order";
    let mut executor = Executor::new();
    let mut run = start(&mut executor, store, NAME, plan, origin, services)?;
    let saga = run.saga_id();
    let mut stock = Call::new(services, saga, NAME, plan, 0);
    let result = match run.step(0, &mut stock) {
        Ok(r0) => {
            let mut payment = Call::new(services, saga, NAME, plan, 1);
            let inner = match run.step(1, &mut payment) {
                Ok(r1) => {
                    let mut shipping = Call::new(services, saga, NAME, plan, 2);
                    let inner = match run.step(2, &mut shipping) {
                        Ok(r2) => {
                            let mut invoice = Call::new(services, saga, NAME, plan, 3);
                            match run.step(3, &mut invoice) {
                                Ok(r3) => Ok(r0.amount + r1.amount + r2.amount + r3.amount),
                                Err(u) => {
                                    run.compensate(2, &mut shipping, r2);
                                    Err(u)
                                }
                            }
                        }
                        Err(u) => Err(u),
                    };
                    match inner {
                        Ok(total) => Ok(total),
                        Err(u) => {
                            run.compensate(1, &mut payment, r1);
                            Err(u)
                        }
                    }
                }
                Err(u) => Err(u),
            };
            match inner {
                Ok(total) => Ok(total),
                Err(u) => {
                    run.compensate(0, &mut stock, r0);
                    Err(u)
                }
            }
        }
        Err(u) => Err(u),
    };
    run.finish(result)
}

/// debit, fee, hold (uncertain), credit, receipt.
fn transfer(store: &dyn Store, origin: Origin, plan: &Plan, services: &Services) -> Outcome {
    const NAME: &str = "transfer";
    let mut executor = Executor::new();
    let mut run = start(&mut executor, store, NAME, plan, origin, services)?;
    let saga = run.saga_id();
    let mut debit = Call::new(services, saga, NAME, plan, 0);
    let result = match run.step(0, &mut debit) {
        Ok(r0) => {
            let mut fee = Call::new(services, saga, NAME, plan, 1);
            let inner = match run.step(1, &mut fee) {
                Ok(r1) => {
                    let mut hold = Call::new(services, saga, NAME, plan, 2);
                    let inner = match run.step(2, &mut hold) {
                        Ok(r2) => {
                            let mut credit = Call::new(services, saga, NAME, plan, 3);
                            let inner = match run.step(3, &mut credit) {
                                Ok(r3) => {
                                    let mut receipt = Call::new(services, saga, NAME, plan, 4);
                                    match run.step(4, &mut receipt) {
                                        Ok(r4) => Ok(r0.amount
                                            + r1.amount
                                            + r2.amount
                                            + r3.amount
                                            + r4.amount),
                                        Err(u) => {
                                            run.compensate(3, &mut credit, r3);
                                            Err(u)
                                        }
                                    }
                                }
                                Err(u) => Err(u),
                            };
                            match inner {
                                Ok(total) => Ok(total),
                                Err(u) => {
                                    run.compensate(2, &mut hold, r2);
                                    Err(u)
                                }
                            }
                        }
                        Err(u) => Err(u),
                    };
                    match inner {
                        Ok(total) => Ok(total),
                        Err(u) => {
                            run.compensate(1, &mut fee, r1);
                            Err(u)
                        }
                    }
                }
                Err(u) => Err(u),
            };
            match inner {
                Ok(total) => Ok(total),
                Err(u) => {
                    run.compensate(0, &mut debit, r0);
                    Err(u)
                }
            }
        }
        Err(u) => Err(u),
    };
    run.finish(result)
}

fn open_journal(dir: &Path) -> Result<SqliteStore, String> {
    let sync = match env::var("TALE_CRASH_SYNC").as_deref() {
        Ok("full") => Durability::Full,
        Ok("off") => Durability::Off,
        Ok("normal") | Err(_) => Durability::Normal,
        Ok(other) => return Err(format!("TALE_CRASH_SYNC={other}: full, normal or off")),
    };
    SqliteStore::open_with(dir.join("journal.db"), sync).map_err(|e| e.to_string())
}

/// Starts `n` sagas, spread over `lanes` threads.
fn run(dir: &Path, seed: u64, n: u64, lanes: u64) -> Result<(), String> {
    let store = open_journal(dir)?;
    let store = &store;
    drop(Services::create(dir).map_err(|e| e.to_string())?);
    thread::scope(|scope| {
        let lanes: Vec<_> = (0..lanes)
            .map(|lane| {
                scope.spawn(move || -> Result<(), String> {
                    let services = Services::connect(dir).map_err(|e| e.to_string())?;
                    for i in (lane..n).step_by(lanes as usize) {
                        let (kind, plan) = plan(seed, i);
                        let saga = [trip, order, transfer][kind];
                        match saga(store, Origin::New, &plan, &services) {
                            Ok(_) | Err(DurableError::Saga(_)) => {}
                            Err(error) => return Err(format!("{}: {error:?}", plan.order)),
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        lanes
            .into_iter()
            .try_for_each(|lane| lane.join().expect("a lane does not panic"))
    })
}

/// Finishes every saga left running.
fn recover(dir: &Path) -> Result<(), String> {
    let store = open_journal(dir)?;
    let services = Services::create(dir).map_err(|e| e.to_string())?;
    let mut recoverer = Recoverer::new(&store);
    recoverer
        .register("trip", trip)
        .register("order", order)
        .register("transfer", transfer);
    // Where the kill left each unfinished saga: its journal's last record.
    let pending = store.sagas(&[Status::Running]).map_err(|e| e.to_string())?;
    for row in pending {
        let last = match store.records(row.id) {
            Ok(records) => records.last().map_or_else(
                || "Begun".to_owned(),
                |r| {
                    format!("{r:?}")
                        .split([' ', '{'])
                        .next()
                        .unwrap_or("?")
                        .to_owned()
                },
            ),
            Err(_) => "Unreadable".to_owned(),
        };
        println!("pending {} {last}", row.id.0);
    }
    let mut failed = Vec::new();
    for recovered in recoverer.recover(&services) {
        match recovered.result {
            Ok(status) => println!("recovered {} {}", recovered.id.0, status.as_str()),
            Err(error) => failed.push(format!("{} ({}): {error}", recovered.id, recovered.name)),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let number = |i: usize, default: Option<u64>| -> Result<u64, String> {
        match (args.get(i), default) {
            (Some(text), _) => text
                .parse()
                .map_err(|_| format!("argument {i}: `{text}` is not a number")),
            (None, Some(default)) => Ok(default),
            (None, None) => Err(format!("argument {i} is missing")),
        }
    };
    let result = match (args.first().map(String::as_str), args.get(1)) {
        (Some("run"), Some(dir)) => (|| {
            let lanes = number(4, Some(1))?.max(1);
            run(Path::new(dir), number(2, None)?, number(3, None)?, lanes)
        })(),
        (Some("recover"), Some(dir)) => recover(Path::new(dir)),
        _ => Err(
            "usage: crash_child run <dir> <seed> <n> [lanes] | crash_child recover <dir>".into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crash_child: {error}");
            ExitCode::from(2)
        }
    }
}
