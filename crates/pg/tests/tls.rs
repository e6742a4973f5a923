//! TLS to PostgreSQL against a real server that takes TCP connections only with TLS
//! (`hostssl`), with a certificate for `localhost` from a CA made here.

use tradetrail_core::{DataDir, InitOptions, Recorder};
use tradetrail_model::Event;
use tradetrail_pg::testing::TempCluster;
use tradetrail_pg::{connect, init, sync, verify, Error, Roles, SyncOptions};

/// A CA and a server certificate for `localhost` signed by it: (CA PEM, chain PEM, key PEM).
fn certificates() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "tradetrail test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let server = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    (ca_cert.pem(), server.pem(), key.serialize_pem())
}

/// The error of a connection that must fail.
fn refused(url: &str) -> Error {
    match connect(url) {
        Ok(_) => panic!("{url}: connected"),
        Err(e) => e,
    }
}

#[test]
fn the_mirror_syncs_and_verifies_over_tls_and_refuses_what_it_cannot_trust() {
    let (ca, chain, key) = certificates();
    let Some(pg) = TempCluster::start_tls(&chain, &key).unwrap() else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let ca_file = scratch.path().join("ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    init(&pg.url(), &Roles::default()).unwrap();

    let good = format!(
        "{} sslmode=verify-full sslrootcert={}",
        pg.tcp_url("localhost", "postgres"),
        ca_file.display()
    );
    // The session is encrypted.
    let mut c = connect(&good).unwrap();
    let ssl: bool = c
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(ssl);

    // A journal mirrored and verified over it.
    let dir = DataDir::new(scratch.path().join("data"));
    let rec = Recorder::init(&dir, InitOptions::default()).unwrap();
    for i in 0..20 {
        let e = Event::new(
            "param.changed",
            1_795_700_000_000_000_000 + i,
            "meta",
            "algo:m1",
        )
        .with_entity("param", &format!("k{i}"))
        .with_data("name", format!("k{i}"))
        .with_data("old_value", "1")
        .with_data("new_value", "2")
        .with_data("reason", "regime");
        rec.record(&e).unwrap();
    }
    drop(rec);
    let r = sync(&dir, &good, &SyncOptions::default()).unwrap();
    assert_eq!(r.copied, 21);
    assert!(verify(&dir, &good).unwrap().ok);

    // The URL form, the CA path percent-encoded.
    let url_form = format!(
        "postgres://postgres@localhost:{}/postgres?sslmode=require&sslrootcert={}",
        pg.tcp_url("x", "y")
            .split("port=")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .unwrap(),
        ca_file.display().to_string().replace('/', "%2F")
    );
    assert!(verify(&dir, &url_form).unwrap().ok);

    // Without TLS the server refuses TCP (hostssl only).
    let e = refused(&pg.tcp_url("localhost", "postgres"));
    assert!(matches!(e, Error::Connect { .. }), "{e}");
    assert!(e.to_string().contains("no encryption"), "{e}");
    // A certificate from a CA it was not told of: refused (the system's roots).
    let e = refused(&format!(
        "{} sslmode=require",
        pg.tcp_url("localhost", "postgres")
    ));
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    // The right CA but another host name than the certificate's: refused.
    let e = refused(&format!(
        "{} sslmode=require sslrootcert={}",
        pg.tcp_url("127.0.0.1", "postgres"),
        ca_file.display()
    ));
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    // A CA file that is not one: named.
    let e = refused(&format!(
        "{} sslmode=require sslrootcert={}",
        pg.tcp_url("localhost", "postgres"),
        scratch.path().join("missing.pem").display()
    ));
    assert!(matches!(e, Error::Url { .. }), "{e}");
    assert!(e.to_string().contains("sslrootcert: reading"), "{e}");
}
