//! What a saga's journal says about each step, for a run that resumes it.

use super::{JournalError, Record, SagaId, Status};
use crate::retry::GaveUp;

/// What the journal says about one step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StepLog {
    /// A start is recorded.
    pub(crate) started: bool,
    /// The name the step started under.
    pub(crate) name: Option<String>,
    /// The output of a success, as JSON.
    pub(crate) output: Option<String>,
    /// The errors (JSON array) of a failure for good, and why it stopped.
    pub(crate) failure: Option<(String, GaveUp)>,
    /// A compensation start is recorded.
    pub(crate) compensation_started: bool,
    /// A compensation success is recorded.
    pub(crate) compensated: bool,
    /// The errors (JSON array) of a compensation that failed for good.
    pub(crate) compensation_failure: Option<String>,
}

/// The journal of a saga, by step.
#[derive(Clone, Debug, Default)]
pub(crate) struct Replay {
    steps: Vec<StepLog>,
    finished: Option<Status>,
}

impl Replay {
    /// Reads `records`, checking that they tell a possible story.
    pub(crate) fn read(saga: SagaId, records: &[Record]) -> Result<Self, JournalError> {
        let mut replay = Replay::default();
        for (seq, record) in records.iter().enumerate() {
            let corrupt = |reason: &str| JournalError::Corrupt {
                saga,
                seq: seq as u64,
                reason: reason.to_owned(),
            };
            match record {
                // Stuck (its journal finished), or parked (the status says so; its
                // journal does not).
                Record::Reopened { .. } => {
                    if !matches!(replay.finished, Some(Status::Stuck) | None) {
                        return Err(corrupt("a saga reopened that was not stuck or parked"));
                    }
                    replay.finished = None;
                    for step in &mut replay.steps {
                        step.compensation_failure = None;
                        step.compensation_started = false;
                    }
                    continue;
                }
                Record::Resolved { .. }
                    if matches!(replay.finished, Some(Status::Stuck) | None) =>
                {
                    replay.finished = Some(Status::Resolved);
                    continue;
                }
                Record::Abandoned { .. } if replay.finished.is_none() => {
                    replay.finished = Some(Status::Abandoned);
                    continue;
                }
                _ => {}
            }
            if replay.finished.is_some() {
                return Err(corrupt("a record after the saga finished"));
            }
            if let Some(index) = record.index() {
                let index = index as usize;
                if replay.steps.len() <= index {
                    replay.steps.resize(index + 1, StepLog::default());
                }
            }
            match record {
                Record::StepStarted { index, name } => {
                    let step = &mut replay.steps[*index as usize];
                    step.started = true;
                    step.name = Some(name.to_string());
                }
                Record::StepSucceeded { index, output, .. } => {
                    replay.steps[*index as usize].output = Some(output.clone());
                }
                Record::StepFailed {
                    index,
                    errors,
                    gave_up,
                } => {
                    replay.steps[*index as usize].failure = Some((errors.clone(), *gave_up));
                }
                Record::CompensationStarted { index, .. } => {
                    replay.steps[*index as usize].compensation_started = true;
                }
                Record::CompensationSucceeded { index } => {
                    replay.steps[*index as usize].compensated = true
                }
                Record::CompensationFailed { index, errors } => {
                    replay.steps[*index as usize].compensation_failure = Some(errors.clone());
                }
                Record::Finished { status } => replay.finished = Some(*status),
                Record::Reopened { .. } | Record::Resolved { .. } | Record::Abandoned { .. } => {
                    return Err(corrupt("an operator's record out of place"));
                }
            }
        }
        Ok(replay)
    }

    /// What the journal says about step `index`.
    pub(crate) fn step(&self, index: usize) -> StepLog {
        self.steps.get(index).cloned().unwrap_or_default()
    }

    /// True if the journal records a start of step `index`.
    pub(crate) fn started(&self, index: usize) -> bool {
        self.steps.get(index).is_some_and(|step| step.started)
    }

    /// True if the journal records the saga's end.
    pub(crate) fn finished(&self) -> bool {
        self.finished.is_some()
    }
}
