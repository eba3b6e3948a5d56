//! `join!` in an async saga runs its branches concurrently and keeps the parallel
//! group's contract: siblings in flight finish, completed branches are compensated,
//! then the steps before the fork, in reverse; every branch error is reported.

use std::time::Duration;

use tale::{Executor, SagaError, TokioClock, saga, step};
use tests::Log;
use tokio::time::{Instant, sleep};

/// The steps' error.
#[derive(Debug, Clone, PartialEq)]
pub struct Fail(&'static str);

#[step(compensate = refund)]
fn debit(log: &Log) -> Result<u32, Fail> {
    log.push("debit");
    Ok(100)
}

fn refund(log: &Log, amount: &u32) -> Result<(), Fail> {
    log.push(format!("refund {amount}"));
    Ok(())
}

#[step(compensate = cancel)]
async fn book(log: &Log, what: &'static str, secs: u64, fail: bool) -> Result<String, Fail> {
    log.push(format!("start {what}"));
    sleep(Duration::from_secs(secs)).await;
    if fail {
        log.push(format!("{what} failed"));
        return Err(Fail(what));
    }
    log.push(format!("booked {what}"));
    Ok(format!("{what}-1"))
}

async fn cancel(
    log: &Log,
    what: &'static str,
    _secs: u64,
    _fail: bool,
    booking: &String,
) -> Result<(), Fail> {
    log.push(format!("cancel {what} {booking}"));
    Ok(())
}

#[step]
fn confirm(log: &Log, fail: bool) -> Result<(), Fail> {
    log.push("confirm");
    if fail { Err(Fail("confirm")) } else { Ok(()) }
}

async fn trip(
    log: &Log,
    flight: (u64, bool),
    hotel: (u64, bool),
    confirm_fails: bool,
) -> Result<(String, String), SagaError<Fail>> {
    saga!(
        async {
            #![saga(name = "trip", executor = Executor::new().with_clock(TokioClock::new()))]
            let _payment = debit(log);
            let (f, h) = join!(
                book(log, "flight", flight.0, flight.1),
                book(log, "hotel", hotel.0, hotel.1)
            );
            confirm(log, confirm_fails);
            (f, h)
        }
    )
    .await
}

#[tokio::test(start_paused = true)]
async fn branches_run_concurrently() {
    let log = Log::default();
    let start = Instant::now();
    let (f, h) = trip(&log, (2, false), (3, false), false).await.unwrap();
    assert_eq!((f.as_str(), h.as_str()), ("flight-1", "hotel-1"));
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(3),
        "the longer branch, not the sum"
    );
    assert_eq!(&log.lines()[..3], ["debit", "start flight", "start hotel"]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_branch_waits_for_its_sibling_then_everything_is_undone() {
    let log = Log::default();
    let start = Instant::now();
    let error = trip(&log, (1, true), (3, false), false).await.unwrap_err();
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(3),
        "the sibling in flight ran to its end"
    );
    assert!(error.is_compensated());
    assert_eq!(*error.failure().error(), Fail("flight"));
    assert_eq!(
        log.lines(),
        [
            "debit",
            "start flight",
            "start hotel",
            "flight failed",
            "booked hotel",
            "cancel hotel hotel-1",
            "refund 100"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn every_failed_branch_is_reported_in_branch_order() {
    let log = Log::default();
    let error = trip(&log, (2, true), (1, true), false).await.unwrap_err();
    assert_eq!(
        *error.failure().error(),
        Fail("flight"),
        "the first branch, though it failed last"
    );
    let siblings: Vec<_> = error
        .failure()
        .siblings()
        .iter()
        .map(|f| f.error().clone())
        .collect();
    assert_eq!(siblings, [Fail("hotel")]);
    assert_eq!(error.failure().siblings()[0].step().index, 2);
    assert_eq!(log.lines().last().unwrap(), "refund 100");
}

#[tokio::test(start_paused = true)]
async fn a_failure_after_the_group_compensates_both_branches_then_the_rest() {
    let log = Log::default();
    trip(&log, (1, false), (1, false), true).await.unwrap_err();
    assert_eq!(
        &log.lines()[5..],
        [
            "confirm",
            "cancel hotel hotel-1",
            "cancel flight flight-1",
            "refund 100"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn discarded_branch_outputs_reach_their_own_compensations() {
    let log = Log::default();
    let error = saga!(
        async {
            #![saga(executor = Executor::new().with_clock(TokioClock::new()))]
            let (_, hotel, _) = join!(
                book(&log, "flight", 0, false),
                book(&log, "hotel", 0, false),
                book(&log, "car", 0, false)
            );
            confirm(&log, hotel != "hotel-1");
            confirm(&log, true);
        }
    )
    .await
    .unwrap_err();
    assert!(error.is_compensated());
    let lines = log.lines();
    let cancelled: Vec<_> = lines.iter().filter(|l| l.starts_with("cancel")).collect();
    assert_eq!(
        cancelled,
        [
            "cancel car car-1",
            "cancel hotel hotel-1",
            "cancel flight flight-1"
        ],
        "{lines:?}"
    );
}

impl From<tale::Cancelled> for Fail {
    fn from(_: tale::Cancelled) -> Self {
        Fail("cancelled")
    }
}

#[step(compensate = unreserve, uncertain)]
async fn reserve(log: &Log, what: &'static str, secs: u64) -> Result<String, Fail> {
    log.push(format!("start {what}"));
    sleep(Duration::from_secs(secs)).await;
    log.push(format!("reserved {what}"));
    Ok(what.to_owned())
}

async fn unreserve(
    log: &Log,
    what: &'static str,
    _secs: u64,
    reserved: Option<&String>,
) -> Result<(), Fail> {
    log.push(format!("unreserve {what} {reserved:?}"));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn fail_fast_stops_the_siblings_in_flight_and_compensates_them_as_uncertain() {
    let log = Log::default();
    let start = Instant::now();
    let result = saga!(
        async {
            #![saga(fail_fast, executor = Executor::new().with_clock(TokioClock::new()))]
            let _payment = debit(&log);
            let (f, h) = join!(book(&log, "flight", 1, true), reserve(&log, "hotel", 5));
            (f, h)
        }
    )
    .await;
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(1),
        "the hotel was not waited for"
    );
    let error = result.unwrap_err();
    assert_eq!(*error.failure().error(), Fail("flight"));
    let siblings: Vec<_> = error
        .failure()
        .siblings()
        .iter()
        .map(|f| f.error().clone())
        .collect();
    assert_eq!(siblings, [Fail("cancelled")]);
    assert_eq!(
        log.lines(),
        [
            "debit",
            "start flight",
            "start hotel",
            "flight failed",
            "unreserve hotel None",
            "refund 100"
        ]
    );
}

#[step(compensate = unhold)]
async fn hold(log: &Log, what: &'static str) -> Result<&'static str, Fail> {
    log.push(format!("hold {what}"));
    Ok(what)
}

async fn unhold(log: &Log, what: &'static str, _held: &&'static str) -> Result<(), Fail> {
    log.push(format!("unhold {what}"));
    sleep(Duration::from_secs(1)).await;
    log.push(format!("unheld {what}"));
    Ok(())
}

/// Three branches whose compensations take a second each; the group's third branch
/// fails if `in_group`, else the step after the group does. Returns how long the
/// compensations took.
async fn undo_three(log: &Log, bound: usize, in_group: bool) -> Duration {
    let start = Instant::now();
    let error = saga!(
        async {
            #![saga(
                executor = Executor::new().with_clock(TokioClock::new()),
                max_concurrent_compensations = bound
            )]
            let (_a, _b, _c) = join!(hold(log, "a"), hold(log, "b"), book(log, "c", 0, in_group));
            confirm(log, true);
        }
    )
    .await
    .unwrap_err();
    assert!(error.is_compensated());
    start.elapsed()
}

#[tokio::test(start_paused = true)]
async fn a_groups_compensations_run_concurrently_last_branch_first() {
    let log = Log::default();
    assert_eq!(
        undo_three(&log, usize::MAX, true).await,
        Duration::from_secs(1),
        "a and b were undone at once"
    );
    let lines = log.lines();
    assert_eq!(&lines[4..6], ["unhold b", "unhold a"], "{lines:?}");

    let log = Log::default();
    assert_eq!(
        undo_three(&log, usize::MAX, false).await,
        Duration::from_secs(1),
        "after a later failure too"
    );
    let lines = log.lines();
    let started: Vec<_> = lines
        .iter()
        .filter(|l| l.starts_with("unhold") || l.starts_with("cancel"))
        .collect();
    assert_eq!(
        started,
        ["cancel c c-1", "unhold b", "unhold a"],
        "{lines:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn max_concurrent_compensations_bounds_a_groups_compensations() {
    for in_group in [true, false] {
        let log = Log::default();
        assert_eq!(
            undo_three(&log, 1, in_group).await,
            Duration::from_secs(2),
            "one at a time"
        );
        let lines = log.lines();
        let undone: Vec<_> = lines.iter().filter(|l| l.starts_with("unh")).collect();
        assert_eq!(
            undone,
            ["unhold b", "unheld b", "unhold a", "unheld a"],
            "in reverse branch order"
        );
    }
}

#[step(pivot)]
fn charge(log: &Log) -> Result<(), Fail> {
    log.push("charge");
    Ok(())
}

#[step(retriable)]
async fn notify(log: &Log, who: &'static str) -> Result<(), Fail> {
    log.push(format!("notify {who}"));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn retriable_branches_may_follow_the_pivot() {
    let log = Log::default();
    saga!(async {
        let _payment = debit(&log);
        charge(&log);
        join!(notify(&log, "guest"), notify(&log, "hotel"));
    })
    .await
    .unwrap();
    assert_eq!(
        log.lines(),
        ["debit", "charge", "notify guest", "notify hotel"]
    );
}

#[step(compensate = unflake, uncertain)]
async fn flaky(log: &Log, what: &'static str) -> Result<(), Fail> {
    log.push(format!("{what} failed"));
    Err(Fail(what))
}

async fn unflake(log: &Log, what: &'static str, _done: Option<&()>) -> Result<(), Fail> {
    log.push(format!("unflake {what}"));
    sleep(Duration::from_secs(1)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_bound_holds_for_uncertain_compensations_of_failed_branches_too() {
    for (bound, took) in [(usize::MAX, 1), (1, 2)] {
        let log = Log::default();
        let start = Instant::now();
        saga!(
            async {
                #![saga(
                    executor = Executor::new().with_clock(TokioClock::new()),
                    max_concurrent_compensations = bound
                )]
                join!(flaky(&log, "a"), flaky(&log, "b"));
            }
        )
        .await
        .unwrap_err();
        assert_eq!(start.elapsed(), Duration::from_secs(took), "bound {bound}");
        assert_eq!(
            log.lines(),
            ["a failed", "unflake a", "b failed", "unflake b"]
        );
    }
}
