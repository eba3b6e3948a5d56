//! Shared fixtures of the test suite in `tests/`.

use std::cell::RefCell;
use std::rc::Rc;

use tale::{Event, FnObserver, observe_fn};

/// A shared, ordered record of what steps and compensations did.
#[derive(Clone, Debug, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    /// An empty log.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a line.
    pub fn push(&self, line: impl Into<String>) {
        self.0.borrow_mut().push(line.into());
    }

    /// Every line so far.
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        self.0.borrow().clone()
    }

    /// An observer that appends every event's `Display` form.
    pub fn observer<E: std::fmt::Display>(&self) -> FnObserver<impl FnMut(&Event<'_, E>)> {
        let log = self.clone();
        observe_fn(move |event: &Event<'_, E>| log.push(event.to_string()))
    }
}

/// The message of a panic payload.
#[must_use]
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}
