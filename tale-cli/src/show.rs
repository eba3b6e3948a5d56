//! `tale show`: a saga's story as a table of its steps and compensations, a text Gantt
//! chart on one time axis, and what operators did; or as JSON.

use std::fmt::Write as _;

use serde_json::{Value, json};
use tale::journal::{Millis, Phase, Status};

use crate::list::row_json;
use crate::story::{Outcome, Span, Story, last_error, plain};
use crate::style::{Style, clip, pad, table};
use crate::time::{moment, span};

/// The chart's width, in characters.
const CHART: usize = 48;

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Execute => "execute",
        Phase::Compensate => "compensate",
    }
}

/// What a span came to, in words.
fn result(s: &Span) -> String {
    match (s.outcome, s.phase) {
        (Outcome::Open, _) => "not finished".to_owned(),
        (Outcome::Succeeded, Phase::Compensate) => "undone".to_owned(),
        (Outcome::Succeeded, Phase::Execute) => {
            let output = s.detail.as_deref().unwrap_or("");
            let output = serde_json::from_str::<Value>(output)
                .map_or_else(|_| output.to_owned(), |v| plain(&v));
            format!("ok {output}")
        }
        (Outcome::Failed, _) => {
            let error = last_error(s.detail.as_deref().unwrap_or(""));
            match &s.gave_up {
                Some(why) => format!("failed: {error} ({why})"),
                None => format!("failed: {error}"),
            }
        }
    }
}

/// The story, for a person.
pub(crate) fn text(story: &Story, now: Millis, style: Style) -> String {
    let row = &story.row;
    let mut out = String::new();
    let end = story.end();
    let took = if row.status == Status::Running {
        format!("running for {}", span(now - row.created_at))
    } else {
        format!("took {}", span(end - row.created_at))
    };
    let _ = writeln!(
        out,
        "{} {} · {} · began {} · {took}",
        style.bold(&format!("saga #{}", row.id.0)),
        style.bold(&row.name),
        style.status(row.status, row.status.as_str()),
        moment(row.created_at),
    );
    let _ = writeln!(out, "{}  {}", style.dim("inputs"), row.inputs);
    let _ = writeln!(out, "{}     {}", style.dim("now"), story.summary());
    if let (Status::Running, Some(owner)) = (row.status, &row.lease.owner) {
        let until = match row.lease.until {
            None => "given back".to_owned(),
            Some(u) if u <= now => format!("lease ended {}", moment(u)),
            Some(u) => format!("lease until {}", moment(u)),
        };
        let _ = writeln!(
            out,
            "{}   {owner} (epoch {}, {until})",
            style.dim("owner"),
            row.lease.epoch
        );
    }
    if story.spans.is_empty() {
        let _ = writeln!(out, "\nno step journaled yet");
        return out;
    }

    // The table.
    let header = [
        "#", "STEP", "PHASE", "ATT", "START", "TOOK", "RESULT", "KEY",
    ];
    let lines: Vec<[String; 8]> = story
        .spans
        .iter()
        .map(|s| {
            [
                s.index.to_string(),
                clip(&s.name, 28),
                phase_name(s.phase).to_owned(),
                s.attempts.map_or_else(|| "-".to_owned(), |a| a.to_string()),
                format!("+{}", span(s.start - row.created_at)),
                s.end.map_or_else(|| "…".to_owned(), |e| span(e - s.start)),
                clip(&result(s), 72),
                s.key.to_string(),
            ]
        })
        .collect();
    out.push('\n');
    out.push_str(&table(
        style,
        header,
        &lines,
        &[0, 3],
        |n, column, cell| match (column, story.spans[n].outcome) {
            (6, Outcome::Failed) => style.bad(cell),
            (6, Outcome::Open) => style.warn(cell),
            (4 | 5 | 7, _) => style.dim(cell),
            _ => cell.to_owned(),
        },
    ));

    // The chart: one line per step, its execution (█) and compensation (▒) on one axis.
    let origin = row.created_at;
    let last = if row.status == Status::Running {
        now.max(end)
    } else {
        end
    };
    let total = (last - origin).max(1);
    let column = |t: Millis| -> usize {
        let offset = (t - origin).clamp(0, total);
        usize::try_from(offset * CHART as i64 / total).unwrap_or(0)
    };
    let mut steps: Vec<(u32, &str)> = Vec::new();
    for s in &story.spans {
        if !steps.iter().any(|(i, _)| *i == s.index) {
            steps.push((s.index, &s.name));
        }
    }
    steps.sort_by_key(|(i, _)| *i);
    let label_width = steps
        .iter()
        .map(|(i, n)| format!("{i} {n}").chars().count().min(28))
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "\n{}{}{}",
        " ".repeat(label_width + 2),
        style.dim("0"),
        style.dim(&format!("{:>width$}", span(total), width = CHART))
    );
    for (index, name) in steps {
        let mut bar = vec![' '; CHART + 1];
        for s in story.spans.iter().filter(|s| s.index == index) {
            let from = column(s.start);
            let to = column(s.end.unwrap_or(last)).max(from + 1).min(CHART + 1);
            let mark = match (s.phase, s.outcome) {
                (_, Outcome::Failed) => '▓',
                (Phase::Execute, _) => '█',
                (Phase::Compensate, _) => '▒',
            };
            for cell in &mut bar[from..to] {
                *cell = mark;
            }
        }
        let bar: String = bar.into_iter().collect();
        let label = clip(&format!("{index} {name}"), 28);
        let painted = bar
            .chars()
            .map(|c| match c {
                '▓' => style.bad("▓"),
                '▒' => style.warn("▒"),
                other => other.to_string(),
            })
            .collect::<String>();
        let _ = writeln!(out, "{}  {}", pad(&label, label_width), painted.trim_end());
    }
    let _ = writeln!(
        out,
        "{}",
        style.dim(&format!(
            "{}█ execute  ▒ compensate  ▓ failed",
            " ".repeat(label_width + 2),
        ))
    );

    if !story.notes.is_empty() {
        out.push('\n');
        for note in &story.notes {
            let why = if note.note.is_empty() {
                String::new()
            } else {
                format!(": {}", note.note)
            };
            let _ = writeln!(
                out,
                "{}  {} {}{why}",
                style.dim(&moment(note.at)),
                note.by,
                style.bold(note.action)
            );
        }
    }
    out
}

/// The story as JSON, for scripts.
pub(crate) fn json(story: &Story, now: Millis, stuck_after: Millis) -> Value {
    let spans: Vec<Value> = story
        .spans
        .iter()
        .map(|s| {
            json!({
                "index": s.index,
                "name": s.name,
                "phase": phase_name(s.phase),
                "attempts": s.attempts,
                "start_ms": s.start,
                "end_ms": s.end,
                "duration_ms": s.end.map(|e| e - s.start),
                "outcome": s.outcome.as_str(),
                "output": (s.outcome == Outcome::Succeeded).then_some(s.detail.as_deref()).flatten(),
                "errors": (s.outcome == Outcome::Failed).then_some(s.detail.as_deref()).flatten(),
                "gave_up": s.gave_up,
                "uncertain": s.uncertain,
                "idempotency_key": s.key.to_string(),
            })
        })
        .collect();
    let notes: Vec<Value> = story
        .notes
        .iter()
        .map(|n| json!({ "at_ms": n.at, "action": n.action, "by": n.by, "note": n.note }))
        .collect();
    json!({
        "saga": row_json(story, now, stuck_after),
        "inputs": story.row.inputs,
        "finished_at_ms": story.finished_at,
        "steps": spans,
        "operators": notes,
    })
}
