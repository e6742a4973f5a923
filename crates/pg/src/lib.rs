//! PostgreSQL as a verifiable mirror of a tradetrail journal.
//!
//! The journal stays the source of truth; PostgreSQL holds a copy that teams query
//! with the tools they already have, and that can be checked against the journal at
//! any time. See `docs/postgres.md`.
//!
//! - [`init`] applies the schema (`tradetrail.events`, one row per record) and its
//!   guards idempotently: a NOLOGIN owner role, a writer that may only insert and
//!   read, append-only triggers that `session_replication_role = replica` does not
//!   switch off, and row-level security (compliance reads all; a trader role reads the
//!   rows of the traders `tradetrail.trader_roles` maps it to);
//! - [`sync`] copies the records the mirror does not have yet, in seq order, one
//!   transaction per batch, and exits; [`follow`] does it again and again, riding
//!   out a database that is down;
//! - [`status`] compares the mirror's last seq with the journal's head;
//! - [`verify`] streams both sides in seq order and names every row that differs,
//!   is missing or should not be there.
//!
//! The guards stop the roles the mirror hands out; they do not stop a superuser (see
//! the docs), which is why [`verify`] exists.
//!
//! Connections use the synchronous `postgres` client, over TLS (rustls) when the
//! connection string asks with `sslmode=require|verify-ca|verify-full`, always
//! verifying the server's certificate and host name (see `tls`).

mod background;
mod error;
mod follow;
mod held;
mod rows;
mod scheduled;
mod schema;
mod sync;
pub mod testing;
mod tls;
mod verify;

use postgres::{Client, NoTls};

pub use error::{describe, Error, Result};
pub use follow::{follow, FollowOptions, Follower, Pass};
pub use rows::table_rows;
pub use scheduled::Verifier;
pub use schema::{init, InitReport, Roles, SCHEMA_VERSION};
pub use sync::{sync, Batch, Method, Session, SyncOptions, SyncReport};
pub use verify::{status, verify, Changed, SeqRange, Status, VerifyReport, DETAIL_LIMIT};

/// `url` with any password replaced by `***`, for messages: the URL form
/// (`postgres://user:secret@host/db`) and the key-value form (`password=secret`).
pub fn redact(url: &str) -> String {
    for scheme in ["postgres://", "postgresql://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(auth_end);
            if let Some(at) = authority.rfind('@') {
                let (userinfo, host) = authority.split_at(at);
                if let Some(colon) = userinfo.find(':') {
                    return format!("{scheme}{}:***{host}{tail}", &userinfo[..colon]);
                }
            }
            return redact_query(url);
        }
    }
    // The key-value form: `host=... password=secret user=...`.
    let mut out = Vec::new();
    for word in url.split_whitespace() {
        match word.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => out.push(format!("{k}=***")),
            _ => out.push(word.to_string()),
        }
    }
    out.join(" ")
}

/// A `password=` query parameter of the URL form, replaced.
fn redact_query(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => p.to_string(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

/// Connects to `url` (a `postgres://` URL or `key=value` pairs), over TLS when it
/// says `sslmode=require`, `verify-ca` or `verify-full` (the certificate and the host
/// name always checked, against `sslrootcert=FILE` or the system's roots).
pub fn connect(url: &str) -> Result<Client> {
    let shown = redact(url);
    let bad = |reason: String| Error::Url {
        url: shown.clone(),
        reason,
    };
    let (rest, tls) = tls::split(url).map_err(bad)?;
    let config: postgres::Config = rest.parse().map_err(|e| bad(describe(&e)))?;
    let connected = match tls {
        None => config.connect(NoTls),
        Some(t) => config.connect(t.connector().map_err(bad)?),
    };
    connected.map_err(|e| Error::Connect {
        url: shown,
        reason: describe(&e),
    })
}

/// A statement's failure, naming the URL and what was being done.
pub fn db(url: &str, what: impl Into<String>) -> impl FnOnce(postgres::Error) -> Error {
    let url = url.to_string();
    let what = what.into();
    move |e| Error::Db {
        url,
        what,
        reason: describe(&e),
    }
}

/// Whether the mirror's table is there; [`Error::NotInitialized`] when it is not.
pub(crate) fn require_schema(client: &mut Client, url: &str) -> Result<()> {
    let row = client
        .query_one("SELECT to_regclass('tradetrail.events') IS NOT NULL", &[])
        .map_err(db(url, "looking for tradetrail.events"))?;
    if row.get::<_, bool>(0) {
        Ok(())
    } else {
        Err(Error::NotInitialized {
            url: url.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_never_shown() {
        assert_eq!(
            redact("postgres://sync:s3cret@db.example:5432/audit"),
            "postgres://sync:***@db.example:5432/audit"
        );
        assert_eq!(
            redact("postgresql://sync@db/audit?password=x&sslmode=disable"),
            "postgresql://sync@db/audit?password=***&sslmode=disable"
        );
        assert_eq!(
            redact("host=/tmp user=sync password=x dbname=a"),
            "host=/tmp user=sync password=*** dbname=a"
        );
        assert_eq!(
            redact("postgres://u@%2Ftmp%2Fs/db"),
            "postgres://u@%2Ftmp%2Fs/db"
        );
    }
}
