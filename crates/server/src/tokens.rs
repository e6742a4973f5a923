//! Bearer tokens and the roles they carry, stored hashed in `DIR/auth/tokens.json`.
//!
//! A token is `tt_` followed by 64 hex digits of 32 random bytes from the OS. It is
//! shown once, when created; the store keeps only its SHA-256. A salted slow hash
//! (argon2, bcrypt) protects low-entropy passwords against guessing; a 256-bit random
//! token cannot be guessed, so one SHA-256 is enough and keeps every request cheap.
//! Presented tokens are hashed and compared against every stored digest in constant
//! time, without stopping at the first match.
//!
//! The file is written atomically (temporary file, fsync, rename, fsync of the
//! directory) with mode 0600 in a directory of mode 0700.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a token may do. See `docs/server.md` for the route × role matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Appends events; reads nothing.
    Writer,
    /// Reads and proves only the records whose `trader_id` is the token's trader.
    Trader,
    /// Reads, verifies and proves everything.
    Compliance,
    /// Everything compliance may do, plus taking checkpoints and managing tokens.
    Admin,
}

impl Role {
    /// The role's name as written in the token store and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Writer => "writer",
            Role::Trader => "trader",
            Role::Compliance => "compliance",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "writer" => Ok(Role::Writer),
            "trader" => Ok(Role::Trader),
            "compliance" => Ok(Role::Compliance),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?}: use writer, trader, compliance or admin"
            )),
        }
    }
}

/// One stored token: who it is for and the SHA-256 of the secret, never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// A name for people (unique in the store): `gateway-1`, `alice`.
    pub name: String,
    /// What the token may do.
    pub role: Role,
    /// For `trader` tokens, the trader whose records it may read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trader_id: Option<String>,
    /// Lowercase hex SHA-256 of the token.
    pub sha256: String,
    /// When it was created, ns since the Unix epoch.
    pub created_ns: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TokenFile {
    version: u32,
    tokens: Vec<TokenRecord>,
}

/// Who made a request, as established from its bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name.
    pub name: String,
    /// The token's role.
    pub role: Role,
    /// The token's trader (trader role only).
    pub trader_id: Option<String>,
}

/// Why a token could not be created or the store read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token store could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The token store is not valid JSON of the expected shape. Restore it from backup.
    #[error("{path}: not a token store: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The request to create a token is not valid (trader missing, bad name...).
    #[error("{0}")]
    Invalid(String),
    /// The trader id of a trader token could be read as a pattern (or is otherwise not
    /// a literal `trader_id`). Give the trader's exact id.
    #[error("--trader {id:?}: {reason}")]
    InvalidTrader {
        /// The id given.
        id: String,
        /// What is wrong, and what to give instead.
        reason: String,
    },
    /// A token with this name exists. Choose another name.
    #[error("a token named {0:?} already exists; choose another name")]
    NameTaken(String),
    /// No token has this name.
    #[error("no token is named {0:?} (`tradetrail token list` shows the names)")]
    NotFound(String),
}

/// The path of the token store of a data directory.
pub fn store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("auth").join("tokens.json")
}

/// SHA-256 of a token.
pub(crate) fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn read_file(path: &Path) -> Result<TokenFile, TokenError> {
    parse_file(path, &read_bytes(path)?)
}

/// The store's bytes; empty when there is no store yet.
fn read_bytes(path: &Path) -> Result<Vec<u8>, TokenError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(TokenError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn parse_file(path: &Path, bytes: &[u8]) -> Result<TokenFile, TokenError> {
    if bytes.is_empty() {
        return Ok(TokenFile {
            version: 1,
            tokens: Vec::new(),
        });
    }
    serde_json::from_slice(bytes).map_err(|e| TokenError::Malformed {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The directory of the store (`DIR/auth`).
fn store_dir(path: &Path) -> Result<&Path, TokenError> {
    path.parent().ok_or_else(|| TokenError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other("the token store path has no directory"),
    })
}

/// Holds the store's lock file (`DIR/auth/tokens.lock`) for a read-modify-write, so
/// that two `token` commands at once cannot lose one's change.
fn lock_store(path: &Path) -> Result<std::fs::File, TokenError> {
    let dir = store_dir(path)?;
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| TokenError::Io { path: p, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    set_mode(dir, 0o700).map_err(io(dir))?;
    let lock = dir.join("tokens.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(io(&lock))?;
    f.lock().map_err(io(&lock))?;
    Ok(f)
}

fn write_file(path: &Path, file: &TokenFile) -> Result<(), TokenError> {
    use std::io::Write;
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| TokenError::Io { path: p, source }
    };
    let dir = store_dir(path)?;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    set_mode(dir, 0o700).map_err(io(dir))?;
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(file).map_err(|e| TokenError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io(&tmp))?;
        // A file left by an older run may have a wider mode: narrow it before writing.
        set_mode(&tmp, 0o600).map_err(io(&tmp))?;
        f.write_all(&bytes).map_err(io(&tmp))?;
        f.write_all(b"\n").map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// Characters a trader id may not contain: `*` is the query filter's wildcard, `,`
/// separates its patterns, and `?`, `[`, `]` are wildcards in other glob dialects.
pub const PATTERN_CHARS: [char; 5] = ['*', '?', '[', ']', ','];

/// Checks that a trader token's id is a literal `trader_id`: 1 to 128 characters, none
/// of [`PATTERN_CHARS`], no control characters, no surrounding spaces. A trader token
/// reads the records whose `trader_id` is exactly this id, on every route; an id that
/// a query filter could read as a pattern (`T-1*`) would otherwise widen it.
pub fn literal_trader_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 128 {
        return Err("a trader id must be 1 to 128 characters".into());
    }
    if let Some(c) = id.chars().find(|c| PATTERN_CHARS.contains(c)) {
        return Err(format!(
            "{c:?} is a pattern character in query filters, and a trader token's id is \
             matched literally: give the trader's exact trader_id (e.g. T-1), without any \
             of * ? [ ] ,"
        ));
    }
    if id.chars().any(char::is_control) || id.trim() != id {
        return Err(
            "a trader id may not contain control characters or start or end with spaces".into(),
        );
    }
    Ok(())
}

/// Creates a token for `role` named `name` in the store of `data_dir` and returns the
/// token itself — the only time it is ever available.
pub fn create_token(
    data_dir: &Path,
    role: Role,
    trader_id: Option<&str>,
    name: &str,
) -> Result<String, TokenError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
        return Err(TokenError::Invalid(
            "--name must be 1 to 128 characters without control characters".into(),
        ));
    }
    match (role, trader_id) {
        (Role::Trader, None) => {
            return Err(TokenError::Invalid(
                "a trader token needs --trader ID: the trader whose records it may read".into(),
            ))
        }
        (Role::Trader, Some(t)) => {
            literal_trader_id(t).map_err(|reason| TokenError::InvalidTrader {
                id: t.to_string(),
                reason,
            })?
        }
        (_, Some(_)) => {
            return Err(TokenError::Invalid(format!(
                "--trader applies only to --role trader, not {}",
                role.as_str()
            )))
        }
        (_, None) => {}
    }
    let path = store_path(data_dir);
    let _lock = lock_store(&path)?;
    let mut file = read_file(&path)?;
    if file.tokens.iter().any(|t| t.name == name) {
        return Err(TokenError::NameTaken(name.to_string()));
    }
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!("tt_{}", hex::encode(secret));
    let created_ns = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    file.version = 1;
    file.tokens.push(TokenRecord {
        name: name.to_string(),
        role,
        trader_id: trader_id.map(str::to_string),
        sha256: hex::encode(digest(&token)),
        created_ns,
    });
    write_file(&path, &file)?;
    Ok(token)
}

/// Revokes the token named `name`: its entry leaves the store, and a running server
/// refuses it (401) from its next request on, as it re-reads the store when it changes.
/// Returns what was removed.
pub fn revoke_token(data_dir: &Path, name: &str) -> Result<TokenRecord, TokenError> {
    let path = store_path(data_dir);
    let _lock = lock_store(&path)?;
    let mut file = read_file(&path)?;
    let at = file
        .tokens
        .iter()
        .position(|t| t.name == name.trim())
        .ok_or_else(|| TokenError::NotFound(name.trim().to_string()))?;
    let removed = file.tokens.remove(at);
    file.version = 1;
    write_file(&path, &file)?;
    Ok(removed)
}

/// The stored tokens of a data directory (digests included; show them to no one).
pub fn list_tokens(data_dir: &Path) -> Result<Vec<TokenRecord>, TokenError> {
    Ok(read_file(&store_path(data_dir))?.tokens)
}

/// The tokens of a data directory, re-read whenever the file changes so that a token
/// created with `tradetrail token create` works without restarting the server.
#[derive(Debug)]
pub struct TokenStore {
    path: PathBuf,
    cache: RwLock<Cached>,
}

#[derive(Debug, Default)]
struct Cached {
    /// The store's bytes the tokens were parsed from (`None`: not read yet).
    bytes: Option<Vec<u8>>,
    tokens: Vec<([u8; 32], Caller)>,
}

impl TokenStore {
    /// The store of a data directory (the file need not exist yet).
    pub fn open(data_dir: &Path) -> Result<TokenStore, TokenError> {
        let store = TokenStore {
            path: store_path(data_dir),
            cache: RwLock::new(Cached::default()),
        };
        store.refresh()?;
        Ok(store)
    }

    /// Re-reads the store and re-parses it when its bytes changed. Reading a small
    /// file per request costs a few microseconds and is always right, where a
    /// modification-time check can miss a change made within the clock's tick.
    fn refresh(&self) -> Result<(), TokenError> {
        let bytes = read_bytes(&self.path)?;
        if self
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .bytes
            .as_deref()
            == Some(&bytes[..])
        {
            return Ok(());
        }
        let file = parse_file(&self.path, &bytes)?;
        let mut tokens = Vec::with_capacity(file.tokens.len());
        for t in file.tokens {
            let mut d = [0u8; 32];
            hex::decode_to_slice(&t.sha256, &mut d).map_err(|e| TokenError::Malformed {
                path: self.path.clone(),
                reason: format!("token {:?}: sha256: {e}", t.name),
            })?;
            tokens.push((
                d,
                Caller {
                    name: t.name,
                    role: t.role,
                    trader_id: t.trader_id,
                },
            ));
        }
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = Cached {
            bytes: Some(bytes),
            tokens,
        };
        Ok(())
    }

    /// The caller a presented token belongs to, or `None` for an unknown token.
    /// Every stored digest is compared, in constant time.
    pub fn authenticate(&self, token: &str) -> Result<Option<Caller>, TokenError> {
        self.authenticate_digest(&digest(token))
    }

    /// The caller whose token has this SHA-256, or `None` (revoked, unknown): how a
    /// console session, which keeps only the digest, checks its token still stands.
    pub(crate) fn authenticate_digest(
        &self,
        presented: &[u8; 32],
    ) -> Result<Option<Caller>, TokenError> {
        self.refresh()?;
        let presented = *presented;
        let cache = self.cache.read().unwrap_or_else(|e| e.into_inner());
        let mut found: Option<&Caller> = None;
        for (d, caller) in &cache.tokens {
            if bool::from(d.ct_eq(&presented)) {
                found = Some(caller);
            }
        }
        Ok(found.cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_hashed_and_authenticate() {
        let tmp = tempfile::tempdir().unwrap();
        let t = create_token(tmp.path(), Role::Trader, Some("T-1"), "alice").unwrap();
        assert!(t.starts_with("tt_") && t.len() == 67);
        let text = std::fs::read_to_string(store_path(tmp.path())).unwrap();
        assert!(!text.contains(&t[3..]), "the secret must not be stored");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store_path(tmp.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let store = TokenStore::open(tmp.path()).unwrap();
        let c = store.authenticate(&t).unwrap().unwrap();
        assert_eq!(c.role, Role::Trader);
        assert_eq!(c.trader_id.as_deref(), Some("T-1"));
        assert_eq!(store.authenticate("tt_nope").unwrap(), None);
        // A token created later is seen without reopening the store.
        let w = create_token(tmp.path(), Role::Writer, None, "gw").unwrap();
        assert_eq!(store.authenticate(&w).unwrap().unwrap().role, Role::Writer);
    }

    #[test]
    fn creation_rules() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(matches!(
            create_token(tmp.path(), Role::Trader, None, "x"),
            Err(TokenError::Invalid(_))
        ));
        assert!(matches!(
            create_token(tmp.path(), Role::Writer, Some("T-1"), "x"),
            Err(TokenError::Invalid(_))
        ));
        create_token(tmp.path(), Role::Admin, None, "root").unwrap();
        assert!(matches!(
            create_token(tmp.path(), Role::Admin, None, "root"),
            Err(TokenError::NameTaken(_))
        ));
        assert_eq!(list_tokens(tmp.path()).unwrap().len(), 1);
    }

    #[test]
    fn trader_ids_are_literal() {
        let tmp = tempfile::tempdir().unwrap();
        for bad in ["T-1*", "T-?", "T-[12]", "T-1,T-2", " T-1", "T-1\n", ""] {
            let e = create_token(tmp.path(), Role::Trader, Some(bad), "x").unwrap_err();
            assert!(
                matches!(&e, TokenError::InvalidTrader { id, .. } if id == bad),
                "{bad:?}: {e}"
            );
            assert!(e.to_string().starts_with("--trader "), "{e}");
        }
        let e = create_token(tmp.path(), Role::Trader, Some("T-1*"), "x").unwrap_err();
        assert!(e.to_string().contains("'*' is a pattern character"), "{e}");
        assert!(
            list_tokens(tmp.path()).unwrap().is_empty(),
            "nothing stored"
        );
        create_token(tmp.path(), Role::Trader, Some("desk:T-1.a/b"), "ok").unwrap();
    }

    #[test]
    fn a_revoked_token_stops_working_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let a = create_token(tmp.path(), Role::Writer, None, "gw-1").unwrap();
        let b = create_token(tmp.path(), Role::Writer, None, "gw-2").unwrap();
        let store = TokenStore::open(tmp.path()).unwrap();
        assert!(store.authenticate(&a).unwrap().is_some());
        let removed = revoke_token(tmp.path(), "gw-1").unwrap();
        assert_eq!(removed.name, "gw-1");
        // Seen by an open store on its next request, with no restart.
        assert_eq!(store.authenticate(&a).unwrap(), None);
        assert_eq!(store.authenticate(&b).unwrap().unwrap().name, "gw-2");
        // A token of the same length made right after is told apart too.
        let c = create_token(tmp.path(), Role::Writer, None, "gw-3").unwrap();
        revoke_token(tmp.path(), "gw-2").unwrap();
        assert_eq!(store.authenticate(&b).unwrap(), None);
        assert!(store.authenticate(&c).unwrap().is_some());
        assert!(matches!(
            revoke_token(tmp.path(), "gw-1"),
            Err(TokenError::NotFound(n)) if n == "gw-1"
        ));
        let names: Vec<_> = list_tokens(tmp.path())
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["gw-3"]);
    }

    #[test]
    fn concurrent_creations_lose_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        std::thread::scope(|s| {
            for i in 0..8 {
                let root = tmp.path();
                s.spawn(move || create_token(root, Role::Writer, None, &format!("w{i}")).unwrap());
            }
        });
        assert_eq!(list_tokens(tmp.path()).unwrap().len(), 8);
    }
}
