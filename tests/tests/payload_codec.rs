//! Payloads at rest: a journal written through an encrypting `PayloadCodec` holds no
//! plaintext of a saga's inputs, outputs or errors (the SQLite file and WAL, the
//! PostgreSQL tables), and reads back and replays as if it were plain; every store
//! passes the conformance suite with a codec.

use serde::{Deserialize, Serialize};
use tale::Executor;
use tale::journal::{
    DurableError, DurableRun, Interrupted, MemoryStore, NewSaga, Origin, PayloadCodec, PgStore,
    Record, SqliteStore, Status, Store, conformance,
};
use tale::step::from_fn;

/// A toy cipher (XOR with a key, then hex): enough to hide the text from a reader of the
/// database. Use an AEAD in production.
struct Xor(u8);

impl PayloadCodec for Xor {
    fn seal(&self, plain: &str) -> String {
        plain
            .bytes()
            .map(|b| format!("{:02x}", b ^ self.0))
            .collect()
    }
    fn open(&self, sealed: &str) -> Result<String, String> {
        let bytes: Result<Vec<u8>, _> = (0..sealed.len())
            .step_by(2)
            .map(|i| {
                u8::from_str_radix(sealed.get(i..i + 2).unwrap_or("zz"), 16).map(|b| b ^ self.0)
            })
            .collect();
        String::from_utf8(bytes.map_err(|e| e.to_string())?).map_err(|e| e.to_string())
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
enum Error {
    Declined(String),
    Interrupted(Interrupted),
}

impl From<Interrupted> for Error {
    fn from(i: Interrupted) -> Self {
        Error::Interrupted(i)
    }
}

const CARD: &str = "CARD-4242-SECRET";
const RECEIPT: &str = "RECEIPT-7777-SECRET";
const DECLINED: &str = "DECLINED-9999-SECRET";

/// A saga of two steps: a charge (output: a receipt), then a refusal (its error).
/// `stop_after_charge` stops the run after the charge, as a crash would.
fn pay(
    store: &dyn Store,
    origin: Origin,
    charges: &mut u32,
    stop_after_charge: bool,
) -> Result<String, DurableError<Error>> {
    let mut executor = Executor::new();
    let mut run = DurableRun::start(&mut executor, store, "pay", &CARD, origin)
        .map_err(DurableError::Journal)?;
    let receipt = run.step(
        0,
        &mut from_fn(|| {
            *charges += 1;
            Ok::<_, Error>(RECEIPT.to_owned())
        })
        .with_compensation(|_: &String| Ok(())),
    );
    if stop_after_charge {
        return Err(DurableError::Journal(
            tale::journal::JournalError::Database("stopped here".into()),
        ));
    }
    let result = match receipt {
        Ok(receipt) => run
            .step(
                1,
                &mut from_fn(|| Err::<(), _>(Error::Declined(DECLINED.to_owned()))),
            )
            .map(|()| receipt),
        Err(e) => Err(e),
    };
    run.finish(result)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn a_sqlite_journal_through_a_codec_holds_no_plaintext_and_replays() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("payload_codec-sqlite");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("journal.db");
    let store = SqliteStore::open(&path).unwrap().with_codec(Xor(0x5A));
    let mut charges = 0;
    // The run stops after the charge; a resumption answers it from the journal.
    pay(&store, Origin::New, &mut charges, true).unwrap_err();
    let id = store.sagas(&[Status::Running]).unwrap()[0].id;
    let error = pay(&store, Origin::Resume(id), &mut charges, false).unwrap_err();
    assert_eq!(
        charges, 1,
        "the receipt was read back from the sealed journal"
    );
    assert!(matches!(error, DurableError::Saga(_)), "{error:?}");
    let row = store.saga(id).unwrap();
    assert_eq!(row.inputs, format!("\"{CARD}\""));
    assert!(row.last_error.as_deref().unwrap().contains(DECLINED));
    let records = store.records(id).unwrap();
    assert!(
        records
            .iter()
            .any(|r| matches!(r, Record::StepSucceeded { output, .. } if output.contains(RECEIPT)))
    );
    drop(store);
    for file in ["journal.db", "journal.db-wal"] {
        let bytes = std::fs::read(dir.join(file)).unwrap_or_default();
        for secret in [CARD, RECEIPT, DECLINED] {
            assert!(
                !contains(&bytes, secret),
                "{file} holds {secret} in plain text"
            );
        }
    }
    // Without the codec, the journal's payloads are unreadable, not silently wrong.
    let plain = SqliteStore::open(&path).unwrap();
    assert_ne!(plain.saga(id).unwrap().inputs, format!("\"{CARD}\""));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_store_conforms_with_a_codec() {
    conformance::check(|| {
        let journal = MemoryStore::new().with_codec(Xor(7));
        move |leases| journal.worker(leases)
    });
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("payload_codec-conformance");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut n = 0;
    conformance::check(|| {
        n += 1;
        let path = dir.join(format!("journal-{n}.db"));
        move |leases| {
            SqliteStore::open(&path)
                .unwrap()
                .with_leases(leases)
                .with_codec(Xor(7))
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_journal_through_a_codec_holds_no_plaintext() {
    // `PgStore` is an `AsyncStore` only; with `Store` in scope too, a concrete store's
    // calls would be ambiguous, hence the import here.
    use tale::journal::AsyncStore;
    if tests::pg::skipped() {
        return;
    }
    let url = tests::pg::server().fresh_database("codec").await;
    let store = PgStore::connect(&url).await.unwrap().with_codec(Xor(0x33));
    let inputs = format!("\"{CARD}\"");
    let claim = store.begin(&NewSaga::new("pay", &inputs)).await.unwrap();
    let output = format!("\"{RECEIPT}\"");
    for record in [
        Record::StepStarted {
            index: 0,
            name: "charge".into(),
        },
        Record::StepSucceeded {
            index: 0,
            attempts: 1,
            output: output.clone(),
        },
        Record::StepFailed {
            index: 1,
            errors: format!("[{{\"Declined\":\"{DECLINED}\"}}]"),
            gave_up: tale::GaveUp::Permanent,
        },
    ] {
        store.append(claim, &record).await.unwrap();
    }
    let row = store.saga(claim.saga).await.unwrap();
    assert_eq!(row.inputs, inputs);
    assert!(row.last_error.unwrap().contains(DECLINED));
    let records = store.records(claim.saga).await.unwrap();
    assert!(matches!(&records[1], Record::StepSucceeded { output: o, .. } if *o == output));
    assert_eq!(row.attempts, 1, "the errors were counted in plain");

    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let stored: Vec<String> = client
        .query(
            "SELECT inputs || coalesce(last_error, '') FROM tale_sagas \
             UNION ALL SELECT payload FROM tale_records",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for text in &stored {
        for secret in [CARD, RECEIPT, DECLINED] {
            assert!(
                !text.contains(secret),
                "the database holds {secret}: {text}"
            );
        }
    }
}
