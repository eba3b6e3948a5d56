//! A saga's story, read from its journal: each step's execution and compensation as a
//! phase with a start, an end, attempts and a result, and what operators did.

use std::collections::BTreeMap;

use tale::journal::{Entry, IdempotencyKey, Millis, Phase, Record, SagaRow, Status};

/// One execution or compensation of one step.
#[derive(Clone, Debug)]
pub(crate) struct Span {
    /// The step's position.
    pub(crate) index: u32,
    /// The step's name (as its start was journaled).
    pub(crate) name: String,
    /// Execute or compensate.
    pub(crate) phase: Phase,
    /// When it started.
    pub(crate) start: Millis,
    /// When it ended, if it did.
    pub(crate) end: Option<Millis>,
    /// Attempts made, where the journal says (a compensation's success does not).
    pub(crate) attempts: Option<u32>,
    /// How it ended.
    pub(crate) outcome: Outcome,
    /// The output (a success) or the errors (a failure), as journaled (JSON).
    pub(crate) detail: Option<String>,
    /// Why retrying stopped, for a failure.
    pub(crate) gave_up: Option<String>,
    /// A compensation of a step whose outcome was uncertain.
    pub(crate) uncertain: bool,
    /// The service-side key of this execution or compensation.
    pub(crate) key: IdempotencyKey,
}

/// How a [`Span`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Not ended (running, or cut short by a crash and not resumed yet).
    Open,
    /// Succeeded.
    Succeeded,
    /// Failed for good.
    Failed,
}

impl Outcome {
    /// Its name in JSON output.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Open => "open",
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
        }
    }
}

/// What an operator did.
#[derive(Clone, Debug)]
pub(crate) struct Note {
    /// When.
    pub(crate) at: Millis,
    /// What: `reopened`, `resolved` or `abandoned`.
    pub(crate) action: &'static str,
    /// Who.
    pub(crate) by: String,
    /// Why.
    pub(crate) note: String,
}

/// A saga's story.
#[derive(Clone, Debug)]
pub(crate) struct Story {
    /// Its summary.
    pub(crate) row: SagaRow,
    /// Its steps' executions and compensations, in the order they started.
    pub(crate) spans: Vec<Span>,
    /// What operators did, in order.
    pub(crate) notes: Vec<Note>,
    /// When its journal last said it finished, if it did.
    pub(crate) finished_at: Option<Millis>,
    /// When its last record was written.
    pub(crate) last_at: Millis,
    /// Its records, as journaled.
    pub(crate) entries: Vec<Entry>,
    /// Each step's name, as its start was journaled.
    names: BTreeMap<u32, String>,
}

impl Story {
    /// Reads the story of `row` from its journal's `entries`.
    pub(crate) fn read(row: SagaRow, entries: Vec<Entry>) -> Self {
        let mut story = Story {
            spans: Vec::new(),
            notes: Vec::new(),
            finished_at: None,
            last_at: row.created_at,
            entries: Vec::new(),
            names: BTreeMap::new(),
            row,
        };
        for entry in &entries {
            story.add(entry);
        }
        story.entries = entries;
        story
    }

    /// When the story ends: its finish, or its last record for a saga still going.
    pub(crate) fn end(&self) -> Millis {
        self.finished_at.unwrap_or(self.last_at)
    }

    fn open_span(&mut self, index: u32, phase: Phase) -> Option<&mut Span> {
        self.spans
            .iter_mut()
            .rev()
            .find(|s| s.index == index && s.phase == phase && s.outcome == Outcome::Open)
    }

    fn name_of(&self, index: u32) -> String {
        self.names
            .get(&index)
            .cloned()
            .unwrap_or_else(|| format!("step {index}"))
    }

    fn start(&mut self, index: u32, phase: Phase, at: Millis, uncertain: bool) {
        if self.open_span(index, phase).is_some() {
            // Started again after a crash: the span began the first time.
            return;
        }
        let name = self.name_of(index);
        let key = IdempotencyKey {
            saga: self.row.id,
            index,
            phase,
        };
        self.spans.push(Span {
            index,
            name,
            phase,
            start: at,
            end: None,
            attempts: None,
            outcome: Outcome::Open,
            detail: None,
            gave_up: None,
            uncertain,
            key,
        });
    }

    fn end_span(
        &mut self,
        index: u32,
        phase: Phase,
        at: Millis,
        outcome: Outcome,
        detail: Option<&str>,
        attempts: Option<u32>,
    ) {
        if self.open_span(index, phase).is_none() {
            self.start(index, phase, at, false);
        }
        if let Some(span) = self.open_span(index, phase) {
            span.end = Some(at);
            span.outcome = outcome;
            span.detail = detail.map(str::to_owned);
            span.attempts = attempts;
        }
    }

    fn add(&mut self, entry: &Entry) {
        let at = entry.at;
        self.last_at = self.last_at.max(at);
        match &entry.record {
            Record::StepStarted { index, name } => {
                self.names.insert(*index, name.to_string());
                self.start(*index, Phase::Execute, at, false);
            }
            Record::StepSucceeded {
                index,
                attempts,
                output,
            } => self.end_span(
                *index,
                Phase::Execute,
                at,
                Outcome::Succeeded,
                Some(output),
                Some(*attempts),
            ),
            Record::StepFailed {
                index,
                errors,
                gave_up,
            } => {
                let attempts = error_count(errors);
                self.end_span(
                    *index,
                    Phase::Execute,
                    at,
                    Outcome::Failed,
                    Some(errors),
                    attempts,
                );
                if let Some(span) = self
                    .spans
                    .iter_mut()
                    .rev()
                    .find(|s| s.index == *index && s.phase == Phase::Execute)
                {
                    span.gave_up = Some(format!("{gave_up:?}"));
                }
            }
            Record::CompensationStarted { index, uncertain } => {
                self.start(*index, Phase::Compensate, at, *uncertain);
            }
            Record::CompensationSucceeded { index } => self.end_span(
                *index,
                Phase::Compensate,
                at,
                Outcome::Succeeded,
                None,
                None,
            ),
            Record::CompensationFailed { index, errors } => self.end_span(
                *index,
                Phase::Compensate,
                at,
                Outcome::Failed,
                Some(errors),
                error_count(errors),
            ),
            Record::Finished { .. } => self.finished_at = Some(at),
            other => {
                let action = match other {
                    Record::Reopened { .. } => {
                        self.finished_at = None;
                        "reopened"
                    }
                    Record::Resolved { .. } => "resolved",
                    Record::Abandoned { .. } => "abandoned",
                    _ => return,
                };
                if matches!(other, Record::Resolved { .. } | Record::Abandoned { .. }) {
                    self.finished_at.get_or_insert(at);
                }
                if let Some((by, note)) = other.operator() {
                    self.notes.push(Note {
                        at,
                        action,
                        by: by.to_owned(),
                        note: note.to_owned(),
                    });
                }
            }
        }
    }
}

/// The number of errors in a journaled JSON array of errors (one per attempt).
fn error_count(errors: &str) -> Option<u32> {
    serde_json::from_str::<Vec<serde_json::Value>>(errors)
        .ok()
        .and_then(|e| u32::try_from(e.len()).ok())
}

/// The last of a journaled JSON array of errors, as short text: `"hotel full"`
/// becomes `hotel full`, an object stays JSON.
pub(crate) fn last_error(errors: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(errors) {
        Ok(serde_json::Value::Array(all)) => all.last().map_or_else(String::new, plain),
        Ok(other) => plain(&other),
        Err(_) => errors.to_owned(),
    }
}

/// A JSON value as short text: a string without its quotes, anything else as JSON.
pub(crate) fn plain(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Story {
    /// The step the saga is at, for a person: `2 book_hotel`.
    pub(crate) fn step(&self) -> String {
        match self.row.current_step {
            Some(i) => format!("{i} {}", self.name_of(i)),
            None => "-".to_owned(),
        }
    }

    /// The last span that ended in `outcome` in `phase`.
    fn last(&self, phase: Phase, outcome: Outcome) -> Option<&Span> {
        self.spans
            .iter()
            .rev()
            .find(|s| s.phase == phase && s.outcome == outcome)
    }

    /// The saga in one line.
    pub(crate) fn summary(&self) -> String {
        let failed = |s: &Span| {
            let error = last_error(s.detail.as_deref().unwrap_or(""));
            format!("step {} {} failed: {error}", s.index, s.name)
        };
        let note = |action: &str| {
            self.notes
                .iter()
                .rev()
                .find(|n| n.action == action)
                .map(|n| {
                    if n.note.is_empty() {
                        format!("{action} by {}", n.by)
                    } else {
                        format!("{action} by {}: {}", n.by, n.note)
                    }
                })
        };
        let row = &self.row;
        match row.status {
            Status::Completed => format!(
                "every step succeeded ({})",
                plural(self.names.len(), "step")
            ),
            Status::Compensated => match self.last(Phase::Execute, Outcome::Failed) {
                Some(s) => format!("{}; undone", failed(s)),
                None => "stopped and undone".to_owned(),
            },
            Status::Stuck => match self.last(Phase::Compensate, Outcome::Failed) {
                Some(s) => format!(
                    "the compensation of step {} {} failed for good: {}",
                    s.index,
                    s.name,
                    last_error(s.detail.as_deref().unwrap_or(""))
                ),
                None => "a compensation failed for good".to_owned(),
            },
            Status::Running => match self.spans.iter().rev().find(|s| s.outcome == Outcome::Open) {
                Some(s) if s.phase == Phase::Compensate => {
                    format!("compensating step {} {}", s.index, s.name)
                }
                Some(s) => format!("at step {} {}", s.index, s.name),
                None if self.spans.is_empty() => "began; no step journaled yet".to_owned(),
                None => format!("between steps, after step {}", self.step()),
            },
            Status::Parked => format!(
                "parked at step {}: its resumptions kept failing{}",
                self.step(),
                row.last_error
                    .as_deref()
                    .map(|e| format!(" ({})", last_error(e)))
                    .unwrap_or_default()
            ),
            Status::Resolved => note("resolved").unwrap_or_else(|| "resolved by hand".into()),
            Status::Abandoned => note("abandoned").unwrap_or_else(|| "abandoned".into()),
            _ => row.status.to_string(),
        }
    }
}

/// `3 steps`, `1 step`.
fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
