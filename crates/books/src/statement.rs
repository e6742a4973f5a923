//! Broker statements: what the broker says happened, in one shape whatever the file.
//!
//! Two readers fill a [`Statement`]: IBKR Flex Query XML ([`crate::flex`]) and the
//! generic CSV/JSON format of this module, documented in `docs/books.md`:
//!
//! ```csv
//! record,account,trade_id,order_id,instrument,side,quantity,price,time,commission,currency,multiplier,realized_pnl,status,filled_qty,amount,from,to
//! period,,,,,,,,,,,,,,,,2026-11-20T00:00:00Z,2026-11-20T23:59:59Z
//! trade,U1234567,100000017.0,O-17,AAPL.XNAS,buy,100,228.51,2026-11-20T14:31:02.5Z,0.35,USD,1,0,,,,,
//! position,U1234567,,,AAPL.XNAS,,100,228.60,,,USD,1,,,,,,
//! cash,U1234567,,,,,,,,,USD,,,,,-22851.35,,
//! order,U1234567,,O-17,,,,,,,,,,filled,100,,,
//! ```
//! One header line names the columns (any order; unknown names are refused, absent
//! optional ones are empty); `record` says what each line is. Times take RFC 3339, a
//! date or ns since the epoch; decimals are read exactly. `cash.amount` is the change
//! of the account's cash in that currency over the period (ending − starting balance).

use std::collections::BTreeMap;
use std::path::Path;

use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;

use crate::orders::{OrderStatus, Side};
use crate::{Error, Result};

/// Which reader a statement file needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatementFormat {
    /// IBKR Flex Query XML.
    Flex,
    /// The generic CSV.
    Csv,
    /// The generic JSON.
    Json,
}

impl StatementFormat {
    /// `flex` (or `xml`), `csv`, `json`.
    pub fn parse(s: &str) -> Result<StatementFormat> {
        match s.to_ascii_lowercase().as_str() {
            "flex" | "xml" | "ibkr" => Ok(StatementFormat::Flex),
            "csv" => Ok(StatementFormat::Csv),
            "json" => Ok(StatementFormat::Json),
            other => Err(Error::Invalid(format!(
                "statement format {other:?}: use flex, csv or json"
            ))),
        }
    }

    /// From a file's extension: `.xml` flex, `.csv`, `.json`.
    pub fn from_path(path: &Path) -> Option<StatementFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "xml" => Some(StatementFormat::Flex),
            "csv" => Some(StatementFormat::Csv),
            "json" => Some(StatementFormat::Json),
            _ => None,
        }
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            StatementFormat::Flex => "flex",
            StatementFormat::Csv => "csv",
            StatementFormat::Json => "json",
        }
    }
}

/// One execution the broker reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatementTrade {
    /// The account.
    pub account_id: String,
    /// The broker's trade id (IBKR `tradeID`); matched against our `data.trade_id`.
    pub trade_id: String,
    /// The broker's execution id (IBKR `ibExecID`), also tried against `data.trade_id`.
    pub exec_id: Option<String>,
    /// Our order id as the broker carries it (IBKR `orderReference`).
    pub order_id: Option<String>,
    /// The broker's own order id (IBKR `ibOrderID`).
    pub broker_order_id: Option<String>,
    /// The instrument: our id, or the broker's symbol (`AAPL` matches `AAPL.XNAS`).
    pub instrument: String,
    /// Buy or sell.
    pub side: Side,
    /// Quantity, positive.
    pub quantity: Decimal,
    /// Price per unit.
    pub price: Decimal,
    /// When (ns since the epoch).
    pub ts: i64,
    /// Commission paid, positive (IBKR writes it negative; it is turned around);
    /// `None` when the statement does not say (then it is not compared).
    pub commission: Option<Decimal>,
    /// Its currency.
    pub commission_currency: String,
    /// Currency of the price.
    pub currency: String,
    /// Contract multiplier.
    pub multiplier: Decimal,
    /// The broker's realized P&L of this execution, if it says.
    pub realized_pnl: Option<Decimal>,
    /// Where in the file.
    pub location: String,
}

/// A position the broker reports at the end of the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatementPosition {
    /// The account.
    pub account_id: String,
    /// The instrument (id or symbol).
    pub instrument: String,
    /// Signed quantity.
    pub quantity: Decimal,
    /// The broker's mark price.
    pub mark_price: Option<Decimal>,
    /// Currency.
    pub currency: String,
    /// Contract multiplier.
    pub multiplier: Decimal,
    /// Where in the file.
    pub location: String,
}

/// How the broker says cash moved over the period in one currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatementCash {
    /// The account.
    pub account_id: String,
    /// The currency.
    pub currency: String,
    /// Ending minus starting balance.
    pub change: Decimal,
    /// Where in the file.
    pub location: String,
}

/// An order's status as the broker reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatementOrder {
    /// The account.
    pub account_id: String,
    /// Our order id.
    pub order_id: String,
    /// The status.
    pub status: OrderStatus,
    /// Filled quantity, if it says.
    pub filled_qty: Option<Decimal>,
    /// Where in the file.
    pub location: String,
}

/// A broker statement, whatever file it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    /// Which reader.
    pub format: StatementFormat,
    /// Start of the period (ns), if the statement says.
    pub from: Option<i64>,
    /// End of the period (ns, inclusive), if it says.
    pub to: Option<i64>,
    /// Executions.
    pub trades: Vec<StatementTrade>,
    /// Positions at the end.
    pub positions: Vec<StatementPosition>,
    /// Cash changes.
    pub cash: Vec<StatementCash>,
    /// Order statuses.
    pub orders: Vec<StatementOrder>,
}

impl Statement {
    /// An empty statement.
    pub fn new(format: StatementFormat) -> Statement {
        Statement {
            format,
            from: None,
            to: None,
            trades: Vec::new(),
            positions: Vec::new(),
            cash: Vec::new(),
            orders: Vec::new(),
        }
    }

    /// Reads a file. `format` `None` takes it from the extension.
    pub fn read(
        path: &Path,
        format: Option<StatementFormat>,
        opts: &ReadOptions,
    ) -> Result<Statement> {
        let format = match format.or_else(|| StatementFormat::from_path(path)) {
            Some(f) => f,
            None => {
                return Err(Error::Invalid(format!(
                "{}: cannot tell the statement format from the name; give it (flex, csv or json)",
                path.display()
            )))
            }
        };
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let label = path.display().to_string();
        let text = std::str::from_utf8(&bytes).map_err(|e| Error::Statement {
            path: label.clone(),
            location: format!("byte {}", e.valid_up_to()),
            reason: "not UTF-8 text".into(),
        })?;
        Statement::parse(text, format, &label, opts)
    }

    /// Parses statement text; `label` names it in errors.
    pub fn parse(
        text: &str,
        format: StatementFormat,
        label: &str,
        opts: &ReadOptions,
    ) -> Result<Statement> {
        match format {
            StatementFormat::Flex => crate::flex::parse(text, label, opts),
            StatementFormat::Csv => parse_csv(text, label),
            StatementFormat::Json => parse_json(text, label),
        }
    }

    /// The generic CSV of this statement (what [`StatementFormat::Csv`] reads back).
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let row = |w: &mut csv::Writer<Vec<u8>>, m: BTreeMap<&str, String>| {
            let rec: Vec<String> = COLUMNS
                .iter()
                .map(|c| m.get(c).cloned().unwrap_or_default())
                .collect();
            w.write_record(&rec).expect("writing to memory");
        };
        w.write_record(COLUMNS).expect("writing to memory");
        if self.from.is_some() || self.to.is_some() {
            let mut m = BTreeMap::from([("record", "period".to_string())]);
            if let Some(f) = self.from {
                m.insert("from", tradetrail_model::format_time(f));
            }
            if let Some(t) = self.to {
                m.insert("to", tradetrail_model::format_time(t));
            }
            row(&mut w, m);
        }
        for t in &self.trades {
            let mut m = BTreeMap::from([
                ("record", "trade".to_string()),
                ("account", t.account_id.clone()),
                ("trade_id", t.trade_id.clone()),
                ("instrument", t.instrument.clone()),
                ("side", t.side.as_str().to_string()),
                ("quantity", t.quantity.to_string()),
                ("price", t.price.to_string()),
                ("time", tradetrail_model::format_time(t.ts)),
                ("commission_currency", t.commission_currency.clone()),
                ("currency", t.currency.clone()),
                ("multiplier", t.multiplier.to_string()),
            ]);
            if let Some(o) = &t.order_id {
                m.insert("order_id", o.clone());
            }
            if let Some(c) = t.commission {
                m.insert("commission", c.to_string());
            }
            if let Some(r) = t.realized_pnl {
                m.insert("realized_pnl", r.to_string());
            }
            row(&mut w, m);
        }
        for p in &self.positions {
            let mut m = BTreeMap::from([
                ("record", "position".to_string()),
                ("account", p.account_id.clone()),
                ("instrument", p.instrument.clone()),
                ("quantity", p.quantity.to_string()),
                ("currency", p.currency.clone()),
                ("multiplier", p.multiplier.to_string()),
            ]);
            if let Some(px) = p.mark_price {
                m.insert("price", px.to_string());
            }
            row(&mut w, m);
        }
        for c in &self.cash {
            row(
                &mut w,
                BTreeMap::from([
                    ("record", "cash".to_string()),
                    ("account", c.account_id.clone()),
                    ("currency", c.currency.clone()),
                    ("amount", c.change.to_string()),
                ]),
            );
        }
        for o in &self.orders {
            let mut m = BTreeMap::from([
                ("record", "order".to_string()),
                ("account", o.account_id.clone()),
                ("order_id", o.order_id.clone()),
                ("status", o.status.as_str().to_string()),
            ]);
            if let Some(q) = o.filled_qty {
                m.insert("filled_qty", q.to_string());
            }
            row(&mut w, m);
        }
        String::from_utf8(w.into_inner().expect("in memory")).expect("UTF-8 in, UTF-8 out")
    }
}

/// How to read times that carry no zone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Offset of the Flex statement's times from UTC, in seconds (IBKR writes local
    /// times of the account's zone, e.g. −18000 for New York in winter). Default 0.
    pub flex_utc_offset_seconds: i32,
}

/// The generic format's columns, in the order [`Statement::to_csv`] writes them.
pub const COLUMNS: &[&str] = &[
    "record",
    "account",
    "trade_id",
    "order_id",
    "instrument",
    "side",
    "quantity",
    "price",
    "time",
    "commission",
    "commission_currency",
    "currency",
    "multiplier",
    "realized_pnl",
    "status",
    "filled_qty",
    "amount",
    "from",
    "to",
];

/// One row of the generic format, by column name, with where it is.
struct Row<'a> {
    label: &'a str,
    location: String,
    fields: BTreeMap<String, String>,
}

impl Row<'_> {
    fn err(&self, field: &str, reason: impl Into<String>) -> Error {
        Error::Statement {
            path: self.label.to_owned(),
            location: if field.is_empty() {
                self.location.clone()
            } else {
                format!("{}, {field}", self.location)
            },
            reason: reason.into(),
        }
    }
    fn opt(&self, f: &str) -> Option<&str> {
        self.fields
            .get(f)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
    fn req(&self, f: &str) -> Result<&str> {
        self.opt(f)
            .ok_or_else(|| self.err(f, "required for this record, but empty or missing"))
    }
    fn dec(&self, f: &str) -> Result<Option<Decimal>> {
        self.opt(f)
            .map(|s| tradetrail_model::parse_decimal(s).map_err(|e| self.err(f, e)))
            .transpose()
    }
    fn req_dec(&self, f: &str) -> Result<Decimal> {
        self.req(f)?;
        Ok(self.dec(f)?.expect("present"))
    }
    fn time(&self, f: &str) -> Result<Option<i64>> {
        self.opt(f)
            .map(|s| tradetrail_model::parse_time(s).map_err(|e| self.err(f, e)))
            .transpose()
    }
}

fn add_row(st: &mut Statement, row: Row<'_>) -> Result<()> {
    let kind = row.req("record")?.to_ascii_lowercase();
    let currency = || row.opt("currency").unwrap_or("USD").to_owned();
    match kind.as_str() {
        "period" => {
            st.from = row.time("from")?;
            st.to = row.time("to")?;
            if st.from.is_none() && st.to.is_none() {
                return Err(row.err("", "a period needs from, to or both"));
            }
        }
        "trade" => {
            let side = row.req("side")?;
            let side = Side::parse(side)
                .ok_or_else(|| row.err("side", format!("{side:?} is not buy or sell")))?;
            let quantity = row.req_dec("quantity")?;
            if quantity <= Decimal::ZERO {
                return Err(row.err("quantity", "must be positive (the side says the direction)"));
            }
            let price = row.req_dec("price")?;
            if price < Decimal::ZERO {
                return Err(row.err("price", "must not be negative"));
            }
            st.trades.push(StatementTrade {
                account_id: row.req("account")?.to_owned(),
                trade_id: row.req("trade_id")?.to_owned(),
                exec_id: None,
                order_id: row.opt("order_id").map(str::to_owned),
                broker_order_id: None,
                instrument: row.req("instrument")?.to_owned(),
                side,
                quantity,
                price,
                ts: row
                    .time("time")?
                    .ok_or_else(|| row.err("time", "required for a trade"))?,
                commission: row.dec("commission")?,
                commission_currency: row
                    .opt("commission_currency")
                    .map(str::to_owned)
                    .unwrap_or_else(currency),
                currency: currency(),
                multiplier: row.dec("multiplier")?.unwrap_or(Decimal::ONE),
                realized_pnl: row.dec("realized_pnl")?,
                location: row.location.clone(),
            });
        }
        "position" => st.positions.push(StatementPosition {
            account_id: row.req("account")?.to_owned(),
            instrument: row.req("instrument")?.to_owned(),
            quantity: row.req_dec("quantity")?,
            mark_price: row.dec("price")?,
            currency: currency(),
            multiplier: row.dec("multiplier")?.unwrap_or(Decimal::ONE),
            location: row.location.clone(),
        }),
        "cash" => st.cash.push(StatementCash {
            account_id: row.req("account")?.to_owned(),
            currency: row.req("currency")?.to_owned(),
            change: row.req_dec("amount")?,
            location: row.location.clone(),
        }),
        "order" => {
            let s = row.req("status")?;
            st.orders.push(StatementOrder {
                account_id: row.req("account")?.to_owned(),
                order_id: row.req("order_id")?.to_owned(),
                status: OrderStatus::parse(s).ok_or_else(|| {
                    row.err(
                        "status",
                        format!("{s:?} is not an order status (submitted, accepted, partially_filled, filled, cancelled, rejected, expired)"),
                    )
                })?,
                filled_qty: row.dec("filled_qty")?,
                location: row.location.clone(),
            })
        }
        other => {
            return Err(row.err(
                "record",
                format!("{other:?} is not a record kind (period, trade, position, cash, order)"),
            ))
        }
    }
    Ok(())
}

fn parse_csv(text: &str, label: &str) -> Result<Statement> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let csv_err = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        Error::Statement {
            path: label.to_owned(),
            location: format!("line {line}"),
            reason: match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => {
                    format!("{len} fields where the header has {expected_len} (a truncated or broken line?)")
                }
                _ => e.to_string(),
            },
        }
    };
    let headers = rdr.headers().map_err(csv_err)?.clone();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(Error::Statement {
            path: label.into(),
            location: "line 1".into(),
            reason: "empty file: expected a header line naming the columns".into(),
        });
    }
    for h in headers.iter() {
        if !COLUMNS.contains(&h.trim()) {
            return Err(Error::Statement {
                path: label.into(),
                location: "line 1".into(),
                reason: format!(
                    "unknown column {h:?}; the columns are {}",
                    COLUMNS.join(", ")
                ),
            });
        }
    }
    if !headers.iter().any(|h| h.trim() == "record") {
        return Err(Error::Statement {
            path: label.into(),
            location: "line 1".into(),
            reason: "no \"record\" column".into(),
        });
    }
    let mut st = Statement::new(StatementFormat::Csv);
    for rec in rdr.records() {
        let rec = rec.map_err(csv_err)?;
        let line = rec.position().map_or(0, |p| p.line());
        let fields = headers
            .iter()
            .zip(rec.iter())
            .map(|(h, v)| (h.trim().to_owned(), v.to_owned()))
            .collect();
        add_row(
            &mut st,
            Row {
                label,
                location: format!("line {line}"),
                fields,
            },
        )?;
    }
    Ok(st)
}

fn parse_json(text: &str, label: &str) -> Result<Statement> {
    let v: Value = serde_json::from_str(text).map_err(|e| Error::Statement {
        path: label.into(),
        location: format!("line {}, column {}", e.line(), e.column()),
        reason: e.to_string(),
    })?;
    let top = v.as_object().ok_or_else(|| Error::Statement {
        path: label.into(),
        location: "top level".into(),
        reason: "expected an object with period, trades, positions, cash, orders".into(),
    })?;
    let mut st = Statement::new(StatementFormat::Json);
    for key in top.keys() {
        if !["period", "trades", "positions", "cash", "orders"].contains(&key.as_str()) {
            return Err(Error::Statement {
                path: label.into(),
                location: key.clone(),
                reason: "unknown key; use period, trades, positions, cash, orders".into(),
            });
        }
    }
    let fields_of = |loc: &str, o: &Value, kind: &str| -> Result<BTreeMap<String, String>> {
        let o = o.as_object().ok_or_else(|| Error::Statement {
            path: label.into(),
            location: loc.into(),
            reason: "expected an object".into(),
        })?;
        let mut m = BTreeMap::from([("record".to_string(), kind.to_string())]);
        for (k, v) in o {
            if !COLUMNS.contains(&k.as_str()) || k == "record" {
                return Err(Error::Statement {
                    path: label.into(),
                    location: format!("{loc}.{k}"),
                    reason: "unknown field".into(),
                });
            }
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.as_str().to_owned(),
                Value::Null => String::new(),
                _ => {
                    return Err(Error::Statement {
                        path: label.into(),
                        location: format!("{loc}.{k}"),
                        reason: "expected a string or a number".into(),
                    })
                }
            };
            m.insert(k.clone(), s);
        }
        Ok(m)
    };
    if let Some(p) = top.get("period") {
        let fields = fields_of("period", p, "period")?;
        add_row(
            &mut st,
            Row {
                label,
                location: "period".into(),
                fields,
            },
        )?;
    }
    for (key, kind) in [
        ("trades", "trade"),
        ("positions", "position"),
        ("cash", "cash"),
        ("orders", "order"),
    ] {
        let Some(list) = top.get(key) else { continue };
        let list = list.as_array().ok_or_else(|| Error::Statement {
            path: label.into(),
            location: key.into(),
            reason: "expected an array".into(),
        })?;
        for (i, item) in list.iter().enumerate() {
            let loc = format!("{key}[{i}]");
            let fields = fields_of(&loc, item, kind)?;
            add_row(
                &mut st,
                Row {
                    label,
                    location: loc,
                    fields,
                },
            )?;
        }
    }
    Ok(st)
}
