//! `tradetrail demo --statement FILE`: a broker statement of the recorded day with
//! planted discrepancies, so a reconciliation can be shown end to end.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use tradetrail_books::{generate_statement, read_records};
use tradetrail_core::DataDir;

use super::reconcile::books_err;

/// Writes the generic CSV statement of everything in `dir`'s journal to `path`.
pub fn write(dir: &DataDir, path: &Path, out: &mut dyn Write) -> Result<()> {
    let read = crate::commands::open_read(dir)?;
    let records = read_records(&read.data_dir().journal(), read.cold()).map_err(books_err)?;
    let Some((st, planted)) = generate_statement(&records, true) else {
        writeln!(out, "no fills recorded: no broker statement written")?;
        return Ok(());
    };
    std::fs::write(path, st.to_csv()).with_context(|| format!("writing {}", path.display()))?;
    writeln!(
        out,
        "broker statement: {} ({} trades, {} positions, {} cash lines, {} orders) with {} planted discrepancies:",
        path.display(),
        st.trades.len(),
        st.positions.len(),
        st.cash.len(),
        st.orders.len(),
        planted.len()
    )?;
    for p in &planted {
        writeln!(
            out,
            "  {:<5} {}.{} {}: {}",
            p.severity, p.category, p.field, p.key, p.detail
        )?;
    }
    writeln!(
        out,
        "try: tradetrail reconcile --data {} --statement {}",
        dir.root().display(),
        path.display()
    )?;
    Ok(())
}
