//! `tale show --follow`: after the story so far, each new record as it is journaled,
//! until the saga finishes.

use std::time::Duration;

use tale::journal::{AsyncStore, Record};

use crate::Failure;
use crate::story::{Story, last_error};
use crate::style::Style;
use crate::time::{moment, span};

/// How often the journal is read again.
const POLL: Duration = Duration::from_millis(500);

/// A record, in one line.
fn describe(record: &Record) -> String {
    match record {
        Record::StepStarted { index, name } => format!("step {index} {name} started"),
        Record::StepSucceeded {
            index, attempts, ..
        } => format!("step {index} succeeded after {attempts} attempt(s)"),
        Record::StepFailed { index, errors, .. } => {
            format!("step {index} failed: {}", last_error(errors))
        }
        Record::CompensationStarted { index, .. } => format!("compensating step {index}"),
        Record::CompensationSucceeded { index } => format!("step {index} undone"),
        Record::CompensationFailed { index, errors } => {
            format!(
                "compensation of step {index} failed: {}",
                last_error(errors)
            )
        }
        Record::Finished { status } => format!("finished: {status}"),
        Record::Reopened { by, .. } => format!("reopened by {by}"),
        Record::Resolved { by, .. } => format!("resolved by {by}"),
        Record::Abandoned { by, .. } => format!("abandoned by {by}"),
        other => format!("{other:?}"),
    }
}

/// Prints what `story`'s saga journals from now on, until it finishes.
pub(crate) async fn follow(
    store: &dyn AsyncStore,
    story: Story,
    style: Style,
) -> Result<(), Failure> {
    let id = story.row.id;
    let origin = story.row.created_at;
    let mut seen = story.entries.len();
    let mut status = story.row.status;
    println!("\n{}", style.dim("following; Ctrl-C to stop"));
    while !status.is_finished() {
        tokio::time::sleep(POLL).await;
        let entries = store.history(id).await?;
        for entry in entries.iter().skip(seen) {
            println!(
                "{}  {}  {}",
                style.dim(&moment(entry.at)),
                style.dim(&format!("+{}", span(entry.at - origin))),
                describe(&entry.record)
            );
        }
        seen = seen.max(entries.len());
        status = store.saga(id).await?.status;
    }
    println!(
        "saga #{} is {}",
        id.0,
        style.status(status, status.as_str())
    );
    Ok(())
}
