//! A saga never says "compensated" for work nobody undid. A step whose work may have
//! happened (its attempt was cut short, or it failed with an uncertain outcome) and that
//! has no compensation without its output is reported as not compensated, its outcome
//! unknown: in the error, the events, the report and the journal. And nothing about a
//! failure is lost: `Debug` shows what `Display` shows, a compensation's panic leaves
//! the saga's error with the observer, `{:#}` lays a failure out line by line.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tale::compose::{AsyncLink, AsyncSaga, Branch, run_concurrent_transaction_with};
use tale::journal::{DurableError, Interrupted, MemoryStore, NewSaga, Origin, Status, Store};
use tale::observe::{Report, StepStatus, observe_fn};
use tale::step::from_fn;
use tale::{
    CancelHandle, Cancelled, Event, Executor, Limits, ManualClock, NotCompensated, Outcome,
    SagaError, StepExt, TimedOut, Timeout, TokioClock, saga, step,
};
use tests::Log;
use tokio::time::sleep;

/// The steps' error.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Fail {
    /// An attempt or the saga ran out of time.
    TimedOut(Duration),
    /// The saga was cancelled, or a fail-fast sibling stopped.
    Cancelled,
    /// The service said no.
    Refused,
    /// A durable run was interrupted.
    Interrupted(Interrupted),
}

impl From<TimedOut> for Fail {
    fn from(t: TimedOut) -> Self {
        Fail::TimedOut(t.after)
    }
}

impl From<Cancelled> for Fail {
    fn from(_: Cancelled) -> Self {
        Fail::Cancelled
    }
}

impl From<Interrupted> for Fail {
    fn from(i: Interrupted) -> Self {
        Fail::Interrupted(i)
    }
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

#[step(compensate = undo_quick)]
fn quick(log: &Log) -> Result<u32, Fail> {
    log.push("quick");
    Ok(1)
}

fn undo_quick(log: &Log, _: &u32) -> Result<(), Fail> {
    log.push("undo quick");
    Ok(())
}

/// Charges a card and takes its time; not declared `uncertain`, so its compensation
/// needs the charge it returned.
#[step(compensate = refund)]
async fn charge(log: &Log, secs: u64) -> Result<u32, Fail> {
    sleep(Duration::from_secs(secs)).await;
    log.push("charged");
    Ok(100)
}

async fn refund(log: &Log, _secs: u64, charged: &u32) -> Result<(), Fail> {
    log.push(format!("refund {charged}"));
    Ok(())
}

#[step(compensate = refund_sync)]
fn charge_sync(log: &Log) -> Result<u32, Fail> {
    log.push("charge attempted");
    Err(Fail::Refused)
}

fn refund_sync(log: &Log, charged: &u32) -> Result<(), Fail> {
    log.push(format!("refund {charged}"));
    Ok(())
}

/// What the observer saw: each event's text, and the error the saga finished with.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<(Vec<String>, Option<String>)>>);

impl Seen {
    fn observer(&self) -> impl tale::Observer<Fail> + use<> {
        let seen = self.clone();
        observe_fn(move |event: &Event<'_, Fail>| {
            let mut seen = seen.0.lock().unwrap();
            seen.0.push(event.to_string());
            if let Event::SagaFinished {
                error: Some(error), ..
            } = event
            {
                seen.1 = Some(error.to_string());
            }
        })
    }
    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().0.clone()
    }
    fn final_error(&self) -> Option<String> {
        self.0.lock().unwrap().1.clone()
    }
}

fn assert_outcome_unknown(error: &SagaError<Fail>, step: &str) {
    let SagaError::CompensationFailed {
        not_compensated, ..
    } = error
    else {
        panic!("reported as compensated: {error:?}")
    };
    assert!(
        matches!(&not_compensated[..], [NotCompensated::OutcomeUnknown(s)] if s.name == step),
        "{not_compensated:?}"
    );
    assert!(error.to_string().contains("outcome unknown"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_step_without_an_uncertain_compensation_is_not_reported_undone() {
    let log = Log::new();
    let seen = Seen::default();
    let mut executor = Executor::new()
        .with_clock(TokioClock::new())
        .with_observer((seen.observer(), Report::new(TokioClock::new())));
    let result = saga!(
        async {
            #![saga(executor = &mut executor)]
            let a = quick(&log);
            let b = charge(&log, 60).timeout(Duration::from_secs(5));
            a + b
        }
    )
    .await;
    let error = result.unwrap_err();
    assert_outcome_unknown(&error, "charge");
    // The completed step was undone; the timed-out one was not pretended undone.
    assert_eq!(log.lines(), ["quick", "undo quick"]);
    let events = seen.events();
    assert!(
        events
            .iter()
            .any(|e| e.contains("`charge`: outcome unknown")),
        "{events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| e.starts_with("compensation of `charge`")),
        "{events:?}"
    );
    let report = executor.into_observer().1;
    assert_eq!(report.outcome(), Some(Outcome::CompensationFailed));
    assert_eq!(report.steps()[1].status, StepStatus::OutcomeUnknown);
    assert_eq!(report.steps()[0].status, StepStatus::Compensated);
    assert!(report.to_string().contains("OUTCOME UNKNOWN"), "{report}");
}

#[tokio::test(start_paused = true)]
async fn a_step_stopped_by_the_deadline_is_not_reported_undone() {
    let log = Log::new();
    let result = saga!(
        async {
            #![saga(
            executor = Executor::new().with_clock(TokioClock::new()),
            deadline = Duration::from_secs(5)
        )]
            let a = quick(&log);
            let b = charge(&log, 60);
            a + b
        }
    )
    .await;
    assert_outcome_unknown(&result.unwrap_err(), "charge");
    assert_eq!(log.lines(), ["quick", "undo quick"]);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_step_is_not_reported_undone() {
    let log = Log::new();
    let handle = CancelHandle::new();
    let cancel = handle.clone();
    tokio::spawn(async move {
        sleep(Duration::from_secs(1)).await;
        cancel.cancel();
    });
    let result = saga!(
        async {
            #![saga(executor = Executor::new().with_clock(TokioClock::new()), cancel = &handle)]
            let a = quick(&log);
            let b = charge(&log, 60);
            a + b
        }
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(*error.failure().error(), Fail::Cancelled);
    assert_outcome_unknown(&error, "charge");
}

#[tokio::test(start_paused = true)]
async fn a_sibling_stopped_by_fail_fast_is_not_reported_undone() {
    let log = Log::new();
    let result = saga!(
        async {
            #![saga(executor = Executor::new().with_clock(TokioClock::new()), fail_fast)]
            let (a, b) = join!(charge(&log, 60), charge_sync(&log));
            a + b
        }
    )
    .await;
    let error = result.unwrap_err();
    // The group fails with its first branch (stopped), the refused one beside it.
    assert_eq!(*error.failure().error(), Fail::Cancelled);
    assert_eq!(*error.failure().siblings()[0].error(), Fail::Refused);
    assert_outcome_unknown(&error, "charge");
    assert_eq!(log.lines(), ["charge attempted"]);
}

/// `.uncertain()` on a step whose compensation takes `&Output`: when it fails there is no
/// output to give, so nothing is undone and the saga says so (it used to say
/// "compensated" without running the compensation).
#[test]
fn marking_a_step_uncertain_without_an_uncertain_compensation_is_not_reported_undone() {
    let log = Log::new();
    let result = saga! {
        let a = quick(&log);
        let b = charge_sync(&log).uncertain();
        a + b
    };
    assert_outcome_unknown(&result.unwrap_err(), "charge_sync");
    assert_eq!(log.lines(), ["quick", "charge attempted", "undo quick"]);
}

/// The runtime-composed forms take `Option<&Output>` compensations, so a timed-out link
/// or branch is undone with `None`, honestly.
#[tokio::test(start_paused = true)]
async fn composed_links_and_branches_that_time_out_are_undone_without_their_output() {
    let log = Log::new();
    let (undo, run) = (log.clone(), log.clone());
    let mut saga: AsyncSaga<'_, (), Fail> = AsyncSaga::new("composed").step(
        AsyncLink::new("slow", move |_: &mut ()| {
            Box::pin(async {
                sleep(Duration::from_secs(60)).await;
                Ok(1)
            })
        })
        .compensate(move |_, out: Option<&u32>| {
            let (log, out) = (undo.clone(), out.copied());
            Box::pin(async move {
                log.push(format!("undo link {out:?}"));
                Ok(())
            })
        })
        .timeout(Timeout::after(Duration::from_secs(5))),
    );
    let mut executor = Executor::new().with_clock(TokioClock::new());
    let error = saga.run(&mut executor, &mut ()).await.unwrap_err();
    assert!(error.is_compensated(), "{error:?}");

    let branch: Branch<'_, (), u32, Fail> = Branch::new("slow branch", |_: &()| {
        Box::pin(async {
            sleep(Duration::from_secs(60)).await;
            Ok(2)
        })
    })
    .compensate(move |_, out: Option<&u32>| {
        let (log, out) = (run.clone(), out.copied());
        Box::pin(async move {
            log.push(format!("undo branch {out:?}"));
            Ok(())
        })
    })
    .timeout(Timeout::after(Duration::from_secs(5)));
    let error = run_concurrent_transaction_with(&mut executor, [branch], &(), Limits::new())
        .await
        .unwrap_err();
    assert!(error.is_compensated(), "{error:?}");
    assert_eq!(log.lines(), ["undo link None", "undo branch None"]);
}

/// A durable run whose uncertain step was interrupted by a crash (its start is in the
/// journal, its end is not): a step that cannot be undone without its output leaves the
/// saga stuck, not compensated.
#[test]
fn a_crash_mid_step_that_cannot_be_undone_leaves_the_saga_stuck() {
    let store = MemoryStore::new();
    saga! {
        #![saga(durable)]
        fn pay(amount: &u32, log: &Log) -> Result<u32, DurableError<Fail>> {
            let a = quick(log);
            let b = charge_sync(log).uncertain();
            a + b + amount
        }
    }
    let log = Log::new();
    let claim = store.begin(&NewSaga::new("pay", "5")).unwrap();
    let id = claim.saga;
    // The journal of a run that crashed while step 1 ran.
    for record in [
        tale::journal::Record::StepStarted {
            index: 0,
            name: "quick".into(),
        },
        tale::journal::Record::StepSucceeded {
            index: 0,
            attempts: 1,
            output: "1".into(),
        },
        tale::journal::Record::StepStarted {
            index: 1,
            name: "charge_sync".into(),
        },
    ] {
        store.append(claim, &record).unwrap();
    }
    let error = pay(&store, Origin::Resume(id), &5, &log).unwrap_err();
    let DurableError::Saga(error) = error else {
        panic!("{error:?}")
    };
    assert_outcome_unknown(&error, "charge_sync");
    assert_eq!(store.saga(id).unwrap().status, Status::Stuck);
    assert_eq!(log.lines(), ["undo quick"]);
}

/// `Debug` (what `unwrap()` prints) shows every failed branch of a group, and whether a
/// failed compensation was of an uncertain outcome.
#[tokio::test(start_paused = true)]
async fn debug_shows_every_failure() {
    let log = Log::new();
    let result = saga!(
        async {
            #![saga(executor = Executor::new().with_clock(TokioClock::new()))]
            let (a, b) = join!(charge_sync(&log), charge_sync(&log).named("second"));
            a + b
        }
    )
    .await;
    let debug = format!("{:?}", result.unwrap_err());
    assert!(debug.contains("siblings"), "{debug}");
    assert!(debug.contains("\"second\""), "{debug}");

    let failing_undo = from_fn(|| Err::<u32, _>(Fail::Refused))
        .with_compensation(|_: &u32| Err(Fail::Refused))
        .uncertain();
    let error = Executor::new().run_step(failing_undo).unwrap_err();
    let debug = format!("{error:?}");
    assert!(debug.contains("OutcomeUnknown"), "{debug}");
}

/// A compensation that panics: the other compensations run, the panic resumes, and the
/// observer got the saga's error, with the step failure that started it all.
#[test]
fn a_compensation_panic_leaves_the_saga_error_with_the_observer() {
    let log = Log::new();
    let seen = Seen::default();
    let mut executor = Executor::new().with_observer(seen.observer());
    let panic = catch_unwind(AssertUnwindSafe(|| {
        saga! {
            #![saga(executor = &mut executor)]
            let a = quick(&log);
            step(|| Ok::<_, Fail>(()), |(): &()| -> Result<(), Fail> { panic!("undo broke") });
            charge_sync(&log);
            a
        }
    }));
    assert!(panic.is_err());
    assert_eq!(log.lines(), ["quick", "charge attempted", "undo quick"]);
    let error = seen
        .final_error()
        .expect("the saga's error reached the observer");
    assert!(error.contains("`charge_sync` (step 2) failed"), "{error}");
    assert!(error.contains("its compensation panicked"), "{error}");
}

/// `{:#}` gives an operator one line per failure.
#[test]
fn the_alternate_display_lists_one_failure_a_line() {
    let step = from_fn(|| Err::<u32, _>(Fail::Refused))
        .named("book hotel")
        .retry(tale::Retry::times(1));
    let error = Executor::new()
        .with_clock(ManualClock::new())
        .run_step(step)
        .unwrap_err();
    assert_eq!(
        format!("{error:#}"),
        "saga compensated\n  failed: `book hotel` (step 0) after 2 attempts (no attempts left): Refused"
    );
    assert_eq!(
        error.to_string(),
        "saga compensated: `book hotel` (step 0) failed after 2 attempts (no attempts left): Refused"
    );
}

/// A step named after its position reads once, not twice.
#[test]
fn positional_names_read_naturally() {
    let step = from_fn(|| Err::<u32, _>(Fail::Refused)).named("step 0");
    let error = Executor::new().run_step(step).unwrap_err();
    assert_eq!(
        error.to_string(),
        "saga compensated: step 0 failed after 1 attempt: Refused"
    );
}
