//! The `metrics` feature: `MetricsObserver` records sagas, attempts and compensations
//! as counters, their durations as histograms and the sagas in flight as a gauge, with
//! the `saga`, `step`, `outcome` and `phase` labels. Each test installs a recorder of its
//! own on its thread (`metrics::with_local_recorder`), so tests never share one.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Waker};
use std::time::Duration;

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use tale::observe::MetricsObserver;
use tale::{Executor, ManualClock, Retry, SagaError, TokioClock, saga, step};
use tokio::time::sleep;

/// The steps' error.
#[derive(Debug, Clone, PartialEq)]
pub struct Fail(&'static str);

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[step(compensate = refund)]
fn debit(clock: &ManualClock) -> Result<u32, Fail> {
    clock.advance(secs(1));
    Ok(100)
}

fn refund(clock: &ManualClock, _amount: &u32) -> Result<(), Fail> {
    clock.advance(secs(4));
    Ok(())
}

#[step(compensate = cancel)]
fn book(clock: &ManualClock, fail: bool) -> Result<String, Fail> {
    clock.advance(secs(2));
    if fail {
        Err(Fail("no room"))
    } else {
        Ok("H1".to_owned())
    }
}

fn cancel(_clock: &ManualClock, _fail: bool, _booking: &String) -> Result<(), Fail> {
    Ok(())
}

#[step(compensate = unreserve)]
fn reserve(clock: &ManualClock) -> Result<(), Fail> {
    clock.advance(secs(1));
    Ok(())
}

fn unreserve(clock: &ManualClock, (): &()) -> Result<(), Fail> {
    clock.advance(secs(8));
    Err(Fail("gone"))
}

/// An executor and its observer on one manual clock, which the steps move.
fn executor(clock: &ManualClock) -> Executor<MetricsObserver<ManualClock>, ManualClock> {
    Executor::new()
        .with_clock(clock.clone())
        .with_observer(MetricsObserver::with_clock(clock.clone()))
}

#[test]
fn a_completed_saga_counts_its_steps_and_times_them() {
    let clock = ManualClock::new();
    let seen = recorded(|| {
        let mut executor = executor(&clock);
        let result = saga! {
            #![saga(name = "trip", executor = &mut executor)]
            let payment = debit(&clock);
            let hotel = book(&clock, false);
            (payment, hotel)
        };
        assert_eq!(result.unwrap(), (100, "H1".to_owned()));
    });
    assert_eq!(
        seen.counters(),
        series([
            (
                r#"tale_sagas_finished_total{outcome="completed",saga="trip"}"#,
                1
            ),
            (r#"tale_sagas_started_total{saga="trip"}"#, 1),
            (r#"tale_step_attempts_total{saga="trip",step="book"}"#, 1),
            (r#"tale_step_attempts_total{saga="trip",step="debit"}"#, 1),
        ])
    );
    assert_eq!(
        seen.histograms(),
        series([
            (
                r#"tale_saga_duration_seconds{outcome="completed",saga="trip"}"#,
                vec![3.0]
            ),
            (
                r#"tale_step_duration_seconds{phase="execute",saga="trip",step="book"}"#,
                vec![2.0]
            ),
            (
                r#"tale_step_duration_seconds{phase="execute",saga="trip",step="debit"}"#,
                vec![1.0]
            ),
        ])
    );
    assert_eq!(
        seen.gauges(),
        series([(r#"tale_sagas_in_flight{saga="trip"}"#, vec![1.0, 0.0])])
    );
}

#[test]
fn a_compensated_saga_counts_the_failure_and_the_compensation() {
    let clock = ManualClock::new();
    let seen = recorded(|| {
        let mut executor = executor(&clock);
        let result = saga! {
            #![saga(name = "trip", executor = &mut executor)]
            let payment = debit(&clock);
            let hotel = book(&clock, true);
            (payment, hotel)
        };
        assert!(result.unwrap_err().is_compensated());
    });
    assert_eq!(
        seen.counters(),
        series([
            (
                r#"tale_compensation_attempts_total{saga="trip",step="debit"}"#,
                1
            ),
            (
                r#"tale_sagas_finished_total{outcome="compensated",saga="trip"}"#,
                1
            ),
            (r#"tale_sagas_started_total{saga="trip"}"#, 1),
            (r#"tale_step_attempts_total{saga="trip",step="book"}"#, 1),
            (r#"tale_step_attempts_total{saga="trip",step="debit"}"#, 1),
            (r#"tale_step_failures_total{saga="trip",step="book"}"#, 1),
        ])
    );
    assert_eq!(
        seen.histograms(),
        series([
            (
                r#"tale_saga_duration_seconds{outcome="compensated",saga="trip"}"#,
                vec![7.0]
            ),
            (
                r#"tale_step_duration_seconds{phase="compensate",saga="trip",step="debit"}"#,
                vec![4.0]
            ),
            (
                r#"tale_step_duration_seconds{phase="execute",saga="trip",step="book"}"#,
                vec![2.0]
            ),
            (
                r#"tale_step_duration_seconds{phase="execute",saga="trip",step="debit"}"#,
                vec![1.0]
            ),
        ])
    );
    assert_eq!(
        seen.gauges(),
        series([(r#"tale_sagas_in_flight{saga="trip"}"#, vec![1.0, 0.0])])
    );
}

#[test]
fn a_saga_whose_compensation_fails_is_stuck() {
    let clock = ManualClock::new();
    let seen = recorded(|| {
        let mut executor = executor(&clock);
        let result = saga! {
            #![saga(name = "order", executor = &mut executor)]
            reserve(&clock);
            let payment = debit(&clock);
            let hotel = book(&clock, true);
            (payment, hotel)
        };
        let error = result.unwrap_err();
        assert!(
            matches!(error, SagaError::CompensationFailed { .. }),
            "{error:?}"
        );
    });
    assert_eq!(
        seen.counters(),
        series([
            (
                r#"tale_compensation_attempts_total{saga="order",step="debit"}"#,
                1
            ),
            (
                r#"tale_compensation_attempts_total{saga="order",step="reserve"}"#,
                1
            ),
            (
                r#"tale_compensation_failures_total{saga="order",step="reserve"}"#,
                1
            ),
            (
                r#"tale_sagas_finished_total{outcome="stuck",saga="order"}"#,
                1
            ),
            (r#"tale_sagas_started_total{saga="order"}"#, 1),
            (r#"tale_step_attempts_total{saga="order",step="book"}"#, 1),
            (r#"tale_step_attempts_total{saga="order",step="debit"}"#, 1),
            (
                r#"tale_step_attempts_total{saga="order",step="reserve"}"#,
                1
            ),
            (r#"tale_step_failures_total{saga="order",step="book"}"#, 1),
        ])
    );
    let histograms = seen.histograms();
    let histogram = |name: &str| {
        histograms
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, samples)| samples.clone())
    };
    assert_eq!(
        histogram(r#"tale_saga_duration_seconds{outcome="stuck",saga="order"}"#),
        Some(vec![16.0])
    );
    assert_eq!(
        histogram(r#"tale_step_duration_seconds{phase="compensate",saga="order",step="reserve"}"#),
        Some(vec![8.0]),
        "a failed compensation is timed too"
    );
    assert_eq!(
        seen.gauges(),
        series([(r#"tale_sagas_in_flight{saga="order"}"#, vec![1.0, 0.0])])
    );
}

#[test]
fn a_retried_step_counts_every_attempt_and_its_duration_includes_the_delays() {
    #[step(retry = Retry::times(3).constant(Duration::from_secs(1)))]
    fn flaky(calls: &Cell<u32>) -> Result<u32, Fail> {
        calls.set(calls.get() + 1);
        if calls.get() < 3 {
            Err(Fail("busy"))
        } else {
            Ok(calls.get())
        }
    }
    let clock = ManualClock::new();
    let calls = Cell::new(0);
    let seen = recorded(|| {
        let mut executor = executor(&clock);
        let result = saga! {
            #![saga(name = "poll", executor = &mut executor)]
            let n = flaky(&calls);
            n
        };
        assert_eq!(result.unwrap(), 3);
    });
    assert_eq!(
        seen.counters(),
        series([
            (
                r#"tale_sagas_finished_total{outcome="completed",saga="poll"}"#,
                1
            ),
            (r#"tale_sagas_started_total{saga="poll"}"#, 1),
            (r#"tale_step_attempts_total{saga="poll",step="flaky"}"#, 3),
            (r#"tale_step_failures_total{saga="poll",step="flaky"}"#, 2),
        ])
    );
    assert_eq!(
        seen.histograms(),
        series([
            (
                r#"tale_saga_duration_seconds{outcome="completed",saga="poll"}"#,
                vec![2.0]
            ),
            (
                r#"tale_step_duration_seconds{phase="execute",saga="poll",step="flaky"}"#,
                vec![2.0]
            ),
        ]),
        "one sample per phase, the two retry delays included"
    );
}

#[test]
fn a_panicked_saga_leaves_the_gauge_and_counts_as_panicked() {
    #[step]
    fn boom() -> Result<(), Fail> {
        panic!("boom")
    }
    let clock = ManualClock::new();
    let seen = recorded(|| {
        let mut executor = executor(&clock);
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            saga! {
                #![saga(name = "risky", executor = &mut executor)]
                let payment = debit(&clock);
                boom();
                payment
            }
        }));
        assert!(panicked.is_err());
    });
    let counters = seen.counters();
    assert!(
        counters.contains(&(
            r#"tale_sagas_finished_total{outcome="panicked",saga="risky"}"#.to_owned(),
            1
        )),
        "{counters:?}"
    );
    assert!(
        counters.contains(&(
            r#"tale_step_failures_total{saga="risky",step="boom"}"#.to_owned(),
            1
        )),
        "{counters:?}"
    );
    assert!(
        counters.contains(&(
            r#"tale_compensation_attempts_total{saga="risky",step="debit"}"#.to_owned(),
            1
        )),
        "{counters:?}"
    );
    assert_eq!(
        seen.gauges(),
        series([(r#"tale_sagas_in_flight{saga="risky"}"#, vec![1.0, 0.0])])
    );
}

#[step(compensate = unpay)]
fn pay() -> Result<u32, Fail> {
    Ok(1)
}

fn unpay(_: &u32) -> Result<(), Fail> {
    Ok(())
}

#[step(compensate = unfly)]
async fn fly(secs: u64, fail: bool) -> Result<String, Fail> {
    sleep(Duration::from_secs(secs)).await;
    if fail {
        Err(Fail("no seat"))
    } else {
        Ok("F1".to_owned())
    }
}

async fn unfly(_secs: u64, _fail: bool, _: &String) -> Result<(), Fail> {
    Ok(())
}

#[step(compensate = unstay)]
async fn stay(secs: u64) -> Result<String, Fail> {
    sleep(Duration::from_secs(secs)).await;
    Ok("H1".to_owned())
}

async fn unstay(_secs: u64, _: &String) -> Result<(), Fail> {
    sleep(Duration::from_secs(1)).await;
    Ok(())
}

#[test]
fn an_async_join_times_each_branch_apart() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let seen = recorded(|| {
        runtime.block_on(async {
            let mut executor = Executor::new()
                .with_clock(TokioClock::new())
                .with_observer(MetricsObserver::with_clock(TokioClock::new()));
            // The flight fails after 1 s; the hotel, in flight, books at 3 s and is
            // cancelled in 1 s; then the payment is refunded.
            let result = saga!(
                async {
                    #![saga(name = "holiday", executor = &mut executor)]
                    let _payment = pay();
                    let (flight, hotel) = join!(fly(1, true), stay(3));
                    (flight, hotel)
                }
            )
            .await;
            assert!(result.unwrap_err().is_compensated());
        });
    });
    assert_eq!(
        seen.counters(),
        series([
            (
                r#"tale_compensation_attempts_total{saga="holiday",step="pay"}"#,
                1
            ),
            (
                r#"tale_compensation_attempts_total{saga="holiday",step="stay"}"#,
                1
            ),
            (
                r#"tale_sagas_finished_total{outcome="compensated",saga="holiday"}"#,
                1
            ),
            (r#"tale_sagas_started_total{saga="holiday"}"#, 1),
            (r#"tale_step_attempts_total{saga="holiday",step="fly"}"#, 1),
            (r#"tale_step_attempts_total{saga="holiday",step="pay"}"#, 1),
            (r#"tale_step_attempts_total{saga="holiday",step="stay"}"#, 1),
            (r#"tale_step_failures_total{saga="holiday",step="fly"}"#, 1),
        ])
    );
    assert_eq!(
        seen.histograms(),
        series([
            (
                r#"tale_saga_duration_seconds{outcome="compensated",saga="holiday"}"#,
                vec![4.0]
            ),
            (
                r#"tale_step_duration_seconds{phase="compensate",saga="holiday",step="pay"}"#,
                vec![0.0]
            ),
            (
                r#"tale_step_duration_seconds{phase="compensate",saga="holiday",step="stay"}"#,
                vec![1.0]
            ),
            (
                r#"tale_step_duration_seconds{phase="execute",saga="holiday",step="fly"}"#,
                vec![1.0]
            ),
            (
                r#"tale_step_duration_seconds{phase="execute",saga="holiday",step="pay"}"#,
                vec![0.0]
            ),
            (
                r#"tale_step_duration_seconds{phase="execute",saga="holiday",step="stay"}"#,
                vec![3.0]
            ),
        ]),
        "the branches ran at once: each is timed from its own start"
    );
    assert_eq!(
        seen.gauges(),
        series([(r#"tale_sagas_in_flight{saga="holiday"}"#, vec![1.0, 0.0])])
    );
}

#[step]
async fn wait_forever() -> Result<(), Fail> {
    std::future::pending::<()>().await;
    Ok(())
}

/// Starts the saga `stalled` and drops it after its first poll, mid-step.
fn start_and_drop(executor: &mut Executor<MetricsObserver>) {
    let future = pin!(saga!(
        async {
            #![saga(name = "stalled", executor = &mut *executor)]
            wait_forever();
        }
    ));
    let polled = future.poll(&mut Context::from_waker(Waker::noop()));
    assert!(polled.is_pending());
}

#[test]
fn a_saga_dropped_mid_run_leaves_the_gauge_at_the_next_start_or_when_the_observer_drops() {
    let seen = recorded(|| {
        let mut executor = Executor::new().with_observer(MetricsObserver::new());
        start_and_drop(&mut executor);
        let result = saga! {
            #![saga(name = "next", executor = &mut executor)]
            pay();
        };
        result.unwrap();
        start_and_drop(&mut executor);
        drop(executor);
    });
    assert_eq!(
        seen.gauges(),
        series([
            (r#"tale_sagas_in_flight{saga="next"}"#, vec![1.0, 0.0]),
            (
                r#"tale_sagas_in_flight{saga="stalled"}"#,
                vec![1.0, 0.0, 1.0, 0.0]
            ),
        ])
    );
    let counters = seen.counters();
    assert!(
        counters.contains(&(r#"tale_sagas_started_total{saga="stalled"}"#.to_owned(), 2)),
        "{counters:?}"
    );
    assert!(
        !counters.iter().any(|(key, _)| key.contains("stalled")
            && key.starts_with("tale_sagas_finished_total")),
        "a dropped saga did not finish: {counters:?}"
    );
}

#[test]
fn describe_gives_every_metric_its_unit() {
    let seen = recorded(MetricsObserver::describe);
    let described = seen.0.lock().unwrap().described.clone();
    let expected: BTreeMap<String, Unit> = [
        ("tale_compensation_attempts_total", Unit::Count),
        ("tale_compensation_failures_total", Unit::Count),
        ("tale_saga_duration_seconds", Unit::Seconds),
        ("tale_sagas_finished_total", Unit::Count),
        ("tale_sagas_in_flight", Unit::Count),
        ("tale_sagas_started_total", Unit::Count),
        ("tale_step_attempts_total", Unit::Count),
        ("tale_step_duration_seconds", Unit::Seconds),
        ("tale_step_failures_total", Unit::Count),
    ]
    .into_iter()
    .map(|(name, unit)| (name.to_owned(), unit))
    .collect();
    assert_eq!(
        described
            .iter()
            .map(|(k, (u, _))| (k.clone(), *u))
            .collect::<BTreeMap<_, _>>(),
        expected
    );
    assert!(
        described.values().all(|(_, help)| !help.is_empty()),
        "{described:?}"
    );
}

#[test]
fn the_observer_can_go_with_a_saga_to_another_thread() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<MetricsObserver>();
    send_sync::<MetricsObserver<TokioClock>>();
}

/// The expected series, keys owned to compare with a [`Recording`]'s.
fn series<T, const N: usize>(expected: [(&str, T); N]) -> Vec<(String, T)> {
    expected
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}

/// Runs `f` with a recorder of its own installed on this thread, and returns what it
/// recorded.
fn recorded(f: impl FnOnce()) -> Recording {
    let recording = Recording::default();
    metrics::with_local_recorder(&recording, f);
    recording
}

/// What a test's recorder saw; series are named `name{label="value",...}`, labels
/// sorted.
#[derive(Clone, Default)]
struct Recording(Arc<Mutex<Seen>>);

#[derive(Default)]
struct Seen {
    counters: BTreeMap<String, u64>,
    /// Every value a gauge took, in order.
    gauges: BTreeMap<String, Vec<f64>>,
    histograms: BTreeMap<String, Vec<f64>>,
    described: BTreeMap<String, (Unit, String)>,
}

impl Recording {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
    fn counters(&self) -> Vec<(String, u64)> {
        self.seen().counters.clone().into_iter().collect()
    }
    fn gauges(&self) -> Vec<(String, Vec<f64>)> {
        self.seen().gauges.clone().into_iter().collect()
    }
    fn histograms(&self) -> Vec<(String, Vec<f64>)> {
        self.seen().histograms.clone().into_iter().collect()
    }
    fn handle(&self, key: &Key) -> Arc<Series> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}=\"{}\"", l.key(), l.value()))
            .collect();
        labels.sort();
        Arc::new(Series {
            key: format!("{}{{{}}}", key.name(), labels.join(",")),
            recording: self.clone(),
        })
    }
    fn describe(&self, key: KeyName, unit: Option<Unit>, help: SharedString) {
        let unit = unit.expect("every metric has a unit");
        let entry = (unit, help.to_string());
        self.seen().described.insert(key.as_str().to_owned(), entry);
    }
}

impl Recorder for Recording {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, help: SharedString) {
        self.describe(key, unit, help);
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, help: SharedString) {
        self.describe(key, unit, help);
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, help: SharedString) {
        self.describe(key, unit, help);
    }
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.handle(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.handle(key))
    }
}

/// One series' handle: writes into the recording under its key.
struct Series {
    key: String,
    recording: Recording,
}

impl Series {
    fn gauge(&self, change: impl FnOnce(f64) -> f64) {
        let mut seen = self.recording.seen();
        let values = seen.gauges.entry(self.key.clone()).or_default();
        let value = change(values.last().copied().unwrap_or(0.0));
        values.push(value);
    }
}

impl CounterFn for Series {
    fn increment(&self, value: u64) {
        *self
            .recording
            .seen()
            .counters
            .entry(self.key.clone())
            .or_default() += value;
    }
    fn absolute(&self, value: u64) {
        self.recording
            .seen()
            .counters
            .insert(self.key.clone(), value);
    }
}

impl GaugeFn for Series {
    fn increment(&self, value: f64) {
        self.gauge(|v| v + value);
    }
    fn decrement(&self, value: f64) {
        self.gauge(|v| v - value);
    }
    fn set(&self, value: f64) {
        self.gauge(|_| value);
    }
}

impl HistogramFn for Series {
    fn record(&self, value: f64) {
        self.recording
            .seen()
            .histograms
            .entry(self.key.clone())
            .or_default()
            .push(value);
    }
}
