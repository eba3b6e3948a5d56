//! What a run did (its entries, its ending), summarized for comparison with the model.

use std::time::Duration;

use tale::{GaveUp, Outcome, SagaError, StepKind};

use super::*;

/// One line of a run's trace: what a closure did (`Exec`, `Undo`) or an event the
/// observer received, in the order they happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Step `step`'s execute closure ran its attempt `attempt`.
    Exec {
        step: usize,
        attempt: u32,
    },
    /// Step `step`'s compensation ran its attempt `attempt`, lent `output`.
    Undo {
        step: usize,
        attempt: u32,
        output: Option<u32>,
    },
    SagaStarted,
    AttemptStarted {
        step: usize,
        attempt: u32,
    },
    AttemptSucceeded {
        step: usize,
        attempt: u32,
    },
    AttemptFailed {
        step: usize,
        attempt: u32,
        error: Error,
        retry_in: Option<Duration>,
    },
    AttemptPanicked {
        step: usize,
        attempt: u32,
    },
    CompensationStarted {
        step: usize,
        attempt: u32,
        uncertain: bool,
    },
    CompensationSucceeded {
        step: usize,
        attempt: u32,
    },
    CompensationFailed {
        step: usize,
        attempt: u32,
        error: Option<Error>,
        retry_in: Option<Duration>,
    },
    CompensationSkipped {
        step: usize,
    },
    SagaFinished {
        outcome: Outcome,
    },
    /// An event whose step reference has the wrong name or kind (never expected).
    BadRef {
        step: usize,
        name: String,
        kind: StepKind,
    },
    /// An event this file does not know (never expected).
    Unknown(String),
}

/// A step or compensation failure, as data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failed {
    pub(crate) step: usize,
    pub(crate) name: String,
    pub(crate) errors: Vec<Error>,
    pub(crate) gave_up: GaveUp,
}

/// A `SagaError`, as data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ErrorSummary {
    pub(crate) failure: Failed,
    pub(crate) siblings: Vec<Failed>,
    /// Every failed compensation, in run order, with its `is_uncertain()`.
    pub(crate) compensations: Vec<(Failed, bool)>,
    pub(crate) not_compensated: Vec<(usize, String)>,
    pub(crate) is_compensated: bool,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Success, with the outputs (empty for `Saga::run`, which returns `()`).
    Completed(Vec<u32>),
    Failed(ErrorSummary),
    /// A planned panic resumed.
    Panicked(Planned),
    /// A panic nobody planned (an engine bug), with its message.
    Foreign(String),
}

/// Everything a run produced.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) trace: Vec<Entry>,
    pub(crate) sleeps: Vec<Duration>,
    pub(crate) ending: Ending,
}

pub(crate) fn summarize(error: &SagaError<Error>) -> ErrorSummary {
    fn failed(step: &tale::StepId, errors: &[Error], gave_up: GaveUp) -> Failed {
        Failed {
            step: step.index,
            name: step.name.to_string(),
            errors: errors.to_vec(),
            gave_up,
        }
    }
    let f = error.failure();
    // The accessors agree with each other.
    assert_eq!(f.attempts(), f.errors().len());
    assert_eq!(Some(f.error()), f.errors().last());
    let _ = error.to_string();
    let (compensations, not_compensated) = match error {
        SagaError::CompensationFailed {
            compensations,
            not_compensated,
            ..
        } => (compensations.as_slice(), not_compensated.as_slice()),
        _ => (&[][..], &[][..]),
    };
    assert_eq!(compensations.len(), error.compensation_failures().len());
    assert_eq!(
        error.is_compensated(),
        matches!(error, SagaError::Compensated { .. })
    );
    ErrorSummary {
        failure: failed(f.step(), f.errors(), f.gave_up()),
        siblings: f
            .siblings()
            .iter()
            .map(|s| {
                assert!(s.siblings().is_empty());
                failed(s.step(), s.errors(), s.gave_up())
            })
            .collect(),
        compensations: compensations
            .iter()
            .map(|c| {
                assert_eq!(c.attempts(), c.errors().len());
                (failed(c.step(), c.errors(), c.gave_up()), c.is_uncertain())
            })
            .collect(),
        not_compensated: not_compensated
            .iter()
            .map(|s| (s.step().index, s.step().name.to_string()))
            .collect(),
        is_compensated: error.is_compensated(),
    }
}
