//! Reading the records the books need, through the query index and within the
//! report's scope, and building [`Books`] as of given instants.

use tradetrail_books::{Books, BooksOptions, Record};
use tradetrail_query::{Filter, Investigator, QueryOptions};

use crate::scope::Scope;
use crate::Result;

/// The record types the books read (see `tradetrail_books::is_books_type`).
const BOOKS_TYPES: &[&str] = &[
    "order.*",
    "reconciliation.*",
    "review.*",
    "position.*",
    "signal.generated",
    "recommendation.generated",
];

/// Every books record with `ts_event < to` inside `scope`, in `seq` order. The books
/// need the whole history before the range: a lot closed today may have been opened
/// months ago.
pub(crate) fn books_records(
    inv: &Investigator,
    scope: &Scope,
    to: Option<i64>,
) -> Result<(Vec<Record>, u64)> {
    let mut f = Filter {
        to,
        types: BOOKS_TYPES.iter().map(|t| (*t).to_owned()).collect(),
        ..Filter::default()
    };
    if let Some(t) = &scope.trader_id {
        f.traders.push(t.clone());
    }
    if let Some(s) = &scope.strategy_id {
        f.strategies.push(s.clone());
    }
    if let Some(a) = &scope.account_id {
        f.accounts.push(a.clone());
    }
    let mut out = Vec::new();
    let mut unreadable = 0;
    inv.query_each(&f, &QueryOptions::default(), &mut |_, line| {
        match Record::parse(line) {
            Ok(r) if admits(scope, &r) => out.push(r),
            Ok(_) => {}
            Err(_) => unreadable += 1,
        }
        Ok(true)
    })?;
    Ok((out, unreadable))
}

fn admits(scope: &Scope, r: &Record) -> bool {
    fn ok(want: &Option<String>, have: &Option<String>) -> bool {
        want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
    }
    ok(&scope.trader_id, &r.trader_id)
        && ok(&scope.strategy_id, &r.strategy_id)
        && ok(&scope.account_id, &r.account_id)
}

/// The books as of `at` (inclusive), or of everything read; [`crate::Error::Overflow`]
/// naming the record whose numbers overflow a decimal.
pub(crate) fn books_at(records: &[Record], at: Option<i64>) -> Result<Books> {
    let opts = match at {
        Some(t) => BooksOptions::at(t),
        None => BooksOptions::default(),
    };
    Ok(Books::try_from_records(records, &opts)?)
}
