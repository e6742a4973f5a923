//! Writing a report as a text table, JSON or CSV (HTML is in `html.rs`).

use std::io::Write;

use serde::Serialize;
use tradetrail_query::render::printable;

use crate::table::{shorten_middle, Kind, Table, Tabular, ID_WIDTH};
use crate::{Error, Result};

/// How a report comes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Aligned text tables, for reading in a terminal.
    Table,
    /// One JSON object: the report's structure, decimals as strings.
    Json,
    /// CSV: each table as a block (a `# name` line, the header, the rows), blocks
    /// separated by an empty line; `section` picks one table as plain CSV.
    Csv,
    /// A self-contained HTML page with the tables and charts.
    Html,
}

impl Format {
    /// Parses `table`, `json`, `csv` or `html`.
    pub fn parse(s: &str) -> Result<Format> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "html" => Ok(Format::Html),
            _ => Err(Error::bad_input(
                "--format",
                format!("unknown format {s:?}: use table, json, csv or html"),
            )),
        }
    }
}

/// Writes the tables as aligned text, each under its title, then the notes. Every
/// piece of text goes through [`printable`], so a recorded value (an account id, a
/// reason) cannot move the cursor or start a line of its own; JSON and CSV carry
/// the values as they are.
pub fn write_text(out: &mut dyn Write, report: &dyn Tabular) -> Result<()> {
    writeln!(out, "{}", printable(&report.title()))?;
    for t in report.tables() {
        writeln!(out)?;
        write_text_table(out, &t)?;
    }
    let notes = report.notes();
    if !notes.is_empty() {
        writeln!(out)?;
        for n in notes {
            writeln!(out, "note: {}", printable(&n))?;
        }
    }
    Ok(())
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// One table as aligned text: human headers, figures formatted by their column's
/// kind and right-aligned ([`Table::human`]), ids longer than [`ID_WIDTH`]
/// shortened in the middle so the columns stay aligned (CSV and JSON keep them whole).
fn write_text_table(out: &mut dyn Write, t: &Table) -> Result<()> {
    writeln!(out, "{}", printable(&t.title))?;
    if t.rows.is_empty() {
        writeln!(out, "  (none)")?;
        return Ok(());
    }
    let h = t.human();
    let columns: Vec<String> = h
        .headers
        .iter()
        .map(|c| printable(c).into_owned())
        .collect();
    let rows: Vec<Vec<String>> = h
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(i, c)| {
                    let p = printable(&c.text);
                    if h.kinds.get(i) == Some(&Kind::Id) {
                        shorten_middle(&p, ID_WIDTH).into_owned()
                    } else {
                        p.into_owned()
                    }
                })
                .collect()
        })
        .collect();
    let mut w: Vec<usize> = columns.iter().map(|c| width(c)).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(x) = w.get_mut(i) {
                *x = (*x).max(width(c));
            }
        }
    }
    let line = |out: &mut dyn Write, cells: &[String]| -> Result<()> {
        let mut s = String::from(" ");
        for (i, c) in cells.iter().enumerate() {
            let pad = w.get(i).copied().unwrap_or(0).saturating_sub(width(c));
            s.push(' ');
            if h.right.get(i).copied().unwrap_or(false) {
                s.extend(std::iter::repeat_n(' ', pad));
                s.push_str(c);
            } else {
                s.push_str(c);
                s.extend(std::iter::repeat_n(' ', pad));
            }
            s.push(' ');
        }
        writeln!(out, "{}", s.trim_end())?;
        Ok(())
    };
    line(out, &columns)?;
    let rule: Vec<String> = w.iter().map(|n| "-".repeat(*n)).collect();
    line(out, &rule)?;
    for r in &rows {
        line(out, r)?;
    }
    Ok(())
}

/// Writes the tables as CSV: all of them as blocks, or only the one named `section`.
pub fn write_csv(out: &mut dyn Write, report: &dyn Tabular, section: Option<&str>) -> Result<()> {
    let tables = report.tables();
    if let Some(name) = section {
        let Some(t) = tables.iter().find(|t| t.name == name) else {
            return Err(Error::bad_input(
                "--section",
                format!(
                    "no table {name:?} in this report: use {}",
                    tables
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        return write_csv_table(out, t);
    }
    for (i, t) in tables.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "# {}", t.name)?;
        write_csv_table(out, t)?;
    }
    Ok(())
}

fn write_csv_table(out: &mut dyn Write, t: &Table) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let csv_err = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::Io(io),
        other => Error::Io(std::io::Error::other(format!("{other:?}"))),
    };
    w.write_record(&t.columns).map_err(csv_err)?;
    for r in &t.rows {
        w.write_record(r).map_err(csv_err)?;
    }
    w.flush()?;
    Ok(())
}

/// Writes the report's structure as pretty JSON, followed by a newline.
pub fn write_json<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Evil;

    impl Tabular for Evil {
        fn title(&self) -> String {
            "Report \u{1b}]0;owned\u{7}".into()
        }
        fn tables(&self) -> Vec<Table> {
            // Free text (a reason): shown whole, however long, but escaped.
            let mut t = Table::new("by_account", "By account", &["reason", "pnl"]);
            t.push(vec!["A-1\u{1b}[2J\n| fake | row |".into(), "1.5".into()]);
            t.push(vec!["Gesellschaft é 株".into(), "-2".into()]);
            vec![t]
        }
        fn notes(&self) -> Vec<String> {
            vec!["skipped \u{9b}31m\r".into()]
        }
    }

    #[test]
    fn text_is_escaped_csv_and_json_are_not() {
        let mut out = Vec::new();
        write_text(&mut out, &Evil).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text}");
        // Title, blank, table title, header, rule, 2 rows, blank, note.
        assert_eq!(text.lines().count(), 9, "{text}");
        assert!(text.contains("A-1\\u{1b}[2J\\n| fake | row |"), "{text}");
        assert!(text.contains("Gesellschaft é 株"), "{text}");
        assert!(text.contains("note: skipped \\u{9b}31m\\r"), "{text}");
        // Columns stay aligned on the escaped text: both rows' figures end together.
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("A-1") || l.contains("株"))
            .collect();
        assert_eq!(rows[0].chars().count(), rows[1].chars().count(), "{text}");

        let mut out = Vec::new();
        write_csv(&mut out, &Evil, Some("by_account")).unwrap();
        let csv = String::from_utf8(out).unwrap();
        assert!(
            csv.contains("\"A-1\u{1b}[2J\n| fake | row |\",1.5"),
            "{csv}"
        );
    }

    struct LongIds;

    const LONG: &str = "REV-6a1c975584a0-0123456789abcdef-reconciliation-2026-11-27";

    impl Tabular for LongIds {
        fn title(&self) -> String {
            "ids".into()
        }
        fn tables(&self) -> Vec<Table> {
            let mut t = Table::new("reviews", "Reviews", &["review", "net_pnl", "seq"]);
            t.push(vec![LONG.into(), "-1234567.5".into(), "20005".into()]);
            t.push(vec!["REV-1".into(), "12".into(), "7".into()]);
            vec![t]
        }
    }

    /// A long id is shortened in the middle in the text table, so the figures after
    /// it stay in their column; CSV and HTML keep it whole; figures are formatted for
    /// people (grouped, 2 places for money) and exact in CSV.
    #[test]
    fn long_ids_keep_columns_aligned_and_whole_in_csv() {
        let mut out = Vec::new();
        write_text(&mut out, &LongIds).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains(LONG), "{text}");
        let rows: Vec<&str> = text.lines().filter(|l| l.contains("REV-")).collect();
        assert_eq!(rows.len(), 2, "{text}");
        let short = shorten_middle(LONG, ID_WIDTH);
        assert_eq!(short.chars().count(), ID_WIDTH);
        assert!(short.starts_with("REV-6a1c975") && short.ends_with("2026-11-27"));
        assert!(rows[0].contains(short.as_ref()), "{text}");
        assert!(
            rows[0].contains("-1,234,567.50") && rows[1].contains("12.00"),
            "{text}"
        );
        // Same width, figures right-aligned: both rows end at the same column.
        assert_eq!(rows[0].chars().count(), rows[1].chars().count(), "{text}");
        assert!(
            text.contains("Net P&L") && text.contains("Review"),
            "{text}"
        );
        // The seq is a label: not grouped.
        assert!(rows[0].ends_with(" 20005"), "{text}");

        let mut out = Vec::new();
        write_csv(&mut out, &LongIds, Some("reviews")).unwrap();
        let csv = String::from_utf8(out).unwrap();
        assert_eq!(
            csv,
            format!("review,net_pnl,seq\n{LONG},-1234567.5,20005\nREV-1,12,7\n")
        );

        let mut out = Vec::new();
        crate::html::write_html(&mut out, &LongIds).unwrap();
        let html = String::from_utf8(out).unwrap();
        assert!(
            html.contains(&format!("<td class=\"id\" title=\"{LONG}\">{LONG}</td>")),
            "{html}"
        );
        assert!(
            html.contains("<td class=\"n\">-1,234,567.50</td>"),
            "{html}"
        );
    }
}
