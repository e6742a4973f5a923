//! The trading vocabulary of tradetrail: the event envelope, the event types, and
//! their strict validation. This crate knows nothing of files; it turns a producer's
//! JSON into a checked [`Event`] and an event into its canonical body, which the journal
//! records behind the fields it assigns (`seq`, `ts_recorded`, `prev`).
//!
//! - [`Event::from_json`] parses one JSON object and validates it, returning **every**
//!   problem found, each naming its field ([`ValidationErrors`], [`FieldError`]);
//! - [`Event::validate`] applies the same rules to an event built in code
//!   ([`Event::new`] and the `with_*` setters);
//! - [`Event::to_body`] writes the canonical body: one line of JSON, keys in a fixed
//!   order, starting `{"type":`, decimals as normalized strings.
//!
//! # The rules
//!
//! - Envelope: `type`, `ts_event`, `source`, `actor` required; `event_id`, the four
//!   `*_id` attributions, `entity`, `refs`, `data` optional; any other key is refused,
//!   and `seq`, `ts_recorded`, `prev` are the journal's. Identifiers are non-empty,
//!   at most 128 characters, without control characters. `null` is not accepted for
//!   any field: leave it out. A key given twice (at the top level, or in `entity`,
//!   `refs`, `data`) is refused.
//! - Types: the known types ([`known_types`]) are checked strictly, envelope and `data`;
//!   the open families ([`open_families`]: `system.*`, `connection.*`, `user.*`,
//!   `reconciliation.*`, `review.*`, `custom.*`) only for the envelope; `journal.*` is
//!   refused; anything else is refused with the nearest type suggested.
//! - `data` of a known type must hold the type's fields, of the right kind; fields the
//!   type does not define are the producer's own and are kept as given, in order.
//! - Decimals (money, quantities) are JSON strings or numbers, read exactly from their
//!   text, never through `f64` (see [`parse_decimal`]); they are written back as strings
//!   in normalized form: the scale is kept (`"10.50"`), a number `100` becomes `"100"`.
//!   Quantities and prices of the known types are at most [`MAX_QUANTITY_OR_PRICE`]
//!   (10^12) in magnitude, other decimals at most [`MAX_AMOUNT`] (10^18), so that the
//!   books' arithmetic (`quantity × price`, sums over fills) cannot overflow.
//! - Times ([`parse_time`], [`format_time`]) are ns since the Unix epoch, UTC, in `i64`.
//!
//! # Example
//!
//! ```
//! use tradetrail_model::Event;
//!
//! let line = br#"{"type":"order.filled","ts_event":"2026-11-21T14:32:10.123Z",
//!     "source":"oms","actor":"algo:twap-7","trader_id":"T-1","instrument_id":"AAPL",
//!     "entity":{"kind":"order","id":"O-1"},
//!     "data":{"fill_qty":100,"fill_price":"187.50","trade_id":"X-9","venue":"XNAS"}}"#;
//! let event = Event::from_json(line)?;
//! assert_eq!(event.ts_event, 1_795_271_530_123_000_000);
//!
//! let body = event.to_body();
//! assert_eq!(
//!     std::str::from_utf8(&body)?,
//!     r#"{"type":"order.filled","ts_event":1795271530123000000,"source":"oms","#.to_owned()
//!         + r#""actor":"algo:twap-7","trader_id":"T-1","instrument_id":"AAPL","#
//!         + r#""entity":{"kind":"order","id":"O-1"},"#
//!         + r#""data":{"fill_qty":"100","fill_price":"187.50","trade_id":"X-9","venue":"XNAS"}}"#
//! );
//! assert_eq!(Event::from_json(&body)?, event);
//!
//! // Every problem at once, each naming its field.
//! let bad = br#"{"type":"order.filed","ts_event":1.5,"source":"oms","actor":"bob"}"#;
//! let errors = Event::from_json(bad).unwrap_err();
//! assert_eq!(
//!     errors.to_string(),
//!     "type: unknown event type \"order.filed\"; did you mean \"order.filled\"?; \
//!      ts_event: must be an integer of ns since the Unix epoch or an RFC 3339 string, not 1.5; \
//!      actor: \"bob\" is not an actor: use \"system\", \"algo:<id>\", \"trader:<id>\", \
//!      \"operator:<id>\" or \"service:<id>\""
//! );
//!
//! // Events built in code follow the same rules.
//! let e = Event::new("order.cancelled", 0, "oms", "trader:T-1").with_instrument("AAPL");
//! let errors = e.validate().unwrap_err();
//! let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
//! assert_eq!(fields, ["trader_id", "entity"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod body;
mod decimal;
mod error;
mod event;
#[doc(hidden)]
pub mod fast;
mod parse;
pub mod schema;
mod time;
mod types;
mod validate;
pub mod zone;

pub use decimal::{parse_decimal, MAX_AMOUNT, MAX_QUANTITY_OR_PRICE};
pub use error::{FieldError, ValidationErrors};
pub use event::{Entity, Event};
pub use fast::Normalized;
pub use schema::{json_schema, type_table, TypeTable};
pub use time::{format_time, parse_time};
pub use types::{is_known_type, known_types, log_level_rank, open_families, LOG_LEVELS};
pub use zone::{parse_time_in, Days, Session, TimeSettings, Zone};

/// Validates one JSON event and writes its canonical body, as
/// `Event::from_json(line)?.to_body()` does, with the same acceptance rules and the same
/// errors, but at memory speed: the common case is read straight from the input bytes
/// into the checks and the body, with no intermediate value (see `fast.rs`); anything
/// else, and every refusal, goes through [`Event::from_json`].
///
/// ```
/// let line = br#"{"type":"order.cancelled","ts_event":1,"source":"oms","actor":"system",
///     "trader_id":"T-1","instrument_id":"AAPL","entity":{"kind":"order","id":"O-1"}}"#;
/// let n = tradetrail_model::normalize(line)?;
/// assert_eq!(n.event_type(), "order.cancelled");
/// assert_eq!(n.body(), tradetrail_model::Event::from_json(line)?.to_body());
/// # Ok::<(), tradetrail_model::ValidationErrors>(())
/// ```
pub fn normalize(line: &[u8]) -> Result<Normalized, ValidationErrors> {
    match fast::normalize_fast(line) {
        Some(n) => Ok(n),
        None => Event::from_json(line).map(|e| Normalized::from(&e)),
    }
}
