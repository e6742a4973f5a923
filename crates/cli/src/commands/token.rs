//! `tradetrail token create`: bearer tokens for the server, stored hashed.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use tradetrail_core::DataDir;
use tradetrail_server::{Role, TokenError};

use crate::exit::BadInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Create a token and print it once, on the last line (only its SHA-256 is stored)
    Create {
        /// writer (append only), trader (its own records), compliance (all), admin (all + checkpoints)
        #[arg(long)]
        role: Role,
        /// The trader whose records a trader token may read (trader role only): the
        /// exact trader_id, matched literally (no patterns: * ? [ ] , are refused)
        #[arg(long, value_name = "ID")]
        trader: Option<String>,
        /// A unique name for the token, e.g. the gateway or person it is for
        #[arg(long, value_name = "N")]
        name: String,
    },
    /// The tokens: name, role, trader and creation time (never a secret or its digest)
    List {
        /// One JSON object per token instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by name: a running server refuses it from its next request on
    Revoke {
        /// The token's name, as `token list` shows it
        #[arg(long, value_name = "N")]
        name: String,
    },
}

pub fn run(data: Option<&Path>, args: Args) -> Result<()> {
    let dir = DataDir::resolve(data);
    if !dir.config().exists() {
        return Err(tradetrail_core::Error::NotInitialized {
            path: dir.root().to_path_buf(),
        }
        .into());
    }
    match args.action {
        Action::List { json } => {
            let tokens = tradetrail_server::list_tokens(dir.root())?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            if !json {
                writeln!(
                    out,
                    "{:<24} {:<11} {:<12} created (UTC)",
                    "name", "role", "trader"
                )?;
            }
            for t in &tokens {
                let created = tradetrail_model::format_time(t.created_ns);
                if json {
                    let v = serde_json::json!({
                        "name": t.name,
                        "role": t.role.as_str(),
                        "trader_id": t.trader_id,
                        "created": created,
                    });
                    writeln!(out, "{v}")?;
                } else {
                    writeln!(
                        out,
                        "{:<24} {:<11} {:<12} {created}",
                        t.name,
                        t.role.as_str(),
                        t.trader_id.as_deref().unwrap_or("-")
                    )?;
                }
            }
            if !json && tokens.is_empty() {
                eprintln!("no tokens yet: `tradetrail token create --role R --name N` makes one");
            }
        }
        Action::Revoke { name } => match tradetrail_server::revoke_token(dir.root(), &name) {
            Ok(t) => eprintln!(
                "revoked {} token {:?}; a running server refuses it from its next request on",
                t.role.as_str(),
                t.name
            ),
            Err(e @ TokenError::NotFound(_)) => return Err(BadInput(e.to_string()).into()),
            Err(e) => return Err(e.into()),
        },
        Action::Create { role, trader, name } => {
            let token =
                match tradetrail_server::create_token(dir.root(), role, trader.as_deref(), &name) {
                    Ok(t) => t,
                    Err(
                        e @ (TokenError::Invalid(_)
                        | TokenError::InvalidTrader { .. }
                        | TokenError::NameTaken(_)),
                    ) => return Err(BadInput(e.to_string()).into()),
                    Err(e) => return Err(e.into()),
                };
            eprintln!(
                "created {} token {name:?}{}; stored as its SHA-256 in {}",
                role.as_str(),
                trader
                    .as_deref()
                    .map(|t| format!(" for trader {t}"))
                    .unwrap_or_default(),
                tradetrail_server::tokens::store_path(dir.root()).display()
            );
            eprintln!("the token is shown only now; keep it secret:");
            writeln!(std::io::stdout().lock(), "{token}")?;
        }
    }
    Ok(())
}
