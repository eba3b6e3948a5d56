//! Crash tests: a process running durable sagas is killed with SIGKILL at random
//! points, recovery finishes what it left, and the two databases it wrote (tale's
//! journal and the test services' effects) are checked: no saga lost, every saga
//! completed or compensated (or stuck where the test made a compensation fail for
//! good), every effect applied once, every applied effect of a failed saga undone once.
//!
//! The child process is `tests/src/bin/crash_child.rs`; see it for the sagas, the
//! services and their tables. Each round starts a child that runs new sagas on one to
//! three threads, kills it after 0.5 to 60 ms, then runs a recovery child; three
//! recoveries in ten are killed too (after up to 20 ms) and recovery starts again, until
//! one runs to its end. The rounds go on until the wanted number of kills landed (a
//! child that finished before its kill does not count). Then one more recovery must find
//! nothing to do, and the checks run. With `--nocapture` the test prints a summary:
//! kills, sagas by outcome, what the recoveries found (each unfinished saga's last
//! journal record), and the duplicate calls the services suppressed by key.
//!
//! The default run (200 kills) takes about 12 s on two cores.
//!
//! # Rerunning
//!
//! ```text
//! cargo test -p tests --test crash_recovery -- --nocapture
//! TALE_CRASH_SEED=12345 TALE_CRASH_KILLS=2000 cargo test -p tests --test crash_recovery -- --nocapture
//! ```
//!
//! - `TALE_CRASH_SEED` (decimal or `0x` hex; default [`DEFAULT_SEED`]) fixes the sagas'
//!   plans (which step fails, which calls are busy, slow or time out), the number of
//!   sagas and threads of each run, and every delay before a kill. Where exactly a kill
//!   lands still depends on the machine's timing, so two runs with one seed make the
//!   same choices but are not identical instruction for instruction.
//! - `TALE_CRASH_KILLS` (default [`DEFAULT_KILLS`]): the number of SIGKILLs to deliver.
//! - `TALE_CRASH_SYNC` (`normal`, the default; `full`; `off`): the journal's
//!   [`Sync`](tale::journal::Durability). All three lose nothing when the process is killed
//!   (they differ on OS crashes and power loss, which this test does not simulate).
//!
//! The databases are in `target/tmp/crash_recovery-<seed>`; they are kept when a check
//! fails, for a look with `sqlite3`.
#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tale::journal::{Record, SagaRow, SqliteStore, Status, Store};

/// The seed when `TALE_CRASH_SEED` is not set.
const DEFAULT_SEED: u64 = 0x7A1E_5EED;
/// The number of kills when `TALE_CRASH_KILLS` is not set.
const DEFAULT_KILLS: u64 = 200;
const SIGKILL: i32 = 9;
/// How long a child may take to finish on its own before the test gives up on it.
const PATIENCE: Duration = Duration::from_secs(60);

/// A step's name, effect and whether it is uncertain.
type StepShape = (&'static str, &'static str, bool);

/// Each saga's steps: name, effect (its undo is the other word) and whether the step's
/// outcome is uncertain. The same table as `crash_child.rs`'s `SAGAS`.
const SAGAS: [(&str, &[StepShape]); 3] = [
    (
        "trip",
        &[
            ("flight", "reserve", false),
            ("hotel", "reserve", false),
            ("payment", "charge", true),
        ],
    ),
    (
        "order",
        &[
            ("stock", "reserve", false),
            ("payment", "charge", true),
            ("shipping", "reserve", false),
            ("invoice", "charge", false),
        ],
    ),
    (
        "transfer",
        &[
            ("debit", "charge", false),
            ("fee", "charge", false),
            ("hold", "reserve", true),
            ("credit", "charge", false),
            ("receipt", "reserve", false),
        ],
    ),
];

fn undo_of(effect: &str) -> &'static str {
    match effect {
        "charge" => "refund",
        "reserve" => "cancel",
        _ => "?",
    }
}

/// A saga's inputs, as `crash_child` writes them (the fields the checks need).
#[derive(Debug, Deserialize)]
struct Plan {
    steps: Vec<StepPlan>,
}

#[derive(Debug, Deserialize)]
struct StepPlan {
    amount: i64,
    fail: Fail,
    undo_fails: bool,
}

#[derive(Debug, PartialEq, Eq, Deserialize)]
enum Fail {
    No,
    Reject,
    Timeout,
}

/// splitmix64, as in `crash_child.rs`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Err(_) => default,
        Ok(text) => {
            let text = text.trim();
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{name}={text} is not a number"))
        }
    }
}

/// What the harness did and saw.
#[derive(Default, Debug)]
struct Summary {
    runs: u64,
    runs_finished: u64,
    kills_running: u64,
    kills_recovering: u64,
    recoveries: u64,
    recovered: BTreeSet<i64>,
    /// What recoveries found: the last record of each unfinished saga, by kind.
    pending: BTreeMap<String, u64>,
    begun: BTreeSet<i64>,
    sagas: u64,
    completed: u64,
    compensated: u64,
    stuck: Vec<i64>,
    crashed_uncertain: u64,
    duplicates_execute: u64,
    duplicates_compensate: u64,
}

impl Summary {
    fn kills(&self) -> u64 {
        self.kills_running + self.kills_recovering
    }
}

struct Harness {
    exe: &'static str,
    dir: PathBuf,
    summary: Summary,
}

/// Complete lines of a child's output (a kill may cut the last one).
fn lines(output: &[u8]) -> impl Iterator<Item = &str> {
    std::str::from_utf8(output)
        .unwrap_or_default()
        .split_inclusive('\n')
        .filter_map(|line| line.strip_suffix('\n'))
}

impl Harness {
    fn spawn(&self, args: &[&str]) -> Child {
        Command::new(self.exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("crash_child starts")
    }

    fn dir(&self) -> &str {
        self.dir.to_str().expect("a UTF-8 path")
    }

    /// Lets `child` run for `delay`, then kills it. True if the kill landed (the child
    /// had not finished on its own).
    fn kill_after(&mut self, mut child: Child, delay: Duration) -> (bool, Output) {
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
    fn wait(&self, mut child: Child) -> Output {
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

    fn expect_success(&self, output: &Output) {
        assert!(
            output.status.success(),
            "crash_child failed ({}): {}\n(the databases are in {})",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            self.dir.display()
        );
    }

    fn note_begun(&mut self, output: &Output) {
        for line in lines(&output.stdout) {
            if let Some(id) = line.strip_prefix("begun ") {
                self.summary.begun.insert(id.parse().expect("a saga id"));
            }
        }
    }

    /// Notes what a recovery reported; returns how many sagas it finished.
    fn note_recovered(&mut self, output: &Output) -> usize {
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
    fn round(&mut self, rng: &mut Rng) {
        self.summary.runs += 1;
        let seed = rng.next().to_string();
        let sagas = (2 + rng.below(30)).to_string();
        let lanes = (1 + rng.below(3)).to_string();
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

/// An effect, as the services recorded it.
#[derive(Debug)]
struct Effect {
    key: String,
    saga: i64,
    step: i64,
    phase: String,
    service: String,
    target: Option<String>,
    amount: i64,
}

fn key(saga: i64, step: usize, phase: &str) -> String {
    format!("saga-{saga}/step-{step}/{phase}")
}

/// Everything the two databases say, read once the last recovery is done.
struct World {
    sagas: Vec<(SagaRow, Vec<Record>)>,
    effects: BTreeMap<String, Effect>,
    orders: BTreeMap<i64, (String, String)>,
    /// (phase, same) of every repeated call.
    duplicates: Vec<(String, bool)>,
    keyless: Vec<String>,
}

impl World {
    fn read(dir: &Path) -> Self {
        let store = SqliteStore::open(dir.join("journal.db")).expect("the journal opens");
        let sagas = store
            .sagas(&[])
            .expect("the journal lists its sagas")
            .into_iter()
            .map(|row| {
                let records = store
                    .records(row.id)
                    .unwrap_or_else(|e| panic!("{}'s records: {e}", row.id));
                (row, records)
            })
            .collect();
        let db = rusqlite::Connection::open(dir.join("services.db")).expect("services.db opens");
        let mut effects = BTreeMap::new();
        let mut stmt = db
            .prepare("SELECT key, saga, step, phase, service, target, amount FROM effects")
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok(Effect {
                    key: r.get(0)?,
                    saga: r.get(1)?,
                    step: r.get(2)?,
                    phase: r.get(3)?,
                    service: r.get(4)?,
                    target: r.get(5)?,
                    amount: r.get(6)?,
                })
            })
            .unwrap();
        for effect in rows {
            let effect = effect.unwrap();
            effects.insert(effect.key.clone(), effect);
        }
        let orders = db
            .prepare("SELECT saga, name, inputs FROM orders")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let duplicates = db
            .prepare("SELECT phase, same FROM duplicates")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let keyless = db
            .prepare("SELECT what FROM keyless")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        Self {
            sagas,
            effects,
            orders,
            duplicates,
            keyless,
        }
    }
}

/// The last error of a `StepFailed` record's JSON error list.
fn last_error(errors: &str) -> serde_json::Value {
    let list: Vec<serde_json::Value> = serde_json::from_str(errors).unwrap_or_default();
    list.last().cloned().unwrap_or_default()
}

/// Checks one saga against its plan, its journal and the effects it left.
fn check_saga(
    world: &World,
    row: &SagaRow,
    records: &[Record],
    summary: &mut Summary,
    bad: &mut Vec<String>,
) {
    let id = row.id.0;
    let mut fail = |what: String| bad.push(format!("saga {id} ({}): {what}", row.name));
    let Some((_, shape)) = SAGAS.iter().find(|(name, _)| *name == row.name) else {
        return fail("an unknown saga".into());
    };
    let plan: Plan = match serde_json::from_str(&row.inputs) {
        Ok(plan) => plan,
        Err(e) => return fail(format!("its inputs do not read back: {e}")),
    };
    if plan.steps.len() != shape.len() {
        return fail(format!("a plan of {} steps", plan.steps.len()));
    }
    let exec = |i: usize| world.effects.get(&key(id, i, "execute"));
    let comp = |i: usize| world.effects.get(&key(id, i, "compensate"));
    let planned = plan.steps.iter().position(|s| s.fail != Fail::No);

    // The journal agrees with the effects.
    for record in records {
        match record {
            Record::StepSucceeded { index, .. } if exec(*index as usize).is_none() => {
                fail(format!(
                    "the journal says step {index} succeeded; no effect"
                ));
            }
            Record::CompensationSucceeded { index } if comp(*index as usize).is_none() => {
                fail(format!(
                    "the journal says step {index} was compensated; no undo"
                ));
            }
            Record::CompensationFailed { index, .. } if !plan.steps[*index as usize].undo_fails => {
                fail(format!("the compensation of step {index} failed unplanned"));
            }
            _ => {}
        }
    }
    let failures: Vec<(usize, &String)> = records
        .iter()
        .filter_map(|r| match r {
            Record::StepFailed { index, errors, .. } => Some((*index as usize, errors)),
            _ => None,
        })
        .collect();
    if failures.len() > 1 {
        fail(format!("{} steps failed", failures.len()));
    }

    match row.status {
        Status::Completed => {
            summary.completed += 1;
            if let Some((f, _)) = failures.first() {
                fail(format!("completed, yet step {f} failed"));
            }
            if let Some(p) = planned {
                fail(format!("completed, yet its plan fails step {p}"));
            }
            for (i, (name, effect, _)) in shape.iter().enumerate() {
                match exec(i) {
                    None => fail(format!("completed without the effect of step {i} ({name})")),
                    Some(e) if e.service != *effect || e.amount != plan.steps[i].amount => {
                        fail(format!("step {i}'s effect is {e:?}"));
                    }
                    Some(_) => {}
                }
                if let Some(c) = comp(i) {
                    fail(format!("completed, yet step {i} was undone: {c:?}"));
                }
            }
        }
        Status::Compensated | Status::Stuck => {
            if row.status == Status::Stuck {
                summary.stuck.push(id);
            } else {
                summary.compensated += 1;
            }
            let Some(&(f, errors)) = failures.first() else {
                return fail(format!("{}, yet no step failed", row.status));
            };
            let uncertain = shape[f].2;
            let error = last_error(errors);
            if error == serde_json::json!({ "Interrupted": "Crashed" }) {
                summary.crashed_uncertain += 1;
                if !uncertain {
                    fail(format!("step {f} is certain, yet failed as crashed"));
                }
                if planned.is_some_and(|p| p < f) {
                    fail(format!(
                        "step {f} crashed after planned failure of step {planned:?}"
                    ));
                }
            } else {
                let expected = match plan.steps[f].fail {
                    Fail::Reject => error.get("Rejected").is_some(),
                    Fail::Timeout => error == "Timeout",
                    Fail::No => false,
                };
                if planned != Some(f) || !expected {
                    fail(format!(
                        "step {f} failed with {error}; the plan fails step {planned:?}"
                    ));
                }
            }
            let mut stuck = false;
            for (i, (name, effect, _)) in shape.iter().enumerate() {
                let (e, c) = (exec(i), comp(i));
                if i > f {
                    if e.is_some() || c.is_some() {
                        fail(format!(
                            "step {i} ({name}) after the failure left {e:?} {c:?}"
                        ));
                    }
                    continue;
                }
                if i < f && e.is_none() {
                    fail(format!("step {i} ({name}) succeeded without an effect"));
                }
                if i == f && !uncertain && e.is_some() {
                    fail(format!(
                        "the failed step {f} ({name}) left its effect {e:?}"
                    ));
                }
                if let Some(e) = e
                    && (e.service != *effect || e.amount != plan.steps[i].amount)
                {
                    fail(format!("step {i}'s effect is {e:?}"));
                }
                let undone = i < f || uncertain;
                if !undone {
                    if let Some(c) = c {
                        fail(format!(
                            "step {i} ({name}) was undone, yet never applied: {c:?}"
                        ));
                    }
                } else if plan.steps[i].undo_fails {
                    stuck = true;
                    if let Some(c) = c {
                        fail(format!("step {i}'s undo was to fail, yet applied: {c:?}"));
                    }
                } else {
                    match c {
                        None => fail(format!("step {i} ({name}) was not undone: {e:?}")),
                        Some(c) => {
                            if c.service != undo_of(effect) {
                                fail(format!("step {i} was undone by {c:?}"));
                            }
                            if c.target.as_deref() != e.map(|e| e.key.as_str()) {
                                fail(format!("step {i}'s undo {c:?} does not undo {e:?}"));
                            }
                        }
                    }
                }
            }
            let expected = if stuck {
                Status::Stuck
            } else {
                Status::Compensated
            };
            if row.status != expected {
                fail(format!("{}, expected {expected}", row.status));
            }
        }
        status => fail(format!("ended {status}")),
    }
}

/// Checks everything; returns what is wrong.
fn check(world: &World, summary: &mut Summary) -> Vec<String> {
    let mut bad = Vec::new();
    let ids: BTreeMap<i64, &SagaRow> = world.sagas.iter().map(|(r, _)| (r.id.0, r)).collect();
    summary.sagas = ids.len() as u64;

    // None lost: ids have no gap, the ids children reported are there, and the orders
    // the services recorded are the journal's sagas with the same inputs.
    if let Some((&last, _)) = ids.last_key_value()
        && last != ids.len() as i64
    {
        bad.push(format!("{} sagas with ids up to {last}", ids.len()));
    }
    for id in &summary.begun {
        if !ids.contains_key(id) {
            bad.push(format!("saga {id} began, and is not in the journal"));
        }
    }
    for (id, row) in &ids {
        match world.orders.get(id) {
            None => bad.push(format!("saga {id} has no order in the services")),
            Some((name, inputs)) if *name != row.name || *inputs != row.inputs => {
                bad.push(format!("saga {id}'s order is {name} {inputs}"));
            }
            Some(_) => {}
        }
    }
    for id in world.orders.keys() {
        if !ids.contains_key(id) {
            bad.push(format!(
                "the services served saga {id}; the journal lost it"
            ));
        }
    }

    // Every effect: under the key of its saga, step and phase, of a known saga; an undo
    // undoes an effect of the same step, for the same amount.
    let mut undone = BTreeSet::new();
    for e in world.effects.values() {
        if e.key != format!("saga-{}/step-{}/{}", e.saga, e.step, e.phase) {
            bad.push(format!("effect under a foreign key: {e:?}"));
        }
        if !ids.contains_key(&e.saga) {
            bad.push(format!("effect of a saga the journal lost: {e:?}"));
        }
        if e.phase == "compensate"
            && let Some(target) = &e.target
        {
            match world.effects.get(target) {
                Some(t)
                    if t.saga == e.saga
                        && t.step == e.step
                        && t.phase == "execute"
                        && t.amount == e.amount
                        && undo_of(&t.service) == e.service => {}
                other => bad.push(format!("{e:?} undoes {other:?}")),
            }
            if !undone.insert(target) {
                bad.push(format!("{target} undone twice"));
            }
        }
    }
    for (phase, same) in &world.duplicates {
        match phase.as_str() {
            "execute" => summary.duplicates_execute += 1,
            _ => summary.duplicates_compensate += 1,
        }
        if !same {
            bad.push(format!("a repeated {phase} call asked for another effect"));
        }
    }
    for what in &world.keyless {
        bad.push(format!("a call without its key: {what}"));
    }

    for (row, records) in &world.sagas {
        check_saga(world, row, records, summary, &mut bad);
    }
    bad
}

#[test]
fn sagas_survive_sigkill_at_random_points() {
    let started = Instant::now();
    let seed = env_u64("TALE_CRASH_SEED", DEFAULT_SEED);
    let kills = env_u64("TALE_CRASH_KILLS", DEFAULT_KILLS);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("crash_recovery-{seed:#x}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    println!(
        "crash tests: seed {seed:#x}, {kills} kills, in {}",
        dir.display()
    );

    let mut harness = Harness {
        exe: env!("CARGO_BIN_EXE_crash_child"),
        dir: dir.clone(),
        summary: Summary::default(),
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
    let mut bad = check(&world, &mut summary);
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
        "{} sagas: {} completed, {} compensated, {} stuck {:?} (compensations made to fail); {} finished by recovery, {} uncertain steps failed as crashed",
        s.sagas,
        s.completed,
        s.compensated,
        s.stuck.len(),
        s.stuck,
        s.recovered.len(),
        s.crashed_uncertain
    );
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

/// The checks are not vacuous: a world as a correct runtime leaves it passes, and the
/// same world with an undo missing, a repeated call that asked for another effect, or
/// a saga lost, does not.
#[test]
fn the_checks_see_what_a_broken_runtime_would_leave() {
    let step = |fail: &str| {
        format!(
            r#"{{"amount":5,"busy":0,"busy_after_effect":false,"fail":"{fail}","undo_busy":0,"undo_fails":false,"pause_ms":0}}"#
        )
    };
    let inputs = format!(
        r#"{{"order":"x","steps":[{},{},{}]}}"#,
        step("No"),
        step("Reject"),
        step("No")
    );
    // trip: the flight is reserved, the hotel refuses, the flight is cancelled.
    let row = SagaRow {
        id: tale::journal::SagaId(1),
        name: "trip".into(),
        inputs: inputs.clone(),
        status: Status::Compensated,
        current_step: Some(0),
        current_step_name: Some("flight".into()),
        attempts: 1,
        records: 7,
        last_error: None,
    };
    let records = vec![
        Record::StepStarted {
            index: 0,
            name: "flight".into(),
        },
        Record::StepSucceeded {
            index: 0,
            attempts: 1,
            output: r#"{"key":"saga-1/step-0/execute","amount":5}"#.into(),
        },
        Record::StepStarted {
            index: 1,
            name: "hotel".into(),
        },
        Record::StepFailed {
            index: 1,
            errors: r#"[{"Rejected":"hotel refused"}]"#.into(),
            gave_up: tale::GaveUp::Permanent,
        },
        Record::CompensationStarted {
            index: 0,
            uncertain: false,
        },
        Record::CompensationSucceeded { index: 0 },
        Record::Finished {
            status: Status::Compensated,
        },
    ];
    let effect = |phase: &str, service: &str, target: Option<&str>| Effect {
        key: key(1, 0, phase),
        saga: 1,
        step: 0,
        phase: phase.into(),
        service: service.into(),
        target: target.map(Into::into),
        amount: 5,
    };
    let world = || World {
        sagas: vec![(row.clone(), records.clone())],
        effects: [
            effect("execute", "reserve", None),
            effect("compensate", "cancel", Some("saga-1/step-0/execute")),
        ]
        .into_iter()
        .map(|e| (e.key.clone(), e))
        .collect(),
        orders: [(1, ("trip".to_owned(), inputs.clone()))].into(),
        duplicates: vec![("execute".into(), true)],
        keyless: vec![],
    };
    let problems = |world: &World| check(world, &mut Summary::default());
    assert_eq!(problems(&world()), Vec::<String>::new());

    let mut no_undo = world();
    no_undo.effects.remove("saga-1/step-0/compensate");
    assert_eq!(
        problems(&no_undo),
        [
            "saga 1 (trip): the journal says step 0 was compensated; no undo",
            r#"saga 1 (trip): step 0 (flight) was not undone: Some(Effect { key: "saga-1/step-0/execute", saga: 1, step: 0, phase: "execute", service: "reserve", target: None, amount: 5 })"#
        ]
    );

    let mut conflicting = world();
    conflicting.duplicates.push(("compensate".into(), false));
    assert_eq!(
        problems(&conflicting),
        ["a repeated compensate call asked for another effect"]
    );

    let mut lost = world();
    lost.sagas.clear();
    let lost = problems(&lost);
    assert!(
        lost.contains(&"the services served saga 1; the journal lost it".to_owned()),
        "{lost:?}"
    );
}

/// Bug found while writing these tests. [`SqliteStore`] says that processes may share a
/// journal file ("a writer waits up to `BUSY_TIMEOUT` for another before failing"), and
/// creates the schema under the write lock because "another process may be creating the
/// same journal now". Yet when several connections open a *new* journal file at the same
/// moment, one round in a hundred or so (four openers) sees some of them fail at once
/// with `cannot switch to WAL mode` (SQLITE_BUSY, "database is locked"): SQLite does not
/// call the busy handler for `PRAGMA journal_mode = WAL` in this case, and `open_with`
/// made that switch before its locked setup, without retrying. Separate processes failed
/// the same way; a journal that already exists opened fine. Fixed: `open_with` retries
/// the switch while the file is locked, up to the busy timeout. This is its regression
/// test.
#[test]
fn several_openers_of_a_new_journal_wait_for_each_other() {
    const ROUNDS: usize = 200;
    const OPENERS: usize = 4;
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("crash_recovery-concurrent-open");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let mut failures = Vec::new();
    for round in 0..ROUNDS {
        let path = root.join(format!("journal-{round}.db"));
        let barrier = std::sync::Barrier::new(OPENERS);
        thread::scope(|scope| {
            let openers: Vec<_> = (0..OPENERS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        SqliteStore::open(&path).err().map(|e| format!("{e:?}"))
                    })
                })
                .collect();
            for opener in openers {
                if let Some(error) = opener.join().unwrap() {
                    failures.push(format!("round {round}: {error}"));
                }
            }
        });
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(
        failures.is_empty(),
        "{} of {} opens failed, the first: {}",
        failures.len(),
        ROUNDS * OPENERS,
        failures[0]
    );
}
