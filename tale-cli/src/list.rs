//! `tale ls` and `tale check`: one line per saga, filtered, sorted and paged; the rule
//! that calls a saga stuck.

use serde_json::{Value, json};
use tale::journal::{Millis, SagaRow, Status};

use crate::story::{Story, last_error};
use crate::style::{Style, clip, table};
use crate::time::span;

/// Whether `row` is stuck at `now`: a compensation failed for good (`stuck`), its
/// resumptions kept failing (`parked`), or it is running and its journal has not moved
/// for longer than `after`.
pub(crate) fn is_stuck(row: &SagaRow, now: Millis, after: Millis) -> bool {
    match row.status {
        Status::Stuck | Status::Parked => true,
        Status::Running => now - row.updated_at > after,
        _ => false,
    }
}

/// Which sagas to list.
#[derive(Clone, Debug, Default)]
pub(crate) struct Filter {
    /// Of these statuses only (all, if empty).
    pub(crate) statuses: Vec<Status>,
    /// Of this saga name only.
    pub(crate) name: Option<String>,
    /// Begun longer ago than this only.
    pub(crate) older_than: Option<Millis>,
    /// Stuck only, by [`is_stuck`] with this threshold.
    pub(crate) stuck_after: Option<Millis>,
}

impl Filter {
    /// Whether `row` passes at `now`.
    pub(crate) fn admits(&self, row: &SagaRow, now: Millis) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&row.status))
            && self.name.as_ref().is_none_or(|n| *n == row.name)
            && self.older_than.is_none_or(|age| now - row.created_at > age)
            && self
                .stuck_after
                .is_none_or(|after| is_stuck(row, now, after))
    }
}

/// The order of the list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Sort {
    /// By id, oldest first.
    #[default]
    Id,
    /// By age, oldest first.
    Age,
    /// By idle time, the longest idle first.
    Idle,
    /// By status, then id.
    Status,
}

/// Sorts `rows` in place.
pub(crate) fn sort(rows: &mut [SagaRow], by: Sort) {
    match by {
        Sort::Id => rows.sort_by_key(|r| r.id),
        Sort::Age => rows.sort_by_key(|r| (r.created_at, r.id)),
        Sort::Idle => rows.sort_by_key(|r| (r.updated_at, r.id)),
        Sort::Status => rows.sort_by_key(|r| (r.status.as_str(), r.id)),
    }
}

/// The worker that owns a running saga now, if any.
fn owner(row: &SagaRow, now: Millis) -> Option<&str> {
    let holds = row.lease.until.is_some_and(|until| until > now);
    if row.status == Status::Running && holds {
        row.lease.owner.as_deref()
    } else {
        None
    }
}

/// The `ls` table of `stories`: one line each.
pub(crate) fn overview(stories: &[Story], now: Millis, style: Style) -> String {
    let header = [
        "ID", "NAME", "STATUS", "STEP", "ATT", "AGE", "IDLE", "OWNER", "SUMMARY",
    ];
    let mut lines: Vec<[String; 9]> = Vec::new();
    for story in stories {
        let row = &story.row;
        lines.push([
            row.id.0.to_string(),
            clip(&row.name, 24),
            row.status.to_string(),
            clip(&story.step(), 28),
            row.attempts.to_string(),
            span(now - row.created_at),
            span(now - row.updated_at),
            clip(owner(row, now).unwrap_or("-"), 24),
            clip(&story.summary(), 72),
        ]);
    }
    table(style, header, &lines, &[0, 4], |n, column, cell| {
        let status = stories[n].row.status;
        match column {
            2 => style.status(status, cell),
            8 if matches!(status, Status::Stuck | Status::Parked) => style.bad(cell),
            0 | 5 | 6 | 7 => style.dim(cell),
            _ => cell.to_owned(),
        }
    })
}

/// A saga's summary as JSON, for scripts.
pub(crate) fn row_json(story: &Story, now: Millis, stuck_after: Millis) -> Value {
    let row = &story.row;
    json!({
        "id": row.id.0,
        "name": row.name,
        "status": row.status.as_str(),
        "step": row.current_step,
        "step_name": row.current_step_name,
        "attempts": row.attempts,
        "records": row.records,
        "created_at_ms": row.created_at,
        "updated_at_ms": row.updated_at,
        "age_ms": now - row.created_at,
        "idle_ms": now - row.updated_at,
        "owner": owner(row, now),
        "epoch": row.lease.epoch,
        "last_error": row.last_error.as_deref().map(last_error),
        "summary": story.summary(),
        "stuck": is_stuck(row, now, stuck_after),
    })
}
