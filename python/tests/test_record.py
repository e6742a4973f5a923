"""Recording from Python: receipts, validation, all-or-nothing, duplicates, errors."""

from __future__ import annotations

import collections.abc
import decimal
import enum
import json
import pathlib
import re

import pytest

import tradetrail as tt
from conftest import journal_bytes, journal_lines, param_changed, run_cli, with_id


def test_receipts_increase_and_verify_passes(data, cli):
    with tt.Recorder.open(data) as rec:
        receipts = [rec.record(param_changed()) for _ in range(5)]
        receipts += rec.record_many([param_changed(), param_changed()])
        verdict = rec.verify()
    assert [r.seq for r in receipts] == list(range(1, 8))
    assert all(re.fullmatch(r"[0-9a-f]{64}", r.hash) for r in receipts)
    assert len({r.hash for r in receipts}) == 7
    assert not any(r.duplicate for r in receipts)
    ts = [r.ts_recorded for r in receipts]
    assert ts == sorted(ts) and ts[0] > 1_700_000_000_000_000_000
    # The receipt's ts_recorded is the one on the record's line.
    last = json.loads(journal_lines(data)[-1])
    assert last["seq"] == 7 and last["ts_recorded"] == receipts[-1].ts_recorded

    assert verdict["ok"] is True
    assert verdict["records"] == 8
    assert verdict["head_hash"] == receipts[-1].hash
    # The CLI checks the same directory and gives the same JSON.
    out = run_cli(cli, "verify", "--data", str(data), "--json")
    assert out.returncode == 0, out.stderr.decode()
    assert json.loads(out.stdout) == verdict


def test_verify_reports_tampering(data):
    with tt.Recorder.open(data) as rec:
        for _ in range(3):
            rec.record(param_changed())
    seg = next((data / "journal").glob("*.jsonl"))
    seg.write_bytes(seg.read_bytes().replace(b'"new_value":"3"', b'"new_value":"4"', 1))
    # Opening for recording refuses the altered journal ...
    with pytest.raises(tt.TradetrailError) as e:
        tt.Recorder.open(data)
    assert not isinstance(e.value, tt.ValidationError)
    assert "record 1" in str(e.value)


def test_verify_after_close_sees_tampering(data):
    rec = tt.Recorder.open(data)
    rec.record(param_changed())
    rec.record(param_changed())
    rec.close()
    seg = next((data / "journal").glob("*.jsonl"))
    seg.write_bytes(seg.read_bytes().replace(b'"old_value":"2"', b'"old_value":"9"', 1))
    verdict = rec.verify()
    assert verdict["ok"] is False
    assert verdict["first_bad_seq"] == 1


BAD_EVENTS = [
    {"type": "order.submitted"},
    param_changed(ts_event="yesterday"),
    {
        "type": "order.submitted",
        "ts_event": "2026-11-20T14:30:01.5Z",
        "source": "oms",
        "actor": "trader:T-03",
        "trader_id": "T-03",
        "instrument_id": "AAPL.XNAS",
        "entity": {"kind": "order", "id": "O-1"},
        "data": {"side": "sideways", "quantity": "-5", "order_type": "limit"},
    },
    b'{"type":"param.changed",',
    "[1,2]",
]


@pytest.mark.parametrize("event", BAD_EVENTS, ids=range(len(BAD_EVENTS)))
def test_validation_message_equals_cli(data, cli, tmp_path, event):
    line = tt.to_json(event)
    # The CLI on its own directory, the same line.
    other = tmp_path / "cli-data"
    tt.init(other)
    f = tmp_path / "bad.jsonl"
    f.write_bytes(line + b"\n")
    out = run_cli(cli, "append", "--data", str(other), str(f))
    assert out.returncode == 2
    prefix = f"{f}:1: "
    cli_lines = [
        l[len(prefix):]
        for l in out.stderr.decode().splitlines()
        if l.startswith(prefix)
    ]
    assert cli_lines, out.stderr.decode()

    before = journal_bytes(data)
    with tt.Recorder.open(data) as rec:
        with pytest.raises(tt.ValidationError) as e:
            rec.record(event)
    assert isinstance(e.value, ValueError) and isinstance(e.value, tt.TradetrailError)
    assert str(e.value).splitlines() == cli_lines
    assert [f"{field}: {reason}" for _, field, reason in e.value.errors] == cli_lines
    assert {i for i, _, _ in e.value.errors} == {0}
    assert journal_bytes(data) == before


def test_record_many_is_all_or_nothing(data):
    with tt.Recorder.open(data) as rec:
        first = rec.record_many([param_changed(), param_changed()])
        before = journal_bytes(data)
        bad = [param_changed(), param_changed(), {"type": "param.changed"}, param_changed()]
        with pytest.raises(tt.ValidationError) as e:
            rec.record_many(bad)
        assert journal_bytes(data) == before
        assert {i for i, _, _ in e.value.errors} == {2}
        assert str(e.value).splitlines()[0].startswith("events[2]: ")
        # Nothing was sequenced either: the next seq follows the first batch.
        after = rec.record_many([param_changed(), param_changed()])
    assert [r.seq for r in first] == [1, 2]
    assert [r.seq for r in after] == [3, 4]
    assert len(journal_lines(data)) == 5


def test_record_many_empty(data):
    with tt.Recorder.open(data) as rec:
        assert rec.record_many([]) == []
        assert rec.record(param_changed()).seq == 1


def test_duplicate_event_id_returns_the_original(data):
    ev = with_id()
    with tt.Recorder.open(data) as rec:
        r1 = rec.record(ev)
        rec.record(param_changed())
        size = journal_bytes(data)
        r2 = rec.record(dict(ev))
        many = rec.record_many([param_changed(), dict(ev)])
    assert r1.duplicate is False
    assert r2.duplicate is True
    assert (r2.seq, r2.hash, r2.ts_recorded) == (r1.seq, r1.hash, r1.ts_recorded)
    assert many[1].duplicate and many[1].seq == r1.seq
    assert many[0].seq == 3
    assert size == journal_bytes(data) - len(journal_lines(data)[-1]) - 1


def test_event_id_with_another_body_is_a_conflict(data):
    ev = with_id()
    with tt.Recorder.open(data) as rec:
        rec.record(ev)
        size = journal_bytes(data)
        changed = dict(ev, actor="algo:m2")
        with pytest.raises(tt.ConflictError) as e:
            rec.record(changed)
        assert isinstance(e.value, tt.TradetrailError) and isinstance(e.value, ValueError)
        assert "event_id" in str(e.value)
        with pytest.raises(tt.ConflictError):
            rec.record_many([param_changed(), changed])
        assert journal_bytes(data) == size


def test_durability(data):
    with tt.Recorder.open(data) as rec:
        assert rec.record(param_changed(), durability="fsync").seq == 1
        assert rec.record(param_changed(), durability="os").seq == 2
        with pytest.raises(ValueError, match="unknown durability"):
            rec.record(param_changed(), durability="sometimes")
        assert rec.record_many([param_changed()], durability="fsync")[0].seq == 3


class Model:
    """Stands in for a Pydantic model: only model_dump(mode=...) is used."""

    def __init__(self, **fields):
        self.fields = fields

    def model_dump(self, mode="python"):
        assert mode == "json"
        return self.fields


def test_inputs_dict_model_str_bytes_decimal(data):
    with tt.Recorder.open(data) as rec:
        rec.record(Model(**param_changed(actor="algo:model")))
        rec.record(json.dumps(param_changed(actor="algo:str")))
        rec.record(json.dumps(param_changed(actor="algo:bytes")).encode())
        order = {
            "type": "order.submitted",
            "ts_event": "2026-11-20T14:30:01.5Z",
            "source": "oms",
            "actor": "trader:T-03",
            "trader_id": "T-03",
            "instrument_id": "AAPL.XNAS",
            "entity": {"kind": "order", "id": "O-123"},
            "data": {
                "side": "buy",
                "quantity": decimal.Decimal("100"),
                "order_type": "limit",
                "price": decimal.Decimal("228.50"),
            },
        }
        assert rec.record(order).seq == 4
    lines = journal_lines(data)
    assert [json.loads(l)["actor"] for l in lines[1:4]] == [
        "algo:model",
        "algo:str",
        "algo:bytes",
    ]
    assert b'"price":"228.50"' in lines[4]


def test_errors_of_the_door(data, tmp_path):
    with pytest.raises(tt.TradetrailError):
        tt.Recorder.open(tmp_path / "nowhere")
    with pytest.raises(tt.TradetrailError):
        tt.init(data)  # already initialized
    rec = tt.Recorder.open(data)
    with pytest.raises(tt.TradetrailError, match="locked"):
        tt.Recorder.open(data)
    rec.close()
    rec.close()  # twice is fine
    assert rec.closed
    with pytest.raises(tt.TradetrailError, match="closed"):
        rec.record(param_changed())
    # Closed, the directory can be opened again, and the history goes on.
    with tt.Recorder.open(data) as again:
        assert again.record(param_changed()).seq == 1


def test_unfinished_last_line_is_cut_with_a_warning(data):
    with tt.Recorder.open(data) as rec:
        rec.record(param_changed())
    seg = next((data / "journal").glob("*.jsonl"))
    with seg.open("ab") as f:
        f.write(b'{"seq":2,"ts_rec')
    with pytest.warns(RuntimeWarning, match="unfinished last line of 16 bytes"):
        rec = tt.Recorder.open(data)
    with rec:
        assert rec.record(param_changed()).seq == 2
        assert rec.verify()["ok"] is True


def test_dicts_serialized_natively_record_what_to_json_records(data):
    """Plain dicts are serialized in Rust; anything else through `to_json`. Both
    paths must record the same body."""
    events = [
        param_changed(event_id="00000000-0000-4000-8000-000000000001", data={"name": "é ü 漢", "old_value": 2, "new_value": 2.5,
                                            "reason": "line\nbreak \"quoted\" \\ tab\t"}),
        param_changed(event_id="00000000-0000-4000-8000-000000000002", data={"name": "big", "old_value": 10**30,
                                            "new_value": None, "reason": "x"}),
        param_changed(event_id="00000000-0000-4000-8000-000000000003", data={"name": "dec", "old_value": decimal.Decimal("2.50"),
                                            "new_value": [1, {"a": True}], "reason": "y"}),
    ]
    direct = pathlib.Path(str(data) + "-bytes")
    tt.init(direct, origin="tradetrail.test/python")
    with tt.Recorder.open(data) as rec:
        native = rec.record_many(events)
    with tt.Recorder.open(direct) as rec:
        via_json = [rec.record(tt.to_json(e)) for e in events]

    def bodies(d):
        out = []
        for line in journal_lines(d)[1:]:
            rec = json.loads(line)
            for k in ("seq", "ts_recorded", "prev"):
                rec.pop(k)
            out.append(rec)
        return out

    assert len(native) == len(via_json) == 3
    assert bodies(data) == bodies(direct)
    assert bodies(data)[2]["data"]["old_value"] == "2.50"


def test_record_many_receipts_behave_like_a_list(data):
    with tt.Recorder.open(data) as rec:
        receipts = rec.record_many([param_changed() for _ in range(4)])
        one = rec.record(param_changed())
    as_list = list(receipts)
    assert isinstance(receipts, tt.Receipts)
    assert isinstance(receipts, collections.abc.Sequence)
    assert len(receipts) == 4 and [r.seq for r in receipts] == [1, 2, 3, 4]
    assert receipts[0].seq == 1 and receipts[-1].seq == 4 and receipts[-4].seq == 1
    assert receipts[1:3] == as_list[1:3] and isinstance(receipts[1:3], list)
    assert receipts[::-1] == as_list[::-1]
    with pytest.raises(IndexError):
        receipts[4]
    with pytest.raises(IndexError):
        receipts[-5]
    # Equal to the list of the same receipts, either way round; a receipt is equal
    # to itself read again (each read makes a new object).
    assert receipts == as_list and as_list == receipts and receipts == receipts
    assert receipts[2] == receipts[2] and receipts[2] is not receipts[2]
    assert receipts != as_list[:3] and receipts != [one] + as_list[1:]
    assert receipts != tuple(as_list)  # as a list is not equal to a tuple
    assert as_list + receipts == as_list * 2 and receipts + [one] == as_list + [one]
    assert receipts[3] in receipts and one not in receipts
    assert receipts.index(receipts[2]) == 2 and receipts.count(receipts[0]) == 1
    assert [r.seq for r in reversed(receipts)] == [4, 3, 2, 1]
    assert repr(receipts) == repr(as_list)
    assert receipts[0].hash == as_list[0].hash and re.fullmatch(r"[0-9a-f]{64}", one.hash)


def test_record_many_of_many_pieces(data):
    """Thousands of events, from a generator (no len()): validated while walked, on
    another thread; every problem is reported with its event's index, nothing is
    written, and a good run is recorded in the events' order."""
    n = 5000
    bad_at = {7, 1024, 2047, 4999}

    def events(bad: bool):
        for i in range(n):
            ev = param_changed(data={"name": f"n{i}", "old_value": i, "new_value": [i, (i, True)],
                                     "reason": "r"})
            if bad and i in bad_at:
                ev["actor"] = "not an actor"
            yield ev

    with tt.Recorder.open(data) as rec:
        before = journal_bytes(data)
        with pytest.raises(tt.ValidationError) as e:
            rec.record_many(events(True))
        assert journal_bytes(data) == before
        assert [(i, field) for i, field, _ in e.value.errors] == [(i, "actor") for i in sorted(bad_at)]
        receipts = rec.record_many(events(False))
        assert rec.verify()["ok"]
    assert [r.seq for r in receipts] == list(range(1, n + 1))
    lines = journal_lines(data)[1:]
    assert len(lines) == n
    for i, line in enumerate(lines):
        body = json.loads(line)
        assert body["data"]["name"] == f"n{i}" and body["data"]["new_value"] == [i, [i, True]]


def test_values_written_natively_or_by_to_json_record_the_same(data):
    """What the Rust walk writes for each kind of value, byte for byte what
    `to_json` gives the journal; what it does not handle goes to `to_json`."""

    class Side(str, enum.Enum):
        BUY = "buy"

    class Level(enum.IntEnum):
        HIGH = 3

    values = [
        "", "a\u0000b\u001f", "\u2028 \U0001f600", 0, -1, 2**63 - 1, -(2**63), 2**64 - 1, 2**64,
        10**40, 0.5, -0.125, 1e-3, 123456.789, True, False, None, [], {}, (1, "x"),
        [[[[{"deep": [1]}]]]], Side.BUY, Level.HIGH, {"k": {"nested": (None, 1.5)}},
        {1: "int key"}, {"set": [1]}, decimal.Decimal("1.10"),
    ]
    events = [
        param_changed(event_id=f"00000000-0000-4000-8000-{i:012d}",
                      data={"name": f"v{i}", "old_value": v, "new_value": [v], "reason": "r"})
        for i, v in enumerate(values)
    ]
    direct = pathlib.Path(str(data) + "-bytes")
    tt.init(direct, origin="tradetrail.test/python")
    with tt.Recorder.open(data) as rec:
        rec.record_many(events)
    with tt.Recorder.open(direct) as rec:
        rec.record_many([tt.to_json(e) for e in events])

    def bodies(d):
        return [line.split(b',"type":', 1)[1] for line in journal_lines(d)[1:]]

    assert len(bodies(data)) == len(values)
    assert bodies(data) == bodies(direct)
