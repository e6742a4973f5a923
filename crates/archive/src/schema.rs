//! The columns of an archive file (docs/archive.md lists them with their meaning).

use std::sync::{Arc, OnceLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Column names, in file order.
pub mod col {
    /// `seq`, UInt64.
    pub const SEQ: &str = "seq";
    /// `ts_recorded`, Timestamp(ns, UTC).
    pub const TS_RECORDED: &str = "ts_recorded";
    /// `prev`, the hex hash of the record before.
    pub const PREV: &str = "prev";
    /// `type`.
    pub const TYPE: &str = "type";
    /// `ts_event`, Timestamp(ns, UTC).
    pub const TS_EVENT: &str = "ts_event";
    /// `source`.
    pub const SOURCE: &str = "source";
    /// `actor`.
    pub const ACTOR: &str = "actor";
    /// `event_id`.
    pub const EVENT_ID: &str = "event_id";
    /// `trader_id`.
    pub const TRADER_ID: &str = "trader_id";
    /// `strategy_id`.
    pub const STRATEGY_ID: &str = "strategy_id";
    /// `account_id`.
    pub const ACCOUNT_ID: &str = "account_id";
    /// `instrument_id`.
    pub const INSTRUMENT_ID: &str = "instrument_id";
    /// `entity.kind`.
    pub const ENTITY_KIND: &str = "entity_kind";
    /// `entity.id`.
    pub const ENTITY_ID: &str = "entity_id";
    /// `refs` as JSON text.
    pub const REFS: &str = "refs";
    /// `data` as JSON text.
    pub const DATA: &str = "data";
    /// The original line bytes (UTF-8, without `\n`).
    pub const LINE: &str = "line";
}

/// String columns with few distinct values: dictionary-encoded in the file.
pub const DICTIONARY_COLUMNS: &[&str] = &[
    col::TYPE,
    col::SOURCE,
    col::ACTOR,
    col::TRADER_ID,
    col::STRATEGY_ID,
    col::ACCOUNT_ID,
    col::INSTRUMENT_ID,
    col::ENTITY_KIND,
];

/// The timestamp type of `ts_recorded` and `ts_event`.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// The schema of every archive file.
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let s = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
            Arc::new(Schema::new(vec![
                Field::new(col::SEQ, DataType::UInt64, false),
                Field::new(col::TS_RECORDED, timestamp_type(), false),
                s(col::PREV, false),
                s(col::TYPE, false),
                Field::new(col::TS_EVENT, timestamp_type(), true),
                s(col::SOURCE, true),
                s(col::ACTOR, true),
                s(col::EVENT_ID, true),
                s(col::TRADER_ID, true),
                s(col::STRATEGY_ID, true),
                s(col::ACCOUNT_ID, true),
                s(col::INSTRUMENT_ID, true),
                s(col::ENTITY_KIND, true),
                s(col::ENTITY_ID, true),
                s(col::REFS, true),
                s(col::DATA, true),
                s(col::LINE, false),
            ]))
        })
        .clone()
}
