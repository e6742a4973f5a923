//! IBKR Flex Query XML (Activity statements): `Trades`, `OpenPositions`, `CashReport`.
//!
//! ```xml
//! <FlexQueryResponse queryName="..." type="AF">
//!   <FlexStatements count="1">
//!     <FlexStatement accountId="U1234567" fromDate="20181109" toDate="20181109" ...>
//!       <CashReport><CashReportCurrency accountId=".." currency="USD" startingCash=".." endingCash=".." .../></CashReport>
//!       <Trades><Trade accountId=".." tradeID=".." symbol=".." quantity="-2000" tradePrice="6.6415" .../></Trades>
//!       <OpenPositions><OpenPosition accountId=".." symbol=".." position="100" markPrice=".." .../></OpenPositions>
//! ```
//! Only `levelOfDetail="EXECUTION"` trades (or trades without a level) are read; order
//! and closed-lot summaries repeat them. `CashReportCurrency` rows for `BASE_SUMMARY`
//! are skipped. Times (`dateTime`, `20181109;093100`, also `2018-11-09;09:31:00` or
//! `20181109 093100`) are local to the account: [`ReadOptions`] gives their offset.
//! Quantities are signed in the file; commissions are negative when paid.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::orders::Side;
use crate::statement::{
    ReadOptions, Statement, StatementCash, StatementFormat, StatementPosition, StatementTrade,
};
use crate::{Error, Result};

/// One `<Trade>` element, every field the books use, parsed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlexTrade {
    /// `accountId`.
    pub account_id: String,
    /// `currency`.
    pub currency: String,
    /// `fxRateToBase`.
    pub fx_rate_to_base: Option<Decimal>,
    /// `assetCategory` (`STK`, `OPT`, `FUT`, `CASH`, ...).
    pub asset_category: String,
    /// `symbol`.
    pub symbol: String,
    /// `description`.
    pub description: String,
    /// `conid`.
    pub conid: String,
    /// `multiplier` (1 when empty).
    pub multiplier: Decimal,
    /// `tradeID`.
    pub trade_id: String,
    /// `dateTime`, as ns since the epoch after the offset.
    pub date_time: i64,
    /// `transactionType`.
    pub transaction_type: String,
    /// `exchange`.
    pub exchange: String,
    /// `quantity`, signed.
    pub quantity: Decimal,
    /// `tradePrice`.
    pub trade_price: Decimal,
    /// `proceeds`.
    pub proceeds: Option<Decimal>,
    /// `ibCommission` (negative when paid).
    pub ib_commission: Decimal,
    /// `ibCommissionCurrency`.
    pub ib_commission_currency: String,
    /// `netCash`.
    pub net_cash: Option<Decimal>,
    /// `fifoPnlRealized`.
    pub fifo_pnl_realized: Option<Decimal>,
    /// `buySell` (`BUY`, `SELL`).
    pub buy_sell: String,
    /// `ibOrderID`.
    pub ib_order_id: String,
    /// `ibExecID`.
    pub ib_exec_id: String,
    /// `orderReference` (the client's order id; empty when none).
    pub order_reference: String,
    /// `orderType`.
    pub order_type: String,
    /// `levelOfDetail`.
    pub level_of_detail: String,
}

/// The `<Trade>` executions of a Flex document, with nothing else (for tests and tools).
pub fn parse_trades(text: &str, label: &str, opts: &ReadOptions) -> Result<Vec<FlexTrade>> {
    let doc = document(text, label)?;
    let mut out = Vec::new();
    for (i, node) in doc
        .descendants()
        .filter(|n| n.has_tag_name("Trade"))
        .enumerate()
    {
        let el = El::new(&doc, node, label, "Trade", i);
        let level = el.opt("levelOfDetail").unwrap_or("EXECUTION");
        if !level.eq_ignore_ascii_case("EXECUTION") {
            continue;
        }
        out.push(trade(&el, opts)?);
    }
    Ok(out)
}

/// Deepest element nesting read. roxmltree parses nested elements by recursion, with no
/// limit of its own, so a deeply nested file overflowed the stack and aborted the process
/// (found by fuzzing; a few hundred levels were enough on a 2 MB thread in a debug build).
/// A Flex Query nests about five levels.
const MAX_DEPTH: usize = 64;

/// The deepest element nesting of `text`, stopping once past `MAX_DEPTH`. It follows the
/// XML syntax that can hold `<` and `>` without opening an element (comments, CDATA,
/// processing instructions, declarations, quoted attribute values); malformed input
/// may be miscounted, and roxmltree then refuses it.
fn nesting_depth(text: &str) -> usize {
    let b = text.as_bytes();
    let (mut i, mut depth, mut deepest) = (0usize, 0usize, 0usize);
    let skip_past = |from: usize, end: &str| {
        text[from..]
            .find(end)
            .map_or(b.len(), |p| from + p + end.len())
    };
    while let Some(p) = memchr_lt(&b[i..]) {
        i += p;
        let rest = &text[i..];
        if rest.starts_with("<!--") {
            i = skip_past(i + 4, "-->");
        } else if rest.starts_with("<![CDATA[") {
            i = skip_past(i + 9, "]]>");
        } else if rest.starts_with("<?") {
            i = skip_past(i + 2, "?>");
        } else if rest.starts_with("<!") {
            i = skip_past(i + 2, ">");
        } else if rest.starts_with("</") {
            depth = depth.saturating_sub(1);
            i = skip_past(i + 2, ">");
        } else {
            // A start tag: to its `>`, outside quoted attribute values.
            let mut j = i + 1;
            let mut quote = None;
            while j < b.len() {
                match (quote, b[j]) {
                    (Some(q), c) if c == q => quote = None,
                    (None, b'"' | b'\'') => quote = Some(b[j]),
                    (None, b'>') => break,
                    _ => {}
                }
                j += 1;
            }
            if !(j < b.len() && j > i + 1 && b[j - 1] == b'/') {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > MAX_DEPTH {
                    return deepest;
                }
            }
            i = j + 1;
        }
        if i >= b.len() {
            break;
        }
    }
    deepest
}

fn memchr_lt(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'<')
}

/// The line and column (1-based, in characters) just past the last character of `text`.
fn end_position(text: &str) -> (usize, usize) {
    let row = text.matches('\n').count() + 1;
    let last = text.rsplit('\n').next().unwrap_or("");
    (row, last.chars().count() + 1)
}

fn document<'a>(text: &'a str, label: &str) -> Result<roxmltree::Document<'a>> {
    if nesting_depth(text) > MAX_DEPTH {
        return Err(Error::Statement {
            path: label.into(),
            location: "line 1".into(),
            reason: format!("not a Flex Query: elements nested more than {MAX_DEPTH} deep"),
        });
    }
    let doc = roxmltree::Document::parse(text).map_err(|e| match e {
        // roxmltree places these at line 1, column 1; what the user needs is where
        // the file stops.
        roxmltree::Error::UnexpectedEndOfStream | roxmltree::Error::UnclosedRootNode => {
            let (row, col) = end_position(text);
            Error::Statement {
                path: label.into(),
                location: format!("line {row}, column {col} (the end of the file)"),
                reason: format!(
                    "the file ends before the XML does ({e}): it looks truncated; \
                     download the statement again"
                ),
            }
        }
        _ => {
            let p = e.pos();
            Error::Statement {
                path: label.into(),
                location: format!("line {}, column {}", p.row, p.col),
                reason: format!("not well-formed XML: {e}"),
            }
        }
    })?;
    if !doc.root_element().has_tag_name("FlexQueryResponse") {
        return Err(Error::Statement {
            path: label.into(),
            location: format!("<{}> (line 1)", doc.root_element().tag_name().name()),
            reason: "not a Flex Query: the root element should be <FlexQueryResponse>".into(),
        });
    }
    Ok(doc)
}

struct El<'a, 'input> {
    node: roxmltree::Node<'a, 'input>,
    label: &'a str,
    location: String,
}

impl<'a, 'input> El<'a, 'input> {
    fn new(
        doc: &'a roxmltree::Document<'input>,
        node: roxmltree::Node<'a, 'input>,
        label: &'a str,
        tag: &str,
        index: usize,
    ) -> Self {
        let line = doc.text_pos_at(node.range().start).row;
        El {
            node,
            label,
            location: format!("<{tag}> #{} (line {line})", index + 1),
        }
    }
    fn err(&self, attr: &str, reason: impl Into<String>) -> Error {
        Error::Statement {
            path: self.label.into(),
            location: format!("{} attribute {attr}", self.location),
            reason: reason.into(),
        }
    }
    fn opt(&self, a: &str) -> Option<&'a str> {
        self.node
            .attribute(a)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
    fn text(&self, a: &str) -> String {
        self.opt(a).unwrap_or_default().to_owned()
    }
    fn req(&self, a: &str) -> Result<&'a str> {
        self.opt(a).ok_or_else(|| self.err(a, "missing or empty"))
    }
    fn dec(&self, a: &str) -> Result<Option<Decimal>> {
        self.opt(a)
            .map(|s| tradetrail_model::parse_decimal(s).map_err(|e| self.err(a, e)))
            .transpose()
    }
    fn req_dec(&self, a: &str) -> Result<Decimal> {
        self.req(a)?;
        Ok(self.dec(a)?.expect("present"))
    }
}

/// Parses `20181109;093100`, `20181109 093100`, `2018-11-09;09:31:00`,
/// `2018-11-09, 09:31:00` or a date alone, local at `offset` seconds from UTC.
pub fn parse_flex_time(s: &str, offset_seconds: i32, end_of_day: bool) -> Result<i64, String> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let bad = || format!("{s:?} is not a Flex date or date-time (like 20181109;093100)");
    if s.chars()
        .any(|c| !(c.is_ascii_digit() || " ;,:-T".contains(c)))
    {
        return Err(bad());
    }
    let n = |r: std::ops::Range<usize>| digits[r].parse::<u32>().map_err(|_| bad());
    let (h, mi, se) = match digits.len() {
        8 if end_of_day => (23, 59, 59),
        8 => (0, 0, 0),
        14 => (n(8..10)?, n(10..12)?, n(12..14)?),
        12 => (n(8..10)?, n(10..12)?, 0),
        _ => return Err(bad()),
    };
    let month = time::Month::try_from(n(4..6)? as u8).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(n(0..4)? as i32, month, n(6..8)? as u8)
        .map_err(|_| bad())?;
    let t = time::Time::from_hms(h as u8, mi as u8, se as u8).map_err(|_| bad())?;
    let secs = date.with_time(t).assume_utc().unix_timestamp() - i64::from(offset_seconds);
    let extra = if end_of_day && digits.len() == 8 {
        999_999_999
    } else {
        0
    };
    secs.checked_mul(1_000_000_000)
        .and_then(|ns| ns.checked_add(extra))
        .ok_or_else(|| format!("{s:?} is outside the times tradetrail keeps (1677 to 2262)"))
}

fn trade(el: &El<'_, '_>, opts: &ReadOptions) -> Result<FlexTrade> {
    let date_time = el.req("dateTime")?;
    let date_time = parse_flex_time(date_time, opts.flex_utc_offset_seconds, false)
        .map_err(|e| el.err("dateTime", e))?;
    let buy_sell = el.req("buySell")?.to_owned();
    let quantity = el.req_dec("quantity")?;
    if quantity.is_zero() {
        return Err(el.err("quantity", "is 0"));
    }
    let currency = el.req("currency")?.to_owned();
    Ok(FlexTrade {
        account_id: el.req("accountId")?.to_owned(),
        fx_rate_to_base: el.dec("fxRateToBase")?,
        asset_category: el.text("assetCategory"),
        symbol: el.req("symbol")?.to_owned(),
        description: el.text("description"),
        conid: el.text("conid"),
        multiplier: el.dec("multiplier")?.unwrap_or(Decimal::ONE),
        trade_id: el.req("tradeID")?.to_owned(),
        date_time,
        transaction_type: el.text("transactionType"),
        exchange: el.text("exchange"),
        quantity,
        trade_price: el.req_dec("tradePrice")?,
        proceeds: el.dec("proceeds")?,
        ib_commission: el.dec("ibCommission")?.unwrap_or_default(),
        ib_commission_currency: el
            .opt("ibCommissionCurrency")
            .unwrap_or(&currency)
            .to_owned(),
        net_cash: el.dec("netCash")?,
        fifo_pnl_realized: el.dec("fifoPnlRealized")?,
        buy_sell,
        ib_order_id: el.text("ibOrderID"),
        ib_exec_id: el.text("ibExecID"),
        order_reference: el.text("orderReference"),
        order_type: el.text("orderType"),
        level_of_detail: el.text("levelOfDetail"),
        currency,
    })
}

impl FlexTrade {
    fn into_statement(self, location: String) -> Result<StatementTrade, String> {
        let side = match Side::parse(&self.buy_sell) {
            Some(s) => s,
            None if self.quantity > Decimal::ZERO => Side::Buy,
            None => Side::Sell,
        };
        if side.sign().is_sign_positive() != self.quantity.is_sign_positive() {
            return Err(format!(
                "buySell {} disagrees with the sign of quantity {}",
                self.buy_sell, self.quantity
            ));
        }
        Ok(StatementTrade {
            account_id: self.account_id,
            trade_id: self.trade_id,
            exec_id: Some(self.ib_exec_id).filter(|s| !s.is_empty()),
            order_id: Some(self.order_reference).filter(|s| !s.is_empty()),
            broker_order_id: Some(self.ib_order_id).filter(|s| !s.is_empty() && s != "0"),
            instrument: self.symbol,
            side,
            quantity: self.quantity.abs(),
            price: self.trade_price,
            ts: self.date_time,
            commission: Some(-self.ib_commission),
            commission_currency: self.ib_commission_currency,
            currency: self.currency,
            multiplier: self.multiplier,
            // Net of commissions over IBKR's own lot history: kept in FlexTrade, not compared.
            realized_pnl: None,
            location,
        })
    }
}

pub(crate) fn parse(text: &str, label: &str, opts: &ReadOptions) -> Result<Statement> {
    let doc = document(text, label)?;
    let mut st = Statement::new(StatementFormat::Flex);
    let statements: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("FlexStatement"))
        .collect();
    if statements.is_empty() {
        return Err(Error::Statement {
            path: label.into(),
            location: "<FlexQueryResponse>".into(),
            reason: "no <FlexStatement> element (an empty or truncated query?)".into(),
        });
    }
    for (i, s) in statements.iter().enumerate() {
        let el = El::new(&doc, *s, label, "FlexStatement", i);
        if let Some(f) = el.opt("fromDate") {
            let f = parse_flex_time(f, opts.flex_utc_offset_seconds, false)
                .map_err(|e| el.err("fromDate", e))?;
            st.from = Some(st.from.map_or(f, |x| x.min(f)));
        }
        if let Some(t) = el.opt("toDate") {
            let t = parse_flex_time(t, opts.flex_utc_offset_seconds, true)
                .map_err(|e| el.err("toDate", e))?;
            st.to = Some(st.to.map_or(t, |x| x.max(t)));
        }
    }
    let mut counts = std::collections::HashMap::<&str, usize>::new();
    for node in doc.descendants().filter(|n| n.is_element()) {
        let tag = node.tag_name().name();
        if !matches!(tag, "Trade" | "OpenPosition" | "CashReportCurrency") {
            continue;
        }
        let i = counts.entry(tag).or_default();
        let el = El::new(&doc, node, label, tag, *i);
        *i += 1;
        match tag {
            "Trade" => {
                let level = el.opt("levelOfDetail").unwrap_or("EXECUTION");
                if !level.eq_ignore_ascii_case("EXECUTION") {
                    continue;
                }
                let t = trade(&el, opts)?;
                let t = t
                    .into_statement(el.location.clone())
                    .map_err(|e| el.err("buySell", e))?;
                st.trades.push(t);
            }
            "OpenPosition" => {
                let level = el.opt("levelOfDetail").unwrap_or("SUMMARY");
                if !level.eq_ignore_ascii_case("SUMMARY") {
                    continue;
                }
                st.positions.push(StatementPosition {
                    account_id: el.req("accountId")?.to_owned(),
                    instrument: el.req("symbol")?.to_owned(),
                    quantity: el.req_dec("position")?,
                    mark_price: el.dec("markPrice")?,
                    currency: el.req("currency")?.to_owned(),
                    multiplier: el.dec("multiplier")?.unwrap_or(Decimal::ONE),
                    location: el.location.clone(),
                });
            }
            _ => {
                let currency = el.req("currency")?;
                if currency.eq_ignore_ascii_case("BASE_SUMMARY") {
                    continue;
                }
                let start = el.req_dec("startingCash")?;
                let end = el.req_dec("endingCash")?;
                st.cash.push(StatementCash {
                    account_id: el.req("accountId")?.to_owned(),
                    currency: currency.to_owned(),
                    change: end - start,
                    location: el.location.clone(),
                });
            }
        }
    }
    Ok(st)
}
