"""Investigating from Python: the same answers as the CLI, as Arrow, pandas and dicts."""

from __future__ import annotations

import datetime as dt
import json
import pathlib

import pyarrow as pa
import pytest

import tradetrail as tt
from conftest import run_cli


@pytest.fixture(scope="module")
def day(tmp_path_factory, cli) -> pathlib.Path:
    """A simulated trading day recorded by the CLI's demo (several traders, orders,
    fills, rejections)."""
    d = tmp_path_factory.mktemp("day") / "data"
    out = run_cli(cli, "demo", "--data", str(d), "--events", "3000", "--seed", "7")
    assert out.returncode == 0, out.stderr.decode()
    return d


def cli_lines(cli, data, *args) -> list[bytes]:
    out = run_cli(cli, "query", "--data", str(data), "--format", "jsonl", *args)
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout.splitlines()


CASES = [
    ({}, []),
    ({"type": "order.*"}, ["--type", "order.*"]),
    ({"type": ["order.filled", "order.rejected"]}, ["--type", "order.filled,order.rejected"]),
    ({"trader": "T-02", "type": "order.*"}, ["--trader", "T-02", "--type", "order.*"]),
    ({"source": "risk_*", "instrument": "*.XNAS"}, ["--source", "risk_*", "--instrument", "*.XNAS"]),
    ({"kind": "position"}, ["--kind", "position"]),
    ({"text": "PRICE MOVED", "type": "order.*"}, ["--text", "price moved", "--type", "order.*"]),
]


@pytest.mark.parametrize("kwargs,flags", CASES)
def test_query_lines_equal_the_clis(day, cli, kwargs, flags):
    expected = cli_lines(cli, day, *flags)
    assert expected, f"the demo day has records for {flags}"
    with tt.Recorder.open(day) as rec:
        got = rec.query(**kwargs)
    assert got.lines() == expected
    assert len(got) == len(expected)
    assert got.truncated is False and got.next is None


def test_time_bounds_equal_the_clis(day, cli):
    with tt.Recorder.open(day) as rec:
        every = list(rec.query(type="order.*"))
        mid = every[len(every) // 2]["ts_event"]
        since_ns = rec.query(type="order.*", since=mid)
        until_dt = rec.query(
            type="order.*",
            until=dt.datetime.fromtimestamp(mid / 1e9, tz=dt.timezone.utc),
        )
        with pytest.raises(ValueError, match="since: a datetime without a time zone"):
            rec.query(since=dt.datetime(2026, 11, 20))
    assert since_ns.lines() == cli_lines(cli, day, "--type", "order.*", "--from", str(mid))
    assert all(r["ts_event"] >= mid for r in since_ns)
    assert 0 < len(since_ns) < len(every)
    assert all(r["ts_event"] < mid + 1000 for r in until_dt)


def test_arrow_table_has_the_archive_columns(day):
    with tt.Recorder.open(day) as rec:
        records = rec.query(type="order.filled")
        table = records.to_arrow()
        frame = records.to_pandas()
    assert table.num_rows == len(records) > 0
    assert table.schema.field("seq").type == pa.uint64()
    assert table.schema.field("ts_recorded").type == pa.timestamp("ns", tz="UTC")
    assert table.schema.field("ts_event").type == pa.timestamp("ns", tz="UTC")
    for name in ("prev", "type", "source", "actor", "trader_id", "entity_id", "data", "line"):
        assert name in table.column_names
    # Every column agrees with the record's own line.
    for i, rec in enumerate(records):
        assert table.column("seq")[i].as_py() == rec["seq"]
        assert table.column("type")[i].as_py() == "order.filled"
        assert table.column("trader_id")[i].as_py() == rec.get("trader_id")
        assert json.loads(table.column("data")[i].as_py()) == rec["data"]
        assert table.column("ts_event")[i].value == rec["ts_event"]
    assert list(frame["seq"]) == [r["seq"] for r in records]
    assert str(frame["ts_recorded"].dtype) == "datetime64[ns, UTC]"
    # Text stays Arrow-backed by default (no Python object per cell); "pandas" leaves
    # it to pandas' own conversion. Both hold the same values.
    assert str(frame["type"].dtype) == "string[pyarrow]"
    plain = records.to_pandas(strings="pandas")
    assert list(plain["line"]) == list(frame["line"]) == [l.decode() for l in records.lines()]
    with pytest.raises(ValueError, match="strings"):
        records.to_pandas(strings="bytes")


def test_pages_walk_every_match_once(day, cli):
    expected = cli_lines(cli, day, "--type", "order.*")
    with tt.Recorder.open(day) as rec:
        seen: list[bytes] = []
        cursor: dict = {}
        pages = 0
        while True:
            page = rec.query(type="order.*", limit=100, **cursor)
            seen += page.lines()
            pages += 1
            if not page.truncated:
                assert page.next is None
                break
            assert page.next == {"after": json.loads(page.lines()[-1])["seq"]}
            cursor = page.next
        newest = rec.query(type="order.*", limit=5, reverse=True)
    assert seen == expected
    assert pages == -(-len(expected) // 100)
    assert newest.lines() == expected[::-1][:5]
    assert newest.next == {"before": json.loads(expected[-5])["seq"]}


def test_bad_filters_name_the_field_like_the_cli(day, cli):
    out = run_cli(cli, "query", "--data", str(day), "--from", "yesterday-ish")
    assert out.returncode == 2
    with tt.Recorder.open(day) as rec:
        with pytest.raises(ValueError) as bad:
            rec.query(since="yesterday-ish")
        with pytest.raises(ValueError, match="limit: must be at least 1"):
            rec.query(limit=0)
        with pytest.raises(TypeError, match="unknown filter 'colour'"):
            rec.query(colour="red")
    message = str(bad.value)
    assert message.startswith("from: ")
    assert message in out.stderr.decode()


def test_trail_stats_and_incident_equal_the_clis(day, cli):
    with tt.Recorder.open(day) as rec:
        filled = next(iter(rec.query(type="order.filled", limit=1)))
        order = filled["entity"]["id"]
        trail = rec.trail(order)
        stats = rec.stats(by="type", trader="T-02")
        incident = rec.incident(filled["ts_event"], "2s", limit=50)
    out = run_cli(cli, "trail", "--data", str(day), order, "--format", "jsonl")
    assert out.returncode == 0, out.stderr.decode()
    assert [json.dumps(r, separators=(",", ":")) for r in trail["records"]] != []
    assert [r["seq"] for r in trail["records"]] == [
        json.loads(line)["seq"] for line in out.stdout.splitlines()
    ]
    assert trail["id"] == order
    types = [r["type"] for r in trail["records"]]
    assert types.index("order.submitted") < types.index("order.filled")

    out = run_cli(cli, "stats", "--data", str(day), "--by", "type", "--trader", "T-02",
                  "--format", "jsonl")
    assert out.returncode == 0, out.stderr.decode()
    cli_rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert {r["type"]: r["count"] for r in cli_rows} == {
        r["value"]: r["count"] for r in stats["rows"]
    }
    assert stats["total"] == sum(r["count"] for r in cli_rows)

    assert incident["from"] <= filled["ts_event"] <= incident["until"]
    assert filled["seq"] in [r["seq"] for r in incident["records"]] or incident["truncated"]
    assert incident["total"] == sum(g["count"] for g in incident["groups"])


def test_closing_after_a_query_releases_the_directory(day, cli):
    rec = tt.Recorder.open(day)
    assert len(rec.query(type="order.*", limit=3)) == 3
    rec.close()
    with pytest.raises(tt.TradetrailError, match="closed"):
        rec.query()
    # Another process can record now: the query's handle on the journal went too.
    out = run_cli(cli, "verify", "--data", str(day))
    assert out.returncode == 0, out.stderr.decode()
    with tt.Recorder.open(day) as again:
        assert len(again.query(type="order.*", limit=1)) == 1


def test_positions_equal_the_clis(day, cli):
    with tt.Recorder.open(day) as rec:
        now = rec.positions()
        flat_too = rec.positions(all=True)
        early = rec.positions(at="2026-11-26T15:00:00Z")
        with pytest.raises(ValueError, match="^at: "):
            rec.positions(at="noonish")
    out = run_cli(cli, "positions", "--data", str(day), "--format", "jsonl")
    assert out.returncode == 0, out.stderr.decode()
    assert now == [json.loads(line) for line in out.stdout.splitlines()]
    assert now and all(p["quantity"] != "0" for p in now)
    assert len(flat_too) >= len(now)
    out = run_cli(cli, "positions", "--data", str(day), "--format", "jsonl",
                  "--at", "2026-11-26T15:00:00Z")
    assert early == [json.loads(line) for line in out.stdout.splitlines()]
    account = now[0]["account"]
    with tt.Recorder.open(day) as rec:
        assert all(p["account"] == account for p in rec.positions(account=account))


def test_since_until_without_an_offset_are_read_in_tz_like_the_cli(day, cli):
    # 09:30 to 10:30 in New York is 14:30 to 15:30 UTC on 2026-11-26 (EST, UTC-5).
    flags = ["--from", "2026-11-26T09:30", "--to", "2026-11-26T10:30", "--tz", "America/New_York"]
    expected = cli_lines(cli, day, *flags)
    assert expected, "the demo day has records in its first hour"
    utc = cli_lines(cli, day, "--from", "2026-11-26T14:30Z", "--to", "2026-11-26T15:30Z")
    assert expected == utc
    with tt.Recorder.open(day) as rec:
        got = rec.query(since="2026-11-26T09:30", until="2026-11-26T10:30", tz="America/New_York")
        assert got.lines() == expected
        assert rec.stats(since="2026-11-26T09:30", until="2026-11-26T10:30", tz="America/New_York")["total"] == len(expected)
        with pytest.raises(ValueError, match="tz"):
            rec.query(since="2026-11-26", tz="Mars/Base")


def test_incident_at_without_an_offset_is_read_in_tz_like_the_cli(day, cli):
    # 09:45 in New York is 14:45 UTC on 2026-11-26.
    out = run_cli(cli, "incident", "--data", str(day), "--at", "2026-11-26T09:45",
                  "--tz", "America/New_York", "--window", "2m", "--format", "jsonl")
    assert out.returncode == 0, out.stderr.decode()
    expected = [json.loads(line)["seq"] for line in out.stdout.splitlines()]
    with tt.Recorder.open(day) as rec:
        got = rec.incident("2026-11-26T09:45", "2m", tz="America/New_York")
        utc = rec.incident("2026-11-26T14:45Z", "2m")
        naive_utc = rec.incident("2026-11-26T09:45", "2m")
        with pytest.raises(ValueError, match="tz"):
            rec.incident("2026-11-26T09:45", "2m", tz="Mars/Base")
    assert got["total"] > 0, "the demo day has records then"
    assert got["at"] == utc["at"]
    assert [r["seq"] for r in got["records"]] == [r["seq"] for r in utc["records"]] == expected
    # Without tz=, the data directory's zone (UTC here): five hours earlier.
    assert naive_utc["at"] == got["at"] - 5 * 3600 * 10**9


def test_a_large_answer_is_every_line_in_order_like_the_clis(tmp_path, cli):
    """More records than one Arrow batch holds (16,384): the batches built beside the
    reading come back in order, every line once, as the CLI prints them."""
    d = tmp_path / "data"
    tt.init(d, origin="tradetrail.test/python")
    n = 40_000
    with tt.Recorder.open(d) as rec:
        rec.record_many(
            {"type": "param.changed", "ts_event": "2026-11-20T14:30:01Z", "source": "meta",
             "actor": "algo:m1", "data": {"name": f"k{i}", "old_value": i, "new_value": i + 1,
                                          "reason": "r"}}
            for i in range(n)
        )
        table = rec.query().to_arrow()
        newest = rec.query(reverse=True, limit=20_000).to_arrow()
        some = rec.query(type="param.changed", after=5).to_arrow()
        nothing = rec.query(type="no.such-type").to_arrow()
    want = [line.decode() for line in cli_lines(cli, d)]
    assert len(want) == n + 1
    assert table.num_rows == n + 1 and table.column("line").to_pylist() == want
    assert table.column("seq").to_pylist() == list(range(n + 1))
    assert [json.loads(t)["name"] for t in table.column("data").to_pylist()[1:4]] == ["k0", "k1", "k2"]
    assert newest.column("seq").to_pylist() == list(range(n, n - 20_000, -1))
    assert some.column("seq").to_pylist() == list(range(6, n + 1))
    assert nothing.num_rows == 0 and nothing.schema == table.schema
