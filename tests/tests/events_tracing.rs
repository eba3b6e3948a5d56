//! The `tracing` feature: every transition becomes a `tracing` event inside a saga span
//! and a step span.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tale::Executor;
use tale::compose::{Link, Local, Saga};
use tale::observe::TracingObserver;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn events_become_tracing_events_in_saga_and_step_spans() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .without_time()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let mut saga: Saga<'_, (), String> = Saga::new("trip")
            .step(Link::new("debit", |_: &mut ()| Ok(())).compensate(|_, _| Ok(())))
            .step(Link::new("hotel", |_: &mut ()| {
                Err::<(), _>("no rooms".to_owned())
            }));
        saga.run(
            &mut Executor::new().with_observer(TracingObserver::new()),
            &mut (),
        )
        .unwrap_err();
    });
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let expected = [
        (" INFO saga{workflow.name=\"trip\"}: ", "saga started"),
        (
            "DEBUG saga{workflow.name=\"trip\"}:step{workflow.task.name=\"debit\" tale.step.index=0 tale.step.kind=\"compensatable\" tale.phase=\"execute\" ",
            "attempt started",
        ),
        (
            "DEBUG saga{workflow.name=\"trip\"}:step{workflow.task.name=\"debit\" tale.step.index=0 tale.step.kind=\"compensatable\" tale.phase=\"execute\" ",
            "step succeeded",
        ),
        (
            "DEBUG saga{workflow.name=\"trip\"}:step{workflow.task.name=\"hotel\" tale.step.index=1 tale.step.kind=\"compensatable\" tale.phase=\"execute\" ",
            "attempt started",
        ),
        (
            " WARN saga{workflow.name=\"trip\"}:step{workflow.task.name=\"hotel\" tale.step.index=1 tale.step.kind=\"compensatable\" tale.phase=\"execute\" ",
            "step failed",
        ),
        (
            "DEBUG saga{workflow.name=\"trip\"}:step{workflow.task.name=\"debit\" tale.step.index=0 tale.step.kind=\"compensatable\" tale.phase=\"compensate\" ",
            "compensation started",
        ),
        (
            " INFO saga{workflow.name=\"trip\"}:step{workflow.task.name=\"debit\" tale.step.index=0 tale.step.kind=\"compensatable\" tale.phase=\"compensate\" ",
            "compensated",
        ),
        (
            " WARN saga{workflow.name=\"trip\" ",
            "saga failed and was compensated",
        ),
    ];
    assert_eq!(lines.len(), expected.len(), "{text}");
    for (line, (prefix, message)) in lines.iter().zip(expected) {
        assert!(
            line.contains(prefix) && line.contains(message),
            "`{line}` lacks `{prefix}` / `{message}`\n{text}"
        );
    }
    assert!(lines[4].contains("error=no rooms"), "{}", lines[4]);
}

#[test]
fn concurrent_branches_log_in_their_own_spans() {
    use tale::ManualClock;
    use tale::compose::{Branch, run_concurrent_transaction};
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .without_time()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        // Branch 0 waits once before finishing, so branch 1 starts and ends in between.
        let branches: Vec<Branch<'_, (), (), String, Local>> = vec![
            Branch::local("slow", async |_: &()| {
                YieldOnce(false).await;
                Ok(())
            }),
            Branch::local("fast", async |_: &()| Ok(())),
        ];
        let mut executor = Executor::new()
            .with_clock(ManualClock::new())
            .with_observer(TracingObserver::new());
        block_on(run_concurrent_transaction(&mut executor, branches, &())).unwrap();
    });
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let succeeded: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("step succeeded"))
        .collect();
    assert_eq!(succeeded.len(), 2, "{text}");
    assert!(succeeded[0].contains("name=\"fast\""), "{text}");
    assert!(succeeded[1].contains("name=\"slow\""), "{text}");
}

/// A future that is pending once, then ready.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}
