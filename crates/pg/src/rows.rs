//! Reading another PostgreSQL table's rows, for `tradetrail import --from-pg`.

use serde_json::{Map, Value};

use crate::{connect, db, redact, Error, Result};

/// `name` (`table` or `schema.table`, plain identifiers) quoted for SQL.
fn quoted(what: &str, name: &str, url: &str) -> Result<String> {
    let ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 63
            && p.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() > 2 || !parts.iter().all(|p| ok(p)) {
        return Err(Error::Setup {
            url: redact(url),
            reason: format!(
                "{what} {name:?}: use a plain name (letters, digits, _), or schema.table"
            ),
        });
    }
    Ok(parts
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join("."))
}

/// Every row of `table`, ordered by `order_by`, each as its columns in JSON (as
/// `row_to_json` gives them: numbers as numbers, times as ISO 8601 text, `jsonb` as
/// JSON). One statement, in one snapshot.
pub fn table_rows(url: &str, table: &str, order_by: &str) -> Result<Vec<Map<String, Value>>> {
    let shown = redact(url);
    let t = quoted("--table", table, url)?;
    let o = quoted("--order-by", order_by, url)?;
    let mut client = connect(url)?;
    let rows = client
        .query(
            &format!("SELECT row_to_json(t)::text FROM {t} t ORDER BY t.{o}"),
            &[],
        )
        .map_err(db(&shown, format!("reading {table}")))?;
    rows.iter()
        .map(|r| {
            let text: String = r.get(0);
            match serde_json::from_str(&text) {
                Ok(Value::Object(m)) => Ok(m),
                _ => Err(Error::Setup {
                    url: shown.clone(),
                    reason: format!("a row of {table} is not a JSON object: {text}"),
                }),
            }
        })
        .collect()
}
