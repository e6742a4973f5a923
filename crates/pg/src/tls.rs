//! TLS to PostgreSQL (rustls): which connections use it and what they trust.
//!
//! A connection string asks for TLS with `sslmode=require`, `verify-ca` or
//! `verify-full`. All three verify the server's certificate chain *and* its host name
//! (libpq's `verify-full`): a mirror that accepted any certificate would hand its rows
//! and its password to whoever sits in the middle, so tradetrail never does. The chain
//! is checked against `sslrootcert=FILE` (PEM, one or more CA certificates) when
//! given, else the system's roots. `disable`, `allow` and `prefer` (and no `sslmode`)
//! connect without TLS, as before.
//!
//! `postgres`'s own parser knows `sslmode` only up to `require` and no `sslrootcert`,
//! so both are taken out of the string here and the rest is left to it.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use tokio_postgres_rustls::MakeRustlsConnect;

/// What a connection string asks of TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tls {
    /// The CA certificates file (`sslrootcert`), else the system's roots.
    pub root_cert: Option<String>,
}

/// Splits `url` into what `postgres` parses and the TLS it asks for (`None`: no TLS).
/// Errors name the parameter and the reason.
pub(crate) fn split(url: &str) -> Result<(String, Option<Tls>), String> {
    let mut mode: Option<String> = None;
    let mut root: Option<String> = None;
    let mut take = |k: &str, v: &str| -> bool {
        if k.eq_ignore_ascii_case("sslmode") {
            mode = Some(v.to_ascii_lowercase());
            true
        } else if k.eq_ignore_ascii_case("sslrootcert") {
            root = Some(v.to_string());
            true
        } else {
            false
        }
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            Some((base, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|p| match p.split_once('=') {
                        Some((k, v)) => !take(k, &percent_decoded(v)),
                        None => true,
                    })
                    .collect();
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
            None => url.to_string(),
        }
    } else {
        url.split_whitespace()
            .filter(|w| match w.split_once('=') {
                Some((k, v)) => !take(k, v.trim_matches('\'')),
                None => true,
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let tls = match mode.as_deref() {
        None | Some("disable" | "allow" | "prefer") => {
            if root.is_some() {
                return Err(
                    "sslrootcert: given without sslmode=require, verify-ca or verify-full, \
                     so nothing would use it"
                        .into(),
                );
            }
            None
        }
        Some("require" | "verify-ca" | "verify-full") => Some(Tls { root_cert: root }),
        Some(other) => {
            return Err(format!(
                "sslmode: {other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            ))
        }
    };
    let rest = match (&tls, url.starts_with("postgres")) {
        (None, _) => rest,
        (Some(_), true) => {
            let sep = if rest.contains('?') { '&' } else { '?' };
            format!("{rest}{sep}sslmode=require")
        }
        (Some(_), false) => format!("{rest} sslmode=require"),
    };
    Ok((rest, tls))
}

/// `%XX` escapes decoded (a path in a URL's query); anything else kept as it is.
fn percent_decoded(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Tls {
    /// The connector: the chain checked against the CA file or the system's roots,
    /// the host name against the certificate.
    pub(crate) fn connector(&self) -> Result<MakeRustlsConnect, String> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.root_cert {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| format!("sslrootcert: reading {path}: {e}"))?;
                if certs.is_empty() {
                    return Err(format!(
                        "sslrootcert: {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
                    ));
                }
                for c in certs {
                    roots
                        .add(c)
                        .map_err(|e| format!("sslrootcert: a certificate in {path}: {e}"))?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                for c in found.certs {
                    // A system root rustls cannot use is skipped, as every client does.
                    let _ = roots.add(c);
                }
                if roots.is_empty() {
                    return Err(
                        "sslmode: TLS asked for, but the system has no CA certificates; \
                         give the server's CA with sslrootcert=FILE"
                            .into(),
                    );
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("sslmode: setting up TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::{split, Tls};

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_and_checked() {
        assert_eq!(
            split("host=/tmp user=u dbname=d").unwrap(),
            ("host=/tmp user=u dbname=d".into(), None)
        );
        assert_eq!(
            split("host=db user=u sslmode=verify-full sslrootcert=/etc/ca.pem").unwrap(),
            (
                "host=db user=u sslmode=require".into(),
                Some(Tls {
                    root_cert: Some("/etc/ca.pem".into())
                })
            )
        );
        assert_eq!(
            split("postgres://u@db/audit?sslmode=require&sslrootcert=%2Fetc%2Fca.pem&application_name=x")
                .unwrap(),
            (
                "postgres://u@db/audit?application_name=x&sslmode=require".into(),
                Some(Tls {
                    root_cert: Some("/etc/ca.pem".into())
                })
            )
        );
        assert_eq!(
            split("postgres://u@db/audit?sslmode=prefer").unwrap(),
            ("postgres://u@db/audit".into(), None)
        );
        let e = split("host=db sslmode=sometimes").unwrap_err();
        assert!(e.starts_with("sslmode: \"sometimes\""), "{e}");
        let e = split("host=db sslrootcert=/ca.pem").unwrap_err();
        assert!(e.starts_with("sslrootcert:"), "{e}");
    }
}
