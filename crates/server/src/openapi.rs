//! The OpenAPI 3 document of the routes this server answers, written by hand.
//! `tests/api.rs` checks that it lists every route the router serves.

use serde_json::{json, Value};

fn error_ref(desc: &str) -> Value {
    json!({
        "description": desc,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn ok_json(desc: &str, schema: Value) -> Value {
    json!({"description": desc, "content": {"application/json": {"schema": schema}}})
}

fn errors(codes: &[&str]) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    for c in codes {
        let desc = match *c {
            "400" => "Bad input (invalid events list every bad line; nothing was written)",
            "401" => "No bearer token, or an unknown one",
            "403" => "The token's role may not do this",
            "404" => "No such record or checkpoint",
            "409" => "An event reuses an event_id already recorded (or on an earlier line) with another body; nothing was written (code event_id_conflict, with line, event_id and seq)",
            "413" => "Request body over the size limit",
            "503" => "The journal is not writable (poisoned, disk full) or the request timed out",
            _ => "Error",
        };
        m.insert((*c).to_string(), error_ref(desc));
    }
    m
}

fn responses(ok: Value, codes: &[&str]) -> Value {
    let mut m = errors(codes);
    m.insert("200".into(), ok);
    Value::Object(m)
}

fn string_param(name: &str, required: bool, desc: &str) -> Value {
    json!({"name": name, "in": "query", "required": required, "description": desc,
           "schema": {"type": "string"}})
}

fn filter_params() -> Vec<Value> {
    vec![
        string_param(
            "type",
            false,
            "event type pattern(s), comma-separated, e.g. order.*",
        ),
        string_param("from", false, "start: RFC 3339, a date, or ns since epoch"),
        string_param("to", false, "end: RFC 3339, a date, or ns since epoch"),
        string_param(
            "recorded",
            false,
            "true: from/to apply to ts_recorded instead of ts_event",
        ),
        string_param("source", false, "source pattern(s)"),
        string_param("actor", false, "actor pattern(s)"),
        string_param(
            "trader",
            false,
            "trader id(s); a trader token may name only its own",
        ),
        string_param("strategy", false, "strategy id(s)"),
        string_param("account", false, "account id(s)"),
        string_param("instrument", false, "instrument id(s)"),
        string_param("kind", false, "entity kind(s)"),
        string_param("entity", false, "entity id"),
        string_param(
            "mentions",
            false,
            "records that name this id anywhere (entity or refs)",
        ),
        string_param(
            "text",
            false,
            "free text: records whose data (its JSON text) contains it, ignoring ASCII case",
        ),
        string_param(
            "level",
            false,
            "operational log lines at or above this level (debug, info, warning, error, critical); not with type",
        ),
        string_param(
            "category",
            false,
            "operational log lines of this category (their entity, kind log)",
        ),
    ]
}

fn query_param(name: &str, required: bool, desc: &str) -> Value {
    json!({"name": name, "in": "query", "required": required, "description": desc,
           "schema": {"type": "integer", "format": "int64", "minimum": 0}})
}

/// The document served at `/v1/openapi.json`.
pub fn document() -> Value {
    let secured = json!([{"bearer": []}]);
    let limit = || {
        query_param(
            "limit",
            false,
            "at most this many records: 1 to 10000 (default 1000); more is 400",
        )
    };
    let after = || {
        query_param(
            "after",
            false,
            "only records with a greater seq: the cursor of the next page (summary.next.after)",
        )
    };
    let before = || {
        query_param(
            "before",
            false,
            "only records with a smaller seq: the cursor of the next newest-first page (summary.next.before)",
        )
    };
    let mut events_params = filter_params();
    events_params.push(limit());
    events_params.push(string_param("reverse", false, "true: newest first"));
    events_params.push(after());
    events_params.push(before());
    let mut stream_params = filter_params();
    stream_params.push(string_param(
        "limit",
        false,
        "only the last N of the matches already there (the new ones all come)",
    ));
    stream_params.push(string_param(
        "after",
        false,
        "only records with a greater seq: resume after the last seq read",
    ));
    let mut incident_params = vec![
        string_param(
            "at",
            true,
            "the instant: RFC 3339, a date, or ns since epoch",
        ),
        string_param("window", false, "half-width, e.g. 5m (default), 30s, 1h"),
    ];
    incident_params.extend(filter_params());
    incident_params.push(limit());
    incident_params.push(after());
    let mut stats_params = vec![string_param(
        "by",
        false,
        "type (default), source, actor, trader, strategy, account, instrument or kind",
    )];
    stats_params.extend(filter_params());
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "tradetrail",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The flight recorder of a trading system: an append-only, hash-chained audit journal. Bearer tokens carry roles: writer (append only), trader (its own trader's records), compliance (all), admin (all, plus checkpoints and reconciliation runs)."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {
                        "type": "object",
                        "required": ["status", "code", "message"],
                        "properties": {
                            "status": {"type": "integer"},
                            "code": {"type": "string"},
                            "message": {"type": "string"},
                            "line": {"type": "integer", "description": "event_id_conflict: the refused line"},
                            "event_id": {"type": "string", "description": "event_id_conflict: the reused event_id"},
                            "seq": {"type": "integer", "description": "event_id_conflict: the record holding the first body"},
                            "lines": {"type": "array", "items": {
                                "type": "object",
                                "properties": {
                                    "line": {"type": "integer"},
                                    "errors": {"type": "array", "items": {"type": "object", "properties": {
                                        "field": {"type": "string"}, "reason": {"type": "string"}}}}
                                }
                            }}
                        }
                    }}
                },
                "Receipt": {
                    "type": "object",
                    "required": ["seq", "hash"],
                    "properties": {
                        "seq": {"type": "integer", "format": "int64"},
                        "hash": {"type": "string", "description": "SHA-256 of the record's line, hex"},
                        "duplicate": {"type": "boolean", "description": "present and true when the event_id was already recorded; nothing new was written"}
                    }
                },
                "InclusionProof": {
                    "type": "object",
                    "properties": {
                        "seq": {"type": "integer"}, "size": {"type": "integer"},
                        "leaf_hash": {"type": "string"}, "root": {"type": "string"},
                        "proof": {"type": "array", "items": {"type": "string"}},
                        "record": {"type": "string", "description": "the record's journal line (hash it as the leaf)"}
                    }
                },
                "ConsistencyProof": {
                    "type": "object",
                    "properties": {
                        "old": {"type": "integer"}, "new": {"type": "integer"},
                        "old_root": {"type": "string"}, "new_root": {"type": "string"},
                        "proof": {"type": "array", "items": {"type": "string"}}
                    }
                },
                "Checkpoint": {
                    "type": "object",
                    "properties": {
                        "size": {"type": "integer"},
                        "note": {"type": "string", "description": "the signed note, byte for byte"},
                        "verifier_key": {"type": "string", "description": "C2SP vkey"}
                    }
                }
            }
        },
        "paths": {
            "/v1/events": {"post": {
                "summary": "Append one event, or a JSON Lines batch (role: writer)",
                "description": "The batch is validated whole: one bad line and nothing is written. Answered when every event is acknowledged under the durability policy. Events with an event_id already recorded with the same body are answered with the original receipt and duplicate: true; with another body the request is refused whole with 409 event_id_conflict naming the seq that holds the first body.",
                "security": secured,
                "requestBody": {"required": true, "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "application/x-ndjson": {"schema": {"type": "string"}}
                }},
                "responses": responses(ok_json("One receipt per event, in order", json!({
                    "type": "object",
                    "properties": {"receipts": {"type": "array", "items": {"$ref": "#/components/schemas/Receipt"}}}
                })), &["400", "401", "403", "409", "413", "503"])
            },
            "get": {
                "summary": "Records that match a filter, as stored (roles: compliance, admin; trader: its own records only)",
                "security": secured,
                "parameters": events_params,
                "responses": responses(ok_json("One page of the records and a summary", json!({"type": "object", "properties": {
                    "records": {"type": "array", "items": {"type": "object"}},
                    "summary": {"type": "object", "properties": {
                        "returned": {"type": "integer"},
                        "notes": {"type": "array", "items": {"type": "string"}},
                        "truncated": {"type": "boolean", "description": "the page stopped at its limit and more records match"},
                        "next": {"type": "object", "nullable": true, "description": "when truncated: {\"after\":SEQ} (or {\"before\":SEQ} newest first), the cursor of the next page",
                                 "properties": {"after": {"type": "integer"}, "before": {"type": "integer"}}}
                    }},
                    "next_url": {"type": "string", "nullable": true, "description": "when truncated: this request with the next page's cursor"}}})), &["400", "401", "403"])
            }},
            "/v1/events/stream": {"get": {
                "summary": "A live view: the records that match, then each new one as it is recorded, as newline-delimited JSON (roles: compliance, admin; trader: its own records only)",
                "description": "A chunked application/x-ndjson body of journal lines, as stored: first the matches already there after `after` (with `limit`, the last `limit` of them), then every new match in seq order, exactly once, polled about every 200 ms, until the client disconnects. `before` and `reverse` are 400.",
                "security": secured,
                "parameters": stream_params,
                "responses": responses(json!({"description": "The records, one per line, as they come", "content": {
                    "application/x-ndjson": {"schema": {"type": "string"}}
                }}), &["400", "401", "403"])
            }},
            "/v1/trail/{id}": {"get": {
                "summary": "The decision chain around an id, with its gaps (roles: compliance, admin; trader: its own records of it)",
                "security": secured,
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": responses(ok_json("The trail", json!({"type": "object"})), &["400", "401", "403"])
            }},
            "/v1/incident": {"get": {
                "summary": "Every record within a window around an instant, grouped by source and type (roles: compliance, admin; trader: its own)",
                "security": secured,
                "parameters": incident_params,
                "responses": responses(ok_json("The incident", json!({"type": "object"})), &["400", "401", "403"])
            }},
            "/v1/stats": {"get": {
                "summary": "Counts by one dimension (roles: compliance, admin; trader: its own)",
                "security": secured,
                "parameters": stats_params,
                "responses": responses(ok_json("The counts", json!({"type": "object"})), &["400", "401", "403"])
            }},
            "/v1/reports/{kind}": {"get": {
                "summary": "A report: daily, monthly, tax, execution, compliance or reconciliation, as `tradetrail report KIND` makes it (roles: compliance, admin; trader: its own records)",
                "security": secured,
                "parameters": [
                    {"name": "kind", "in": "path", "required": true,
                     "schema": {"type": "string", "enum": ["daily", "monthly", "tax", "execution", "compliance", "reconciliation"]}},
                    string_param("date", false, "one UTC day, YYYY-MM-DD"),
                    string_param("month", false, "one month, YYYY-MM"),
                    string_param("year", false, "one year, YYYY"),
                    string_param("from", false, "start (inclusive): RFC 3339, a date, or ns since epoch"),
                    string_param("to", false, "end (exclusive): RFC 3339, a date, or ns since epoch"),
                    string_param("trader", false, "one trader id; a trader token may name only its own"),
                    string_param("strategy", false, "one strategy id"),
                    string_param("account", false, "one account id"),
                    {"name": "format", "in": "query", "required": false, "description": "json (default), csv, html (a self-contained page with charts) or table (text)",
                     "schema": {"type": "string", "enum": ["json", "csv", "html", "table"]}},
                    string_param("section", false, "with format=csv: one table by name, as plain CSV"),
                ],
                "responses": responses(json!({"description": "The report", "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "text/csv": {"schema": {"type": "string"}},
                    "text/html": {"schema": {"type": "string"}},
                    "text/plain": {"schema": {"type": "string"}}
                }}), &["400", "401", "403"])
            }},
            "/v1/verify": {"get": {
                "summary": "Re-read every record, check the chain and the latest checkpoint (roles: compliance, admin)",
                "security": secured,
                "responses": responses(ok_json("The verification report; ok is false when anything was changed", json!({"type": "object"})), &["401", "403", "503"])
            }},
            "/v1/reconcile": {"post": {
                "summary": "Reconcile every broker statement waiting in the inbox now, as the schedule would (role: admin)",
                "description": "Each statement file of the inbox ([reconciliation.schedule] inbox, default DIR/statements/inbox; .xml IBKR Flex, .csv, .json), oldest first, is reconciled against the books through the same library call as `tradetrail reconcile` and moved to ../processed/; one already reconciled (its SHA-256 in a reconciliation.completed record) is skipped and moved too; one that cannot be read moves to ../rejected/ with NAME.error.txt. A pass already running is waited for.",
                "security": secured,
                "responses": responses(ok_json("What became of each statement", json!({
                    "type": "object",
                    "required": ["trigger", "inbox", "statements"],
                    "properties": {
                        "trigger": {"type": "string", "description": "manual"},
                        "inbox": {"type": "string"},
                        "statements": {"type": "array", "items": {"type": "object",
                            "required": ["file", "result", "sha256"],
                            "properties": {
                                "file": {"type": "string"},
                                "result": {"type": "string", "enum": ["ok", "skipped", "rejected", "failed"]},
                                "sha256": {"type": "string"},
                                "moved_to": {"type": "string"},
                                "reason": {"type": "string", "description": "why it was rejected, skipped or failed"},
                                "run_id": {"type": "string", "description": "RC-…: of this run, or of the earlier run for skipped"},
                                "completed_seq": {"type": "integer", "description": "seq of reconciliation.completed"},
                                "counts": {"type": "object", "description": "format, broker_trades, our_trades, discrepancies, minor, major, corrections, reviews_requested, already_reviewed"}
                            }}}
                    }
                })), &["401", "403"])
            }},
            "/v1/checkpoint": {
                "get": {
                    "summary": "The latest saved signed checkpoint (roles: trader, compliance, admin)",
                    "security": secured,
                    "responses": responses(ok_json("The note and its verifier key", json!({"$ref": "#/components/schemas/Checkpoint"})), &["401", "403", "404"])
                },
                "post": {
                    "summary": "Sign the current tree head now (role: admin)",
                    "security": secured,
                    "responses": responses(ok_json("The checkpoint taken", json!({"$ref": "#/components/schemas/Checkpoint"})), &["401", "403", "503"])
                }
            },
            "/v1/proof/inclusion": {"get": {
                "summary": "Proof that record seq is in the tree of size records (roles: compliance, admin; trader for its own records)",
                "security": secured,
                "parameters": [
                    query_param("seq", true, "the record's seq"),
                    query_param("size", false, "tree size (default: every record written)")
                ],
                "responses": responses(ok_json("The proof and the record", json!({"$ref": "#/components/schemas/InclusionProof"})), &["400", "401", "403", "404"])
            }},
            "/v1/proof/consistency": {"get": {
                "summary": "Proof that the tree of old records is a prefix of the tree of new records (roles: compliance, admin)",
                "security": secured,
                "parameters": [
                    query_param("old", true, "the older tree size"),
                    query_param("new", false, "the newer tree size (default: every record written)")
                ],
                "responses": responses(ok_json("The proof", json!({"$ref": "#/components/schemas/ConsistencyProof"})), &["400", "401", "403"])
            }},
            "/v1/tokens": {
                "get": {
                    "summary": "Every token's name, role and trader; never a secret (role: admin)",
                    "security": secured,
                    "responses": responses(ok_json("The tokens", json!({"type": "object"})), &["401", "403"])
                },
                "post": {
                    "summary": "Create a token; the answer is the only time it is shown (role: admin)",
                    "security": secured,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["role", "name"],
                        "properties": {
                            "role": {"type": "string", "enum": ["writer", "trader", "compliance", "admin"]},
                            "trader_id": {"type": "string", "description": "required for, and only for, role trader: the exact trader_id, matched literally (1 to 128 characters, none of * ? [ ] ,)", "pattern": "^[^*?\\[\\],]+$", "minLength": 1, "maxLength": 128},
                            "name": {"type": "string"}
                        }
                    }}}},
                    "responses": {
                        "201": ok_json("The token, shown once", json!({"type": "object", "properties": {
                            "name": {"type": "string"}, "role": {"type": "string"}, "token": {"type": "string"}}})),
                        "400": error_ref("Bad role, name or trader (a trader_id with a pattern character)"),
                        "401": error_ref("No bearer token, or an unknown one"),
                        "403": error_ref("The token's role may not do this"),
                        "409": error_ref("A token with this name exists"),
                        "413": error_ref("Request body over the size limit")
                    }
                }
            },
            "/healthz": {"get": {
                "summary": "200 when the journal takes writes; 503 with the reason when it is poisoned or the disk is full (no token)",
                "responses": responses(ok_json("Healthy", json!({"type": "object"})), &["503"])
            }},
            "/metrics": {"get": {
                "summary": "Prometheus text exposition (no token)",
                "responses": {"200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}
            }},
            "/v1/openapi.json": {"get": {
                "summary": "This document (no token)",
                "responses": {"200": ok_json("OpenAPI 3 document", json!({"type": "object"}))}
            }},
            "/v1/schema": {"get": {
                "summary": "The JSON Schema (draft 2020-12) of the events POST /v1/events accepts, generated from the validator's type table, as tradetrail schema --json-schema (no token)",
                "responses": {"200": ok_json("JSON Schema document", json!({"type": "object"}))}
            }}
        }
    })
}
