//! The checks of a crash suite, once the last recovery is done: what the journal and
//! the services say, and everything that must hold between them and the sagas' plans.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use tale::journal::{Record, SagaRow, SqliteStore, Status, Store};

use super::harness::Summary;
use super::plan::{Fail, Plan, SAGAS, Slot, fan_outs, journal_index, slot, undo_of, widest_group};

/// An effect, as the services recorded it.
#[derive(Debug)]
pub struct Effect {
    /// Its idempotency key.
    pub key: String,
    /// The saga.
    pub saga: i64,
    /// The step.
    pub step: i64,
    /// `execute` or `compensate`.
    pub phase: String,
    /// `charge`, `reserve`, `refund` or `cancel`.
    pub service: String,
    /// For an undo: the key of the effect undone, if any.
    pub target: Option<String>,
    /// What it is worth.
    pub amount: i64,
}

/// The text of the idempotency key of `saga`'s step `step` (its journal index) in
/// `phase`.
pub fn key(saga: i64, step: usize, phase: &str) -> String {
    format!("saga-{saga}/step-{step}/{phase}")
}

/// Everything the two databases say, read once the last recovery is done.
pub struct World {
    /// Every saga's summary and records.
    pub sagas: Vec<(SagaRow, Vec<Record>)>,
    /// Every effect, by key.
    pub effects: BTreeMap<String, Effect>,
    /// Every order: saga id to (name, inputs).
    pub orders: BTreeMap<i64, (String, String)>,
    /// (phase, same) of every repeated call.
    pub duplicates: Vec<(String, bool)>,
    /// Calls made without their key.
    pub keyless: Vec<String>,
    /// Every call the services served, in order.
    pub calls: Vec<Call>,
    /// Whether the journal's ids have no gaps (SQLite's; PostgreSQL's sequences skip
    /// ids on rollbacks and crashes), so that a gap means a lost saga.
    pub dense_ids: bool,
}

/// A call, as the services recorded it.
#[derive(Debug)]
pub struct Call {
    /// The saga.
    pub saga: i64,
    /// The epoch of the claim it was made under.
    pub epoch: i64,
    /// The worker (store handle) that made it.
    pub worker: String,
    /// Its idempotency key.
    pub key: String,
    /// False if the services refused it as stale.
    pub accepted: bool,
}

impl World {
    /// Reads the journal (`journal.db`) and the services in `dir`.
    pub fn read(dir: &Path) -> Self {
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
        Self::read_with(dir, sagas, true)
    }

    /// The journal's `sagas` (read from wherever it is; `dense_ids` if its ids have no
    /// gaps), and the services in `dir`.
    pub fn read_with(dir: &Path, sagas: Vec<(SagaRow, Vec<Record>)>, dense_ids: bool) -> Self {
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
        let calls = db
            .prepare("SELECT saga, epoch, worker, key, accepted FROM calls ORDER BY id")
            .unwrap()
            .query_map([], |r| {
                Ok(Call {
                    saga: r.get(0)?,
                    epoch: r.get(1)?,
                    worker: r.get(2)?,
                    key: r.get(3)?,
                    accepted: r.get(4)?,
                })
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        Self {
            sagas,
            effects,
            orders,
            duplicates,
            keyless,
            calls,
            dense_ids,
        }
    }
}

/// How a suite's sagas run, as far as the checks care.
pub struct Layout {
    /// Each saga's groups: the plan's step ranges that run at once (`join!`, and a
    /// concurrent fan-out's items).
    pub groups: &'static [(&'static str, &'static [(usize, usize)])],
    /// Whether a saga's order is recorded when it begins (so every saga in the journal
    /// has one), or by its first call served (so a saga killed before has none).
    pub orders_at_begin: bool,
}

impl Layout {
    /// The sync suite: steps one after the other, orders recorded when a saga begins.
    pub const SYNC: Layout = Layout {
        groups: &[],
        orders_at_begin: true,
    };

    /// The async suite: the groups of [`ASYNC_GROUPS`](super::plan::ASYNC_GROUPS),
    /// orders recorded by the first call served.
    pub const ASYNC: Layout = Layout {
        groups: &super::plan::ASYNC_GROUPS,
        orders_at_begin: false,
    };

    /// Whether step `i` of the saga `name` ran before step `f` or beside it (in its
    /// group): its work is done, or underway, when `f` fails.
    fn before(&self, name: &str, i: usize, f: usize) -> bool {
        let same_group = self
            .groups
            .iter()
            .filter(|(n, _)| *n == name)
            .flat_map(|(_, groups)| groups.iter())
            .any(|&(start, end)| (start..end).contains(&i) && (start..end).contains(&f));
        i < f || (i != f && same_group)
    }
}

/// The last error of a `StepFailed` record's JSON error list.
pub fn last_error(errors: &str) -> serde_json::Value {
    let list: Vec<serde_json::Value> = serde_json::from_str(errors).unwrap_or_default();
    list.last().cloned().unwrap_or_default()
}

/// Checks one saga against its plan, its journal and the effects it left.
///
/// Steps are named by their plan index (a row of [`SAGAS`]); the journal, and the
/// keys of the effects, by their journal index, which is the plan's shifted by the
/// counts of the saga's fan-outs before it ([`journal_index`]). A fan-out's count has
/// no plan step, no effect and no compensation: its records must say it was counted
/// (its output, the number of its items) before any of its items started.
pub fn check_saga(
    world: &World,
    layout: &Layout,
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
    *summary
        .by_saga
        .entry(row.name.clone())
        .or_default()
        .entry(row.status.as_str().to_owned())
        .or_default() += 1;
    let exec = |i: usize| {
        world
            .effects
            .get(&key(id, journal_index(&row.name, i), "execute"))
    };
    let comp = |i: usize| {
        world
            .effects
            .get(&key(id, journal_index(&row.name, i), "compensate"))
    };
    let planned = plan.steps.iter().position(|s| s.fail != Fail::No);
    let fan_out_of = |i: usize| {
        fan_outs(&row.name)
            .iter()
            .find(|(start, end)| (*start..*end).contains(&i))
    };

    // The journal agrees with the effects: each record is of a step of the plan, at
    // its journal index, or of a fan-out's count.
    let mut failures: Vec<(usize, &String)> = Vec::new();
    let mut counted = BTreeSet::new();
    let mut started = BTreeSet::new();
    for record in records {
        let Some(index) = record.index() else {
            continue;
        };
        match slot(&row.name, index as usize, shape.len()) {
            None => fail(format!("a record past the saga's last step: {record:?}")),
            Some(Slot::Count(items)) => match record {
                Record::StepStarted { name, .. } if name.starts_with("for ") => {}
                Record::StepSucceeded { output, .. } if output.parse() == Ok(items) => {
                    counted.insert(index);
                }
                other => fail(format!(
                    "the count of the fan-out of {items} items at journal index {index}: {other:?}"
                )),
            },
            Some(Slot::Step(i)) => match record {
                Record::StepStarted { name, .. } => {
                    started.insert(i);
                    if name != shape[i].0 {
                        fail(format!(
                            "journal index {index} is step `{name}`; the plan's step {i} is `{}`",
                            shape[i].0
                        ));
                    }
                    if let Some(&(start, _)) = fan_out_of(i) {
                        let count = journal_index(&row.name, start) - 1;
                        if !counted.contains(&(count as u32)) {
                            fail(format!(
                                "the fan-out's item {i} started before its count (journal index {count})"
                            ));
                        }
                    }
                }
                Record::StepSucceeded { .. } if exec(i).is_none() => {
                    fail(format!("the journal says step {i} succeeded; no effect"));
                }
                Record::StepFailed { errors, .. } => failures.push((i, errors)),
                Record::CompensationSucceeded { .. } if comp(i).is_none() => {
                    fail(format!(
                        "the journal says step {i} was compensated; no undo"
                    ));
                }
                Record::CompensationFailed { .. } if !plan.steps[i].undo_fails => {
                    fail(format!("the compensation of step {i} failed unplanned"));
                }
                _ => {}
            },
        }
    }
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
                    Some(e) if e.service != effect.effect() || e.amount != plan.steps[i].amount => {
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
            let crashed = error == serde_json::json!({ "Interrupted": "Crashed" });
            if crashed || error == "TimedOut" {
                if crashed {
                    summary.crashed_uncertain += 1;
                } else {
                    summary.timed_out += 1;
                }
                if !uncertain {
                    fail(format!("step {f} is certain, yet failed with {error}"));
                }
                if planned.is_some_and(|p| layout.before(&row.name, p, f)) {
                    fail(format!(
                        "step {f} failed with {error} after the planned failure of step {planned:?}"
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
                let before = layout.before(&row.name, i, f);
                if i != f && !before {
                    if e.is_some() || c.is_some() {
                        fail(format!(
                            "step {i} ({name}) after the failure left {e:?} {c:?}"
                        ));
                    }
                    continue;
                }
                // A concurrent fan-out starts its items in order and none once one
                // failed for good: a later item of the failed one's fan-out may never
                // have started (then the journal has no start of it, and it left
                // nothing to undo).
                let same_fan_out =
                    fan_out_of(i).is_some_and(|&(start, end)| (start..end).contains(&f));
                if i > f && same_fan_out && !started.contains(&i) {
                    if e.is_some() || c.is_some() {
                        fail(format!(
                            "step {i} ({name}), an item never started, left {e:?} {c:?}"
                        ));
                    }
                    continue;
                }
                if before && e.is_none() {
                    fail(format!("step {i} ({name}) succeeded without an effect"));
                }
                if i == f && !uncertain && e.is_some() {
                    fail(format!(
                        "the failed step {f} ({name}) left its effect {e:?}"
                    ));
                }
                if let Some(e) = e
                    && (e.service != effect.effect() || e.amount != plan.steps[i].amount)
                {
                    fail(format!("step {i}'s effect is {e:?}"));
                }
                let undone = before || uncertain;
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
                            if c.service != effect.undo() {
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
pub fn check(world: &World, layout: &Layout, summary: &mut Summary) -> Vec<String> {
    let mut bad = Vec::new();
    let ids: BTreeMap<i64, &SagaRow> = world.sagas.iter().map(|(r, _)| (r.id.0, r)).collect();
    summary.sagas = ids.len() as u64;

    // None lost: ids have no gap, the ids children reported are there, and the orders
    // the services recorded are the journal's sagas with the same inputs.
    if let Some((&last, _)) = ids.last_key_value()
        && world.dense_ids
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
            None if !layout.orders_at_begin => {}
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
        check_saga(world, layout, row, records, summary, &mut bad);
    }
    check_owners(world, summary, &mut bad);
    summary.fan_outs_resumed = fan_outs_resumed(world);
    bad
}

/// How many sagas had their fan-out cut short by a kill (or a takeover) and finished by
/// another run: the services served calls of its items under two claims or more, the
/// first an item's step.
pub fn fan_outs_resumed(world: &World) -> u64 {
    let names: BTreeMap<i64, &str> = world
        .sagas
        .iter()
        .map(|(row, _)| (row.id.0, row.name.as_str()))
        .collect();
    // Per saga: the epoch of its first item call (a step), and the newest of its item
    // calls.
    let mut spans: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for call in world.calls.iter().filter(|c| c.accepted) {
        let Some(name) = names.get(&call.saga) else {
            continue;
        };
        let Some((index, phase)) = call
            .key
            .split('/')
            .nth(1)
            .and_then(|step| step.strip_prefix("step-"))
            .and_then(|index| index.parse::<usize>().ok())
            .zip(call.key.rsplit('/').next())
        else {
            continue;
        };
        let item = match slot(name, index, usize::MAX) {
            Some(Slot::Step(i)) => fan_outs(name).iter().any(|(s, e)| (*s..*e).contains(&i)),
            _ => false,
        };
        if !item {
            continue;
        }
        match spans.get_mut(&call.saga) {
            Some((_, newest)) => *newest = (*newest).max(call.epoch),
            None if phase == "execute" => {
                spans.insert(call.saga, (call.epoch, call.epoch));
            }
            None => {}
        }
    }
    spans
        .values()
        .filter(|(first, newest)| first < newest)
        .count() as u64
}

/// Checks that no two workers ever ran one saga at once: the calls of a saga, in the
/// order the services served them, go by epoch (never back to an older owner), each
/// epoch's calls come from one worker, a stale worker makes at most the calls it had
/// in flight (the branches of its widest group, or a concurrent fan-out's items:
/// [`widest_group`]) before it stops, and no epoch outruns the journal's.
pub fn check_owners(world: &World, summary: &mut Summary, bad: &mut Vec<String>) {
    let epochs: BTreeMap<i64, u64> = world
        .sagas
        .iter()
        .map(|(row, _)| (row.id.0, row.lease.epoch))
        .collect();
    let widths: BTreeMap<i64, usize> = world
        .sagas
        .iter()
        .map(|(row, _)| (row.id.0, widest_group(&row.name)))
        .collect();
    let mut newest: BTreeMap<i64, i64> = BTreeMap::new();
    let mut owner: BTreeMap<(i64, i64), &str> = BTreeMap::new();
    let mut stale: BTreeMap<(i64, i64), u32> = BTreeMap::new();
    for call in &world.calls {
        if !call.accepted {
            summary.fenced_calls += 1;
            let n = stale.entry((call.saga, call.epoch)).or_default();
            *n += 1;
            if *n as usize > widths.get(&call.saga).copied().unwrap_or(1) {
                bad.push(format!(
                    "saga {}: a stale worker at epoch {} went on calling ({} refused calls, the last {})",
                    call.saga, call.epoch, n, call.key
                ));
            }
            continue;
        }
        let last = newest.entry(call.saga).or_default();
        if call.epoch < *last {
            bad.push(format!(
                "saga {}: {} served at epoch {} after a call at epoch {last}",
                call.saga, call.key, call.epoch
            ));
        }
        *last = (*last).max(call.epoch);
        let first = owner.entry((call.saga, call.epoch)).or_insert(&call.worker);
        if *first != call.worker {
            bad.push(format!(
                "saga {} at epoch {}: calls from two workers, {first} and {}",
                call.saga, call.epoch, call.worker
            ));
        }
        if epochs
            .get(&call.saga)
            .is_none_or(|journal| u64::try_from(call.epoch).unwrap_or(u64::MAX) > *journal)
        {
            bad.push(format!(
                "saga {}: a call at epoch {} beyond the journal's {:?}",
                call.saga,
                call.epoch,
                epochs.get(&call.saga)
            ));
        }
    }
    summary.owners = owner.len() as u64;
    for (row, _) in &world.sagas {
        if row.status == Status::Parked {
            bad.push(format!("saga {} was parked", row.id.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Effect, Layout, World, check};
    use crate::crash::harness::Summary;
    use tale::journal::{Lease, Record, SagaId, SagaRow, Status};

    /// A `group` saga whose second seat was refused, as a correct runtime leaves it:
    /// charge at journal index 0, the fan-out's count at 1, its seats at 2..=4.
    fn refused_seat() -> World {
        let step = |fail: &str| {
            format!(
                r#"{{"amount":5,"busy":0,"busy_after_effect":false,"fail":"{fail}","undo_busy":0,"undo_fails":false,"pause_ms":0}}"#
            )
        };
        let inputs = format!(
            r#"{{"order":"x","steps":[{},{},{},{},{}]}}"#,
            step("No"),
            step("No"),
            step("Reject"),
            step("No"),
            step("No")
        );
        let row = SagaRow {
            id: SagaId(1),
            name: "group".into(),
            inputs: inputs.clone(),
            status: Status::Compensated,
            current_step: Some(0),
            current_step_name: Some("charge".into()),
            attempts: 1,
            records: 0,
            last_error: None,
            fingerprint: None,
            lease: Lease {
                epoch: 1,
                ..Lease::default()
            },
            created_at: 0,
            updated_at: 0,
        };
        let started = |index: u32, name: &'static str| Record::StepStarted {
            index,
            name: name.into(),
        };
        let succeeded = |index: u32, output: String| Record::StepSucceeded {
            index,
            attempts: 1,
            output,
        };
        let receipt = |index: u32| format!(r#"{{"key":"saga-1/step-{index}/execute","amount":5}}"#);
        let mut records = vec![
            started(0, "charge"),
            succeeded(0, receipt(0)),
            started(1, "for AsyncCall::new"),
            succeeded(1, "3".into()),
            started(2, "seat"),
            started(3, "seat"),
            started(4, "seat"),
            succeeded(2, receipt(2)),
            succeeded(4, receipt(4)),
            Record::StepFailed {
                index: 3,
                errors: r#"[{"Rejected":"seat refused"}]"#.into(),
                gave_up: tale::GaveUp::Permanent,
            },
        ];
        for index in [4, 2, 0] {
            records.push(Record::CompensationStarted {
                index,
                uncertain: false,
            });
            records.push(Record::CompensationSucceeded { index });
        }
        records.push(Record::Finished {
            status: Status::Compensated,
        });
        let effect = |index: i64, phase: &str| {
            let (service, target) = match (index, phase) {
                (0, "execute") => ("charge", None),
                (0, _) => ("refund", Some("saga-1/step-0/execute".to_owned())),
                (_, "execute") => ("reserve", None),
                _ => ("cancel", Some(format!("saga-1/step-{index}/execute"))),
            };
            Effect {
                key: format!("saga-1/step-{index}/{phase}"),
                saga: 1,
                step: index,
                phase: phase.into(),
                service: service.into(),
                target,
                amount: 5,
            }
        };
        World {
            sagas: vec![(row, records)],
            effects: [0, 2, 4]
                .into_iter()
                .flat_map(|i| [effect(i, "execute"), effect(i, "compensate")])
                .map(|e| (e.key.clone(), e))
                .collect(),
            orders: [(1, ("group".to_owned(), inputs))].into(),
            duplicates: vec![],
            keyless: vec![],
            calls: vec![],
            dense_ids: true,
        }
    }

    #[test]
    fn a_fan_outs_count_and_items_are_read_at_their_journal_positions() {
        let problems = |world: &World| check(world, &Layout::ASYNC, &mut Summary::default());
        assert_eq!(problems(&refused_seat()), Vec::<String>::new());

        // A replay that never restarts the last seat (in flight when the second was
        // refused): its reservation stays.
        let mut forgotten = refused_seat();
        forgotten.effects.remove("saga-1/step-4/compensate");
        forgotten.sagas[0].1.retain(|r| {
            !matches!(
                r,
                Record::CompensationStarted { index: 4, .. }
                    | Record::CompensationSucceeded { index: 4 }
            )
        });
        let forgotten = problems(&forgotten);
        assert_eq!(forgotten.len(), 1, "{forgotten:?}");
        assert!(
            forgotten[0].starts_with("saga 1 (group): step 3 (seat) was not undone"),
            "{forgotten:?}"
        );

        // The last seat never started (the second was refused first): nothing of it
        // in the journal, nothing to undo. And one that acted without its start
        // journaled (log-before-act broken) is caught.
        let mut never = refused_seat();
        never
            .effects
            .retain(|key, _| !key.starts_with("saga-1/step-4/"));
        never.sagas[0].1.retain(|r| r.index() != Some(4));
        assert_eq!(problems(&never), Vec::<String>::new());
        let mut unjournaled = refused_seat();
        unjournaled.effects.remove("saga-1/step-4/compensate");
        unjournaled.sagas[0].1.retain(|r| r.index() != Some(4));
        let unjournaled = problems(&unjournaled);
        assert_eq!(unjournaled.len(), 1, "{unjournaled:?}");
        assert!(
            unjournaled[0]
                .starts_with("saga 1 (group): step 3 (seat), an item never started, left"),
            "{unjournaled:?}"
        );

        let mut miscounted = refused_seat();
        miscounted.sagas[0].1[3] = Record::StepSucceeded {
            index: 1,
            attempts: 1,
            output: "2".into(),
        };
        // Its items then started uncounted, too.
        let miscounted = problems(&miscounted);
        assert_eq!(
            miscounted.first().map(String::as_str),
            Some(
                r#"saga 1 (group): the count of the fan-out of 3 items at journal index 1: StepSucceeded { index: 1, attempts: 1, output: "2" }"#
            ),
            "{miscounted:?}"
        );

        // A seat started before the count was journaled.
        let mut early = refused_seat();
        early.sagas[0].1.swap(3, 4);
        assert_eq!(
            problems(&early),
            ["saga 1 (group): the fan-out's item 1 started before its count (journal index 1)"]
        );
    }

    #[test]
    fn a_groups_siblings_count_as_run_before_a_failed_branch() {
        let layout = &Layout::ASYNC;
        // transfer: (debit, fee), hold, (credit, receipt)
        assert!(layout.before("transfer", 1, 0), "a sibling in flight");
        assert!(layout.before("transfer", 0, 1));
        assert!(layout.before("transfer", 0, 2), "an earlier step");
        assert!(!layout.before("transfer", 3, 2), "a later step");
        assert!(layout.before("transfer", 4, 3));
        assert!(!layout.before("transfer", 2, 2), "the step itself");
        assert!(
            !Layout::SYNC.before("transfer", 1, 0),
            "no groups in the sync suite"
        );
        // group: charge, (seat, seat, seat) a concurrent fan-out, insurance
        assert!(
            layout.before("group", 3, 1),
            "an item in flight beside a failed one"
        );
        assert!(layout.before("group", 1, 3));
        assert!(layout.before("group", 0, 2), "the step before the fan-out");
        assert!(
            layout.before("group", 3, 4),
            "the fan-out before the last step"
        );
        assert!(!layout.before("group", 4, 3), "the step after the fan-out");
    }
}
