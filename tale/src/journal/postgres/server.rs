//! [`PgTestServer`]: a throwaway PostgreSQL server for tests (features `postgres` and
//! `testing`), started from the machine's PostgreSQL binaries (`pg_config --bindir`,
//! or `/usr/lib/postgresql/*/bin`): a cluster in a temporary folder, listening only on
//! a unix socket in that folder, run by the `postgres` user when the tests run as root
//! (`initdb` refuses root), stopped and removed when the test process ends (a watchdog
//! process sees to it even after a SIGKILL). With `TALE_PG_URL` set, the tests use that
//! server instead.
//!
//! If neither works, [`PgTestServer::shared`] panics, saying how to install
//! PostgreSQL; `TALE_PG_SKIP=1` makes [`PgTestServer::skipped`] true instead, for
//! running tests by hand on a machine without it (never on CI, where it panics).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// A PostgreSQL server for tests: a throwaway cluster, or `TALE_PG_URL`'s.
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> Result<(), tale::journal::JournalError> {
/// use tale::journal::{PgStore, PgTestServer};
///
/// let server = PgTestServer::shared();
/// let url = server.fresh_database("my_test").await;
/// let store = PgStore::connect(&url).await?;
/// # drop(store);
/// # Ok(())
/// # }
/// ```
pub struct PgTestServer {
    /// Connection parameters without a database (`host=... port=... user=...`).
    base: String,
    /// The cluster's folder (the socket is in it), if the tests started it.
    pub dir: Option<PathBuf>,
    /// The PostgreSQL binaries.
    pub bindir: Option<PathBuf>,
    /// The command prefix that runs server tools as the cluster's owner.
    pub as_owner: Vec<String>,
}

static SERVER: OnceLock<Result<PgTestServer, String>> = OnceLock::new();

impl PgTestServer {
    /// True if the PostgreSQL tests are to be skipped (`TALE_PG_SKIP=1`, by hand only).
    ///
    /// # Panics
    ///
    /// If `TALE_PG_SKIP` is set where `CI` is: CI must run the PostgreSQL tests.
    #[must_use]
    pub fn skipped() -> bool {
        if std::env::var_os("TALE_PG_SKIP").is_some_and(|v| v == "1") {
            assert!(
                std::env::var_os("CI").is_none(),
                "TALE_PG_SKIP is set on CI, which must run the PostgreSQL tests"
            );
            eprintln!("TALE_PG_SKIP=1: skipping a PostgreSQL test");
            return true;
        }
        false
    }

    /// The server of this process: `TALE_PG_URL`'s, or a throwaway cluster started on
    /// first use.
    ///
    /// # Panics
    ///
    /// If no server can be found or started, saying how to install PostgreSQL.
    pub fn shared() -> &'static PgTestServer {
        match SERVER.get_or_init(start) {
            Ok(server) => server,
            Err(why) => panic!(
                "the PostgreSQL tests need a PostgreSQL server: {why}\n\
             Install PostgreSQL's server binaries (Debian, Ubuntu: `apt-get install postgresql`; \
             macOS: `brew install postgresql`), or point TALE_PG_URL at a server whose user may \
             create databases, or set TALE_PG_SKIP=1 to skip these tests by hand."
            ),
        }
    }

    /// Starts a throwaway cluster of its own that serves TLS with the certificate
    /// `cert_pem` and its key `key_pem` on a TCP port of 127.0.0.1 (connection strings
    /// name `host=localhost`): for tests of TLS. Stopped and removed when the process
    /// ends.
    ///
    /// # Errors
    ///
    /// Why it could not start (no PostgreSQL binaries, `initdb` or `pg_ctl` failed).
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> Result<PgTestServer, String> {
        cluster(Some((cert_pem, key_pem)))
    }

    /// The connection string of `database`.
    #[must_use]
    pub fn url(&self, database: &str) -> String {
        format!("{} dbname={database}", self.base)
    }

    /// A new, empty database, and its connection string.
    ///
    /// # Panics
    ///
    /// If the server refuses.
    pub async fn fresh_database(&self, prefix: &str) -> String {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let client = self.admin().await;
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        self.url(&name)
    }

    /// A connection to the `postgres` database, for administration.
    ///
    /// # Panics
    ///
    /// If the server cannot be reached.
    async fn admin(&self) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("connecting to the test server: {e}"));
        tokio::spawn(connection);
        client
    }

    /// Terminates every backend connected to the database of `url` but the caller's:
    /// what an operator's `pg_terminate_backend` or a failover does to the store's
    /// connections. Returns how many were terminated.
    pub async fn terminate_backends(&self, url: &str) -> u64 {
        let database = url
            .split_whitespace()
            .find_map(|p| p.strip_prefix("dbname="))
            .unwrap_or("postgres")
            .to_owned();
        let client = self.admin().await;
        let rows = client
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&database],
            )
            .await
            .unwrap_or_default();
        rows.len() as u64
    }

    /// Restarts the server at once, as a crash would (`pg_ctl restart -m immediate`):
    /// every connection drops, and uncommitted transactions are lost.
    ///
    /// # Panics
    ///
    /// If the tests did not start the server (`TALE_PG_URL`), or it does not come back.
    pub fn restart_immediately(&self) {
        let (Some(dir), Some(bindir)) = (&self.dir, &self.bindir) else {
            panic!("the server of TALE_PG_URL is not the tests' to restart");
        };
        let data = dir.join("data");
        let status = self
            .owner_command(&bindir.join("pg_ctl"))
            .args(["-D", path(&data), "-m", "immediate", "-w", "-l"])
            .arg(path(&dir.join("server.log")))
            .arg("restart")
            .stdout(Stdio::null())
            .status()
            .expect("pg_ctl runs");
        assert!(status.success(), "pg_ctl restart failed");
    }

    fn owner_command(&self, program: &Path) -> Command {
        match self.as_owner.split_first() {
            Some((first, rest)) => {
                let mut command = Command::new(first);
                command.args(rest).arg(program);
                command
            }
            None => Command::new(program),
        }
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// Starts a throwaway cluster, or describes the server of `TALE_PG_URL`.
fn start() -> Result<PgTestServer, String> {
    if let Ok(url) = std::env::var("TALE_PG_URL") {
        let base = url
            .split_whitespace()
            .filter(|p| !p.starts_with("dbname="))
            .collect::<Vec<_>>()
            .join(" ");
        return Ok(PgTestServer {
            base,
            dir: None,
            bindir: None,
            as_owner: Vec::new(),
        });
    }
    cluster(None)
}

/// Starts a throwaway cluster: on a unix socket only, or, with `tls` (a certificate and
/// its key, PEM), on a TCP port of 127.0.0.1 with TLS on.
fn cluster(tls: Option<(&str, &str)>) -> Result<PgTestServer, String> {
    static CLUSTERS: AtomicU64 = AtomicU64::new(0);
    let bindir = bindir().ok_or("no PostgreSQL binaries (`pg_config --bindir` failed and /usr/lib/postgresql/*/bin has none)")?;
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let as_owner: Vec<String> = if root {
        vec![
            "runuser".into(),
            "-u".into(),
            "postgres".into(),
            "--".into(),
        ]
    } else {
        Vec::new()
    };
    let dir = std::env::temp_dir().join(format!(
        "tale-pg-{}-{}",
        std::process::id(),
        CLUSTERS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if root {
        let owned = Command::new("chown")
            .args(["postgres:postgres", path(&dir)])
            .status()
            .map_err(|e| format!("chown: {e}"))?;
        if !owned.success() {
            return Err("cannot give the cluster's folder to the `postgres` user".into());
        }
    }
    let (base, listen) = match tls {
        None => (
            format!("host={} port=5432 user=tale", path(&dir)),
            "-c listen_addresses='' -p 5432".to_owned(),
        ),
        Some((cert, key)) => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("no free port: {e}"))?
                .port();
            let (cert_file, key_file) = (dir.join("server.crt"), dir.join("server.key"));
            std::fs::write(&cert_file, cert).map_err(|e| e.to_string())?;
            std::fs::write(&key_file, key).map_err(|e| e.to_string())?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| e.to_string())?;
            }
            if root {
                let _ = Command::new("chown")
                    .args(["postgres:postgres", path(&cert_file), path(&key_file)])
                    .status();
            }
            (
                format!("host=localhost port={port} user=tale"),
                format!(
                    "-c listen_addresses='127.0.0.1' -p {port} -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                    path(&cert_file),
                    path(&key_file)
                ),
            )
        }
    };
    let server = PgTestServer {
        base,
        dir: Some(dir.clone()),
        bindir: Some(bindir.clone()),
        as_owner,
    };
    let data = dir.join("data");
    let init = server
        .owner_command(&bindir.join("initdb"))
        .args([
            "-D",
            path(&data),
            "-U",
            "tale",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !init.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        ));
    }
    let options = format!(
        "-k {} {listen} -c fsync=off -c max_connections=200",
        path(&dir)
    );
    let started = server
        .owner_command(&bindir.join("pg_ctl"))
        .args(["-D", path(&data), "-o", &options, "-w", "-l"])
        .arg(path(&dir.join("server.log")))
        .arg("start")
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("pg_ctl: {e}"))?;
    if !started.status.success() {
        let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        return Err(format!(
            "pg_ctl start failed: {}{log}",
            String::from_utf8_lossy(&started.stderr)
        ));
    }
    watch(&server, &data);
    Ok(server)
}

/// Starts a watchdog process that stops the cluster and removes its folder once this
/// process is gone, however it ends.
fn watch(server: &PgTestServer, data: &Path) {
    let (Some(dir), Some(bindir)) = (&server.dir, &server.bindir) else {
        return;
    };
    let stop = format!(
        "{} {} -D {} -m immediate stop",
        server.as_owner.join(" "),
        path(&bindir.join("pg_ctl")),
        path(data)
    );
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = path(dir)
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// The folder of the PostgreSQL server binaries.
fn bindir() -> Option<PathBuf> {
    let from_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|dir| dir.join("initdb").exists());
    from_config.or_else(|| {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|dir| dir.join("initdb").exists())
            .collect();
        found.sort();
        found.pop()
    })
}
