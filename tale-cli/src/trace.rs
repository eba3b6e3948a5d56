//! `tale show --trace FILE`: the story as Chrome trace-event JSON, which Perfetto
//! (ui.perfetto.dev) and chrome://tracing open: the saga a process, each step a thread,
//! each execution and compensation a complete event, operators' actions instant events.

use serde_json::{Value, json};
use tale::journal::Phase;

use crate::story::Story;

/// Microseconds from milliseconds.
fn us(ms: i64) -> i64 {
    ms.saturating_mul(1_000)
}

/// The trace of `story`.
pub(crate) fn trace(story: &Story) -> Value {
    let row = &story.row;
    let pid = row.id.0;
    let origin = row.created_at;
    let mut events = vec![json!({
        "ph": "M", "name": "process_name", "pid": pid, "tid": 0,
        "args": { "name": format!("saga #{} {} ({})", pid, row.name, row.status) },
    })];
    let mut named = Vec::new();
    for s in &story.spans {
        let tid = i64::from(s.index) + 1;
        if !named.contains(&tid) {
            named.push(tid);
            events.push(json!({
                "ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                "args": { "name": format!("{} {}", s.index, s.name) },
            }));
            events.push(json!({
                "ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid,
                "args": { "sort_index": tid },
            }));
        }
        let end = s.end.unwrap_or_else(|| story.end().max(s.start));
        let phase = match s.phase {
            Phase::Execute => "execute",
            Phase::Compensate => "compensate",
        };
        let name = match s.phase {
            Phase::Execute => s.name.clone(),
            Phase::Compensate => format!("undo {}", s.name),
        };
        events.push(json!({
            "ph": "X",
            "name": name,
            "cat": phase,
            "pid": pid,
            "tid": tid,
            "ts": us(s.start - origin),
            "dur": us(end - s.start),
            "args": {
                "attempts": s.attempts,
                "outcome": s.outcome.as_str(),
                "idempotency_key": s.key.to_string(),
                "detail": s.detail,
                "gave_up": s.gave_up,
            },
        }));
    }
    for note in &story.notes {
        events.push(json!({
            "ph": "i", "s": "p", "name": note.action, "pid": pid, "tid": 0,
            "ts": us(note.at - origin),
            "args": { "by": note.by, "note": note.note },
        }));
    }
    json!({ "traceEvents": events, "displayTimeUnit": "ms" })
}
