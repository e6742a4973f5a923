//! Rows from CSV and JSON Lines (PostgreSQL rows come from `tradetrail-pg`).

use std::io::Read;

use serde_json::{Map, Value};

use crate::{Error, Result};

/// One source row: its number and its columns (`null` for an empty CSV cell).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based position in the source.
    pub number: usize,
    /// Column name → value.
    pub columns: Map<String, Value>,
}

/// The rows of a CSV file with a header line; every value is text, an empty cell
/// `null`.
pub fn csv_rows(input: impl Read) -> Result<Vec<Row>> {
    let mut r = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let header: Vec<String> = r
        .headers()
        .map_err(|e| Error::Source(format!("the CSV header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| Error::Source(format!("CSV row {}: {e}", i + 1)))?;
        let columns = header
            .iter()
            .zip(rec.iter())
            .map(|(k, v)| {
                let v = if v.is_empty() {
                    Value::Null
                } else {
                    Value::String(v.to_string())
                };
                (k.clone(), v)
            })
            .collect();
        out.push(Row {
            number: i + 1,
            columns,
        });
    }
    Ok(out)
}

/// The rows of JSON Lines: one object per line (blank lines are skipped but counted).
pub fn jsonl_rows(input: impl Read) -> Result<Vec<Row>> {
    let mut text = String::new();
    let mut input = input;
    input
        .read_to_string(&mut text)
        .map_err(|e| Error::Source(format!("not UTF-8 text: {e}")))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(columns)) => out.push(Row {
                number: i + 1,
                columns,
            }),
            Ok(_) => return Err(Error::Source(format!("line {}: not a JSON object", i + 1))),
            Err(e) => return Err(Error::Source(format!("line {}: not JSON: {e}", i + 1))),
        }
    }
    Ok(out)
}
