//! The PostgreSQL store on a real server (a throwaway cluster the tests start; see
//! `tests::pg`): the store conformance suite, durable async sagas recovered by a
//! worker, schema creation raced by several processes' connections, a newer schema
//! refused, connections cut by `pg_terminate_backend` (an error, never a panic; the
//! next call reconnects), a write dropped half way (its connection closed, not pooled
//! in a transaction), a statement timeout (an error naming it; the store goes on), and
//! no password in errors or `Debug`.

use std::sync::Arc;

use tale::journal::{
    AsyncStore, JournalError, Leases, NewSaga, PgStore, Record, Status, conformance,
};
use tests::pg;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_conforms() {
    if pg::skipped() {
        return;
    }
    let server = pg::server();
    conformance::check_async(|| async {
        let url = server.fresh_database("conformance").await;
        move |leases: Leases| {
            let url = url.clone();
            async move {
                PgStore::connect(&url)
                    .await
                    .unwrap_or_else(|e| panic!("connect: {e}"))
                    .with_leases(leases)
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_connecting_to_a_fresh_database_at_once_create_the_schema_once() {
    if pg::skipped() {
        return;
    }
    let url = pg::server().fresh_database("race").await;
    let connects: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PgStore::connect(&url).await })
        })
        .collect();
    for connect in connects {
        connect
            .await
            .unwrap()
            .expect("every connection sees one schema");
    }
    let store = PgStore::connect(&url).await.unwrap();
    let claim = store.begin(&NewSaga::new("trip", "{}")).await.unwrap();
    assert_eq!(claim.saga.0, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_of_a_newer_tale_is_refused() {
    if pg::skipped() {
        return;
    }
    let server = pg::server();
    let url = server.fresh_database("newer").await;
    drop(PgStore::connect(&url).await.unwrap());
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .execute("UPDATE tale_meta SET schema_version = 99", &[])
        .await
        .unwrap();
    let refused = PgStore::connect(&url).await.unwrap_err();
    assert!(
        matches!(
            refused,
            JournalError::NewerSchema {
                found: 99,
                supported: PgStore::SCHEMA_VERSION
            }
        ),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_connection_is_an_error_and_the_next_call_reconnects() {
    if pg::skipped() {
        return;
    }
    let server = pg::server();
    let url = server.fresh_database("terminated").await;
    let store = Arc::new(PgStore::connect(&url).await.unwrap());
    let claim = store.begin(&NewSaga::new("trip", "{}")).await.unwrap();
    let started = Record::StepStarted {
        index: 0,
        name: "flight".into(),
    };
    store.append(claim, &started).await.unwrap();
    assert!(server.terminate_backends(&url).await >= 1);
    // The pooled connection is gone: the call that meets it fails, cleanly.
    let mut failed = 0;
    let mut written = 0;
    for index in 1..=3 {
        let record = Record::StepStarted {
            index,
            name: format!("step {index}").into(),
        };
        match store.append(claim, &record).await {
            Ok(()) => written += 1,
            Err(JournalError::Database(_)) => failed += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert!(written >= 2, "the store reconnects ({failed} failed)");
    let row = store.saga(claim.saga).await.unwrap();
    assert_eq!(row.records, 1 + written);
    assert_eq!(row.status, Status::Running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_never_appear_in_errors_or_debug() {
    if pg::skipped() {
        return;
    }
    let server = pg::server();
    let url = server.fresh_database("secret").await;
    // A wrong host with a password: the error names neither the password nor the string.
    let refused =
        PgStore::connect("host=/nonexistent/tale port=1 user=tale password=hunter2 dbname=x")
            .await
            .unwrap_err();
    let shown = format!("{refused} {refused:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    let unparsable = PgStore::connect("host=x password=hunter2 port=notaport")
        .await
        .unwrap_err();
    let shown = format!("{unparsable} {unparsable:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    let store = PgStore::connect(&format!("{url} password=hunter2"))
        .await
        .unwrap();
    let shown = format!("{store:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_dropped_half_way_leaves_no_transaction_open() {
    if pg::skipped() {
        return;
    }
    let server = pg::server();
    let url = server.fresh_database("dropped").await;
    let store = PgStore::connect(&url).await.unwrap();
    let claim = store.begin(&NewSaga::new("trip", "{}")).await.unwrap();
    // Another session holds the saga's row, so the store's write waits on the lock
    // (its transaction begun) until the caller gives up on it.
    let blocker = hold_row(&url, claim.saga).await;
    let started = started_flight();
    let gave_up = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        store.append(claim, &started),
    )
    .await;
    assert!(gave_up.is_err(), "the write waited on the lock");
    blocker.batch_execute("ROLLBACK").await.unwrap();
    // The connection the dropped write had begun its transaction on is closed, not
    // handed back to the pool idle in a transaction that holds the row.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let open: i64 = blocker
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if open == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{open} session(s) left idle in a transaction"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // And the row is free: another handle on the journal writes to it at once.
    let other = PgStore::connect(&url).await.unwrap();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        other.append(claim, &started),
    )
    .await
    .expect("the row is not held")
    .expect("the write");
    assert_eq!(store.saga(claim.saga).await.unwrap().records, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_timeout_is_an_error_and_the_store_goes_on() {
    if pg::skipped() {
        return;
    }
    let url = pg::server().fresh_database("timeout").await;
    let store = PgStore::connect(&format!("{url} options='-c statement_timeout=200'"))
        .await
        .unwrap();
    let claim = store.begin(&NewSaga::new("trip", "{}")).await.unwrap();
    let blocker = hold_row(&url, claim.saga).await;
    let started = started_flight();
    // The write waits on the row past the server's statement timeout: an error, not a
    // hang (the test's own limit is far longer), and nothing written.
    let timed_out = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        store.append(claim, &started),
    )
    .await
    .expect("the server's statement timeout ends the wait");
    assert!(
        matches!(&timed_out, Err(JournalError::Database(m)) if m.to_string().contains("statement timeout")),
        "{timed_out:?}"
    );
    blocker.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(store.saga(claim.saga).await.unwrap().records, 0);
    store.append(claim, &started).await.expect("the next write");
    assert_eq!(store.saga(claim.saga).await.unwrap().records, 1);
}

/// A session of its own, in a transaction that holds the row of `saga` until it rolls
/// back.
async fn hold_row(url: &str, saga: tale::journal::SagaId) -> tokio_postgres::Client {
    let (blocker, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    blocker
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM tale_sagas WHERE id = {} FOR UPDATE",
            saga.0
        ))
        .await
        .unwrap();
    blocker
}

fn started_flight() -> Record {
    Record::StepStarted {
        index: 0,
        name: "flight".into(),
    }
}
