//! Fan-outs in `saga!`: `for item in iter { step }` runs one typed step per item, in
//! order; `join!(for ...)` runs them concurrently in an async saga. A failure undoes the
//! completed items (each with its own output) and then the steps before; the error
//! names the item.

use std::time::Duration;

use tale::{Executor, Retry, SagaError, TokioClock, saga, step};
use tests::Log;
use tokio::time::{Instant, sleep};

/// The steps' error.
#[derive(Debug, Clone, PartialEq)]
pub struct Fail(String);

impl From<tale::Cancelled> for Fail {
    fn from(_: tale::Cancelled) -> Self {
        Fail("cancelled".into())
    }
}

/// Who a seat is booked for.
pub struct Passenger {
    name: &'static str,
    /// The seat service refuses this passenger.
    refused: bool,
}

fn passengers(names: &[&'static str], refused: Option<&str>) -> Vec<Passenger> {
    names
        .iter()
        .map(|&name| Passenger {
            name,
            refused: Some(name) == refused,
        })
        .collect()
}

#[step(compensate = refund)]
fn charge(log: &Log) -> Result<u32, Fail> {
    log.push("charge");
    Ok(100)
}

fn refund(log: &Log, amount: &u32) -> Result<(), Fail> {
    log.push(format!("refund {amount}"));
    Ok(())
}

#[step(compensate = release_seat)]
fn book_seat(log: &Log, flight: &u32, passenger: &Passenger) -> Result<String, Fail> {
    log.push(format!("book {}", passenger.name));
    if passenger.refused {
        return Err(Fail(format!("no seat for {}", passenger.name)));
    }
    Ok(format!("{flight}/{}", passenger.name))
}

fn release_seat(log: &Log, _: &u32, _: &Passenger, seat: &String) -> Result<(), Fail> {
    log.push(format!("release {seat}"));
    Ok(())
}

#[step]
fn confirm(log: &Log, seats: &[String], fail: bool) -> Result<usize, Fail> {
    log.push(format!("confirm {}", seats.len()));
    if fail {
        Err(Fail("confirm".into()))
    } else {
        Ok(seats.len())
    }
}

fn group(
    log: &Log,
    people: &[Passenger],
    confirm_fails: bool,
) -> Result<Vec<String>, SagaError<Fail>> {
    saga! {
        let amount = charge(log);
        let seats = for passenger in people { book_seat(log, &amount, passenger) };
        confirm(log, &seats, confirm_fails);
        seats
    }
}

#[test]
fn each_item_runs_its_step_in_order_and_a_later_step_borrows_the_outputs() {
    let log = Log::default();
    let seats = group(&log, &passengers(&["ada", "bob", "cy"], None), false).unwrap();
    assert_eq!(seats, ["100/ada", "100/bob", "100/cy"]);
    assert_eq!(
        log.lines(),
        ["charge", "book ada", "book bob", "book cy", "confirm 3"]
    );
}

#[test]
fn a_failed_item_stops_the_rest_and_undoes_the_items_before_it_then_the_steps_before() {
    let log = Log::default();
    let error = group(
        &log,
        &passengers(&["ada", "bob", "cy", "dee"], Some("cy")),
        false,
    )
    .unwrap_err();
    assert!(error.is_compensated());
    assert_eq!(
        log.lines(),
        [
            "charge",
            "book ada",
            "book bob",
            "book cy",
            "release 100/bob",
            "release 100/ada",
            "refund 100",
        ]
    );
    // The fan-out is step 1 as written: its items are steps 2.., item 2 is step 4.
    let step = error.failure().step();
    assert_eq!(
        (step.index, step.item, &*step.name),
        (4, Some(2), "book_seat")
    );
    assert_eq!(step.to_string(), "`book_seat` (item 2, step 4)");
    assert_eq!(error.failure().error(), &Fail("no seat for cy".into()));
}

#[test]
fn a_failure_after_the_fan_out_undoes_every_item_in_reverse() {
    let log = Log::default();
    let error = group(&log, &passengers(&["ada", "bob"], None), true).unwrap_err();
    assert!(error.is_compensated());
    assert_eq!(
        log.lines(),
        [
            "charge",
            "book ada",
            "book bob",
            "confirm 2",
            "release 100/bob",
            "release 100/ada",
            "refund 100",
        ]
    );
    // After a fan-out of two items, the step written third runs as step 4.
    let step = error.failure().step();
    assert_eq!((step.index, step.item), (4, None));
}

#[test]
fn an_empty_fan_out_does_nothing_and_the_steps_after_it_run() {
    let log = Log::default();
    let error = group(&log, &[], true).unwrap_err();
    assert_eq!(log.lines(), ["charge", "confirm 0", "refund 100"]);
    assert_eq!(error.failure().step().index, 2);
    assert_eq!(group(&log, &[], false).unwrap(), Vec::<String>::new());
}

#[step(compensate = unreserve)]
fn reserve(log: &Log, n: u32) -> Result<u32, Fail> {
    log.push(format!("reserve {n}"));
    Ok(n * 10)
}

fn unreserve(log: &Log, n: u32, out: &u32) -> Result<(), Fail> {
    log.push(format!("unreserve {n} {out}"));
    if n == 2 {
        return Err(Fail("unreserve 2".into()));
    }
    Ok(())
}

#[test]
fn modifiers_apply_to_each_item_and_a_failed_compensation_names_its_item() {
    let log = Log::default();
    let flaky = std::cell::Cell::new(0);
    let result: Result<(), SagaError<Fail>> = saga! {
        let _reserved: Vec<u32> = for n in 1..=3 { reserve(&log, n).named("reserve_room") };
        step(|| {
            flaky.set(flaky.get() + 1);
            log.push("pay");
            Err::<(), _>(Fail("pay".into()))
        }).retry(Retry::times(1));
    };
    let error = result.unwrap_err();
    assert_eq!(flaky.get(), 2, "the step after the fan-out retried");
    assert_eq!(
        log.lines(),
        [
            "reserve 1",
            "reserve 2",
            "reserve 3",
            "pay",
            "pay",
            "unreserve 3 30",
            "unreserve 2 20",
            "unreserve 1 10",
        ]
    );
    let failed = &error.compensation_failures()[0];
    assert_eq!(
        (
            failed.step().index,
            failed.step().item,
            &*failed.step().name
        ),
        (2, Some(1), "reserve_room")
    );
    assert!(!error.is_compensated());
}

#[step(compensate = cancel_async)]
async fn book_async(log: &Log, name: &'static str, secs: u64, fail: bool) -> Result<String, Fail> {
    log.push(format!("start {name}"));
    sleep(Duration::from_secs(secs)).await;
    if fail {
        log.push(format!("{name} failed"));
        return Err(Fail(name.into()));
    }
    log.push(format!("booked {name}"));
    Ok(format!("{name}-seat"))
}

async fn cancel_async(
    log: &Log,
    name: &'static str,
    _: u64,
    _: bool,
    seat: &String,
) -> Result<(), Fail> {
    log.push(format!("cancel {name} {seat}"));
    Ok(())
}

type Item = (&'static str, u64, bool);

async fn in_order(log: &Log, items: &[Item]) -> Result<Vec<String>, SagaError<Fail>> {
    saga!(
        async {
            #![saga(executor = Executor::new().with_clock(TokioClock::new()))]
            let amount = charge(log);
            let seats = for &(name, secs, fail) in items {
                book_async(log, name, secs, fail)
            };
            confirm(log, &seats, amount == 0);
            seats
        }
    )
    .await
}

#[tokio::test(start_paused = true)]
async fn an_async_fan_out_in_order_awaits_each_item_before_the_next() {
    let log = Log::default();
    let start = Instant::now();
    let items = [("ada", 1, false), ("bob", 2, false)];
    let seats = in_order(&log, &items).await.unwrap();
    assert_eq!(seats, ["ada-seat", "bob-seat"]);
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    let failed = [("ada", 1, false), ("bob", 2, true), ("cy", 1, false)];
    let log = Log::default();
    let error = in_order(&log, &failed).await.unwrap_err();
    assert_eq!(error.failure().step().item, Some(1));
    assert_eq!(
        log.lines(),
        [
            "charge",
            "start ada",
            "booked ada",
            "start bob",
            "bob failed",
            "cancel ada ada-seat",
            "refund 100",
        ]
    );
}

async fn concurrently(
    log: &Log,
    items: &[Item],
    limit: usize,
    fail_after: bool,
) -> Result<Vec<String>, SagaError<Fail>> {
    saga!(
        async {
            #![saga(executor = Executor::new().with_clock(TokioClock::new()))]
            let _amount = charge(log);
            let seats = join!(
                for &(name, secs, fail) in items {
                    book_async(log, name, secs, fail)
                },
                max_concurrent = limit,
            );
            confirm(log, &seats, fail_after);
            seats
        }
    )
    .await
}

#[tokio::test(start_paused = true)]
async fn a_concurrent_fan_out_runs_its_items_at_once_up_to_its_bound() {
    let items = [("ada", 3, false), ("bob", 1, false), ("cy", 2, false)];
    let log = Log::default();
    let start = Instant::now();
    let seats = concurrently(&log, &items, usize::MAX, false).await.unwrap();
    assert_eq!(seats, ["ada-seat", "bob-seat", "cy-seat"], "in item order");
    assert_eq!(start.elapsed(), Duration::from_secs(3), "all at once");
    assert_eq!(
        &log.lines()[..4],
        ["charge", "start ada", "start bob", "start cy"]
    );

    // At most two at once: cy starts when bob ends, at 1 s, and ends at 3 s.
    let log = Log::default();
    let start = Instant::now();
    concurrently(&log, &items, 2, false).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(
        &log.lines()[..5],
        ["charge", "start ada", "start bob", "booked bob", "start cy"]
    );

    // One at a time: the sum.
    let start = Instant::now();
    concurrently(&Log::default(), &items, 1, false)
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn a_failed_concurrent_item_lets_the_ones_in_flight_end_starts_no_more_and_undoes_the_rest() {
    let items = [
        ("ada", 3, false),
        ("bob", 1, true),
        ("cy", 2, false),
        ("dee", 1, false),
    ];
    let log = Log::default();
    let error = concurrently(&log, &items, 3, false).await.unwrap_err();
    assert!(error.is_compensated());
    let lines = log.lines();
    assert!(!lines.contains(&"start dee".to_owned()), "{lines:?}");
    assert_eq!(
        lines,
        [
            "charge",
            "start ada",
            "start bob",
            "start cy",
            "bob failed",
            "booked cy",
            "booked ada",
            "cancel cy cy-seat",
            "cancel ada ada-seat",
            "refund 100",
        ]
    );
    let step = error.failure().step();
    assert_eq!((step.index, step.item), (3, Some(1)));
}

#[tokio::test(start_paused = true)]
async fn every_failed_item_is_reported_the_first_in_item_order_first() {
    let items = [("ada", 2, true), ("bob", 1, true), ("cy", 1, false)];
    let error = concurrently(&Log::default(), &items, usize::MAX, false)
        .await
        .unwrap_err();
    assert_eq!(error.failure().step().item, Some(0));
    let siblings: Vec<_> = error
        .failure()
        .siblings()
        .iter()
        .map(|s| s.step().item)
        .collect();
    assert_eq!(siblings, [Some(1)]);
}

#[tokio::test(start_paused = true)]
async fn a_failure_after_a_concurrent_fan_out_undoes_every_item_concurrently() {
    let items = [("ada", 1, false), ("bob", 1, false)];
    let log = Log::default();
    let error = concurrently(&log, &items, usize::MAX, true)
        .await
        .unwrap_err();
    assert!(error.is_compensated());
    assert_eq!(
        &log.lines()[5..],
        [
            "confirm 2",
            "cancel bob bob-seat",
            "cancel ada ada-seat",
            "refund 100"
        ],
        "listed last first"
    );
    assert_eq!(error.failure().step().index, 4);
}

#[step(compensate = cancel_uncertain, uncertain)]
async fn hold(log: &Log, name: &'static str, secs: u64, fail: bool) -> Result<String, Fail> {
    log.push(format!("hold {name}"));
    sleep(Duration::from_secs(secs)).await;
    if fail {
        return Err(Fail(name.into()));
    }
    Ok(name.to_owned())
}

async fn cancel_uncertain(
    log: &Log,
    name: &'static str,
    _: u64,
    _: bool,
    held: Option<&String>,
) -> Result<(), Fail> {
    log.push(format!("unhold {name} {held:?}"));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn fail_fast_stops_the_items_in_flight_and_undoes_them_without_output() {
    let log = Log::default();
    let items = [("ada", 5, false), ("bob", 1, true)];
    let start = Instant::now();
    let error = saga!(
        async {
            #![saga(fail_fast, executor = Executor::new().with_clock(TokioClock::new()))]
            let held = join!(for &(name, secs, fail) in &items {
                hold(&log, name, secs, fail)
            });
            held
        }
    )
    .await
    .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(1), "ada was stopped");
    let mut lines = log.lines();
    lines.sort();
    assert_eq!(
        lines,
        ["hold ada", "hold bob", "unhold ada None", "unhold bob None"]
    );
    // Failures are listed in item order: ada, stopped, first; bob, who failed, after.
    assert_eq!(error.failure().step().item, Some(0));
    assert_eq!(error.failure().error(), &Fail("cancelled".into()));
    assert_eq!(error.failure().siblings()[0].step().item, Some(1));
}

#[test]
fn a_concurrent_fan_out_in_a_sync_saga_body_runs_its_items_in_order() {
    // `join!(for ...)` in a sync saga: one after another, as a sync `join!` does.
    let log = Log::default();
    let people = passengers(&["ada", "bob"], Some("ada"));
    let result: Result<Vec<String>, SagaError<Fail>> = saga! {
        let seats = join!(for passenger in &people { book_seat(&log, &1, passenger) });
        seats
    };
    assert_eq!(result.unwrap_err().failure().step().item, Some(0));
    assert_eq!(log.lines(), ["book ada"]);
}

#[tokio::test(start_paused = true)]
async fn run_concurrent_steps_takes_step_values_made_from_data() {
    use tale::compose::run_concurrent_steps;
    let log = Log::default();
    let items = [("ada", 2, false), ("bob", 1, false)];
    let mut executor = Executor::new().with_clock(TokioClock::new());
    let steps = items
        .iter()
        .map(|&(name, secs, fail)| book_async(&log, name, secs, fail));
    let start = Instant::now();
    let seats = run_concurrent_steps(&mut executor, steps).await.unwrap();
    assert_eq!(seats, ["ada-seat", "bob-seat"]);
    assert_eq!(start.elapsed(), Duration::from_secs(2));

    let log = Log::default();
    let items = [("ada", 2, false), ("bob", 1, true), ("cy", 1, false)];
    let steps = items
        .iter()
        .map(|&(name, secs, fail)| book_async(&log, name, secs, fail));
    let error = run_concurrent_steps(&mut executor, steps)
        .await
        .unwrap_err();
    assert!(error.is_compensated());
    assert_eq!(error.failure().step().item, Some(1));
    let mut lines = log.lines();
    lines.sort();
    assert_eq!(
        lines,
        [
            "bob failed",
            "booked ada",
            "booked cy",
            "cancel ada ada-seat",
            "cancel cy cy-seat",
            "start ada",
            "start bob",
            "start cy"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_concurrent_fan_outs_compensations_keep_to_max_concurrent_compensations() {
    // Undoing takes time here, so two at once would interleave their log lines.
    #[step(compensate = slow_cancel)]
    async fn seat(_log: &Log, name: &'static str) -> Result<String, Fail> {
        Ok(name.to_owned())
    }
    async fn slow_cancel(log: &Log, name: &'static str, _: &String) -> Result<(), Fail> {
        log.push(format!("cancel {name} begins"));
        sleep(Duration::from_secs(1)).await;
        log.push(format!("cancel {name} ends"));
        Ok(())
    }
    let log = Log::default();
    let names = ["ada", "bob", "cy"];
    let start = Instant::now();
    let error = saga!(async {
        #![saga(max_concurrent_compensations = 1, executor = Executor::new().with_clock(TokioClock::new()))]
        let _seats = join!(for &name in &names { seat(&log, name) });
        confirm(&log, &[], true);
    })
    .await
    .unwrap_err();
    assert!(error.is_compensated());
    assert_eq!(start.elapsed(), Duration::from_secs(3), "one at a time");
    assert_eq!(
        &log.lines()[1..],
        [
            "cancel cy begins",
            "cancel cy ends",
            "cancel bob begins",
            "cancel bob ends",
            "cancel ada begins",
            "cancel ada ends"
        ],
        "last item first"
    );
}
