//! The key directory (`DIR/keys/` in a tradetrail data directory).
//!
//! ```text
//! keys/                 created with mode 0700 if missing
//! keys/signing.key      mode 0600: the signer key string and "\n"  (secret)
//! keys/verifier.vkey    mode 0644: the verifier key string and "\n" (public)
//! ```
//!
//! Each file is written atomically: a temporary file in the same directory
//! (created with its final mode, so the secret is never readable by others
//! even for an instant), written, fsync'd, renamed over the final name, and
//! the directory fsync'd so the rename itself survives a crash. A crash
//! leaves either no file or the whole file, plus possibly a stale
//! `.*.tmp` that the next save removes.
//!
//! `verifier.vkey` is derived from `signing.key` and written after it; it
//! is a convenience copy for handing to auditors. [`KeyPair::load`] reads
//! only `signing.key`, so a crash between the two renames loses nothing.
//! [`KeyPair::save`] refuses to replace an existing `signing.key`: that
//! would make every checkpoint signed so far unverifiable with the new key.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::key::{KeyPair, VerifierKey};

/// The secret signer key file in the key directory.
pub const SIGNING_KEY_FILE: &str = "signing.key";

/// The public verifier key file in the key directory.
pub const VERIFIER_KEY_FILE: &str = "verifier.vkey";

const SIGNING_KEY_MODE: u32 = 0o600;
const VERIFIER_KEY_MODE: u32 = 0o644;
const KEY_DIR_MODE: u32 = 0o700;

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `contents` to `dir/name` atomically with permission bits `mode`.
fn write_atomically(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Result<(), KeyError> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    // A temp file left by a crashed save holds nothing anyone relies on.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(&tmp)(e)),
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_error(&tmp))?;
    // The process umask may have removed bits from `mode` (for 0644), never
    // added any; set the exact mode so the public file is readable.
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_error(&tmp))?;
    file.write_all(contents).map_err(io_error(&tmp))?;
    file.sync_all().map_err(io_error(&tmp))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(io_error(&path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))?;
    Ok(())
}

impl KeyPair {
    /// Saves the key in `dir` as `signing.key` (mode 0600) and
    /// `verifier.vkey` (mode 0644), creating `dir` with mode 0700 if
    /// missing. Refuses to replace an existing `signing.key`.
    pub fn save(&self, dir: &Path) -> Result<(), KeyError> {
        DirBuilder::new()
            .recursive(true)
            .mode(KEY_DIR_MODE)
            .create(dir)
            .map_err(io_error(dir))?;
        let signing_path = dir.join(SIGNING_KEY_FILE);
        match fs::symlink_metadata(&signing_path) {
            Ok(_) => return Err(KeyError::AlreadyExists { path: signing_path }),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&signing_path)(e)),
        }
        let mut secret = Zeroizing::new(String::new());
        secret.push_str(&self.signer_key());
        secret.push('\n');
        write_atomically(dir, SIGNING_KEY_FILE, secret.as_bytes(), SIGNING_KEY_MODE)?;
        let public = format!("{}\n", self.verifier());
        write_atomically(dir, VERIFIER_KEY_FILE, public.as_bytes(), VERIFIER_KEY_MODE)
    }

    /// Loads the key from `dir/signing.key`.
    ///
    /// Refuses a file that the group or others may read or write (any of
    /// the bits `0o077`), with an error that says to run `chmod 600`.
    pub fn load(dir: &Path) -> Result<KeyPair, KeyError> {
        let path = dir.join(SIGNING_KEY_FILE);
        let mut file = File::open(&path).map_err(io_error(&path))?;
        let mode = file
            .metadata()
            .map_err(io_error(&path))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::InsecurePermissions { path, mode });
        }
        let mut contents = Zeroizing::new(String::new());
        std::io::Read::read_to_string(&mut file, &mut contents).map_err(io_error(&path))?;
        let line = contents.strip_suffix('\n').unwrap_or(&contents);
        KeyPair::from_signer_key(line).map_err(|e| in_file(path, e))
    }
}

impl VerifierKey {
    /// Reads a verifier key from a file holding the key string, optionally
    /// followed by one newline (such as `keys/verifier.vkey`).
    pub fn load_file(path: &Path) -> Result<VerifierKey, KeyError> {
        let contents = fs::read_to_string(path).map_err(io_error(path))?;
        let line = contents.strip_suffix('\n').unwrap_or(&contents);
        VerifierKey::parse(line).map_err(|e| in_file(path.to_owned(), e))
    }
}

fn in_file(path: PathBuf, source: KeyError) -> KeyError {
    KeyError::InFile {
        path,
        source: Box::new(source),
    }
}
