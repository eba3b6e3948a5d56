//! `tale resolve`, `reopen` and `abandon`: the writes, each confirmed (or `--yes`),
//! journaled with who and why, and refused when the saga's status does not allow it.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use tale::journal::{Action, AsyncStore, JournalError, SagaId};

use crate::story::Story;
use crate::{Act, Failure};

/// Does `action` on the saga `args` names, as `by`.
pub(crate) async fn act(
    store: &dyn AsyncStore,
    action: Action,
    args: Act,
    by: &str,
) -> Result<ExitCode, Failure> {
    let id = SagaId(args.id);
    let row = store.saga(id).await?;
    let story = Story::read(row.clone(), store.history(id).await?);
    // Refused before asking: the same check the write makes.
    action.check(&row).map_err(explain)?;
    let note = args.note.unwrap_or_default();
    if note.is_empty() && action != Action::Reopen {
        return Err(Failure(format!(
            "say why with --note \"...\": it is journaled with the {action}"
        )));
    }
    if !args.yes {
        confirm(&format!(
            "{action} saga #{} ({}, {}: {})?",
            row.id.0,
            row.name,
            row.status,
            story.summary()
        ))?;
    }
    let after = action
        .apply_async(store, id, by, &note)
        .await
        .map_err(explain)?;
    let then = match action {
        Action::Reopen => "; the next worker or recovery that claims it runs it again",
        _ => "",
    };
    println!(
        "saga #{} is {} (by {by}{}){then}",
        after.id.0,
        after.status,
        if note.is_empty() {
            String::new()
        } else {
            format!(": {note}")
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// A refusal, in words.
fn explain(error: JournalError) -> Failure {
    match error {
        JournalError::NotAllowed { .. } => Failure(format!("refused: {error}; nothing written")),
        other => Failure(other.to_string()),
    }
}

/// Asks the person at the terminal; refuses to write when nobody is there to ask.
fn confirm(question: &str) -> Result<(), Failure> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Failure(
            "refusing to write without confirmation: pass --yes (standard input is not a \
             terminal)"
                .into(),
        ));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Failure("not confirmed; nothing written".into()))
    }
}
