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
    eprintln!("error: {err:#}");
    let bad_input = err.chain().any(|c| {
        c.downcast_ref::<BadInput>().is_some()
            || matches!(
                c.downcast_ref::<tradetrail_core::Error>(),
                Some(
                    tradetrail_core::Error::NotInitialized { .. }
                        | tradetrail_core::Error::AlreadyInitialized { .. }
                        | tradetrail_core::Error::Config { .. }
                        | tradetrail_core::Error::Invalid(_)
                        | tradetrail_core::Error::OutOfRange { .. }
                        | tradetrail_core::Error::Journal(
                            tradetrail_journal::Error::NotFound { .. }
                        )
                )
            )
            || matches!(
                c.downcast_ref::<tradetrail_journal::Error>(),
                Some(tradetrail_journal::Error::NotFound { .. })
            )
    });
    ExitCode::from(if bad_input { BAD_INPUT } else { FAILURE })
}
