//! `pg init`: the schema, its roles and its guards, applied idempotently.

use postgres::Client;

use crate::{connect, db, redact, Error, Result};

/// The schema version this crate writes and reads.
pub const SCHEMA_VERSION: i32 = 3;

/// Serialises concurrent `pg init`s (a transaction-level advisory lock).
const INIT_LOCK: i64 = 0x7472_6164_6574_7201;

/// The roles the schema hands out. Names are plain lowercase identifiers, fixed at
/// the first `init` (the owner is checked on every later one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles {
    /// Owns the schema and its tables; NOLOGIN, granted to nobody.
    pub owner: String,
    /// The mirror's writer: INSERT and SELECT on `tradetrail.events`, nothing else.
    pub writer: String,
    /// Reads every row.
    pub compliance: String,
    /// Reads the rows of the traders `tradetrail.trader_roles` maps a role to.
    pub trader: String,
}

impl Default for Roles {
    fn default() -> Roles {
        Roles {
            owner: "tradetrail_owner".into(),
            writer: "tradetrail_writer".into(),
            compliance: "tradetrail_compliance".into(),
            trader: "tradetrail_trader".into(),
        }
    }
}

impl Roles {
    /// Each role with what it is, names checked.
    fn checked(&self) -> Result<[(&'static str, &str); 4]> {
        let all = [
            ("owner", self.owner.as_str()),
            ("writer", self.writer.as_str()),
            ("compliance", self.compliance.as_str()),
            ("trader", self.trader.as_str()),
        ];
        for (what, name) in all {
            let ok = !name.is_empty()
                && name.len() <= 63
                && name
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok || name.starts_with("pg_") {
                return Err(Error::RoleName {
                    what,
                    name: name.to_string(),
                });
            }
        }
        for (i, (what, name)) in all.iter().enumerate() {
            if let Some((other, _)) = all[..i].iter().find(|(_, n)| n == name) {
                return Err(Error::RoleName {
                    what,
                    name: format!("{name} (already the {other} role)"),
                });
            }
        }
        Ok(all)
    }
}

/// What `init` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InitReport {
    /// The URL, password removed.
    pub url: String,
    /// Roles created now (the others existed).
    pub created_roles: Vec<String>,
    /// Migrations applied now (empty when the schema was up to date).
    pub applied: Vec<i32>,
    /// The schema version now.
    pub version: i32,
}

/// The migrations, in order: `(version, description, SQL)`. The SQL runs as the owner
/// role, with `{owner}`, `{writer}`, `{compliance}` and `{trader}` replaced by the
/// (checked) role names.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "events, trader_roles, guards", V1),
    (
        2,
        "views: execution_logs, audit_trail, reconciliation_results, daily_summaries, checkpoints",
        V2,
    ),
    (
        3,
        "following retention purges: follow_purge, followed_purges",
        V3,
    ),
];

/// Following a retention purge (`pg sync --follow-purges`): the rows of a run the
/// journal purged are deleted by `tradetrail.follow_purge`, a function that runs as
/// the owner and deletes only a run that a mirrored `journal.retention_purged` record
/// names, and records the deletion in `tradetrail.followed_purges`. The append-only
/// trigger lets that one DELETE through (the owner, inside the function); every other
/// UPDATE, DELETE and TRUNCATE is refused as before.
const V3: &str = r#"
CREATE TABLE tradetrail.followed_purges (
    purge_seq    bigint NOT NULL,
    first_seq    bigint NOT NULL,
    last_seq     bigint NOT NULL,
    rows_deleted bigint NOT NULL,
    followed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (purge_seq, first_seq)
);
REVOKE ALL ON tradetrail.followed_purges FROM PUBLIC;
GRANT SELECT ON tradetrail.followed_purges TO {writer}, {compliance};

CREATE OR REPLACE FUNCTION tradetrail.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'DELETE' AND current_user = '{owner_name}'
       AND current_setting('tradetrail.following_purge', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'tradetrail.events is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$fn$;

CREATE POLICY owner_read ON tradetrail.events FOR SELECT TO {owner} USING (true);
CREATE POLICY owner_follow_purge ON tradetrail.events FOR DELETE TO {owner}
    USING (current_setting('tradetrail.following_purge', true) = 'on');

CREATE FUNCTION tradetrail.follow_purge(p_purge_seq bigint, p_first bigint, p_last bigint)
    RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    n bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM tradetrail.followed_purges
               WHERE purge_seq = p_purge_seq AND first_seq = p_first) THEN
        RETURN 0;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM tradetrail.events e,
            jsonb_array_elements(e.data -> 'ranges') r
        WHERE e.seq = p_purge_seq AND e."type" = 'journal.retention_purged'
          AND (r ->> 'first_seq')::bigint = p_first AND (r ->> 'last_seq')::bigint = p_last
    ) THEN
        RAISE EXCEPTION 'no mirrored journal.retention_purged record at seq % names seqs %..%',
            p_purge_seq, p_first, p_last USING ERRCODE = 'insufficient_privilege';
    END IF;
    PERFORM set_config('tradetrail.following_purge', 'on', true);
    DELETE FROM tradetrail.events WHERE seq BETWEEN p_first AND p_last;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('tradetrail.following_purge', 'off', true);
    INSERT INTO tradetrail.followed_purges (purge_seq, first_seq, last_seq, rows_deleted)
        VALUES (p_purge_seq, p_first, p_last, n);
    RETURN n;
END
$fn$;
REVOKE ALL ON FUNCTION tradetrail.follow_purge(bigint, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tradetrail.follow_purge(bigint, bigint, bigint) TO {writer};
"#;

const V1: &str = r#"
CREATE TABLE tradetrail.events (
    seq            bigint PRIMARY KEY CHECK (seq >= 0),
    ts_event       timestamptz,
    ts_event_ns    bigint,
    ts_recorded    timestamptz NOT NULL,
    ts_recorded_ns bigint NOT NULL,
    "type"         text NOT NULL,
    source         text,
    actor          text,
    event_id       text,
    trader_id      text,
    account_id     text,
    strategy_id    text,
    instrument_id  text,
    entity_kind    text,
    entity_id      text,
    refs           jsonb,
    data           jsonb,
    line           text NOT NULL,
    hash           text NOT NULL,
    prev           text NOT NULL
);
COMMENT ON TABLE tradetrail.events IS
    'A mirror of a tradetrail journal, one row per record; `line` is the record byte for byte, `hash` its SHA-256. The journal is the source of truth: check with `tradetrail pg verify`.';
CREATE INDEX events_ts_event ON tradetrail.events (ts_event);
CREATE INDEX events_ts_recorded ON tradetrail.events (ts_recorded);
CREATE INDEX events_type ON tradetrail.events ("type");
CREATE INDEX events_trader_ts_event ON tradetrail.events (trader_id, ts_event);
CREATE INDEX events_entity ON tradetrail.events (entity_kind, entity_id);

CREATE TABLE tradetrail.trader_roles (
    role_name text NOT NULL,
    trader_id text NOT NULL,
    PRIMARY KEY (role_name, trader_id)
);
COMMENT ON TABLE tradetrail.trader_roles IS
    'Which trader_id rows of tradetrail.events each role (or its members) may read.';

CREATE FUNCTION tradetrail.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'tradetrail.events is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON tradetrail.events
    FOR EACH STATEMENT EXECUTE FUNCTION tradetrail.refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON tradetrail.events
    FOR EACH STATEMENT EXECUTE FUNCTION tradetrail.refuse_change();
-- ALWAYS: they fire under session_replication_role = replica too.
ALTER TABLE tradetrail.events ENABLE ALWAYS TRIGGER events_append_only;
ALTER TABLE tradetrail.events ENABLE ALWAYS TRIGGER events_no_truncate;

REVOKE ALL ON tradetrail.events, tradetrail.trader_roles, tradetrail.migrations FROM PUBLIC;
REVOKE ALL ON FUNCTION tradetrail.refuse_change() FROM PUBLIC;
GRANT USAGE ON SCHEMA tradetrail TO {writer}, {compliance}, {trader};
GRANT SELECT, INSERT ON tradetrail.events TO {writer};
GRANT SELECT ON tradetrail.events TO {compliance}, {trader};
GRANT SELECT ON tradetrail.trader_roles TO {compliance}, {trader};
GRANT SELECT ON tradetrail.migrations TO {writer}, {compliance}, {trader};

-- FORCE: the policies bind the table's owner too.
ALTER TABLE tradetrail.events ENABLE ROW LEVEL SECURITY;
ALTER TABLE tradetrail.events FORCE ROW LEVEL SECURITY;
CREATE POLICY writer_insert ON tradetrail.events FOR INSERT TO {writer} WITH CHECK (true);
CREATE POLICY writer_read ON tradetrail.events FOR SELECT TO {writer} USING (true);
CREATE POLICY compliance_read ON tradetrail.events FOR SELECT TO {compliance} USING (true);
-- A trader role reads the rows of the traders mapped to it, or to a role it is a
-- member of: from the mapping table, never from a setting the client could change.
CREATE POLICY trader_read ON tradetrail.events FOR SELECT TO {trader} USING (
    trader_id IN (
        SELECT m.trader_id
        FROM tradetrail.trader_roles m
        JOIN pg_catalog.pg_roles r ON r.rolname = m.role_name
        WHERE pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')
    )
);

ALTER TABLE tradetrail.trader_roles ENABLE ROW LEVEL SECURITY;
CREATE POLICY compliance_read ON tradetrail.trader_roles FOR SELECT TO {compliance} USING (true);
CREATE POLICY trader_read ON tradetrail.trader_roles FOR SELECT TO {trader} USING (
    role_name IN (
        SELECT r.rolname FROM pg_catalog.pg_roles r
        WHERE pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')
    )
);
"#;

/// Views in the vocabulary trading teams already use. `security_invoker` (PostgreSQL
/// 15): a view reads `tradetrail.events` as the role that queries it, so the row-level
/// policies hold through every view (a trader sees its own rows, everywhere).
/// Producer fields that the model does not check (`retry_attempt`) go through
/// `tradetrail.int_or_null`, so one odd value cannot make a view fail.
const V2: &str = r#"
CREATE INDEX events_refs_order ON tradetrail.events ((refs->>'order_id'));

CREATE FUNCTION tradetrail.int_or_null(v text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $fn$ SELECT CASE WHEN v ~ '^\s*-?[0-9]{1,9}\s*$' THEN v::integer END $fn$;
CREATE FUNCTION tradetrail.num_or_null(v text) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $fn$ SELECT CASE WHEN v ~ '^\s*-?[0-9]{1,30}(\.[0-9]{1,30})?\s*$' THEN v::numeric END $fn$;

CREATE VIEW tradetrail.execution_logs WITH (security_invoker = true) AS
SELECT seq, ts_event, ts_recorded,
    coalesce(CASE WHEN entity_kind = 'order' THEN entity_id END, refs->>'order_id') AS order_id,
    trader_id, account_id, strategy_id, instrument_id,
    "type" AS event_type,
    split_part("type", '.', 2) AS action,
    CASE "type"
        WHEN 'order.submitted' THEN 'submitted'
        WHEN 'order.accepted' THEN 'accepted'
        WHEN 'order.modified' THEN 'modified'
        WHEN 'order.filled' THEN
            CASE WHEN tradetrail.num_or_null(data->>'leaves_qty') > 0
                 THEN 'partially_filled' ELSE 'filled' END
        WHEN 'order.rejected' THEN 'rejected'
        WHEN 'order.cancelled' THEN 'cancelled'
        WHEN 'order.expired' THEN 'expired'
        WHEN 'approval.requested' THEN 'pending_approval'
        WHEN 'approval.approved' THEN 'approved'
        WHEN 'approval.rejected' THEN 'rejected'
        WHEN 'approval.expired' THEN 'expired'
        ELSE split_part("type", '.', 2)
    END AS status,
    lower(data->>'side') AS side,
    lower(data->>'order_type') AS order_type,
    tradetrail.num_or_null(data->>'quantity') AS quantity,
    tradetrail.num_or_null(data->>'price') AS price,
    tradetrail.num_or_null(data->>'fill_qty') AS fill_qty,
    tradetrail.num_or_null(data->>'fill_price') AS fill_price,
    tradetrail.num_or_null(data->>'commission') AS commission,
    data->>'trade_id' AS trade_id,
    data->>'venue_order_id' AS venue_order_id,
    data->>'reason' AS reason,
    data->>'error_code' AS error_code,
    tradetrail.int_or_null(data->>'retry_attempt') AS retry_attempt,
    source, actor, event_id, hash
FROM tradetrail.events
WHERE "type" LIKE 'order.%' OR "type" LIKE 'approval.%';

CREATE VIEW tradetrail.audit_trail WITH (security_invoker = true) AS
SELECT seq, ts_event, ts_recorded, "type", split_part("type", '.', 1) AS family,
    source, actor, trader_id, account_id, strategy_id, instrument_id,
    entity_kind, entity_id, data->>'reason' AS reason, refs, data, event_id, hash, prev
FROM tradetrail.events;

CREATE VIEW tradetrail.reconciliation_results WITH (security_invoker = true) AS
SELECT seq, ts_event, ts_recorded,
    data->>'statement' AS statement,
    data->>'statement_sha256' AS statement_sha256,
    data->>'format' AS format,
    data->>'from' AS period_from,
    data->>'to' AS period_to,
    tradetrail.int_or_null(data->>'broker_trades') AS broker_trades,
    tradetrail.int_or_null(data->>'our_trades') AS our_trades,
    tradetrail.int_or_null(data->>'discrepancies') AS discrepancies,
    tradetrail.int_or_null(data->>'minor') AS minor,
    tradetrail.int_or_null(data->>'major') AS major,
    tradetrail.int_or_null(data->>'corrections') AS corrections,
    tradetrail.int_or_null(data->>'reviews_requested') AS reviews_requested,
    data, hash
FROM tradetrail.events
WHERE "type" = 'reconciliation.completed';

CREATE VIEW tradetrail.daily_summaries WITH (security_invoker = true) AS
WITH fills AS (
    SELECT (ts_event AT TIME ZONE 'UTC')::date AS day, trader_id, account_id,
        count(*) AS trades,
        sum(tradetrail.num_or_null(data->>'fill_qty') * tradetrail.num_or_null(data->>'fill_price')) AS volume,
        coalesce(sum(tradetrail.num_or_null(data->>'commission')), 0) AS commission
    FROM tradetrail.events
    WHERE "type" = 'order.filled'
    GROUP BY 1, 2, 3
), closes AS (
    SELECT (ts_event AT TIME ZONE 'UTC')::date AS day, trader_id, account_id,
        count(*) AS closed_positions,
        count(*) FILTER (WHERE tradetrail.num_or_null(data->>'realized_pnl') > 0) AS winners,
        coalesce(sum(tradetrail.num_or_null(data->>'realized_pnl')), 0) AS gross_pnl
    FROM tradetrail.events
    WHERE "type" = 'position.closed'
    GROUP BY 1, 2, 3
)
SELECT coalesce(f.day, c.day) AS day,
    coalesce(f.trader_id, c.trader_id) AS trader_id,
    coalesce(f.account_id, c.account_id) AS account_id,
    coalesce(f.trades, 0) AS trades,
    coalesce(f.volume, 0) AS volume,
    coalesce(c.gross_pnl, 0) AS gross_pnl,
    coalesce(f.commission, 0) AS commission,
    coalesce(c.gross_pnl, 0) - coalesce(f.commission, 0) AS net_pnl,
    coalesce(c.closed_positions, 0) AS closed_positions,
    round(c.winners::numeric / nullif(c.closed_positions, 0), 4) AS win_rate
FROM fills f
FULL JOIN closes c
    ON f.day = c.day
   AND f.trader_id IS NOT DISTINCT FROM c.trader_id
   AND f.account_id IS NOT DISTINCT FROM c.account_id;

CREATE VIEW tradetrail.checkpoints WITH (security_invoker = true) AS
SELECT seq, ts_recorded,
    (data->>'size')::bigint AS size,
    data->>'root' AS root,
    data->>'key_id' AS key_id,
    data->>'note' AS note,
    hash
FROM tradetrail.events
WHERE "type" = 'journal.checkpoint';

REVOKE ALL ON tradetrail.execution_logs, tradetrail.audit_trail,
    tradetrail.reconciliation_results, tradetrail.daily_summaries, tradetrail.checkpoints
    FROM PUBLIC;
GRANT SELECT ON tradetrail.execution_logs, tradetrail.audit_trail,
    tradetrail.reconciliation_results, tradetrail.daily_summaries, tradetrail.checkpoints
    TO {compliance}, {trader};
"#;

/// Applies the schema and its guards to the database at `url` (see the crate doc),
/// creating the roles that do not exist (NOLOGIN). Idempotent: a second run changes
/// nothing. Run it as a superuser (or a role that may create roles and schemas and
/// is a member of the owner role).
pub fn init(url: &str, roles: &Roles) -> Result<InitReport> {
    let checked = roles.checked()?;
    let shown = redact(url);
    let mut client = connect(url)?;
    check_encoding(&mut client, &shown)?;
    let mut tx = client
        .transaction()
        .map_err(db(&shown, "starting the set-up"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&INIT_LOCK])
        .map_err(db(&shown, "waiting for another `pg init`"))?;
    let mut created_roles = Vec::new();
    for (what, name) in checked {
        let exists = tx
            .query_opt(
                "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
                &[&name],
            )
            .map_err(db(&shown, format!("looking up the {what} role {name}")))?
            .is_some();
        if !exists {
            tx.batch_execute(&format!("CREATE ROLE {} NOLOGIN", quote(name)))
                .map_err(db(&shown, format!("creating the {what} role {name}")))?;
            created_roles.push(name.to_string());
        }
    }
    let schema_owner: Option<String> = tx
        .query_opt(
            "SELECT pg_catalog.pg_get_userbyid(nspowner)::text FROM pg_catalog.pg_namespace WHERE nspname = 'tradetrail'",
            &[],
        )
        .map_err(db(&shown, "looking for the tradetrail schema"))?
        .map(|r| r.get(0));
    match schema_owner {
        None => tx
            .batch_execute(&format!(
                "CREATE SCHEMA tradetrail AUTHORIZATION {}",
                quote(&roles.owner)
            ))
            .map_err(db(&shown, "creating the tradetrail schema"))?,
        Some(o) if o == roles.owner => {}
        Some(o) => {
            return Err(Error::Setup {
                url: shown,
                reason: format!(
                    "the tradetrail schema is owned by {o}, not {}: the role names are fixed by the first `pg init` (pass the same --owner-role)",
                    roles.owner
                ),
            })
        }
    }
    // Everything from here on is created by, so owned by, the owner role.
    tx.batch_execute(&format!(
        "SET LOCAL ROLE {owner};
         CREATE TABLE IF NOT EXISTS tradetrail.migrations (
             version     integer PRIMARY KEY,
             description text NOT NULL,
             applied_at  timestamptz NOT NULL DEFAULT now()
         );",
        owner = quote(&roles.owner)
    ))
    .map_err(db(
        &shown,
        format!("acting as the owner role {}", roles.owner),
    ))?;
    let version: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM tradetrail.migrations",
            &[],
        )
        .map_err(db(&shown, "reading tradetrail.migrations"))?
        .get(0);
    if version > SCHEMA_VERSION {
        return Err(Error::Setup {
            url: shown,
            reason: format!(
                "schema version {version} was applied by a newer tradetrail (this one knows up to {SCHEMA_VERSION})"
            ),
        });
    }
    let mut applied = Vec::new();
    for (v, description, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > version) {
        let sql = sql
            .replace("{owner_name}", &roles.owner)
            .replace("{owner}", &quote(&roles.owner))
            .replace("{writer}", &quote(&roles.writer))
            .replace("{compliance}", &quote(&roles.compliance))
            .replace("{trader}", &quote(&roles.trader));
        tx.batch_execute(&sql)
            .map_err(db(&shown, format!("applying schema version {v}")))?;
        tx.execute(
            "INSERT INTO tradetrail.migrations (version, description) VALUES ($1, $2)",
            &[v, description],
        )
        .map_err(db(&shown, format!("recording schema version {v}")))?;
        applied.push(*v);
    }
    tx.commit().map_err(db(&shown, "committing the set-up"))?;
    Ok(InitReport {
        url: shown,
        created_roles,
        applied,
        version: SCHEMA_VERSION,
    })
}

/// `line` is kept byte for byte only in a UTF-8 database: refuse any other.
pub(crate) fn check_encoding(client: &mut Client, url: &str) -> Result<()> {
    let enc: String = client
        .query_one("SHOW server_encoding", &[])
        .map_err(db(url, "reading server_encoding"))?
        .get(0);
    if enc.eq_ignore_ascii_case("UTF8") {
        Ok(())
    } else {
        Err(Error::Setup {
            url: url.to_string(),
            reason: format!(
                "the database's encoding is {enc}; the mirror keeps each line byte for byte and needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)"
            ),
        })
    }
}

/// A role name as an SQL identifier (names are checked to be plain already).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_checked() {
        assert!(Roles::default().checked().is_ok());
        for bad in ["", "Upper", "1x", "a-b", "pg_x", "a\"b"] {
            let r = Roles {
                writer: bad.into(),
                ..Roles::default()
            };
            assert!(
                matches!(r.checked(), Err(Error::RoleName { what: "writer", .. })),
                "{bad:?}"
            );
        }
        let same = Roles {
            trader: "tradetrail_owner".into(),
            ..Roles::default()
        };
        assert!(same.checked().is_err());
    }
}
