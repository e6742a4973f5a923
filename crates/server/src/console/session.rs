//! Console sessions: a random 256-bit id in a cookie, kept in memory with the token's
//! digest, a CSRF token, and idle and absolute expiry.
//!
//! Sessions live only in the server's memory: a restart signs everyone out. The map is
//! keyed by the SHA-256 of the session id, so a lookup's timing says nothing about the
//! ids that exist, and a memory dump of the map holds no usable cookie.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::tokens::Caller;

/// How console sessions behave.
#[derive(Debug, Clone)]
pub struct ConsoleOptions {
    /// A session not used for this long ends (default 30 min).
    pub idle: Duration,
    /// A session ends this long after sign-in, used or not (default 12 h).
    pub absolute: Duration,
    /// The server is reached through HTTPS (a TLS proxy in front): cookies get
    /// `Secure` and the `__Host-` prefix. Default `false`.
    pub behind_tls: bool,
    /// Failed sign-ins one client address may make within [`Self::sign_in_window`]
    /// before its sign-ins are refused (429) until the window has passed (default 5).
    pub sign_in_failures: u32,
    /// The window failed sign-ins are counted over (default 15 min).
    pub sign_in_window: Duration,
}

impl Default for ConsoleOptions {
    fn default() -> ConsoleOptions {
        ConsoleOptions {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 3600),
            behind_tls: false,
            sign_in_failures: 5,
            sign_in_window: Duration::from_secs(15 * 60),
        }
    }
}

/// One signed-in user.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// Who, as the token said at sign-in (checked again on every request).
    pub caller: Caller,
    /// SHA-256 of the token signed in with: a revoked token ends its sessions.
    pub token_digest: [u8; 32],
    /// The token every state-changing request of this session must carry.
    pub csrf: String,
    /// The time zone its pages show times in (UTC unless the user chose another).
    pub tz: super::html::Tz,
    created: Instant,
    last_used: Instant,
}

/// What a session id looked up to.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// A live session (its idle clock restarted).
    Live(Session),
    /// It was there but expired (now removed).
    Expired,
    /// No such session.
    Unknown,
}

/// The sessions of one server, and the failed sign-ins per client address.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

/// Failed sign-ins of one address since `since`.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

/// Addresses remembered at most; past it, windows that have passed are forgotten.
const MAX_FAILING_ADDRESSES: usize = 10_000;

/// 32 random bytes from the OS, as 64 hex digits.
pub(crate) fn random_id() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    /// Starts a session; returns its id (for the cookie) and the session.
    pub(crate) fn create(
        &self,
        caller: Caller,
        token_digest: [u8; 32],
        opts: &ConsoleOptions,
    ) -> (String, Session) {
        let now = Instant::now();
        let id = random_id();
        let s = Session {
            caller,
            token_digest,
            csrf: random_id(),
            tz: super::html::Tz::default(),
            created: now,
            last_used: now,
        };
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        // Expired sessions are dropped whenever one starts, so the map stays small.
        map.retain(|_, s| !expired(s, now, opts));
        map.insert(key(&id), s.clone());
        (id, s)
    }

    /// The session of `id`, its idle clock restarted; an expired one is removed.
    pub(crate) fn touch(&self, id: &str, opts: &ConsoleOptions) -> Lookup {
        let now = Instant::now();
        let k = key(id);
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let Some(s) = map.get_mut(&k) else {
            return Lookup::Unknown;
        };
        if expired(s, now, opts) {
            map.remove(&k);
            return Lookup::Expired;
        }
        s.last_used = now;
        Lookup::Live(s.clone())
    }

    /// Whether the session of `id` is live, without restarting its idle clock.
    pub(crate) fn is_live(&self, id: &str, opts: &ConsoleOptions) -> bool {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&key(id))
            .is_some_and(|s| !expired(s, Instant::now(), opts))
    }

    /// Sets the time zone of the session of `id`; whether there was one.
    pub(crate) fn set_tz(&self, id: &str, tz: super::html::Tz) -> bool {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(&key(id)) {
            Some(s) => {
                s.tz = tz;
                true
            }
            None => false,
        }
    }

    /// Ends the session of `id`; the session it was, if any.
    pub(crate) fn remove(&self, id: &str) -> Option<Session> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key(id))
    }
}

impl Sessions {
    /// How long `ip` must wait before it may try to sign in again, when it has used up
    /// its failed sign-ins in the window.
    pub(crate) fn sign_in_blocked(&self, ip: IpAddr, opts: &ConsoleOptions) -> Option<Duration> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let f = map.get(&ip)?;
        let passed = f.since.elapsed();
        (f.count >= opts.sign_in_failures && passed < opts.sign_in_window)
            .then(|| opts.sign_in_window - passed)
    }

    /// Counts a failed sign-in of `ip`; true when it is the one that used up the
    /// address's failures (the moment worth recording).
    pub(crate) fn sign_in_failed(&self, ip: IpAddr, opts: &ConsoleOptions) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if map.len() >= MAX_FAILING_ADDRESSES {
            map.retain(|_, f| now.duration_since(f.since) < opts.sign_in_window);
        }
        let f = map.entry(ip).or_insert(Failures {
            count: 0,
            since: now,
        });
        if now.duration_since(f.since) >= opts.sign_in_window {
            *f = Failures {
                count: 0,
                since: now,
            };
        }
        f.count = f.count.saturating_add(1);
        f.count == opts.sign_in_failures
    }

    /// A sign-in of `ip` succeeded: its failures are forgotten.
    pub(crate) fn sign_in_succeeded(&self, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&ip);
    }
}

fn expired(s: &Session, now: Instant, opts: &ConsoleOptions) -> bool {
    now.duration_since(s.last_used) >= opts.idle || now.duration_since(s.created) >= opts.absolute
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::Role;

    fn caller() -> Caller {
        Caller {
            name: "carol".into(),
            role: Role::Compliance,
            trader_id: None,
        }
    }

    #[test]
    fn ids_are_random_and_sessions_expire() {
        let a = random_id();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_id());
        let opts = ConsoleOptions {
            idle: Duration::from_millis(50),
            absolute: Duration::from_secs(60),
            ..ConsoleOptions::default()
        };
        let sessions = Sessions::default();
        let (id, s) = sessions.create(caller(), [7; 32], &opts);
        assert_ne!(id, s.csrf);
        assert!(matches!(sessions.touch(&id, &opts), Lookup::Live(_)));
        assert!(matches!(sessions.touch("nope", &opts), Lookup::Unknown));
        std::thread::sleep(Duration::from_millis(80));
        assert!(matches!(sessions.touch(&id, &opts), Lookup::Expired));
        assert!(matches!(sessions.touch(&id, &opts), Lookup::Unknown));
        // Absolute expiry ends a session in use.
        let opts = ConsoleOptions {
            idle: Duration::from_secs(60),
            absolute: Duration::from_millis(50),
            ..ConsoleOptions::default()
        };
        let (id, _) = sessions.create(caller(), [7; 32], &opts);
        std::thread::sleep(Duration::from_millis(80));
        assert!(matches!(sessions.touch(&id, &opts), Lookup::Expired));
        let (id, _) = sessions.create(caller(), [7; 32], &opts);
        assert!(sessions.remove(&id).is_some());
        assert!(matches!(sessions.touch(&id, &opts), Lookup::Unknown));
    }

    #[test]
    fn failed_sign_ins_block_an_address_for_the_rest_of_the_window() {
        let opts = ConsoleOptions {
            sign_in_failures: 3,
            sign_in_window: Duration::from_millis(200),
            ..ConsoleOptions::default()
        };
        let s = Sessions::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert!(!s.sign_in_failed(a, &opts));
        assert!(!s.sign_in_failed(a, &opts));
        assert_eq!(s.sign_in_blocked(a, &opts), None);
        assert!(s.sign_in_failed(a, &opts), "the third uses them up");
        let wait = s.sign_in_blocked(a, &opts).expect("blocked");
        assert!(wait <= opts.sign_in_window);
        assert_eq!(s.sign_in_blocked(b, &opts), None, "only that address");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(s.sign_in_blocked(a, &opts), None, "the window passed");
        assert!(!s.sign_in_failed(a, &opts), "a new window starts at one");
        s.sign_in_succeeded(a);
        assert!(!s.sign_in_failed(a, &opts));
        assert!(!s.sign_in_failed(a, &opts));
        assert!(
            s.sign_in_failed(a, &opts),
            "a success forgot the earlier failures"
        );
    }
}
