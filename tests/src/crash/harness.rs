//! [`Harness`]: starts a crash suite's child process, kills it with SIGKILL after a
//! seeded delay, and runs recoveries (some killed too) until one runs to its end.
//!
//! A child takes `run <dir> <seed> <n> <lanes>` (start `n` new sagas on `lanes`
//! threads or tasks, printing `begun <id>` once each start is journaled) and
//! `recover <dir>` (printing `pending <id> <last record>` for each unfinished saga, then
//! `recovered <id> <status>` for each it finished; exit status 2 if one could not be).

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::check::{Layout, World, check};
use super::plan::fan_outs;
use super::rng::{Rng, env_u64};

const SIGKILL: i32 = 9;
/// How long a child may take to finish on its own before the test gives up on it.
const PATIENCE: Duration = Duration::from_secs(60);

/// What the harness did and saw.
#[derive(Default, Debug)]
pub struct Summary {
    /// Runs of new sagas.
    pub runs: u64,
    /// Runs that finished before their kill.
    pub runs_finished: u64,
    /// Kills of runs.
    pub kills_running: u64,
    /// Kills of recoveries.
    pub kills_recovering: u64,
    /// Recoveries started.
    pub recoveries: u64,
    /// Sagas a recovery finished.
    pub recovered: BTreeSet<i64>,
    /// What recoveries found: the last record of each unfinished saga, by kind.
    pub pending: BTreeMap<String, u64>,
    /// Sagas children said they began.
    pub begun: BTreeSet<i64>,
    /// Sagas in the journal.
    pub sagas: u64,
    /// Sagas completed.
    pub completed: u64,
    /// Sagas compensated.
    pub compensated: u64,
    /// Sagas stuck (a compensation made to fail).
    pub stuck: Vec<i64>,
    /// Sagas by name, then by how they ended.
    pub by_saga: BTreeMap<String, BTreeMap<String, u64>>,
    /// Sagas whose fan-out a kill (or a takeover) cut short, finished by another run
    /// ([`fan_outs_resumed`](super::check::fan_outs_resumed)).
    pub fan_outs_resumed: u64,
    /// Uncertain steps failed as crashed.
    pub crashed_uncertain: u64,
    /// Uncertain steps cut short by their per-attempt timeout.
    pub timed_out: u64,
    /// Repeated step calls the services suppressed.
    pub duplicates_execute: u64,
    /// Repeated compensation calls the services suppressed.
    pub duplicates_compensate: u64,
    /// Calls the services refused as stale (a worker that had lost its saga).
    pub fenced_calls: u64,
    /// (saga, epoch) pairs that made calls: the owners the sagas had.
    pub owners: u64,
    /// Workers paused (SIGSTOP) past their lease, then resumed.
    pub pauses: u64,
}

impl Summary {
    /// Every kill delivered.
    pub fn kills(&self) -> u64 {
        self.kills_running + self.kills_recovering
    }

    /// [`by_saga`](Self::by_saga), as text: `group 12 (completed 5, compensated 7)`.
    pub fn by_saga_text(&self) -> String {
        self.by_saga
            .iter()
            .map(|(name, ends)| {
                let total: u64 = ends.values().sum();
                let ends: Vec<String> = ends.iter().map(|(end, n)| format!("{end} {n}")).collect();
                format!("{name} {total} ({})", ends.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A crash suite's driver: its child binary, its folder, what it saw.
pub struct Harness {
    /// The child binary.
    pub exe: &'static str,
    /// The folder of the journal and the services.
    pub dir: PathBuf,
    /// What it did and saw.
    pub summary: Summary,
    /// The most threads or tasks a run starts its sagas on.
    pub max_lanes: u64,
}

/// Complete lines of a child's output (a kill may cut the last one).
pub fn lines(output: &[u8]) -> impl Iterator<Item = &str> {
    std::str::from_utf8(output)
        .unwrap_or_default()
        .split_inclusive('\n')
        .filter_map(|line| line.strip_suffix('\n'))
}

impl Harness {
    /// Starts the child with `args`.
    pub fn spawn(&self, args: &[&str]) -> Child {
        Command::new(self.exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("crash_child starts")
    }

    /// The folder, as text.
    pub fn dir(&self) -> &str {
        self.dir.to_str().expect("a UTF-8 path")
    }

    /// Lets `child` run for `delay`, then kills it. True if the kill landed (the child
    /// had not finished on its own).
    pub fn kill_after(&mut self, mut child: Child, delay: Duration) -> (bool, Output) {
        thread::sleep(delay);
        child.kill().expect("SIGKILL is delivered");
        let output = child.wait_with_output().expect("crash_child is reaped");
        let killed = output.status.signal() == Some(SIGKILL);
        if !killed {
            self.expect_success(&output);
        }
        (killed, output)
    }

    /// Waits for `child` to finish on its own, successfully.
    pub fn wait(&self, mut child: Child) -> Output {
        let deadline = Instant::now() + PATIENCE;
        while child.try_wait().expect("crash_child is polled").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "crash_child did not finish within {PATIENCE:?} (the databases are in {})",
                    self.dir.display()
                );
            }
            thread::sleep(Duration::from_millis(1));
        }
        let output = child.wait_with_output().expect("crash_child is reaped");
        self.expect_success(&output);
        output
    }

    /// Panics unless the child exited successfully.
    pub fn expect_success(&self, output: &Output) {
        assert!(
            output.status.success(),
            "crash_child failed ({}): {}\n(the databases are in {})",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            self.dir.display()
        );
    }

    /// Notes the sagas a run said it began.
    pub fn note_begun(&mut self, output: &Output) {
        for line in lines(&output.stdout) {
            if let Some(id) = line.strip_prefix("begun ") {
                self.summary.begun.insert(id.parse().expect("a saga id"));
            }
        }
    }

    /// Notes what a recovery reported; returns how many sagas it finished.
    pub fn note_recovered(&mut self, output: &Output) -> usize {
        let mut count = 0;
        for line in lines(&output.stdout) {
            if let Some(rest) = line.strip_prefix("pending ") {
                let last = rest.split(' ').nth(1).unwrap_or("?").to_owned();
                *self.summary.pending.entry(last).or_default() += 1;
            }
            if let Some(rest) = line.strip_prefix("recovered ") {
                let id = rest.split(' ').next().expect("an id");
                self.summary
                    .recovered
                    .insert(id.parse().expect("a saga id"));
                count += 1;
            }
        }
        count
    }

    /// One round: a run of new sagas killed after a random delay, then recovery until
    /// one completes (some recoveries are killed too).
    pub fn round(&mut self, rng: &mut Rng) {
        self.summary.runs += 1;
        let seed = rng.next_u64().to_string();
        let sagas = (2 + rng.below(30)).to_string();
        let lanes = (1 + rng.below(self.max_lanes)).to_string();
        let child = self.spawn(&["run", self.dir(), &seed, &sagas, &lanes]);
        let delay = Duration::from_micros(500 + rng.below(60_000));
        let (killed, output) = self.kill_after(child, delay);
        if killed {
            self.summary.kills_running += 1;
        } else {
            self.summary.runs_finished += 1;
        }
        self.note_begun(&output);
        loop {
            self.summary.recoveries += 1;
            let child = self.spawn(&["recover", self.dir()]);
            if rng.chance(30) {
                let delay = Duration::from_micros(rng.below(20_000));
                let (killed, output) = self.kill_after(child, delay);
                self.note_recovered(&output);
                if killed {
                    self.summary.kills_recovering += 1;
                    continue;
                }
            } else {
                let output = self.wait(child);
                self.note_recovered(&output);
            }
            break;
        }
    }
}

/// A crash suite: its child, the layout its checks read, its defaults.
pub struct Suite {
    /// Names its folder in `tmp`.
    pub name: &'static str,
    /// Where its databases go (the test's `CARGO_TARGET_TMPDIR`).
    pub tmp: &'static Path,
    /// The child binary.
    pub exe: &'static str,
    /// How its sagas run, for the checks.
    pub layout: &'static Layout,
    /// The seed when `TALE_CRASH_SEED` is not set.
    pub default_seed: u64,
    /// The number of kills when `TALE_CRASH_KILLS` is not set.
    pub default_kills: u64,
    /// The most threads or tasks a run starts its sagas on.
    pub max_lanes: u64,
}

/// Runs `suite`: rounds of a run killed at a random point then recoveries (some killed
/// too), until the wanted number of kills landed; then one more recovery must find
/// nothing, and the checks run. Prints a summary (`--nocapture` shows it).
///
/// # Panics
///
/// On any violation, with the seed to rerun it and the folder of the databases.
pub fn run_suite(suite: &Suite) {
    let started = Instant::now();
    let seed = env_u64("TALE_CRASH_SEED", suite.default_seed);
    let kills = env_u64("TALE_CRASH_KILLS", suite.default_kills);
    let dir = suite.tmp.join(format!("{}-{seed:#x}", suite.name));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "crash tests: seed {seed:#x}, {kills} kills, in {}",
        dir.display()
    );

    let mut harness = Harness {
        exe: suite.exe,
        dir: dir.clone(),
        summary: Summary::default(),
        max_lanes: suite.max_lanes,
    };
    let mut rng = Rng(seed);
    while harness.summary.kills() < kills {
        harness.round(&mut rng);
    }
    // The last round's recovery ran to completion: one more finds nothing to do.
    let output = harness.wait(harness.spawn(&["recover", harness.dir()]));
    let late = harness.note_recovered(&output);

    let world = World::read(&dir);
    let mut summary = harness.summary;
    let mut bad = check(&world, suite.layout, &mut summary);
    if late > 0 {
        bad.push(format!(
            "the final recovery found {late} sagas still running"
        ));
    }
    let s = &summary;
    println!(
        "{} kills ({} of runs, {} of recoveries) in {:.1?}; {} runs ({} finished before their kill), {} recoveries",
        s.kills(),
        s.kills_running,
        s.kills_recovering,
        started.elapsed(),
        s.runs,
        s.runs_finished,
        s.recoveries
    );
    println!(
        "{} sagas: {} completed, {} compensated, {} stuck {:?} (compensations made to fail); {} finished by recovery, {} uncertain steps failed as crashed, {} cut short by their timeout",
        s.sagas,
        s.completed,
        s.compensated,
        s.stuck.len(),
        s.stuck,
        s.recovered.len(),
        s.crashed_uncertain,
        s.timed_out
    );
    if s.by_saga.keys().any(|name| !fan_outs(name).is_empty()) {
        println!(
            "by saga: {}; {} fan-outs cut short by a kill and finished by a recovery",
            s.by_saga_text(),
            s.fan_outs_resumed
        );
    } else {
        println!("by saga: {}", s.by_saga_text());
    }
    println!(
        "unfinished sagas found by recoveries, by their journal's last record: {:?}",
        s.pending
    );
    println!(
        "duplicates suppressed by idempotency keys: {} steps, {} compensations",
        s.duplicates_execute, s.duplicates_compensate
    );
    if !bad.is_empty() {
        panic!(
            "{} violations (seed {seed:#x}; rerun with TALE_CRASH_SEED={seed:#x}; the databases are in {}):\n{}",
            bad.len(),
            dir.display(),
            bad.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
        );
    }
    assert!(s.kills() >= kills);
    let _ = std::fs::remove_dir_all(&dir);
}
