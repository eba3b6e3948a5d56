//! `TracingObserver` runs step code in its step's span: what a step (or a compensation)
//! logs or opens is a child of its step span, and each step span a child of its saga's
//! span, in sync and async sagas, in each `join!` branch on a multi-threaded runtime,
//! and in compensations; the spans carry the fields a trace backend reads (the
//! OpenTelemetry workflow names, a durable saga's id, replayed steps, idempotency keys).
//!
//! One recording subscriber is installed globally (the branches of a `join!` run on the
//! runtime's worker threads, where a thread-local default would not reach): the tests run
//! side by side, so each names its sagas, spans and messages on its own.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use serde::{Deserialize, Serialize};
use tale::journal::{
    DurableError, Interrupted, MemoryStore, Origin, Status, Store, idempotency_key,
};
use tale::observe::TracingObserver;
use tale::{Executor, Retry, TokioClock, saga, step};
use tests::Crashing;
use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

// ---------------------------------------------------------------------------------------
// The recording subscriber: every span with its parent and fields, every event with the
// span it was emitted in.

/// A span as recorded: its name, its parent's serial and its fields so far.
#[derive(Clone, Debug)]
struct SpanRec {
    name: &'static str,
    parent: Option<usize>,
    fields: HashMap<String, String>,
}

/// An event as recorded: the serial of the span it was emitted in, and its fields
/// (`message` among them).
#[derive(Clone, Debug)]
struct EventRec {
    span: Option<usize>,
    fields: HashMap<String, String>,
}

/// Everything recorded; spans by serial (the registry reuses span ids, serials never).
#[derive(Clone, Debug, Default)]
struct Trace {
    spans: Vec<SpanRec>,
    events: Vec<EventRec>,
}

static TRACE: Mutex<Trace> = Mutex::new(Trace {
    spans: Vec::new(),
    events: Vec::new(),
});

fn trace() -> MutexGuard<'static, Trace> {
    TRACE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A span's serial, kept in its extensions.
struct Serial(usize);

#[derive(Default)]
struct Fields(HashMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

struct Recorder;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let span = ctx.span(id).expect("a new span is registered");
        let parent = span
            .parent()
            .and_then(|p| p.extensions().get::<Serial>().map(|s| s.0));
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let serial = {
            let mut trace = trace();
            trace.spans.push(SpanRec {
                name: attrs.metadata().name(),
                parent,
                fields: fields.0,
            });
            trace.spans.len() - 1
        };
        span.extensions_mut().insert(Serial(serial));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let span = ctx.span(id).expect("a recorded span is registered");
        let Some(serial) = span.extensions().get::<Serial>().map(|s| s.0) else {
            return;
        };
        let mut fields = Fields::default();
        values.record(&mut fields);
        trace().spans[serial].fields.extend(fields.0);
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let span = ctx
            .event_span(event)
            .and_then(|s| s.extensions().get::<Serial>().map(|s| s.0));
        let mut fields = Fields::default();
        event.record(&mut fields);
        trace().events.push(EventRec {
            span,
            fields: fields.0,
        });
    }
}

/// Installs the recorder as the global subscriber, once.
fn record() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(Recorder);
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
    });
}

impl Trace {
    fn field(&self, span: usize, name: &str) -> Option<&str> {
        self.spans[span].fields.get(name).map(String::as_str)
    }

    /// The serials of the saga spans named `name`, in the order they opened.
    fn sagas(&self, name: &str) -> Vec<usize> {
        (0..self.spans.len())
            .filter(|&i| {
                self.spans[i].name == "saga" && self.field(i, "workflow.name") == Some(name)
            })
            .collect()
    }

    /// The one saga span named `name`.
    fn saga(&self, name: &str) -> usize {
        let sagas = self.sagas(name);
        assert_eq!(sagas.len(), 1, "one saga `{name}`: {self:#?}");
        sagas[0]
    }

    /// The one step span of `saga` for step `task` in `phase`.
    fn step(&self, saga: usize, task: &str, phase: &str) -> usize {
        let steps: Vec<usize> = (0..self.spans.len())
            .filter(|&i| {
                self.spans[i].name == "step"
                    && self.spans[i].parent == Some(saga)
                    && self.field(i, "workflow.task.name") == Some(task)
                    && self.field(i, "tale.phase") == Some(phase)
            })
            .collect();
        assert_eq!(steps.len(), 1, "one {phase} span of `{task}`: {self:#?}");
        steps[0]
    }

    /// The one span named `name`.
    fn span(&self, name: &str) -> usize {
        let spans: Vec<usize> = (0..self.spans.len())
            .filter(|&i| self.spans[i].name == name)
            .collect();
        assert_eq!(spans.len(), 1, "one span `{name}`: {self:#?}");
        spans[0]
    }

    /// The serial of the span the one event with `message` was emitted in.
    fn emitted_in(&self, message: &str) -> Option<usize> {
        let events: Vec<&EventRec> = self
            .events
            .iter()
            .filter(|e| e.fields.get("message").map(String::as_str) == Some(message))
            .collect();
        assert_eq!(events.len(), 1, "one event `{message}`: {self:#?}");
        events[0].span
    }

    /// Asserts that the step's own event `message` was emitted in `step`'s span, and
    /// that its own span `inner` (with the event `inner_message` in it) is a child of it.
    fn assert_nested(&self, step: usize, message: &str, inner: &str, inner_message: &str) {
        assert_eq!(
            self.emitted_in(message),
            Some(step),
            "`{message}` in its step's span: {self:#?}"
        );
        let inner = self.span(inner);
        assert_eq!(
            self.spans[inner].parent,
            Some(step),
            "`{inner}` a child of its step's span"
        );
        assert_eq!(self.emitted_in(inner_message), Some(inner));
    }
}

// ---------------------------------------------------------------------------------------
// A sync saga.

#[step(compensate = sync_release)]
fn sync_hold(seats: &u32) -> Result<u32, String> {
    tracing::info!("sync: holding");
    let _request = tracing::info_span!("sync.request").entered();
    tracing::info!("sync: requested");
    Ok(*seats)
}

fn sync_release(_seats: &u32, _held: &u32) -> Result<(), String> {
    Ok(())
}

#[step(retry = Retry::times(1))]
fn sync_flaky(tries: &AtomicUsize) -> Result<(), String> {
    let attempt = tries.fetch_add(1, Ordering::SeqCst) + 1;
    tracing::info!("sync: flaky attempt {attempt}");
    if attempt == 1 {
        Err("busy".to_owned())
    } else {
        Ok(())
    }
}

#[test]
fn a_sync_steps_events_and_spans_are_children_of_its_step_span() {
    record();
    let mut executor = Executor::new().with_observer(TracingObserver::new());
    let tries = AtomicUsize::new(0);
    let seats = 2;
    let held = saga! {
        #![saga(name = "sync_trip", executor = &mut executor)]
        let held = sync_hold(&seats);
        sync_flaky(&tries);
        held
    };
    assert_eq!(held.unwrap(), 2);
    let trace = trace().clone();
    let saga = trace.saga("sync_trip");
    let hold = trace.step(saga, "sync_hold", "execute");
    trace.assert_nested(hold, "sync: holding", "sync.request", "sync: requested");
    // Both attempts of the retried step ran in its one span.
    let flaky = trace.step(saga, "sync_flaky", "execute");
    assert_eq!(trace.emitted_in("sync: flaky attempt 1"), Some(flaky));
    assert_eq!(trace.emitted_in("sync: flaky attempt 2"), Some(flaky));
    assert_eq!(trace.field(flaky, "workflow.execution.attempt"), Some("2"));
    assert_eq!(trace.field(flaky, "tale.step.index"), Some("1"));
    assert_eq!(trace.field(hold, "tale.step.index"), Some("0"));
    assert_eq!(trace.field(hold, "tale.step.kind"), Some("compensatable"));
    assert_eq!(trace.field(hold, "tale.step.outcome"), Some("succeeded"));
    assert_eq!(
        trace.field(saga, "workflow.execution.outcome"),
        Some("success")
    );
    assert_eq!(trace.field(saga, "tale.outcome"), Some("completed"));
    assert_eq!(trace.field(saga, "otel.status_code"), None);
    assert_eq!(
        trace.field(saga, "workflow.execution.id"),
        None,
        "not durable"
    );
}

// ---------------------------------------------------------------------------------------
// Compensations, sync.

#[step(compensate = comp_release)]
fn comp_hold(seats: &u32) -> Result<u32, String> {
    Ok(*seats)
}

fn comp_release(_seats: &u32, _held: &u32) -> Result<(), String> {
    tracing::info!("comp: releasing");
    let _request = tracing::info_span!("comp.request").entered();
    tracing::info!("comp: released");
    Ok(())
}

#[step]
fn comp_refuse() -> Result<(), String> {
    tracing::info!("comp: refusing");
    Err("sold out".to_owned())
}

#[test]
fn a_compensations_events_and_spans_are_children_of_its_compensate_span() {
    record();
    let mut executor = Executor::new().with_observer(TracingObserver::new());
    let seats = 2;
    let result = saga! {
        #![saga(name = "comp_trip", executor = &mut executor)]
        let held = comp_hold(&seats);
        comp_refuse();
        held
    };
    assert!(result.unwrap_err().is_compensated());
    let trace = trace().clone();
    let saga = trace.saga("comp_trip");
    let undo = trace.step(saga, "comp_hold", "compensate");
    trace.assert_nested(undo, "comp: releasing", "comp.request", "comp: released");
    assert_eq!(trace.field(undo, "tale.step.outcome"), Some("compensated"));
    assert_eq!(trace.field(undo, "tale.uncertain"), Some("false"));
    assert_eq!(trace.field(undo, "workflow.execution.attempt"), Some("1"));
    let refused = trace.step(saga, "comp_refuse", "execute");
    assert_eq!(trace.emitted_in("comp: refusing"), Some(refused));
    assert_eq!(trace.field(refused, "tale.step.outcome"), Some("failed"));
    assert_eq!(trace.field(refused, "otel.status_code"), Some("ERROR"));
    assert_eq!(trace.field(refused, "error.message"), Some("sold out"));
    assert_eq!(
        trace.field(refused, "error.type"),
        Some("alloc::string::String")
    );
    assert_eq!(
        trace.field(saga, "workflow.execution.outcome"),
        Some("failure")
    );
    assert_eq!(trace.field(saga, "tale.outcome"), Some("compensated"));
    assert_eq!(trace.field(saga, "otel.status_code"), Some("ERROR"));
}

// ---------------------------------------------------------------------------------------
// An async saga on a current-thread runtime: across `.await`s, and in an async
// compensation.

#[step(compensate = async_release)]
async fn async_hold(seats: &u32) -> Result<u32, String> {
    tracing::info!("async: holding");
    tokio::task::yield_now().await;
    tracing::info!("async: still holding");
    let request = tracing::info_span!("async.request");
    async {
        tokio::task::yield_now().await;
        tracing::info!("async: requested");
    }
    .instrument(request)
    .await;
    Ok(*seats)
}

async fn async_release(_seats: &u32, _held: &u32) -> Result<(), String> {
    tracing::info!("async: releasing");
    tokio::task::yield_now().await;
    tracing::info!("async: released");
    Ok(())
}

#[step]
async fn async_refuse() -> Result<(), String> {
    tokio::task::yield_now().await;
    Err("sold out".to_owned())
}

use tracing::Instrument;

#[tokio::test]
async fn an_async_steps_events_are_children_of_its_step_span_across_awaits() {
    record();
    let mut executor = Executor::new()
        .with_clock(TokioClock::new())
        .with_observer(TracingObserver::new());
    let seats = 2;
    let result = saga!(
        async {
            #![saga(name = "async_trip", executor = &mut executor)]
            let held = async_hold(&seats);
            async_refuse();
            held
        }
    )
    .await;
    assert!(result.unwrap_err().is_compensated());
    let trace = trace().clone();
    let saga = trace.saga("async_trip");
    let hold = trace.step(saga, "async_hold", "execute");
    assert_eq!(
        trace.emitted_in("async: still holding"),
        Some(hold),
        "after an await"
    );
    trace.assert_nested(hold, "async: holding", "async.request", "async: requested");
    let undo = trace.step(saga, "async_hold", "compensate");
    assert_eq!(trace.emitted_in("async: releasing"), Some(undo));
    assert_eq!(
        trace.emitted_in("async: released"),
        Some(undo),
        "after an await"
    );
    assert_eq!(trace.field(undo, "tale.step.outcome"), Some("compensated"));
}

// ---------------------------------------------------------------------------------------
// `join!` branches on a multi-threaded runtime, each in its own step span.

/// Waits until `n` branches have reached this point: the branches' events interleave.
async fn meet(met: &AtomicUsize, n: usize) {
    met.fetch_add(1, Ordering::SeqCst);
    while met.load(Ordering::SeqCst) < n {
        tokio::task::yield_now().await;
    }
}

#[step]
async fn branch(met: &AtomicUsize, what: &'static str) -> Result<&'static str, String> {
    tracing::info!("join: {what} before");
    meet(met, 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    tracing::info!("join: {what} after");
    async { tracing::info!("join: {what} inner") }
        .instrument(tracing::info_span!("join.request", what))
        .await;
    Ok(what)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_join_branch_logs_in_its_own_step_span_on_a_multi_threaded_runtime() {
    record();
    let saga = async {
        let met = AtomicUsize::new(0);
        let mut executor = Executor::new()
            .with_clock(TokioClock::new())
            .with_observer(TracingObserver::new());
        saga!(
            async {
                #![saga(name = "join_trip", executor = &mut executor)]
                let (a, b) = join!(
                    branch(&met, "flight").named("flight"),
                    branch(&met, "hotel").named("hotel")
                );
                (a, b)
            }
        )
        .await
    };
    let both = tokio::spawn(saga).await.unwrap().unwrap();
    assert_eq!(both, ("flight", "hotel"));
    let trace = trace().clone();
    let saga = trace.saga("join_trip");
    for what in ["flight", "hotel"] {
        let step = trace.step(saga, what, "execute");
        assert_eq!(
            trace.emitted_in(&format!("join: {what} before")),
            Some(step)
        );
        assert_eq!(trace.emitted_in(&format!("join: {what} after")), Some(step));
        let inner = (0..trace.spans.len())
            .find(|&i| {
                trace.spans[i].name == "join.request" && trace.field(i, "what") == Some(what)
            })
            .expect("the branch's own span");
        assert_eq!(
            trace.spans[inner].parent,
            Some(step),
            "{what}'s span in its step"
        );
        assert_eq!(
            trace.emitted_in(&format!("join: {what} inner")),
            Some(inner)
        );
    }
}

// ---------------------------------------------------------------------------------------
// Durable sagas: the saga's id, idempotency keys, replayed steps.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Error {
    Interrupted(Interrupted),
}

impl From<Interrupted> for Error {
    fn from(i: Interrupted) -> Self {
        Error::Interrupted(i)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Interrupted(i) => write!(f, "interrupted: {i:?}"),
        }
    }
}

/// What the steps saw: the key of each call.
#[derive(Default)]
struct Keys(Mutex<Vec<String>>);

impl Keys {
    fn call(&self, what: &str) {
        let key = idempotency_key().map_or_else(|| "no key".to_owned(), |k| k.to_string());
        tracing::info!("{what} under {key}");
        self.0.lock().unwrap().push(key);
    }
}

#[step]
fn durable_debit(keys: &Keys, amount: &u32) -> Result<u32, Error> {
    keys.call("durable: debit");
    Ok(*amount)
}

#[step]
fn durable_book(keys: &Keys, amount: &u32) -> Result<u32, Error> {
    keys.call("durable: book");
    Ok(*amount + 1)
}

saga! {
    #![saga(durable, executor = Executor::new().with_observer(TracingObserver::new()))]
    fn durable_trip(amount: &u32, keys: &Keys) -> Result<u32, DurableError<Error>> {
        let paid = durable_debit(keys, amount);
        let booked = durable_book(keys, &paid);
        booked
    }
}

#[test]
fn a_durable_sagas_span_carries_its_id_and_a_replayed_step_says_so() {
    record();
    let store = MemoryStore::new();
    let keys = Keys::default();
    // Started(debit), Succeeded(debit), Started(book): the write after the booking fails.
    let error = durable_trip(&Crashing::new(&store, 3), Origin::New, &40, &keys).unwrap_err();
    assert!(matches!(error, DurableError::Journal(_)), "{error:?}");
    let id = store.sagas(&[Status::Running]).unwrap()[0].id;
    assert_eq!(
        durable_trip(&store, Origin::Resume(id), &40, &keys).unwrap(),
        41
    );
    let trace = trace().clone();
    let runs = trace.sagas("durable_trip");
    assert_eq!(runs.len(), 2, "{trace:#?}");
    let id = id.0.to_string();
    for &run in &runs {
        assert_eq!(trace.field(run, "workflow.execution.id"), Some(id.as_str()));
    }
    let first = runs[0];
    let resumed = runs[1];
    let debit = trace.step(resumed, "durable_debit", "execute");
    assert_eq!(trace.field(debit, "tale.replayed"), Some("true"));
    assert_eq!(trace.field(debit, "tale.step.outcome"), Some("succeeded"));
    assert_eq!(
        trace.field(debit, "workflow.execution.attempt"),
        None,
        "it did not run"
    );
    let ran = trace.step(first, "durable_debit", "execute");
    assert_eq!(trace.field(ran, "tale.replayed"), None);
    // The booking ran in both runs, under the key its code saw.
    let key = format!("saga-{id}/step-1/execute");
    assert_eq!(
        *keys.0.lock().unwrap(),
        [
            format!("saga-{id}/step-0/execute"),
            key.clone(),
            key.clone()
        ]
    );
    let book = trace.step(resumed, "durable_book", "execute");
    assert_eq!(
        trace.field(book, "tale.idempotency_key"),
        Some(key.as_str())
    );
    assert_eq!(trace.field(book, "tale.replayed"), None);
    let line = format!("durable: book under {key}");
    let events: Vec<Option<usize>> = trace
        .events
        .iter()
        .filter(|e| e.fields.get("message") == Some(&line))
        .map(|e| e.span)
        .collect();
    assert_eq!(
        events,
        [
            Some(trace.step(first, "durable_book", "execute")),
            Some(book)
        ]
    );
}

#[step]
async fn async_durable_debit(keys: &Keys, amount: &u32) -> Result<u32, Error> {
    tokio::task::yield_now().await;
    keys.call("async durable: debit");
    Ok(*amount)
}

#[step]
async fn async_durable_book(keys: &Keys, amount: &u32) -> Result<u32, Error> {
    tokio::task::yield_now().await;
    keys.call("async durable: book");
    Ok(*amount + 1)
}

saga! {
    #![saga(durable, executor = Executor::new().with_clock(TokioClock::new()).with_observer(TracingObserver::new()))]
    async fn async_durable_trip(amount: &u32, keys: &Keys) -> Result<u32, DurableError<Error>> {
        let paid = async_durable_debit(keys, amount);
        let booked = async_durable_book(keys, &paid);
        booked
    }
}

#[tokio::test]
async fn an_async_durable_sagas_span_carries_its_id_and_a_replayed_step_says_so() {
    record();
    let store = MemoryStore::new();
    let keys = Keys::default();
    let crashing = Crashing::new(&store, 3);
    let error = async_durable_trip(&crashing, Origin::New, &40, &keys)
        .await
        .unwrap_err();
    assert!(matches!(error, DurableError::Journal(_)), "{error:?}");
    let id = store.sagas(&[Status::Running]).unwrap()[0].id;
    let booked = async_durable_trip(&store, Origin::Resume(id), &40, &keys).await;
    assert_eq!(booked.unwrap(), 41);
    let trace = trace().clone();
    let runs = trace.sagas("async_durable_trip");
    assert_eq!(runs.len(), 2, "{trace:#?}");
    let id = id.0.to_string();
    assert_eq!(
        trace.field(runs[1], "workflow.execution.id"),
        Some(id.as_str())
    );
    let debit = trace.step(runs[1], "async_durable_debit", "execute");
    assert_eq!(trace.field(debit, "tale.replayed"), Some("true"));
    let book = trace.step(runs[1], "async_durable_book", "execute");
    let key = format!("saga-{id}/step-1/execute");
    assert_eq!(
        trace.field(book, "tale.idempotency_key"),
        Some(key.as_str())
    );
    let line = format!("async durable: book under {key}");
    let events: Vec<Option<usize>> = trace
        .events
        .iter()
        .filter(|e| e.fields.get("message") == Some(&line))
        .map(|e| e.span)
        .collect();
    assert_eq!(
        events.last(),
        Some(&Some(book)),
        "after an await, in its step span"
    );
}

// ---------------------------------------------------------------------------------------
// Paired with another observer, and through injected faults: a step run twice by
// `Faults::repeat_step` runs both times in its span.

#[step]
fn fault_count(runs: &AtomicUsize) -> Result<usize, String> {
    let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
    tracing::info!("fault: run {run}");
    Ok(run)
}

#[test]
fn a_repeated_step_of_a_paired_observer_runs_in_its_span_both_times() {
    record();
    let faults = tale::testing::Faults::new().repeat_step("fault_count");
    let mut executor = Executor::new().with_observer((faults, TracingObserver::new()));
    let runs = AtomicUsize::new(0);
    let run = saga! {
        #![saga(name = "fault_trip", executor = &mut executor)]
        let run = fault_count(&runs);
        run
    };
    assert_eq!(run.unwrap(), 2, "the second run's output is kept");
    let trace = trace().clone();
    let step = trace.step(trace.saga("fault_trip"), "fault_count", "execute");
    assert_eq!(trace.emitted_in("fault: run 1"), Some(step));
    assert_eq!(trace.emitted_in("fault: run 2"), Some(step));
}

#[step]
async fn async_fault_count(runs: &AtomicUsize) -> Result<usize, String> {
    tokio::task::yield_now().await;
    let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
    tracing::info!("async fault: run {run}");
    Ok(run)
}

#[tokio::test]
async fn a_repeated_async_step_of_a_paired_observer_runs_in_its_span_both_times() {
    record();
    let faults = tale::testing::Faults::new().repeat_step("async_fault_count");
    let mut executor = Executor::new()
        .with_clock(TokioClock::new())
        .with_observer((faults, TracingObserver::new()));
    let runs = AtomicUsize::new(0);
    let run = saga!(
        async {
            #![saga(name = "async_fault_trip", executor = &mut executor)]
            let run = async_fault_count(&runs);
            run
        }
    )
    .await;
    assert_eq!(run.unwrap(), 2, "the second run's output is kept");
    let trace = trace().clone();
    let step = trace.step(
        trace.saga("async_fault_trip"),
        "async_fault_count",
        "execute",
    );
    assert_eq!(trace.emitted_in("async fault: run 1"), Some(step));
    assert_eq!(trace.emitted_in("async fault: run 2"), Some(step));
}

// ---------------------------------------------------------------------------------------
// A fan-out: each item's span names its item.

#[step(compensate = sync_release)]
fn seat(n: &u32) -> Result<u32, String> {
    tracing::info!("seat {n}");
    Ok(*n)
}

#[test]
fn each_item_of_a_fan_out_has_its_span_with_its_position() {
    record();
    let mut executor = Executor::new().with_observer(TracingObserver::new());
    let seats = [7, 8];
    let held = saga! {
        #![saga(name = "fan_out_trip", executor = &mut executor)]
        let held = for n in &seats { seat(n) };
        held
    };
    assert_eq!(held.unwrap(), [7, 8]);
    let trace = trace().clone();
    let saga = trace.saga("fan_out_trip");
    for (item, message) in ["seat 7", "seat 8"].into_iter().enumerate() {
        let span = trace.emitted_in(message).expect("logged in a step span");
        assert_eq!(trace.spans[span].parent, Some(saga));
        assert_eq!(
            trace.field(span, "tale.step.item"),
            Some(&*item.to_string())
        );
        assert_eq!(
            trace.field(span, "tale.step.index"),
            Some(&*(item + 1).to_string())
        );
    }
}
