//! Durable runs on a journal: log-before-act, replay after a crash (simulated by a
//! journal that stops accepting writes, which halts the run where a crash would), the
//! idempotency keys steps see, and stuck sagas.

use std::cell::{Cell, RefCell};

use serde::{Deserialize, Serialize};
use tale::journal::{
    DurableError, DurableRun, Interrupted, MemoryStore, NewSaga, Origin, Record, Recoverer, SagaId,
    Status, Store, idempotency_key,
};
use tale::step::from_fn;
use tale::{Executor, StepExt};
use tests::Crashing;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Error {
    Refused(String),
    Interrupted(Interrupted),
}

impl From<Interrupted> for Error {
    fn from(i: Interrupted) -> Self {
        Error::Interrupted(i)
    }
}

/// The outside world: what the steps did, with the key each call carried.
#[derive(Default)]
struct World {
    calls: RefCell<Vec<String>>,
    fail_c: bool,
    fail_undo_a: Cell<bool>,
}

impl World {
    /// `c` fails and `a`'s compensation fails: the saga ends stuck.
    fn stuck() -> Self {
        World {
            fail_c: true,
            fail_undo_a: Cell::new(true),
            ..World::default()
        }
    }
    fn call(&self, what: &str) {
        let key = idempotency_key().map_or_else(|| "no key".to_owned(), |k| k.to_string());
        self.calls.borrow_mut().push(format!("{what} [{key}]"));
    }
    fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }
}

fn ada() -> String {
    "ada".to_owned()
}

/// A three-step saga written as the ladder `saga!` expands to: a, b, c; each output is
/// its name, each compensation logs.
fn trip(
    store: &dyn Store,
    origin: Origin,
    traveller: &String,
    world: &World,
) -> Result<String, DurableError<Error>> {
    let mut executor = Executor::new();
    let mut run = DurableRun::start(&mut executor, store, "trip", traveller, origin)
        .map_err(DurableError::Journal)?;
    let mut a = from_fn(|| {
        world.call("do a");
        Ok::<_, Error>("a".to_owned())
    })
    .with_compensation(|_: &String| {
        world.call("undo a");
        if world.fail_undo_a.get() {
            Err(Error::Refused("a stays".into()))
        } else {
            Ok(())
        }
    })
    .named("a");
    let result = match run.step(0, &mut a) {
        Ok(out_a) => {
            let mut b = from_fn(|| {
                world.call("do b");
                Ok::<_, Error>(format!("{out_a}b"))
            })
            .with_compensation(|_: &String| world.call("undo b"))
            .named("b");
            let inner = match run.step(1, &mut b) {
                Ok(out_b) => {
                    let mut c = from_fn(|| {
                        world.call("do c");
                        if world.fail_c {
                            Err(Error::Refused("no".into()))
                        } else {
                            Ok(format!("{out_b}c"))
                        }
                    })
                    .with_compensation(|_: &String| world.call("undo c"))
                    .named("c");
                    match run.step(2, &mut c) {
                        Ok(out_c) => Ok(out_c),
                        Err(u) => {
                            run.compensate(1, &mut b, out_b);
                            Err(u)
                        }
                    }
                }
                Err(u) => Err(u),
            };
            match inner {
                Ok(out) => Ok(out),
                Err(u) => {
                    run.compensate(0, &mut a, out_a);
                    Err(u)
                }
            }
        }
        Err(u) => Err(u),
    };
    run.finish(result)
}

#[test]
fn a_run_is_journaled_before_each_action() {
    let store = MemoryStore::new();
    let world = World::default();
    assert_eq!(trip(&store, Origin::New, &ada(), &world).unwrap(), "abc");
    let saga = store.sagas(&[]).unwrap().remove(0);
    assert_eq!(
        (saga.name.as_str(), saga.inputs.as_str(), saga.status),
        ("trip", "\"ada\"", Status::Completed)
    );
    let kinds: Vec<String> = store
        .records(saga.id)
        .unwrap()
        .iter()
        .map(|r| {
            format!("{r:?}")
                .split([' ', '{'])
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "StepStarted",
            "StepSucceeded",
            "StepStarted",
            "StepSucceeded",
            "StepStarted",
            "StepSucceeded",
            "Finished"
        ]
    );
    assert_eq!(
        world.calls(),
        [
            "do a [saga-1/step-0/execute]",
            "do b [saga-1/step-1/execute]",
            "do c [saga-1/step-2/execute]"
        ]
    );
}

#[test]
fn a_halted_run_resumes_from_its_journal_without_repeating_steps() {
    let store = MemoryStore::new();
    let world = World::default();
    // Started(a), Succeeded(a), Started(b): the write after b ran fails.
    let crashing = Crashing::new(&store, 3);
    let error = trip(&crashing, Origin::New, &ada(), &world).unwrap_err();
    assert!(matches!(error, DurableError::Journal(_)), "{error:?}");
    assert_eq!(
        store.sagas(&[Status::Running]).unwrap().len(),
        1,
        "left running for recovery"
    );
    let id = store.sagas(&[]).unwrap()[0].id;
    // b ran but its success was not recorded: it runs again, with the same key.
    assert_eq!(
        trip(&store, Origin::Resume(id), &ada(), &world).unwrap(),
        "abc"
    );
    assert_eq!(
        world.calls(),
        [
            "do a [saga-1/step-0/execute]",
            "do b [saga-1/step-1/execute]",
            "do b [saga-1/step-1/execute]",
            "do c [saga-1/step-2/execute]"
        ]
    );
    assert_eq!(store.saga(id).unwrap().status, Status::Completed);
}

#[test]
fn a_run_halted_while_compensating_finishes_the_compensation_once() {
    let store = MemoryStore::new();
    let world = World {
        fail_c: true,
        ..World::default()
    };
    // a, b, c started; c failed; compensation of b started and succeeded; the start of
    // a's compensation cannot be written (the 9th record), so it never ran.
    let crashing = Crashing::new(&store, 8);
    let error = trip(&crashing, Origin::New, &ada(), &world).unwrap_err();
    assert!(matches!(error, DurableError::Journal(_)), "{error:?}");
    let id = store.sagas(&[]).unwrap()[0].id;
    let error = trip(&store, Origin::Resume(id), &ada(), &world).unwrap_err();
    let DurableError::Saga(error) = error else {
        panic!("{error:?}")
    };
    assert!(error.is_compensated());
    assert_eq!(
        *error.failure().error(),
        Error::Refused("no".into()),
        "the recorded failure"
    );
    assert_eq!(
        world.calls(),
        [
            "do a [saga-1/step-0/execute]",
            "do b [saga-1/step-1/execute]",
            "do c [saga-1/step-2/execute]",
            "undo b [saga-1/step-1/compensate]",
            "undo a [saga-1/step-0/compensate]"
        ],
        "nothing ran twice"
    );
    assert_eq!(store.saga(id).unwrap().status, Status::Compensated);
}

#[test]
fn a_compensation_whose_end_was_not_recorded_runs_again_under_the_same_key() {
    let store = MemoryStore::new();
    let world = World {
        fail_c: true,
        ..World::default()
    };
    // As above, but the start of a's compensation is written and its end is not.
    let crashing = Crashing::new(&store, 9);
    trip(&crashing, Origin::New, &ada(), &world).unwrap_err();
    let id = store.sagas(&[]).unwrap()[0].id;
    trip(&store, Origin::Resume(id), &ada(), &world).unwrap_err();
    let undo_a: Vec<_> = world
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("undo a"))
        .collect();
    assert_eq!(
        undo_a, ["undo a [saga-1/step-0/compensate]"; 2],
        "same key: the bank refunds once"
    );
    assert_eq!(store.saga(id).unwrap().status, Status::Compensated);
}

#[test]
fn a_failed_compensation_leaves_the_saga_stuck_with_its_error() {
    let store = MemoryStore::new();
    let world = World::stuck();
    let error = trip(&store, Origin::New, &ada(), &world).unwrap_err();
    let DurableError::Saga(error) = error else {
        panic!("{error:?}")
    };
    assert!(!error.is_compensated());
    let stuck = store.sagas(&[Status::Stuck]).unwrap();
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0].current_step, Some(0));
    assert_eq!(
        stuck[0].last_error.as_deref(),
        Some(r#"[{"Refused":"a stays"}]"#)
    );
    // Resuming a finished saga replays it and changes nothing.
    let again = trip(&store, Origin::Resume(stuck[0].id), &ada(), &world).unwrap_err();
    assert!(matches!(again, DurableError::Saga(e) if !e.is_compensated()));
    assert_eq!(
        world
            .calls()
            .iter()
            .filter(|c| c.starts_with("undo a"))
            .count(),
        1
    );
}

#[test]
fn an_output_that_no_longer_deserializes_is_a_clear_error() {
    let store = MemoryStore::new();
    let claim = store.begin(&NewSaga::new("trip", "\"ada\"")).unwrap();
    let id = claim.saga;
    store
        .append(
            claim,
            &Record::StepStarted {
                index: 0,
                name: "a".into(),
            },
        )
        .unwrap();
    store
        .append(
            claim,
            &Record::StepSucceeded {
                index: 0,
                attempts: 1,
                output: "42".into(),
            },
        )
        .unwrap();
    let error = trip(&store, Origin::Resume(id), &ada(), &World::default()).unwrap_err();
    let DurableError::Journal(error) = error else {
        panic!("{error:?}")
    };
    assert!(
        error
            .to_string()
            .starts_with("saga #1, step 0: stored payload does not deserialize"),
        "{error}"
    );
}

#[test]
fn the_recoverer_completes_unfinished_sagas_and_reports_the_ones_it_cannot() {
    let store = MemoryStore::new();
    let world = World::default();
    // Three sagas halted half way, one of a name nobody registers, one whose inputs
    // no longer fit, and one that finished.
    for _ in 0..3 {
        trip(&Crashing::new(&store, 3), Origin::New, &ada(), &world).unwrap_err();
    }
    let orphan = store.begin(&NewSaga::new("cruise", "{}")).unwrap().saga;
    let bad_inputs = store.begin(&NewSaga::new("trip", "[1, 2]")).unwrap().saga;
    trip(&store, Origin::New, &ada(), &world).unwrap();
    let mut recoverer = Recoverer::new(&store);
    recoverer.register("trip", trip);
    let recovered = recoverer.recover(&world);
    let summary: Vec<_> = recovered
        .iter()
        .map(|r| {
            (
                r.id.0,
                r.result.as_ref().map_err(ToString::to_string).cloned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, Ok(Status::Completed)),
            (2, Ok(Status::Completed)),
            (3, Ok(Status::Completed)),
            (
                4,
                Err(format!(
                    "{} is a `cruise` saga, and no saga of that name is registered",
                    orphan
                ))
            ),
            (
                5,
                Err(format!(
                    "{bad_inputs}: stored payload does not deserialize: invalid type: sequence, expected a string at line 1 column 0"
                ))
            ),
        ]
    );
    assert_eq!(
        store.sagas(&[Status::Running]).unwrap().len(),
        2,
        "the two it could not run stay running"
    );
    // Each halted saga ran `b` twice (its success was never recorded) and `c` once.
    let calls = world.calls();
    assert_eq!(calls.iter().filter(|c| c.starts_with("do c")).count(), 4);
}

#[test]
fn a_stuck_saga_can_be_retried_once_the_cause_is_fixed_or_marked_resolved() {
    let store = MemoryStore::new();
    let world = World::stuck();
    trip(&store, Origin::New, &ada(), &world).unwrap_err();
    trip(&store, Origin::New, &ada(), &world).unwrap_err();
    let mut recoverer = Recoverer::new(&store);
    recoverer.register("trip", trip);
    assert!(
        recoverer.recover(&world).is_empty(),
        "stuck sagas are not recovered by themselves"
    );
    // The bank is back: retrying runs the failed compensation again, and only it.
    world.fail_undo_a.set(false);
    assert_eq!(
        recoverer.retry_stuck(SagaId(1), &world).unwrap(),
        Status::Compensated
    );
    let calls = world.calls();
    let for_saga_1: Vec<_> = calls.iter().filter(|c| c.contains("saga-1/")).collect();
    assert_eq!(
        for_saga_1,
        [
            "do a [saga-1/step-0/execute]",
            "do b [saga-1/step-1/execute]",
            "do c [saga-1/step-2/execute]",
            "undo b [saga-1/step-1/compensate]",
            "undo a [saga-1/step-0/compensate]",
            "undo a [saga-1/step-0/compensate]"
        ]
    );
    // The other is settled by hand.
    recoverer.mark_resolved(SagaId(2)).unwrap();
    assert_eq!(store.saga(SagaId(2)).unwrap().status, Status::Resolved);
    let not_stuck = recoverer.retry_stuck(SagaId(1), &world).unwrap_err();
    assert_eq!(
        not_stuck.to_string(),
        "saga #1: the journal does not match the saga's code: it is compensated, not stuck"
    );
}

#[test]
fn the_journal_records_how_many_attempts_a_step_took() {
    use tale::{ManualClock, Retry};
    let store = MemoryStore::new();
    let mut executor = Executor::new().with_clock(ManualClock::new());
    let mut run = DurableRun::start(&mut executor, &store, "flaky", "x", Origin::New).unwrap();
    let mut calls = 0;
    let mut flaky = tale::step::from_fn(|| {
        calls += 1;
        if calls < 3 {
            Err(Error::Refused("busy".into()))
        } else {
            Ok(calls)
        }
    })
    .retry(Retry::times(5));
    let result = run.step(0, &mut flaky);
    run.finish(result).unwrap();
    let records = store.records(SagaId(1)).unwrap();
    assert!(
        matches!(&records[1], Record::StepSucceeded { attempts: 3, output, .. } if output == "3"),
        "{records:?}"
    );
}

#[test]
fn operators_see_the_attempts_of_the_current_step() {
    let store = MemoryStore::new();
    let world = World::stuck();
    trip(&store, Origin::New, &ada(), &world).unwrap_err();
    let stuck = &store.sagas(&[Status::Stuck]).unwrap()[0];
    assert_eq!(
        (stuck.current_step, stuck.attempts),
        (Some(0), 1),
        "a's compensation failed once"
    );
    let records = store.records(stuck.id).unwrap();
    let step_failed = records
        .iter()
        .find(|r| matches!(r, Record::StepFailed { .. }))
        .unwrap();
    assert!(matches!(step_failed, Record::StepFailed { index: 2, .. }));
}
