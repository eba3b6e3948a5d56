//! TLS to PostgreSQL (feature `postgres-rustls`): a throwaway server of its own serving
//! TLS with a certificate the test generates (rcgen), a store that trusts its CA
//! connects with `sslmode=require` and its connections are encrypted (the server's
//! `pg_stat_ssl` says so), and a store that does not trust it is refused.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tale::journal::{AsyncStore, NewSaga, PgStore, PgTestServer};

/// A CA, and a certificate for `localhost` it signed, with its key (PEM).
fn certificates() -> (Vec<u8>, String, String) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    (ca.der().to_vec(), cert.pem(), key.serialize_pem())
}

fn client(trusted: Option<Vec<u8>>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = trusted {
        roots.add(ca.into()).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_connects_over_tls_and_refuses_an_untrusted_server() {
    if tests::pg::skipped() {
        return;
    }
    if std::env::var_os("TALE_PG_URL").is_some() {
        eprintln!("TALE_PG_URL is set: the TLS test starts its own server all the same");
    }
    let (ca, cert, key) = certificates();
    let server = PgTestServer::start_tls(&cert, &key).expect("a TLS server starts");
    let url = server.fresh_database("tls").await;
    let secure = format!("{url} sslmode=require");

    let store = PgStore::connect_tls(&secure, client(Some(ca)))
        .await
        .unwrap();
    let claim = store.begin(&NewSaga::new("trip", "{}")).await.unwrap();
    assert_eq!(claim.epoch, 1);

    // The server's view of the store's connections: encrypted, every one.
    let database = url
        .split_whitespace()
        .find_map(|p| p.strip_prefix("dbname="))
        .unwrap()
        .to_owned();
    let (admin, connection) =
        tokio_postgres::connect(&server.url("postgres"), tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(connection);
    let row = admin
        .query_one(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) \
             FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1",
            &[&database],
        )
        .await
        .unwrap();
    let (encrypted, plain): (i64, i64) = (row.get(0), row.get(1));
    assert!(encrypted >= 1, "no encrypted connection");
    assert_eq!(plain, 0, "a plain connection to the journal");

    let refused = PgStore::connect_tls(&secure, client(None))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().to_lowercase().contains("certificate")
            || format!("{refused:?}")
                .to_lowercase()
                .contains("certificate"),
        "{refused:?}"
    );
}
