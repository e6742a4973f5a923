//! The event types: the table of known types and the rules each one's fields follow.
//!
//! A type is one of:
//! - **known** ([`known_types`]): validated strictly, envelope and `data`, by the
//!   [`TypeSpec`] below;
//! - in an **open family** (`system.*`, `connection.*`, `user.*`, `reconciliation.*`,
//!   `review.*`) or **custom** (`custom.*`): any subtype, only the envelope is checked
//!   and `data` may hold anything;
//! - **reserved** (`journal.*`): written by the journal itself, refused from producers;
//! - anything else: refused, with the nearest accepted type suggested.

/// What sign a decimal may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sign {
    /// `> 0`: quantities and prices of orders.
    Positive,
    /// `>= 0`: remaining and cumulative quantities.
    NonNegative,
    /// Any sign: positions, P&L, commissions (rebates are negative), slippage.
    Any,
}

/// How large a decimal field may be (see [`crate::MAX_QUANTITY_OR_PRICE`] and
/// [`crate::MAX_AMOUNT`] for why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Magnitude {
    /// Quantities and prices, which the books multiply: at most 10^12.
    QuantityOrPrice,
    /// Amounts the books only add up (commissions, P&L, cash, scores): at most 10^18.
    Amount,
}

/// The JSON a field of `data` must hold. `null` is never accepted except by [`Kind::Any`]:
/// leave an optional field out instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A non-empty string (free text: reasons, notes, codes).
    Text,
    /// An identifier: non-empty, at most 128 characters, no control characters.
    Id,
    /// A decimal of at most this magnitude, written back as a string in normalized
    /// form (see `decimal.rs`).
    Decimal(Sign, Magnitude),
    /// One of these lowercase words; matched ignoring ASCII case, written lowercase.
    Choice(&'static [&'static str]),
    /// `true` or `false`.
    Bool,
    /// A time: ns integer or RFC 3339 string, written back as ns.
    Time,
    /// An array or an object.
    Collection,
    /// Any JSON value, `null` included; it only has to be present.
    Any,
}

/// One field of a type's `data`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
    }
}

/// An envelope field a type requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    Trader,
    Strategy,
    Account,
    Instrument,
    /// `entity` present with this kind (`order` for orders; `log` for operational
    /// log lines, whose `entity.id` is the category).
    Entity(&'static str),
    /// `refs.correction_of` present.
    CorrectionOf,
}

/// A rule across several fields of `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// `price` is required for limit and stop-limit orders, `stop_price` for stop and
    /// stop-limit orders.
    PricesForOrderType,
    /// At least one of these fields is present.
    AnyOf(&'static [&'static str]),
}

/// How one known type is validated.
#[derive(Debug)]
pub(crate) struct TypeSpec {
    pub name: &'static str,
    pub needs: &'static [Need],
    pub fields: &'static [Field],
    pub rules: &'static [Rule],
}

impl TypeSpec {
    /// The kind of `data.<name>` if this type defines that field.
    pub(crate) fn field(&self, name: &str) -> Option<Kind> {
        self.fields.iter().find(|f| f.name == name).map(|f| f.kind)
    }
}

pub(crate) const SIDES: &[&str] = &["buy", "sell", "sell_short"];
pub(crate) const ORDER_TYPES: &[&str] = &[
    "market",
    "limit",
    "stop",
    "stop_limit",
    "market_on_close",
    "limit_on_close",
];
const TIME_IN_FORCE: &[&str] = &["day", "gtc", "ioc", "fok", "gtd", "opg", "cls"];
const LIQUIDITY: &[&str] = &["maker", "taker", "unknown"];
const DIRECTIONS: &[&str] = &["long", "short", "flat"];
const DECISIONS: &[&str] = &["approved", "rejected", "warning"];

const TEXT: Kind = Kind::Text;
const ID: Kind = Kind::Id;
/// A positive quantity or price.
const POS: Kind = Kind::Decimal(Sign::Positive, Magnitude::QuantityOrPrice);
/// A non-negative quantity (cumulative, remaining).
const NON_NEG: Kind = Kind::Decimal(Sign::NonNegative, Magnitude::QuantityOrPrice);
/// A signed quantity or price (a position's size, its average price).
const SIGNED_QTY: Kind = Kind::Decimal(Sign::Any, Magnitude::QuantityOrPrice);
/// A signed amount: P&L, cash, commission (rebates are negative), bps, scores.
const DEC: Kind = Kind::Decimal(Sign::Any, Magnitude::Amount);

const ORDER: &[Need] = &[Need::Trader, Need::Instrument, Need::Entity("order")];
/// An operational log line: `entity` is `{"kind":"log","id":<category>}`.
const LOG: &[Need] = &[Need::Entity("log")];
/// The levels of operational log lines, lowest first: `log.<level>` types.
pub const LOG_LEVELS: &[&str] = &["debug", "info", "warning", "error", "critical"];

/// The rank of a log level in [`LOG_LEVELS`] (0: `debug` ... 4: `critical`); `None` for
/// a name that is not a level.
pub fn log_level_rank(name: &str) -> Option<usize> {
    LOG_LEVELS.iter().position(|l| *l == name)
}
const LOG_FIELDS: &[Field] = &[
    req("message", TEXT),
    opt("context", Kind::Collection),
    opt("user_id", ID),
    opt("session_id", ID),
    opt("logger", TEXT),
    opt("exception", TEXT),
];
const POSITION: &[Need] = &[Need::Instrument, Need::Account];
const NONE: &[Need] = &[];
const NO_RULES: &[Rule] = &[];
const REASON_ONLY: &[Field] = &[req("reason", TEXT)];
const OPTIONAL_REASON: &[Field] = &[opt("reason", TEXT)];
const POSITION_FIELDS: &[Field] = &[
    req("quantity", SIGNED_QTY),
    opt("avg_price", SIGNED_QTY),
    opt("realized_pnl", DEC),
    opt("unrealized_pnl", DEC),
    opt("currency", TEXT),
];
const CHANGE_FIELDS: &[Field] = &[
    req("name", ID),
    req("old_value", Kind::Any),
    req("new_value", Kind::Any),
    req("reason", TEXT),
];

const fn spec(
    name: &'static str,
    needs: &'static [Need],
    fields: &'static [Field],
    rules: &'static [Rule],
) -> TypeSpec {
    TypeSpec {
        name,
        needs,
        fields,
        rules,
    }
}

/// Every known type, in the order of the design brief's table.
pub(crate) const TYPES: &[TypeSpec] = &[
    // signals
    spec(
        "signal.generated",
        &[Need::Instrument, Need::Strategy],
        &[
            req("direction", Kind::Choice(DIRECTIONS)),
            opt("strength", DEC),
            opt("price", SIGNED_QTY),
        ],
        NO_RULES,
    ),
    spec("signal.filtered", NONE, REASON_ONLY, NO_RULES),
    spec(
        "recommendation.generated",
        &[Need::Instrument],
        &[
            req("side", Kind::Choice(SIDES)),
            req("quantity", POS),
            opt("price", POS),
        ],
        NO_RULES,
    ),
    spec("recommendation.suppressed", NONE, REASON_ONLY, NO_RULES),
    // risk
    spec(
        "risk.evaluated",
        NONE,
        &[
            req("decision", Kind::Choice(DECISIONS)),
            opt("checks", Kind::Collection),
            opt("reason", TEXT),
        ],
        NO_RULES,
    ),
    spec("risk.rejected", NONE, REASON_ONLY, NO_RULES),
    spec(
        "trading.kill_switch",
        NONE,
        &[
            req("engaged", Kind::Bool),
            req("reason", TEXT),
            opt("scope", TEXT),
        ],
        NO_RULES,
    ),
    // approvals
    spec(
        "approval.requested",
        NONE,
        &[opt("reason", TEXT), opt("expires_at", Kind::Time)],
        NO_RULES,
    ),
    spec(
        "approval.approved",
        NONE,
        &[opt("reason", TEXT), opt("note", TEXT)],
        NO_RULES,
    ),
    spec(
        "approval.rejected",
        NONE,
        &[opt("reason", TEXT), opt("note", TEXT)],
        NO_RULES,
    ),
    spec("approval.expired", NONE, &[], NO_RULES),
    // orders
    spec(
        "order.submitted",
        ORDER,
        &[
            req("side", Kind::Choice(SIDES)),
            req("quantity", POS),
            req("order_type", Kind::Choice(ORDER_TYPES)),
            opt("price", POS),
            opt("stop_price", POS),
            opt("time_in_force", Kind::Choice(TIME_IN_FORCE)),
            opt("idempotency_key", ID),
        ],
        &[Rule::PricesForOrderType],
    ),
    spec(
        "order.accepted",
        ORDER,
        &[opt("venue_order_id", ID), opt("reason", TEXT)],
        NO_RULES,
    ),
    spec(
        "order.modified",
        ORDER,
        &[
            opt("quantity", POS),
            opt("price", POS),
            opt("stop_price", POS),
        ],
        &[Rule::AnyOf(&["quantity", "price", "stop_price"])],
    ),
    spec(
        "order.filled",
        ORDER,
        &[
            req("fill_qty", POS),
            req("fill_price", POS),
            req("trade_id", ID),
            opt("cum_qty", NON_NEG),
            opt("leaves_qty", NON_NEG),
            opt("commission", DEC),
            opt("liquidity", Kind::Choice(LIQUIDITY)),
            opt("slippage_bps", DEC),
            opt("currency", TEXT),
        ],
        NO_RULES,
    ),
    spec(
        "order.rejected",
        ORDER,
        &[
            req("reason", TEXT),
            opt("error_code", TEXT),
            opt("rejection_source", TEXT),
        ],
        NO_RULES,
    ),
    spec("order.cancelled", ORDER, OPTIONAL_REASON, NO_RULES),
    spec("order.expired", ORDER, OPTIONAL_REASON, NO_RULES),
    spec("order.recovered", ORDER, OPTIONAL_REASON, NO_RULES),
    spec(
        "order.duplicate_prevented",
        ORDER,
        OPTIONAL_REASON,
        NO_RULES,
    ),
    // positions, accounts
    spec("position.opened", POSITION, POSITION_FIELDS, NO_RULES),
    spec("position.updated", POSITION, POSITION_FIELDS, NO_RULES),
    spec("position.closed", POSITION, POSITION_FIELDS, NO_RULES),
    spec("position.snapshot", POSITION, POSITION_FIELDS, NO_RULES),
    spec(
        "account.snapshot",
        &[Need::Account],
        &[
            req("currency", TEXT),
            opt("cash", DEC),
            opt("equity", DEC),
            opt("buying_power", DEC),
            opt("margin_used", DEC),
        ],
        NO_RULES,
    ),
    // changes
    spec("param.changed", NONE, CHANGE_FIELDS, NO_RULES),
    spec("config.changed", NONE, CHANGE_FIELDS, NO_RULES),
    spec(
        "trading.mode_changed",
        NONE,
        &[
            req("old_mode", TEXT),
            req("new_mode", TEXT),
            req("reason", TEXT),
        ],
        NO_RULES,
    ),
    // books
    spec(
        "correction.recorded",
        &[Need::CorrectionOf],
        REASON_ONLY,
        NO_RULES,
    ),
    // ingest: a message from a stream that could not be recorded (it went to the
    // dead-letter subject); written by `tradetrail ingest`, one per rejected message.
    spec(
        "ingest.rejected",
        NONE,
        &[
            req("stream", ID),
            req(
                "stream_seq",
                Kind::Decimal(Sign::NonNegative, Magnitude::Amount),
            ),
            req("subject", TEXT),
            req("reason", TEXT),
            req("body_sha256", ID),
            opt("dead_letter_subject", TEXT),
            opt("body", TEXT),
        ],
        NO_RULES,
    ),
    // import: history brought in from another audit store (`tradetrail import`).
    spec(
        "import.completed",
        NONE,
        &[
            req("source", TEXT),
            req("rows", Kind::Decimal(Sign::NonNegative, Magnitude::Amount)),
            req(
                "imported",
                Kind::Decimal(Sign::NonNegative, Magnitude::Amount),
            ),
            req(
                "duplicates",
                Kind::Decimal(Sign::NonNegative, Magnitude::Amount),
            ),
            opt("mapping_sha256", ID),
            opt(
                "first_seq",
                Kind::Decimal(Sign::NonNegative, Magnitude::Amount),
            ),
            opt(
                "last_seq",
                Kind::Decimal(Sign::NonNegative, Magnitude::Amount),
            ),
        ],
        NO_RULES,
    ),
    // log: operational logs beside the audit trail (levels as types, so that
    // `--level` is a type filter; the category is the entity's id).
    spec("log.debug", LOG, LOG_FIELDS, NO_RULES),
    spec("log.info", LOG, LOG_FIELDS, NO_RULES),
    spec("log.warning", LOG, LOG_FIELDS, NO_RULES),
    spec("log.error", LOG, LOG_FIELDS, NO_RULES),
    spec("log.critical", LOG, LOG_FIELDS, NO_RULES),
    spec(
        "log.metric",
        NONE,
        &[
            req("name", ID),
            req("value", DEC),
            opt("unit", TEXT),
            opt("tags", Kind::Collection),
            opt("category", ID),
        ],
        NO_RULES,
    ),
    spec(
        "log.dropped",
        NONE,
        &[
            req(
                "dropped",
                Kind::Decimal(Sign::NonNegative, Magnitude::Amount),
            ),
            req("reason", TEXT),
            opt("category", ID),
        ],
        NO_RULES,
    ),
];

const KNOWN_TYPES: [&str; TYPES.len()] = {
    let mut names = [""; TYPES.len()];
    let mut i = 0;
    while i < TYPES.len() {
        names[i] = TYPES[i].name;
        i += 1;
    }
    names
};

/// Families whose every subtype is accepted with only the envelope checked; `custom`
/// is the producers' own.
const OPEN_FAMILIES: &[&str] = &[
    "system",
    "connection",
    "user",
    "reconciliation",
    "review",
    "custom",
];
/// The journal's own family; producers may not use it.
pub(crate) const RESERVED_FAMILY: &str = "journal";

/// The types validated strictly, envelope and `data` (the design brief's §5 table).
/// Open families (`system.*`, ...) and `custom.*` are not listed: see [`open_families`].
pub fn known_types() -> &'static [&'static str] {
    &KNOWN_TYPES
}

/// The families (`system`, `connection`, `user`, `reconciliation`, `review`, `custom`)
/// whose every subtype is accepted with only the envelope checked.
pub fn open_families() -> &'static [&'static str] {
    OPEN_FAMILIES
}

/// Whether a producer may send an event of type `t`: a known type, or a well-formed
/// type in an open family or `custom.*`. `journal.*` types are the journal's own and
/// give `false`.
///
/// ```
/// use tradetrail_model::is_known_type;
/// assert!(is_known_type("order.filled"));
/// assert!(is_known_type("system.started"));
/// assert!(!is_known_type("order.filed"));
/// assert!(!is_known_type("journal.created"));
/// ```
pub fn is_known_type(t: &str) -> bool {
    matches!(classify(t), Class::Known(_) | Class::Open)
}

/// The known type named `t`: a binary search over the names, sorted once (this is on
/// every event's path; a scan of the table compared up to 40 names).
fn known_spec(t: &str) -> Option<&'static TypeSpec> {
    static SORTED: std::sync::OnceLock<Vec<&'static TypeSpec>> = std::sync::OnceLock::new();
    let sorted = SORTED.get_or_init(|| {
        let mut v: Vec<&'static TypeSpec> = TYPES.iter().collect();
        v.sort_by_key(|s| s.name);
        v
    });
    sorted
        .binary_search_by(|s| s.name.cmp(t))
        .ok()
        .and_then(|i| sorted.get(i).copied())
}

/// What a type string is.
#[derive(Debug)]
pub(crate) enum Class {
    Known(&'static TypeSpec),
    /// An open family's subtype or `custom.*`.
    Open,
    /// `journal.*`.
    Reserved,
    /// Well-formed but not accepted.
    Unknown,
    /// Not a dotted lowercase name.
    Malformed,
}

pub(crate) fn classify(t: &str) -> Class {
    if let Some(spec) = known_spec(t) {
        return Class::Known(spec);
    }
    if !is_well_formed(t) {
        return Class::Malformed;
    }
    let family = t.split('.').next().unwrap_or(t);
    if family == RESERVED_FAMILY {
        Class::Reserved
    } else if OPEN_FAMILIES.contains(&family) {
        Class::Open
    } else {
        Class::Unknown
    }
}

/// The longest type accepted.
pub(crate) const MAX_TYPE_LEN: usize = 128;

/// `[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+`, at most [`MAX_TYPE_LEN`] bytes.
pub(crate) fn is_well_formed(t: &str) -> bool {
    t.len() <= MAX_TYPE_LEN
        && t.contains('.')
        && t.split('.').all(|part| {
            let mut bytes = part.bytes();
            matches!(bytes.next(), Some(b'a'..=b'z'))
                && bytes.all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'_'))
        })
}

/// The accepted type nearest to `t`, if one is near enough to be a likely typo.
///
/// Candidates are the known types and, when `t`'s family is not one of the known
/// types' families but is close to an open family's name, `<family>.<subtype>` with
/// `t`'s subtype (so `sytem.started` suggests `system.started`, while `order.teleported`
/// suggests nothing rather than `user.teleported`).
pub(crate) fn suggest(t: &str) -> Option<String> {
    // A suggestion is well formed (at most MAX_TYPE_LEN characters) and at most 3 edits
    // away, so a longer `t` has none; the edit distance below is quadratic in the length
    // and would take minutes on a megabyte-long type (found by fuzzing).
    if t.chars().count() > MAX_TYPE_LEN + 3 {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    let (family, subtype) = lower.split_once('.').unwrap_or((&lower, ""));
    let known_family = KNOWN_TYPES
        .iter()
        .any(|k| k.split_once('.').is_some_and(|(f, _)| f == family));
    let open = OPEN_FAMILIES
        .iter()
        .filter(|f| {
            !known_family
                && !subtype.is_empty()
                && strsim::damerau_levenshtein(family, f) <= (f.len() / 3).max(1)
        })
        .map(|f| format!("{f}.{subtype}"));
    let (best, distance) = KNOWN_TYPES
        .iter()
        .map(|k| k.to_string())
        .chain(open)
        .map(|c| {
            let d = strsim::damerau_levenshtein(&lower, &c);
            (c, d)
        })
        .min_by_key(|(_, d)| *d)?;
    // Close enough: a few edits, and not most of the name.
    let near = distance <= 3 && distance * 3 <= best.len();
    (near && is_well_formed(&best)).then_some(best)
}

/// The known types of `t`'s family (`order.foo` lists the `order.*` types), if any.
pub(crate) fn family_members(t: &str) -> Vec<&'static str> {
    let Some((family, _)) = t.split_once('.') else {
        return Vec::new();
    };
    KNOWN_TYPES
        .iter()
        .copied()
        .filter(|k| k.split_once('.').is_some_and(|(f, _)| f == family))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_every_type_of_the_design_brief_once() {
        let brief = [
            "signal.generated",
            "signal.filtered",
            "recommendation.generated",
            "recommendation.suppressed",
            "risk.evaluated",
            "risk.rejected",
            "trading.kill_switch",
            "approval.requested",
            "approval.approved",
            "approval.rejected",
            "approval.expired",
            "order.submitted",
            "order.accepted",
            "order.modified",
            "order.filled",
            "order.rejected",
            "order.cancelled",
            "order.expired",
            "order.recovered",
            "order.duplicate_prevented",
            "position.opened",
            "position.updated",
            "position.closed",
            "position.snapshot",
            "account.snapshot",
            "param.changed",
            "config.changed",
            "trading.mode_changed",
            "correction.recorded",
            // Written by `tradetrail ingest` for a message sent to the dead-letter subject.
            "ingest.rejected",
            // Written by `tradetrail import` after bringing history in.
            "import.completed",
            // Operational logs (the Python LogHandler, the tracing layer).
            "log.debug",
            "log.info",
            "log.warning",
            "log.error",
            "log.critical",
            "log.metric",
            "log.dropped",
        ];
        let mut known = known_types().to_vec();
        known.sort_unstable();
        let mut expected = brief.to_vec();
        expected.sort_unstable();
        assert_eq!(known, expected);
        for t in known_types() {
            assert!(is_well_formed(t), "{t}");
            assert!(matches!(classify(t), Class::Known(s) if s.name == *t));
        }
    }

    #[test]
    fn field_names_are_unique_within_a_type() {
        for spec in TYPES {
            for (i, f) in spec.fields.iter().enumerate() {
                assert!(
                    spec.fields[i + 1..].iter().all(|g| g.name != f.name),
                    "{}: {} twice",
                    spec.name,
                    f.name
                );
            }
        }
    }

    #[test]
    fn well_formed_names() {
        for ok in ["order.filled", "a.b", "system.disk_full", "x1.y_2.z3"] {
            assert!(is_well_formed(ok), "{ok}");
        }
        for bad in [
            "order",
            "Order.filled",
            "order.",
            ".order",
            "order..filled",
            "order.1x",
            "1x.order",
            "order.fill-ed",
            "order filled",
            "",
            "order.filled ",
        ] {
            assert!(!is_well_formed(bad), "{bad}");
        }
        assert!(!is_well_formed(&format!("a.{}", "b".repeat(MAX_TYPE_LEN))));
    }

    #[test]
    fn classes() {
        assert!(matches!(classify("system.started"), Class::Open));
        assert!(matches!(classify("review.opened"), Class::Open));
        assert!(matches!(classify("custom.my_thing.v2"), Class::Open));
        assert!(matches!(classify("journal.created"), Class::Reserved));
        assert!(matches!(classify("order.filed"), Class::Unknown));
        assert!(matches!(classify("correction.other"), Class::Unknown));
        assert!(matches!(classify("ORDER.FILLED"), Class::Malformed));
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("order.filed").as_deref(), Some("order.filled"));
        assert_eq!(suggest("order.fill").as_deref(), Some("order.filled"));
        assert_eq!(
            suggest("order.canceled").as_deref(),
            Some("order.cancelled")
        );
        assert_eq!(suggest("ORDER.FILLED").as_deref(), Some("order.filled"));
        assert_eq!(suggest("sytem.started").as_deref(), Some("system.started"));
        assert_eq!(suggest("custm.thing").as_deref(), Some("custom.thing"));
        assert_eq!(suggest("weather.report"), None);
        assert_eq!(suggest("order.teleported"), None);
        assert_eq!(suggest("usr.login").as_deref(), Some("user.login"));
        assert_eq!(
            family_members("order.foo").len(),
            9,
            "every order.* type is listed"
        );
        assert!(family_members("weather.x").is_empty());
    }
}
