//! [`run_fleet`]: the crash suite of many workers on one journal. Several child
//! processes (`crash_worker`) share one journal (a SQLite file, or a PostgreSQL
//! database), each starting sagas and running a worker; the harness, seeded, kills one
//! with SIGKILL (and starts another in its place), pauses one with SIGSTOP past its
//! lease and then resumes it, or shuts one down gracefully, at random points; on
//! PostgreSQL it also terminates the workers' connections (`pg_terminate_backend`) and
//! restarts the server at once (`pg_ctl restart -m immediate`). Then the children finish everything, and the
//! checks of [`check`] run, with those of the owners: no saga
//! lost, none run by two workers at once.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tale::journal::{AsyncStore, PgStore, Record, SagaRow, SqliteStore, Status, Store};

use super::check::{Layout, World, check};
use super::harness::{Summary, lines};
use super::rng::{Rng, env_u64};
use super::services::Services;

/// How long the fleet may take to finish every saga once the chaos ends.
const PATIENCE: Duration = Duration::from_secs(90);

/// The suite: its child, its defaults.
pub struct Fleet {
    /// Names its folder in `tmp`.
    pub name: &'static str,
    /// Where its databases go (the test's `CARGO_TARGET_TMPDIR`).
    pub tmp: &'static Path,
    /// The child binary (`crash_worker`).
    pub exe: &'static str,
    /// The seed when `TALE_CRASH_SEED` is not set.
    pub default_seed: u64,
    /// The number of kills when `TALE_CRASH_KILLS` is not set.
    pub default_kills: u64,
    /// How many workers run at once.
    pub workers: usize,
    /// Their leases, in milliseconds.
    pub ttl_ms: u64,
    /// Where the journal is.
    pub journal: JournalKind,
}

/// Where a fleet's journal is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalKind {
    /// `journal.db` in the suite's folder.
    Sqlite,
    /// A fresh database on the tests' PostgreSQL server (`tests::pg`), with database
    /// faults among the chaos.
    Postgres,
}

/// The harness's own view of the journal: how many sagas run, and everything in it.
enum View {
    Sqlite(Box<SqliteStore>),
    Postgres(Box<(tokio::runtime::Runtime, PgStore, String)>),
}

impl View {
    fn running(&self) -> Vec<SagaRow> {
        match self {
            View::Sqlite(store) => Store::sagas(&**store, &[Status::Running]),
            View::Postgres(pg) => pg.0.block_on(pg.1.sagas(&[Status::Running])),
        }
        .expect("the journal lists its sagas")
    }

    fn all(&self) -> Vec<(SagaRow, Vec<Record>)> {
        let read = |rows: Vec<SagaRow>, records: &dyn Fn(&SagaRow) -> Vec<Record>| {
            rows.into_iter()
                .map(|row| {
                    let r = records(&row);
                    (row, r)
                })
                .collect()
        };
        match self {
            View::Sqlite(store) => read(Store::sagas(&**store, &[]).unwrap(), &|row| {
                Store::records(&**store, row.id).expect("records")
            }),
            View::Postgres(pg) => {
                let (rt, store, _) = &**pg;
                read(rt.block_on(store.sagas(&[])).unwrap(), &|row| {
                    rt.block_on(store.records(row.id)).expect("records")
                })
            }
        }
    }
}

/// One child: the process, and its standard input (closing it shuts it down).
struct Member {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Member {
    /// Sends the child `signal` (`STOP`, `CONT`) with `kill(1)`.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill(1) runs");
        assert!(status.success(), "kill -{signal} failed");
    }
}

/// What the fleet's harness counts beyond a crash suite's [`Summary`].
#[derive(Default)]
struct Counts {
    restarts: u64,
    terminated: u64,
    started: u64,
    kills: u64,
    graceful: u64,
    sagas_started: u64,
}

/// Runs the fleet suite. Prints a summary (`--nocapture` shows it).
///
/// # Panics
///
/// On any violation, with the seed to rerun it and the folder of the databases.
pub fn run_fleet(fleet: &Fleet) {
    let started = Instant::now();
    let seed = env_u64("TALE_CRASH_SEED", fleet.default_seed);
    let kills = env_u64("TALE_CRASH_KILLS", fleet.default_kills);
    let dir = fleet.tmp.join(format!("{}-{seed:#x}", fleet.name));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "crash tests: seed {seed:#x}, {kills} kills, {} workers, leases of {} ms, in {}",
        fleet.workers,
        fleet.ttl_ms,
        dir.display()
    );
    // The databases exist before the children race to open them.
    let journal = match fleet.journal {
        JournalKind::Sqlite => View::Sqlite(Box::new(
            SqliteStore::open(dir.join("journal.db")).expect("the journal opens"),
        )),
        JournalKind::Postgres => {
            let rt = tokio::runtime::Runtime::new().expect("a runtime");
            let url = rt.block_on(crate::pg::server().fresh_database("crash_workers"));
            let store = rt
                .block_on(PgStore::connect(&url))
                .expect("the journal opens");
            View::Postgres(Box::new((rt, store, url)))
        }
    };
    let url = match &journal {
        View::Postgres(pg) => Some(pg.2.clone()),
        View::Sqlite(_) => None,
    };
    drop(Services::create(&dir).expect("services.db is created"));

    let mut rng = Rng(seed);
    let mut counts = Counts::default();
    let mut summary = Summary::default();
    let mut next = 0;
    let mut spawn = |rng: &mut Rng, counts: &mut Counts| {
        let n = 2 + rng.below(20);
        let lanes = 1 + rng.below(6);
        let child = command(fleet.exe, url.as_deref())
            .args(["work", dir.to_str().expect("a UTF-8 path")])
            .args([seed, next, n, lanes, fleet.ttl_ms].map(|v| v.to_string()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("crash_worker starts");
        next += n;
        counts.started += 1;
        counts.sagas_started += n;
        let mut child = child;
        let stdin = child.stdin.take();
        Member { child, stdin }
    };
    let mut members: Vec<Member> = (0..fleet.workers)
        .map(|_| spawn(&mut rng, &mut counts))
        .collect();

    let ttl = Duration::from_millis(fleet.ttl_ms);
    while counts.kills < kills {
        thread::sleep(Duration::from_millis(5 + rng.below(100)));
        let i = usize::try_from(rng.below(members.len() as u64)).unwrap_or(0);
        let roll = rng.below(100);
        if let View::Postgres(pg) = &journal
            && roll >= 92
        {
            let (rt, _, url) = &**pg;
            if roll >= 97 && counts.restarts < 3 {
                // The server crashes and comes back: every connection drops at once.
                crate::pg::server().restart_immediately();
                counts.restarts += 1;
            } else {
                counts.terminated += rt.block_on(crate::pg::server().terminate_backends(url));
            }
            continue;
        }
        if roll < 12 {
            // Paused past its lease: the others take its sagas over; once resumed, it
            // must be fenced.
            members[i].signal("STOP");
            let pause = ttl * u32::try_from(2 + rng.below(3)).unwrap_or(2);
            thread::sleep(pause + Duration::from_millis(rng.below(fleet.ttl_ms)));
            members[i].signal("CONT");
            summary.pauses += 1;
        } else if roll < 20 {
            // Shut down gracefully: what it runs is given back.
            let mut member = members.swap_remove(i);
            drop(member.stdin.take());
            let output = wait(member.child, &dir);
            expect_success(&output, &dir);
            counts.graceful += 1;
            members.push(spawn(&mut rng, &mut counts));
        } else {
            let mut member = members.swap_remove(i);
            member.child.kill().expect("SIGKILL is delivered");
            let output = member
                .child
                .wait_with_output()
                .expect("crash_worker is reaped");
            if !output.status.success() && output.status.code().is_some() {
                expect_success(&output, &dir);
            }
            counts.kills += 1;
            members.push(spawn(&mut rng, &mut counts));
        }
    }

    // The chaos is over: the workers shut down gracefully (what they run is given
    // back), then one last worker, starting nothing, finishes everything.
    let mut stats = Vec::new();
    let mut collect = |member: Member| {
        let mut member = member;
        drop(member.stdin.take());
        let output = wait(member.child, &dir);
        expect_success(&output, &dir);
        stats.extend(
            lines(&output.stdout)
                .filter_map(|l| l.strip_prefix("stats "))
                .map(str::to_owned),
        );
    };
    for member in members {
        collect(member);
    }
    let last = {
        let child = command(fleet.exe, url.as_deref())
            .args(["work", dir.to_str().expect("a UTF-8 path")])
            .args([seed, next, 0, 1, fleet.ttl_ms].map(|v| v.to_string()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("crash_worker starts");
        let mut child = child;
        let stdin = child.stdin.take();
        Member { child, stdin }
    };
    let deadline = Instant::now() + PATIENCE;
    loop {
        let running = journal.running();
        if running.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the last worker did not finish within {PATIENCE:?}: {} sagas still running, e.g. {:?} (seed {seed:#x}; the databases are in {})",
            running.len(),
            running.first(),
            dir.display()
        );
        thread::sleep(Duration::from_millis(20));
    }
    collect(last);
    let dense = matches!(journal, View::Sqlite(_));
    let world = World::read_with(&dir, journal.all(), dense);
    drop(journal);
    let bad = check(&world, &Layout::ASYNC, &mut summary);
    let s = &summary;
    println!(
        "{} kills, {} pauses past the lease, {} graceful shutdowns, {} workers started; {} server restarts, {} connections terminated; in {:.1?}",
        counts.kills,
        s.pauses,
        counts.graceful,
        counts.started,
        counts.restarts,
        counts.terminated,
        started.elapsed()
    );
    println!(
        "{} sagas ({} asked for): {} completed, {} compensated, {} stuck {:?} (compensations made to fail); {} uncertain steps failed as crashed, {} cut short by their timeout",
        s.sagas,
        counts.sagas_started,
        s.completed,
        s.compensated,
        s.stuck.len(),
        s.stuck,
        s.crashed_uncertain,
        s.timed_out
    );
    println!(
        "{} owners (saga, epoch) made calls; {} calls refused as stale (fenced); duplicates suppressed by idempotency keys: {} steps, {} compensations",
        s.owners, s.fenced_calls, s.duplicates_execute, s.duplicates_compensate
    );
    println!(
        "by saga: {}; {} fan-outs cut short (a kill, a pause past the lease, a shutdown) and finished by another owner",
        s.by_saga_text(),
        s.fan_outs_resumed
    );
    println!("last workers: {}", stats.join("; "));
    if !bad.is_empty() {
        panic!(
            "{} violations (seed {seed:#x}; rerun with TALE_CRASH_SEED={seed:#x}; the databases are in {}):\n{}",
            bad.len(),
            dir.display(),
            bad.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The child's command, its journal on PostgreSQL at `url` if given.
fn command(exe: &str, url: Option<&str>) -> Command {
    let mut command = Command::new(exe);
    if let Some(url) = url {
        command.env("TALE_CRASH_JOURNAL", url);
    }
    command
}

/// Waits for `child` to finish on its own.
fn wait(mut child: Child, dir: &Path) -> Output {
    let deadline = Instant::now() + PATIENCE;
    while child.try_wait().expect("crash_worker is polled").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "crash_worker did not shut down within {PATIENCE:?} (the databases are in {})",
                dir.display()
            );
        }
        thread::sleep(Duration::from_millis(2));
    }
    child.wait_with_output().expect("crash_worker is reaped")
}

fn expect_success(output: &Output, dir: &Path) {
    let _ = std::io::stdout().flush();
    assert!(
        output.status.success(),
        "crash_worker failed ({}): {}\n(the databases are in {})",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        dir.display()
    );
}
