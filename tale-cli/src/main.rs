//! `tale`: the operator's tool for tale's saga journals.
//!
//! It reads a journal (a SQLite file, or a PostgreSQL database) without the sagas'
//! code: `tale ls` lists the sagas, `tale show ID` tells one saga's story as a timeline,
//! `tale check` exits non-zero when some saga is stuck. It writes only when told to, by
//! the subcommands that say so (`resolve`, `reopen`, `abandon`), each journaled with who
//! did it and why, after a confirmation (or `--yes`).
//!
//! A saga is **stuck** when a compensation failed for good (status `stuck`), when its
//! resumptions kept failing (`parked`), or when it is `running` and its journal has
//! not moved for longer than `--stuck-after` (15 minutes by default).
//!
//! `TALE_JOURNAL` names the journal instead of `--journal`; `TALE_OPERATOR` (else
//! `USER`) is who a write is journaled as; `TALE_NOW` (milliseconds since the Unix
//! epoch) fixes the time the tool reads and writes, for tests and documentation.

mod act;
mod follow;
mod journal;
mod list;
mod show;
mod story;
mod style;
mod time;
mod trace;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tale::journal::{Action, AsyncStore, SagaId, Status};

use crate::list::{Filter, Sort};
use crate::story::Story;
use crate::style::{Colour, Style};

/// Reads and tends the sagas of a tale journal.
#[derive(Parser, Debug)]
#[command(name = "tale", version, about, long_about = None)]
struct Cli {
    /// The journal: a SQLite file, or a PostgreSQL database (`postgresql://...` or
    /// `host=... dbname=...`).
    #[arg(short, long, env = "TALE_JOURNAL", global = true)]
    journal: Option<String>,
    /// When to colour the output.
    #[arg(long, value_enum, default_value_t = Colour::Auto, global = true)]
    color: Colour,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// One line per saga: id, name, status, step, attempts, age, idle time, owner and a
    /// summary.
    Ls(Ls),
    /// A saga's whole story: its steps and compensations as a timeline.
    Show(Show),
    /// Exits with status 1 and one line per stuck saga if any is stuck; for cron and
    /// alerting.
    Check(Check),
    /// Writes: marks a stuck or parked saga resolved (someone dealt with it by hand).
    Resolve(Act),
    /// Writes: runs a stuck or parked saga again (its failed compensations are retried
    /// by the next worker or recovery).
    Reopen(Act),
    /// Writes: stops a running or parked saga for good, without compensating it.
    Abandon(Act),
}

#[derive(Args, Debug)]
struct Ls {
    /// Only sagas of these statuses (running, completed, compensated, stuck, resolved,
    /// parked, abandoned), comma-separated.
    #[arg(long, value_delimiter = ',')]
    status: Vec<String>,
    /// Only sagas of this name.
    #[arg(long)]
    name: Option<String>,
    /// Only sagas begun longer ago than this (`90s`, `15m`, `2h`, `1d`).
    #[arg(long, value_parser = time::parse_span)]
    older_than: Option<i64>,
    /// Only stuck sagas (see `--stuck-after`).
    #[arg(long)]
    stuck: bool,
    /// A running saga whose journal has not moved for this long is stuck.
    #[arg(long, default_value = "15m", value_parser = time::parse_span)]
    stuck_after: i64,
    /// The order.
    #[arg(long, value_enum, default_value_t = Sort::Id)]
    sort: Sort,
    /// Newest first.
    #[arg(long)]
    reverse: bool,
    /// At most this many lines.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Skip this many lines first.
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// JSON, for scripts.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct Show {
    /// The saga's id.
    id: i64,
    /// JSON, for scripts.
    #[arg(long, conflicts_with = "follow")]
    json: bool,
    /// Keep watching: print each new record until the saga finishes.
    #[arg(long)]
    follow: bool,
    /// Also write the story as Chrome trace-event JSON to this file (open it in
    /// Perfetto or chrome://tracing).
    #[arg(long, value_name = "FILE")]
    trace: Option<std::path::PathBuf>,
    /// A running saga whose journal has not moved for this long is stuck.
    #[arg(long, default_value = "15m", value_parser = time::parse_span)]
    stuck_after: i64,
}

#[derive(Args, Debug)]
struct Check {
    /// A running saga whose journal has not moved for this long is stuck.
    #[arg(long, default_value = "15m", value_parser = time::parse_span)]
    stuck_after: i64,
}

#[derive(Args, Debug)]
struct Act {
    /// The saga's id.
    id: i64,
    /// Why, or what was done by hand: journaled with the action.
    #[arg(long, short)]
    note: Option<String>,
    /// Who is acting (default: `TALE_OPERATOR`, else `USER`).
    #[arg(long)]
    by: Option<String>,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    yes: bool,
}

/// A failure for the operator: a message, and the exit status.
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// Who is acting, as journaled.
fn operator(by: Option<&str>) -> String {
    by.map(str::to_owned)
        .or_else(|| std::env::var("TALE_OPERATOR").ok())
        .or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let style = Style::for_stdout(cli.color);
    let Some(target) = cli.journal else {
        return Err(Failure(
            "which journal? pass --journal PATH (a SQLite file) or a PostgreSQL URL, or set \
             TALE_JOURNAL"
                .into(),
        ));
    };
    let by = match &cli.command {
        Command::Resolve(a) | Command::Reopen(a) | Command::Abandon(a) => operator(a.by.as_deref()),
        _ => operator(None),
    };
    let journal = journal::open(&target, &by).await.map_err(Failure)?;
    let store = &*journal;
    let now = time::now();
    match cli.command {
        Command::Ls(ls) => {
            let statuses = ls
                .status
                .iter()
                .map(|s| {
                    Status::from_name(s).ok_or_else(|| {
                        Failure(format!(
                            "`{s}` is not a status (running, completed, compensated, stuck, \
                             resolved, parked, abandoned)"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let filter = Filter {
                statuses,
                name: ls.name,
                older_than: ls.older_than,
                stuck_after: ls.stuck.then_some(ls.stuck_after),
            };
            let mut rows: Vec<_> = store
                .sagas(&[])
                .await?
                .into_iter()
                .filter(|r| filter.admits(r, now))
                .collect();
            list::sort(&mut rows, ls.sort);
            if ls.reverse {
                rows.reverse();
            }
            let total = rows.len();
            let mut page = Vec::new();
            for row in rows.into_iter().skip(ls.offset).take(ls.limit) {
                let entries = store.history(row.id).await?;
                page.push(Story::read(row, entries));
            }
            if ls.json {
                let json: Vec<_> = page
                    .iter()
                    .map(|r| list::row_json(r, now, ls.stuck_after))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&json)?);
            } else if page.is_empty() {
                println!("no saga matches");
            } else {
                print!("{}", list::overview(&page, now, style));
                let shown = ls.offset + page.len();
                if shown < total {
                    println!(
                        "{}",
                        style.dim(&format!(
                            "{}-{} of {total}; --offset {shown} for the next page",
                            ls.offset + 1,
                            shown
                        ))
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Show(show) => {
            let story = read_story(store, SagaId(show.id)).await?;
            if let Some(path) = &show.trace {
                let trace = serde_json::to_string(&trace::trace(&story))?;
                std::fs::write(path, trace)
                    .map_err(|e| Failure(format!("{}: {e}", path.display())))?;
            }
            if show.json {
                let json = show::json(&story, now, show.stuck_after);
                println!("{}", serde_json::to_string_pretty(&json)?);
            } else {
                print!("{}", show::text(&story, now, style));
                if show.follow {
                    follow::follow(store, story, style).await?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(check) => {
            let stuck: Vec<_> = store
                .sagas(&[])
                .await?
                .into_iter()
                .filter(|r| list::is_stuck(r, now, check.stuck_after))
                .collect();
            let total = stuck.len();
            for row in stuck {
                let story = read_story(store, row.id).await?;
                println!(
                    "saga #{} {} {}: {} (idle {})",
                    row.id.0,
                    row.name,
                    row.status,
                    story.summary(),
                    time::span(now - row.updated_at)
                );
            }
            if total == 0 {
                println!("ok: no saga is stuck");
                Ok(ExitCode::SUCCESS)
            } else {
                Ok(ExitCode::from(1))
            }
        }
        Command::Resolve(a) => act::act(store, Action::Resolve, a, &by).await,
        Command::Reopen(a) => act::act(store, Action::Reopen, a, &by).await,
        Command::Abandon(a) => act::act(store, Action::Abandon, a, &by).await,
    }
}

/// The story of saga `id`.
async fn read_story(store: &dyn AsyncStore, id: SagaId) -> Result<Story, Failure> {
    let row = store.saga(id).await?;
    let entries = store.history(id).await?;
    Ok(Story::read(row, entries))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tale: error: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("tale: error: {message}");
            ExitCode::from(2)
        }
    }
}
