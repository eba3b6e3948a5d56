//! Durable sagas on the PostgreSQL journal, on a throwaway server (`PgTestServer`, or
//! `TALE_PG_URL`'s): sagas per second for a 5-step async saga with 1, 2, 4 and 8 sagas
//! in flight (each in flight a worker's resumption or a service's request), against
//! the limit measured in the same run: plain tokio-postgres writing the same rows in
//! the same round trips. And the time from a worker's death to another worker
//! resuming its saga.
//!
//! `cargo bench -p tale-bench --bench postgres`; the last lines are the figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tale::TokioClock;
use tale::journal::{
    AsyncRecoverer, AsyncStore, AsyncWorker, Leases, NewSaga, Origin, PgStore, PgTestServer,
    Record, WorkerOptions,
};
use tale_bench::Figures;
use tale_bench::durable::{STEPS, five_async_steps};
use tokio_postgres::{Client, NoTls, Statement};

/// The raw baseline's tables: the journal's, copied (`LIKE ... INCLUDING ALL`).
async fn create_raw_tables(url: &str) {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
        .batch_execute(
            "CREATE TABLE raw_sagas (LIKE tale_sagas INCLUDING ALL);
             CREATE TABLE raw_records (LIKE tale_records INCLUDING ALL);",
        )
        .await
        .expect("the raw tables");
}

/// The statements of the raw baseline: the rows tale writes, by hand.
struct Raw {
    client: Client,
    begin: Statement,
    commit: Statement,
    insert_saga: Statement,
    lock: Statement,
    insert_record: Statement,
    update: Statement,
}

impl Raw {
    async fn connect(url: &str) -> Self {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
        tokio::spawn(connection);
        let prepare = |sql: &'static str| {
            let client = &client;
            async move { client.prepare(sql).await.expect("prepare") }
        };
        Self {
            begin: prepare("BEGIN").await,
            commit: prepare("COMMIT").await,
            insert_saga: prepare(
                "INSERT INTO raw_sagas (name, inputs, status, records, created_at, updated_at, \
                 owner, epoch, lease_until) VALUES ('bench', '7', 'running', 0, 0, 0, 'w', 1, 0) \
                 RETURNING id",
            )
            .await,
            lock: prepare("SELECT * FROM raw_sagas WHERE id = $1 FOR UPDATE").await,
            insert_record: prepare(
                "INSERT INTO raw_records (saga_id, seq, kind, step_index, payload, created_at) \
                 VALUES ($1, $2, 'step_succeeded', 0, '{\"attempts\":1,\"output\":\"1\"}', 0)",
            )
            .await,
            update: prepare(
                "UPDATE raw_sagas SET status = 'running', current_step = 0, \
                 current_step_name = 'noop', records = $2, last_error = NULL, updated_at = 0, \
                 attempts = 1, owner = 'w', epoch = 1, lease_until = 0, resumptions = 0, \
                 not_before = NULL WHERE id = $1",
            )
            .await,
            client,
        }
    }

    /// One saga: its insert, then per record the round trips tale makes: a transaction
    /// begun with the row locked (pipelined), then the record, the row and the commit
    /// (pipelined).
    async fn saga(&mut self) {
        let id: i64 = self
            .client
            .query_one(&self.insert_saga, &[])
            .await
            .expect("insert")
            .get(0);
        for seq in 1..=(2 * STEPS as i64 + 1) {
            let by_id: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&id];
            let (begun, locked) = tokio::join!(
                self.client.execute(&self.begin, &[]),
                self.client.query_one(&self.lock, &by_id),
            );
            begun.expect("begin");
            locked.expect("lock");
            let by_id_seq: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&id, &seq];
            let (inserted, updated, committed) = tokio::join!(
                self.client.execute(&self.insert_record, &by_id_seq),
                self.client.execute(&self.update, &by_id_seq),
                self.client.execute(&self.commit, &[]),
            );
            inserted.expect("insert record");
            updated.expect("update");
            committed.expect("commit");
        }
    }
}

/// Sagas per second with `in_flight` at once, `sagas` in all: the median of 3 rounds.
async fn rate<F, Fut>(sagas: usize, in_flight: usize, mut round: F) -> f64
where
    F: FnMut(usize, usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut rates = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        round(sagas, in_flight).await;
        rates.push(sagas as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    rates[1]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = PgTestServer::shared();
    let mut figures = Figures::default();
    let url = server.fresh_database("bench").await;
    let store = Arc::new(
        PgStore::connect(&url)
            .await
            .expect("journal")
            .max_connections(16),
    );
    create_raw_tables(&url).await;
    for in_flight in [1, 2, 4, 8] {
        let sagas = 60 * in_flight.min(4);
        let tale = rate(sagas, in_flight, |sagas, in_flight| {
            let store = Arc::clone(&store);
            async move {
                let lanes: Vec<_> = (0..in_flight)
                    .map(|lane| {
                        let store = Arc::clone(&store);
                        tokio::spawn(async move {
                            for _ in (lane..sagas).step_by(in_flight) {
                                five_async_steps(&*store, Origin::New, &7, &())
                                    .await
                                    .expect("a saga");
                            }
                        })
                    })
                    .collect();
                for lane in lanes {
                    lane.await.expect("a lane");
                }
            }
        })
        .await;
        let raw = rate(sagas, in_flight, |sagas, in_flight| {
            let url = url.clone();
            async move {
                let lanes: Vec<_> = (0..in_flight)
                    .map(|lane| {
                        let url = url.clone();
                        tokio::spawn(async move {
                            let mut raw = Raw::connect(&url).await;
                            for _ in (lane..sagas).step_by(in_flight) {
                                raw.saga().await;
                            }
                        })
                    })
                    .collect();
                for lane in lanes {
                    lane.await.expect("a lane");
                }
            }
        })
        .await;
        figures.add(
            &format!("postgres_{in_flight}_in_flight_sagas_per_second"),
            tale,
        );
        figures.add(
            &format!("postgres_{in_flight}_in_flight_raw_sagas_per_second"),
            raw,
        );
        figures.add(
            &format!("postgres_{in_flight}_in_flight_ratio_vs_raw"),
            tale / raw,
        );
    }

    // A worker dies (its handle stops writing and never gives its saga back); another
    // worker, polling every 100 ms, resumes the saga once its 1 s lease has ended.
    let mut takeovers = Vec::new();
    for _ in 0..3 {
        let url = server.fresh_database("takeover").await;
        let ttl = Duration::from_secs(1);
        let dead = PgStore::connect(&url)
            .await
            .unwrap()
            .with_leases(Leases::new().ttl(ttl));
        let claim = dead.begin(&NewSaga::new("bench", "7")).await.unwrap();
        dead.append(
            claim,
            &Record::StepStarted {
                index: 0,
                name: "noop".into(),
            },
        )
        .await
        .unwrap();
        let died = Instant::now();
        drop(dead);
        let alive = PgStore::connect(&url)
            .await
            .unwrap()
            .with_leases(Leases::new().ttl(ttl));
        let mut recoverer = AsyncRecoverer::new(&alive);
        recoverer.register("bench", five_async_steps);
        let worker = AsyncWorker::new(&recoverer, TokioClock::new())
            .options(WorkerOptions::new().poll_interval(Duration::from_millis(100)));
        let resumed = loop {
            if !worker.tick(&()).await.is_empty() {
                break died.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        takeovers.push(resumed.as_secs_f64() * 1_000.0);
    }
    takeovers.sort_by(f64::total_cmp);
    figures.add(
        "postgres_takeover_after_death_ms_lease_1000_poll_100",
        takeovers[1],
    );
    figures.print();
}
