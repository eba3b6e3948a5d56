//! The `tale` binary, run as an operator runs it, on journals written by real durable
//! sagas (a completed one, a compensated one, a stuck one, one cut short by a crash):
//! snapshots of `ls`, `show` and `check` (times fixed by a journal clock and
//! `TALE_NOW`), `--json` parsed back, a Chrome trace, the writes (a stuck saga found,
//! reopened, finished by a recovery; another resolved), refusals, errors a person
//! understands, and the same tool on a PostgreSQL journal (the throwaway server).

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use expect_test::{Expect, expect};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tale::journal::{
    DurableError, Interrupted, Leases, NewSaga, Origin, Record, Recoverer, SqliteStore, Status,
    Store, WorkerId,
};
use tale::{saga, step};

/// When the journal's clock starts: 2026-12-02 08:26:40Z.
const START: i64 = 1_796_200_000_000;
/// The operator's now: an hour later.
const NOW: i64 = START + 3_600_000;

#[derive(Debug, Serialize, Deserialize)]
enum Error {
    Full(String),
    Refused(String),
    Interrupted(Interrupted),
}

impl From<Interrupted> for Error {
    fn from(i: Interrupted) -> Self {
        Error::Interrupted(i)
    }
}

/// What the steps talk to.
#[derive(Default)]
struct World {
    /// The airline refuses cancellations.
    airline_down: Cell<bool>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Order {
    customer: String,
    hotel_full: bool,
}

#[step(compensate = refund)]
fn charge(_world: &World, order: &Order) -> Result<u32, Error> {
    Ok(100 + order.customer.len() as u32)
}
fn refund(_world: &World, _order: &Order, _paid: &u32) -> Result<(), Error> {
    Ok(())
}

#[step(compensate = cancel_flight)]
fn book_flight(_world: &World, order: &Order) -> Result<String, Error> {
    Ok(format!("seat 14C for {}", order.customer))
}
fn cancel_flight(world: &World, _order: &Order, _seat: &String) -> Result<(), Error> {
    if world.airline_down.get() {
        Err(Error::Refused("the airline is down".into()))
    } else {
        Ok(())
    }
}

#[step(compensate = cancel_room)]
fn book_hotel(_world: &World, order: &Order) -> Result<String, Error> {
    if order.hotel_full {
        Err(Error::Full("the hotel in Lisbon".into()))
    } else {
        Ok("room 7".into())
    }
}
fn cancel_room(_world: &World, _order: &Order, _room: &String) -> Result<(), Error> {
    Ok(())
}

saga! {
    #![saga(durable)]
    fn book_trip(order: &Order, world: &World) -> Result<(u32, String, String), DurableError<Error>> {
        let paid = charge(world, order);
        let seat = book_flight(world, order);
        let room = book_hotel(world, order);
        (paid, seat, room)
    }
}

/// A journal file of its own, removed at the end.
struct Journal {
    dir: PathBuf,
    clock: Arc<AtomicI64>,
}

impl Journal {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tale-cli-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            dir,
            clock: Arc::new(AtomicI64::new(START)),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.join("journal.db")
    }

    /// The journal, written by `worker-1` on a clock that moves 5 ms at each reading.
    fn store(&self) -> SqliteStore {
        let clock = Arc::clone(&self.clock);
        SqliteStore::open(self.path()).unwrap().with_leases(
            Leases::new()
                .worker(WorkerId::named("worker-1"))
                .clock(move || clock.fetch_add(5, Ordering::SeqCst)),
        )
    }

    /// Four sagas: 1 completed, 2 compensated, 3 stuck (the airline refused to cancel),
    /// 4 cut short by a crash in its second step (its worker's lease long over).
    fn four_sagas(&self) -> &Self {
        let store = self.store();
        let world = World::default();
        let order = |customer: &str, hotel_full| Order {
            customer: customer.into(),
            hotel_full,
        };
        book_trip(&store, Origin::New, &order("ada", false), &world).unwrap();
        let _ = book_trip(&store, Origin::New, &order("bo", true), &world).unwrap_err();
        world.airline_down.set(true);
        let _ = book_trip(&store, Origin::New, &order("cy", true), &world).unwrap_err();
        let inputs = serde_json::to_string(&order("di", false)).unwrap();
        let claim = store.begin(&NewSaga::new("book_trip", &inputs)).unwrap();
        for record in [
            Record::StepStarted {
                index: 0,
                name: "charge".into(),
            },
            Record::StepSucceeded {
                index: 0,
                attempts: 1,
                output: "102".into(),
            },
            Record::StepStarted {
                index: 1,
                name: "book_flight".into(),
            },
        ] {
            store.append(claim, &record).unwrap();
        }
        self
    }

    /// Runs `tale` on the journal.
    fn tale(&self, args: &[&str]) -> Output {
        tale_on(&self.path(), args)
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tale_on(journal: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tale"))
        .arg("--journal")
        .arg(journal)
        .args(args)
        .env("TALE_NOW", NOW.to_string())
        .env("TALE_OPERATOR", "ana")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("tale runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Runs `tale` expecting success, checks its output against `expected`.
fn check(journal: &Journal, args: &[&str], expected: Expect) {
    let output = journal.tale(args);
    assert!(output.status.success(), "{}", stderr(&output));
    expected.assert_eq(&stdout(&output));
}

#[test]
fn ls_lists_one_line_per_saga() {
    let journal = Journal::new();
    journal.four_sagas();
    check(
        &journal,
        &["ls"],
        expect![[r#"
            ID  NAME       STATUS       STEP           ATT  AGE      IDLE     OWNER  SUMMARY
             1  book_trip  completed    2 book_hotel     1  1h 00m   59m 59s  -      every step succeeded (3 steps)
             2  book_trip  compensated  0 charge         1  59m 59s  59m 59s  -      step 2 book_hotel failed: {"Full":"the hotel in Lisbon"}; undone
             3  book_trip  stuck        0 charge         1  59m 59s  59m 59s  -      the compensation of step 1 book_flight failed for good: {"Refused":"the…
             4  book_trip  running      1 book_flight    0  59m 59s  59m 59s  -      at step 1 book_flight
        "#]],
    );
    check(
        &journal,
        &[
            "ls",
            "--status",
            "stuck,compensated",
            "--sort",
            "id",
            "--reverse",
        ],
        expect![[r#"
            ID  NAME       STATUS       STEP      ATT  AGE      IDLE     OWNER  SUMMARY
             3  book_trip  stuck        0 charge    1  59m 59s  59m 59s  -      the compensation of step 1 book_flight failed for good: {"Refused":"the…
             2  book_trip  compensated  0 charge    1  59m 59s  59m 59s  -      step 2 book_hotel failed: {"Full":"the hotel in Lisbon"}; undone
        "#]],
    );
    check(
        &journal,
        &["ls", "--limit", "2"],
        expect![[r#"
        ID  NAME       STATUS       STEP          ATT  AGE      IDLE     OWNER  SUMMARY
         1  book_trip  completed    2 book_hotel    1  1h 00m   59m 59s  -      every step succeeded (3 steps)
         2  book_trip  compensated  0 charge        1  59m 59s  59m 59s  -      step 2 book_hotel failed: {"Full":"the hotel in Lisbon"}; undone
        1-2 of 4; --offset 2 for the next page
    "#]],
    );
}

#[test]
fn show_tells_a_sagas_story_as_a_timeline() {
    let journal = Journal::new();
    journal.four_sagas();
    check(
        &journal,
        &["show", "3"],
        expect![[r#"
            saga #3 book_trip · stuck · began 2026-12-02 08:26:40Z · took 55ms
            inputs  {"customer":"cy","hotel_full":true}
            now     the compensation of step 1 book_flight failed for good: {"Refused":"the airline is down"}

            #  STEP         PHASE       ATT  START  TOOK  RESULT                                                      KEY
            0  charge       execute       1  +5ms   5ms   ok 102                                                      saga-3/step-0/execute
            1  book_flight  execute       1  +15ms  5ms   ok seat 14C for cy                                          saga-3/step-1/execute
            2  book_hotel   execute       1  +25ms  5ms   failed: {"Full":"the hotel in Lisbon"} (AttemptsExhausted)  saga-3/step-2/execute
            1  book_flight  compensate    1  +35ms  5ms   failed: {"Refused":"the airline is down"}                   saga-3/step-1/compensate
            0  charge       compensate    -  +45ms  5ms   undone                                                      saga-3/step-0/compensate

                           0                                            55ms
            0 charge           ████                               ▒▒▒▒
            1 book_flight               ████             ▓▓▓▓
            2 book_hotel                        ▓▓▓▓▓
                           █ execute  ▒ compensate  ▓ failed
        "#]],
    );
    check(
        &journal,
        &["show", "4"],
        expect![[r#"
            saga #4 book_trip · running · began 2026-12-02 08:26:40Z · running for 59m 59s
            inputs  {"customer":"di","hotel_full":false}
            now     at step 1 book_flight
            owner   worker-1 (epoch 1, lease ended 2026-12-02 08:27:10Z)

            #  STEP         PHASE    ATT  START  TOOK  RESULT        KEY
            0  charge       execute    1  +5ms   5ms   ok 102        saga-4/step-0/execute
            1  book_flight  execute    -  +15ms  …     not finished  saga-4/step-1/execute

                           0                                         59m 59s
            0 charge       █
            1 book_flight  ████████████████████████████████████████████████
                           █ execute  ▒ compensate  ▓ failed
        "#]],
    );
}

#[test]
fn check_finds_the_stuck_sagas() {
    let journal = Journal::new();
    journal.four_sagas();
    let output = journal.tale(&["check", "--stuck-after", "15m"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    expect![[r#"
        saga #3 book_trip stuck: the compensation of step 1 book_flight failed for good: {"Refused":"the airline is down"} (idle 59m 59s)
        saga #4 book_trip running: at step 1 book_flight (idle 59m 59s)
    "#]].assert_eq(&stdout(&output));
    // With a threshold longer than the crashed saga's silence, only the stuck one.
    let output = journal.tale(&["check", "--stuck-after", "2h"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output).lines().count(), 1, "{}", stdout(&output));
}

#[test]
fn json_output_parses_back() {
    let journal = Journal::new();
    journal.four_sagas();
    let output = journal.tale(&["ls", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let sagas: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let statuses: Vec<_> = sagas
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["completed", "compensated", "stuck", "running"]);
    let stuck: Vec<_> = sagas
        .iter()
        .map(|s| s["stuck"].as_bool().unwrap())
        .collect();
    assert_eq!(stuck, [false, false, true, true]);
    assert_eq!(sagas[3]["step_name"], "book_flight");
    assert_eq!(
        sagas[2]["last_error"],
        r#"{"Refused":"the airline is down"}"#
    );

    let output = journal.tale(&["show", "2", "--json"]);
    let story: Value = serde_json::from_slice(&output.stdout).unwrap();
    let steps = story["steps"].as_array().unwrap();
    let phases: Vec<_> = steps
        .iter()
        .map(|s| {
            format!(
                "{} {} {}",
                s["name"].as_str().unwrap(),
                s["phase"].as_str().unwrap(),
                s["outcome"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        phases,
        [
            "charge execute succeeded",
            "book_flight execute succeeded",
            "book_hotel execute failed",
            "book_flight compensate succeeded",
            "charge compensate succeeded",
        ]
    );
    assert_eq!(steps[1]["output"], r#""seat 14C for bo""#);
    assert_eq!(steps[3]["idempotency_key"], "saga-2/step-1/compensate");
    assert!(steps.iter().all(|s| s["duration_ms"].as_i64().unwrap() > 0));
}

#[test]
fn a_trace_opens_as_chrome_trace_events() {
    let journal = Journal::new();
    journal.four_sagas();
    let file = journal.dir.join("saga-3.json");
    let output = journal.tale(&["show", "3", "--trace", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let trace: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let complete: Vec<_> = events
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| (e["name"].as_str().unwrap(), e["tid"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        complete,
        [
            ("charge", 1),
            ("book_flight", 2),
            ("book_hotel", 3),
            ("undo book_flight", 2),
            ("undo charge", 1),
        ]
    );
    for event in events.iter().filter(|e| e["ph"] == "X") {
        assert!(event["ts"].as_i64().unwrap() >= 0 && event["dur"].as_i64().unwrap() > 0);
        assert_eq!(event["pid"], 3);
    }
}

#[test]
fn a_stuck_saga_is_reopened_finished_by_a_recovery_and_another_resolved() {
    let journal = Journal::new();
    journal.four_sagas();
    // Without --yes, and nobody at a terminal to ask: nothing is written.
    let refused = journal.tale(&["reopen", "3"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("pass --yes"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        journal
            .store()
            .saga(tale::journal::SagaId(3))
            .unwrap()
            .status,
        Status::Stuck
    );

    let reopened = journal.tale(&["reopen", "3", "--note", "the airline is back", "--yes"]);
    assert!(reopened.status.success(), "{}", stderr(&reopened));
    expect![[r#"
        saga #3 is running (by ana: the airline is back); the next worker or recovery that claims it runs it again
    "#]].assert_eq(&stdout(&reopened));
    // The crashed saga is abandoned (the customer cancelled): no recovery runs it.
    let abandoned = journal.tale(&["abandon", "4", "--note", "customer cancelled", "--yes"]);
    assert!(abandoned.status.success(), "{}", stderr(&abandoned));
    // The next recovery, with the saga's code, retries the failed compensation.
    let store = journal.store();
    let world = World::default();
    let mut recoverer = Recoverer::new(&store);
    recoverer.register("book_trip", book_trip);
    let recovered: Vec<_> = recoverer
        .recover(&world)
        .into_iter()
        .map(|r| (r.id.0, r.result.map_err(|e| e.to_string())))
        .collect();
    assert!(
        recovered.contains(&(3, Ok(Status::Compensated))),
        "{recovered:?}"
    );
    check(
        &journal,
        &["show", "3"],
        expect![[r#"
            saga #3 book_trip · compensated · began 2026-12-02 08:26:40Z · took 100ms
            inputs  {"customer":"cy","hotel_full":true}
            now     step 2 book_hotel failed: {"Full":"the hotel in Lisbon"}; undone

            #  STEP         PHASE       ATT  START  TOOK  RESULT                                                      KEY
            0  charge       execute       1  +5ms   5ms   ok 102                                                      saga-3/step-0/execute
            1  book_flight  execute       1  +15ms  5ms   ok seat 14C for cy                                          saga-3/step-1/execute
            2  book_hotel   execute       1  +25ms  5ms   failed: {"Full":"the hotel in Lisbon"} (AttemptsExhausted)  saga-3/step-2/execute
            1  book_flight  compensate    1  +35ms  5ms   failed: {"Refused":"the airline is down"}                   saga-3/step-1/compensate
            0  charge       compensate    -  +45ms  5ms   undone                                                      saga-3/step-0/compensate
            1  book_flight  compensate    -  +90ms  5ms   undone                                                      saga-3/step-1/compensate

                           0                                           100ms
            0 charge         ██                 ▒▒▒
            1 book_flight         ██       ▓▓▓                        ▒▒
            2 book_hotel               ▓▓
                           █ execute  ▒ compensate  ▓ failed

            2026-12-02 09:26:40Z  ana reopened: the airline is back
        "#]],
    );

    let output = journal.tale(&["check"]);
    assert!(output.status.success(), "{}", stdout(&output));
    assert_eq!(stdout(&output), "ok: no saga is stuck\n");
}

#[test]
fn writes_the_status_does_not_allow_are_refused_and_write_nothing() {
    let journal = Journal::new();
    journal.four_sagas();
    let before = journal.store().history(tale::journal::SagaId(1)).unwrap();
    let refused = journal.tale(&["resolve", "1", "--note", "why not", "--yes"]);
    assert_eq!(refused.status.code(), Some(2));
    expect![[r#"
        tale: error: refused: saga #1 is completed: only a saga that is stuck or parked can be resolved; nothing written
    "#]].assert_eq(&stderr(&refused));
    let refused = journal.tale(&["abandon", "3", "--note", "x", "--yes"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("stuck"), "{}", stderr(&refused));
    let missing_note = journal.tale(&["resolve", "3", "--yes"]);
    assert_eq!(missing_note.status.code(), Some(2));
    assert!(stderr(&missing_note).contains("--note"));
    assert_eq!(
        journal.store().history(tale::journal::SagaId(1)).unwrap(),
        before
    );
    let resolved = journal.tale(&["resolve", "3", "--note", "refunded by hand", "--yes"]);
    assert!(resolved.status.success(), "{}", stderr(&resolved));
    let story = stdout(&journal.tale(&["show", "3"]));
    assert!(story.contains("ana resolved: refunded by hand"), "{story}");
}

#[test]
fn errors_are_sentences_never_panics() {
    let journal = Journal::new();
    journal.four_sagas();
    let cases: [(&Path, &[&str], &str); 4] = [
        (
            Path::new("/nonexistent/journal.db"),
            &["ls"],
            "no journal at /nonexistent/journal.db: the file does not exist",
        ),
        (
            &journal.dir.join("notes.txt"),
            &["ls"],
            "is not a tale journal",
        ),
        (
            &journal.path(),
            &["show", "99"],
            "no saga #99 in the journal",
        ),
        (
            &journal.path(),
            &["ls", "--status", "lost"],
            "`lost` is not a status",
        ),
    ];
    std::fs::write(
        journal.dir.join("notes.txt"),
        "shopping: milk, eggs\n".repeat(200),
    )
    .unwrap();
    for (path, args, message) in cases {
        let output = tale_on(path, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let shown = stderr(&output);
        assert!(shown.starts_with("tale: error: "), "{shown}");
        assert!(shown.contains(message), "{shown}");
        assert!(!shown.contains("panicked"), "{shown}");
    }
    // A newer journal than this tale reads.
    rusqlite::Connection::open(journal.path())
        .unwrap()
        .execute("UPDATE tale_meta SET schema_version = 99", [])
        .unwrap();
    let output = journal.tale(&["ls"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("newer tale"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_same_tool_reads_and_writes_a_postgresql_journal() {
    use tale::journal::{AsyncStore, PgStore, PgTestServer};
    if PgTestServer::skipped() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = runtime.block_on(async {
        let url = PgTestServer::shared().fresh_database("cli").await;
        let store = PgStore::connect(&url).await.unwrap();
        let claim = AsyncStore::begin(&store, &NewSaga::new("book_trip", r#"{"customer":"ed"}"#))
            .await
            .unwrap();
        for record in [
            Record::StepStarted {
                index: 0,
                name: "charge".into(),
            },
            Record::CompensationStarted {
                index: 0,
                uncertain: false,
            },
            Record::CompensationFailed {
                index: 0,
                errors: r#"["the bank is down"]"#.into(),
            },
            Record::Finished {
                status: Status::Stuck,
            },
        ] {
            AsyncStore::append(&store, claim, &record).await.unwrap();
        }
        url
    });
    let ls = tale_on(Path::new(&url), &["ls", "--json"]);
    assert!(ls.status.success(), "{}", stderr(&ls));
    let sagas: Vec<Value> = serde_json::from_slice(&ls.stdout).unwrap();
    assert_eq!(sagas.len(), 1);
    assert_eq!(sagas[0]["status"], "stuck");
    assert_eq!(
        sagas[0]["summary"],
        "the compensation of step 0 charge failed for good: the bank is down"
    );
    let check = tale_on(Path::new(&url), &["check"]);
    assert_eq!(check.status.code(), Some(1));
    let resolved = tale_on(
        Path::new(&url),
        &["resolve", "1", "--note", "refunded", "--yes"],
    );
    assert!(resolved.status.success(), "{}", stderr(&resolved));
    let show = stdout(&tale_on(Path::new(&url), &["show", "1"]));
    assert!(
        show.contains("· resolved ·") && show.contains("ana resolved: refunded"),
        "{show}"
    );
    let check = tale_on(Path::new(&url), &["check"]);
    assert!(check.status.success(), "{}", stdout(&check));
}

#[test]
fn follow_prints_each_new_record_until_the_saga_finishes() {
    let journal = Journal::new();
    journal.four_sagas();
    let mut follow = Command::new(env!("CARGO_BIN_EXE_tale"))
        .arg("--journal")
        .arg(journal.path())
        .args(["show", "4", "--follow"])
        .env("TALE_NOW", NOW.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // If it never ends, the test fails rather than hangs.
    let pid = follow.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(30));
        let _ = Command::new("kill").arg(&pid).status();
    });
    // Once the story so far is out, another worker finishes the crashed saga.
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(follow.stdout.take().unwrap()));
    let mut shown = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        shown.push_str(&line);
        shown.push('\n');
        if line == "following; Ctrl-C to stop" {
            break;
        }
    }
    let store = journal.store();
    let world = World::default();
    let mut recoverer = Recoverer::new(&store);
    recoverer.register("book_trip", book_trip);
    recoverer.recover(&world);
    // It ends with the saga (the lines end when it exits; the test's own limit is far).
    for line in lines {
        shown.push_str(&line.unwrap());
        shown.push('\n');
    }
    assert!(follow.wait().unwrap().success());
    let after: Vec<_> = shown
        .split("following; Ctrl-C to stop\n")
        .nth(1)
        .expect("the story, then what follows")
        .lines()
        .map(|line| line.split("  ").last().unwrap().to_owned())
        .collect();
    assert_eq!(
        after,
        [
            "step 1 succeeded after 1 attempt(s)",
            "step 2 book_hotel started",
            "step 2 succeeded after 1 attempt(s)",
            "finished: completed",
            "saga #4 is completed",
        ],
        "{shown}"
    );
}
