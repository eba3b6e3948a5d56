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
//! inputs are its `Plan` (`tests::crash::plan`): which step fails and how, which calls are slow, busy or
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
use std::{env, thread};

use tale::Executor;
use tale::journal::{
    Durability, DurableError, DurableRun, Origin, Recoverer, SqliteStore, Status, Store,
};
use tests::crash::call::Call;
use tests::crash::plan::{Error, Plan, plan};
use tests::crash::services::Services;

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
    let mut flight = Call::new(services, Some(saga), NAME, plan, 0);
    let result = match run.step(0, &mut flight) {
        Ok(r0) => {
            let mut hotel = Call::new(services, Some(saga), NAME, plan, 1);
            let inner = match run.step(1, &mut hotel) {
                Ok(r1) => {
                    let mut payment = Call::new(services, Some(saga), NAME, plan, 2);
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
    let mut stock = Call::new(services, Some(saga), NAME, plan, 0);
    let result = match run.step(0, &mut stock) {
        Ok(r0) => {
            let mut payment = Call::new(services, Some(saga), NAME, plan, 1);
            let inner = match run.step(1, &mut payment) {
                Ok(r1) => {
                    let mut shipping = Call::new(services, Some(saga), NAME, plan, 2);
                    let inner = match run.step(2, &mut shipping) {
                        Ok(r2) => {
                            let mut invoice = Call::new(services, Some(saga), NAME, plan, 3);
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
    let mut debit = Call::new(services, Some(saga), NAME, plan, 0);
    let result = match run.step(0, &mut debit) {
        Ok(r0) => {
            let mut fee = Call::new(services, Some(saga), NAME, plan, 1);
            let inner = match run.step(1, &mut fee) {
                Ok(r1) => {
                    let mut hold = Call::new(services, Some(saga), NAME, plan, 2);
                    let inner = match run.step(2, &mut hold) {
                        Ok(r2) => {
                            let mut credit = Call::new(services, Some(saga), NAME, plan, 3);
                            let inner = match run.step(3, &mut credit) {
                                Ok(r3) => {
                                    let mut receipt =
                                        Call::new(services, Some(saga), NAME, plan, 4);
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
