//! Mapping outcomes to exit codes and messages.

use std::process::ExitCode;

/// Exit 1: `verify` found tampering or corruption.
pub const TAMPERED: u8 = 1;
/// Exit 2: bad usage or bad input.
pub const BAD_INPUT: u8 = 2;
/// Exit 3: runtime or I/O failure.
pub const FAILURE: u8 = 3;

/// An error that already printed what it had to say, carrying the exit code.
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}", self.0)
    }
}
impl std::error::Error for Exit {}

/// Bad input or usage: the message is printed and the exit code is 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for BadInput {}

pub fn finish(result: anyhow::Result<()>) -> ExitCode {
    let Err(err) = result else {
        return ExitCode::SUCCESS;
    };
    if let Some(Exit(code)) = err.downcast_ref::<Exit>() {
        return ExitCode::from(*code);
    }
    // A closed pipe (e.g. `| head`) is not a failure.
    if err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    }) {
        return ExitCode::SUCCESS;
    }
    eprintln!("error: {}", message(&err));
    if is_locked(&err) {
        eprintln!("{LOCKED_HINT}");
    }
    if is_missing_signing_key(&err) {
        eprintln!("{MISSING_KEY_HINT}");
    }
    ExitCode::from(code_of(&err))
}

/// The library errors in `err`'s chain, looking through the one door's wrapper.
fn library_errors(
    err: &anyhow::Error,
) -> impl Iterator<
    Item = (
        Option<&tradetrail_core::Error>,
        Option<&tradetrail_journal::Error>,
    ),
> {
    err.chain().map(|c| {
        let store = c.downcast_ref::<tradetrail_store::Error>();
        let core = c.downcast_ref::<tradetrail_core::Error>().or(match store {
            Some(tradetrail_store::Error::Core(e)) => Some(e),
            _ => None,
        });
        let journal = c
            .downcast_ref::<tradetrail_journal::Error>()
            .or(match c.downcast_ref::<tradetrail_query::Error>() {
                Some(tradetrail_query::Error::Journal(e)) => Some(e),
                _ => None,
            })
            .or(
                match c
                    .downcast_ref::<tradetrail_archive::Error>()
                    .or(match store {
                        Some(tradetrail_store::Error::Archive { source, .. }) => Some(&**source),
                        _ => None,
                    }) {
                    Some(tradetrail_archive::Error::Journal(e)) => Some(e),
                    _ => None,
                },
            )
            .or(match store {
                Some(tradetrail_store::Error::Journal(e)) => Some(e),
                _ => None,
            })
            .or(match core {
                Some(tradetrail_core::Error::Journal(e)) => Some(e),
                _ => None,
            });
        (core, journal)
    })
}

/// Exit 1 for damage or tampering found on the way (a writing door refusing a damaged
/// journal, or one that contradicts a signed checkpoint), 2 for bad usage or input,
/// 3 for everything else (the PostgreSQL mirror unreachable or busy among them).
fn code_of(err: &anyhow::Error) -> u8 {
    let damage = library_errors(err).any(|(core, journal)| {
        matches!(
            core,
            Some(
                tradetrail_core::Error::Contradicts { .. }
                    | tradetrail_core::Error::OriginMismatch { .. }
            )
        ) || matches!(
            journal,
            Some(
                tradetrail_journal::Error::Damaged { .. }
                    | tradetrail_journal::Error::Corrupt { .. }
                    | tradetrail_journal::Error::Gap { .. }
            )
        )
    });
    let damage = damage
        || err.chain().any(|c| {
            c.downcast_ref::<tradetrail_pg::Error>()
                .is_some_and(|e| e.is_damage())
        });
    if damage {
        return TAMPERED;
    }
    let bad_input = err.chain().any(|c| {
        c.downcast_ref::<BadInput>().is_some()
            || matches!(
                c.downcast_ref::<tradetrail_store::Error>(),
                Some(tradetrail_store::Error::Repair(_))
            )
            || c.downcast_ref::<tradetrail_pg::Error>()
                .is_some_and(|e| e.is_bad_input())
    }) || library_errors(err).any(|(core, journal)| {
        matches!(
            core,
            Some(
                tradetrail_core::Error::NotInitialized { .. }
                    | tradetrail_core::Error::AlreadyInitialized { .. }
                    | tradetrail_core::Error::Config { .. }
                    | tradetrail_core::Error::Invalid(_)
                    | tradetrail_core::Error::OutOfRange { .. }
                    | tradetrail_core::Error::BadArgument { .. }
                    | tradetrail_core::Error::CheckpointFile { .. }
            )
        ) || matches!(journal, Some(tradetrail_journal::Error::NotFound { .. }))
    });
    if bad_input {
        BAD_INPUT
    } else {
        FAILURE
    }
}

/// Whether the signing key file is missing (a data directory restored without
/// `--include-keys`, or copied without its keys/).
fn is_missing_signing_key(err: &anyhow::Error) -> bool {
    library_errors(err).any(|(core, _)| {
        matches!(
            core,
            Some(tradetrail_core::Error::Key(tradetrail_checkpoint::KeyError::Io { path, source }))
                if source.kind() == std::io::ErrorKind::NotFound
                    && path.file_name().is_some_and(|n| n == "signing.key")
        )
    })
}

/// What to do when the signing key is missing, printed under the error.
pub const MISSING_KEY_HINT: &str =
    "hint: this data directory has no signing key (keys/signing.key), so it cannot sign \
     checkpoints: copy keys/ from the original data directory, or restore the backup \
     again with `restore --include-keys`; verify and proofs against existing checkpoints \
     need only the verifier key";

/// What to do when the journal is locked, printed under the error.
pub const LOCKED_HINT: &str =
    "hint: `tradetrail serve` holds this lock while it runs: append through it \
     (POST /v1/events; POST /v1/checkpoint, GET /v1/proof/..., see docs/server.md) \
     or stop it first; writing commands do not wait for the lock";

/// Whether the journal's lock was the trouble.
fn is_locked(err: &anyhow::Error) -> bool {
    library_errors(err)
        .any(|(_, journal)| matches!(journal, Some(tradetrail_journal::Error::Locked { .. })))
}

/// The error and its causes on one line, `a: b: c`, each cause once.
///
/// The library errors name their cause in their own text (`#[error("{path}:
/// {source}")]` with `#[source]`), so that a caller printing just `{e}` (the server's
/// answers, a report's note) still says why; anyhow's `{:#}` then prints that cause a
/// second time (`... (os error 2): ... (os error 2)`). A cause whose text the error
/// before it already holds is left out here, the one place the chain is printed.
pub fn message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut prev: Option<String> = None;
    for cause in err.chain() {
        let text = cause.to_string();
        let repeated = prev.as_deref().is_some_and(|p| p.contains(&text));
        if !repeated {
            if prev.is_some() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        prev = Some(text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(std::io::Error);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "list /x/journal: {}", self.0)
        }
    }
    impl std::error::Error for Wrap {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn each_cause_once() {
        let io = std::io::Error::from_raw_os_error(2);
        let err = anyhow::Error::from(Wrap(io)).context("opening the index");
        let m = message(&err);
        assert_eq!(m.matches("os error 2").count(), 1, "{m}");
        assert!(m.starts_with("opening the index: list /x/journal: "), "{m}");
        // A cause the error does not repeat is kept.
        let err = anyhow::anyhow!("inner cause").context("outer");
        assert_eq!(message(&err), "outer: inner cause");
    }
}
