"""Typed event classes: generated from the model's table, recorded as the dicts are."""

from __future__ import annotations

import dataclasses
import decimal
import json
import subprocess
import sys

import pytest

import tradetrail as tt
from conftest import REPO, journal_lines, run_cli


def test_the_classes_are_the_models_table(cli):
    """python/tradetrail/events.py is what the generator makes of `schema --json`."""
    out = subprocess.run(
        [sys.executable, str(REPO / "python" / "generate_events.py"), "--cli", cli, "--check"],
        capture_output=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr.decode()
    schema = json.loads(run_cli(cli, "schema", "--json").stdout)
    assert sorted(tt.events.BY_TYPE) == sorted(t["name"] for t in schema["types"])
    for t in schema["types"]:
        cls = tt.events.BY_TYPE[t["name"]]
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for f in t["data"]:
            assert f["name"] in fields, (t["name"], f["name"])
            required = fields[f["name"]].default is dataclasses.MISSING and (
                fields[f["name"]].default_factory is dataclasses.MISSING
            )
            assert required == f["required"], (t["name"], f["name"])


def test_typed_events_record_like_dicts(data):
    fill = tt.events.OrderFilled(
        source="gateway",
        actor="system",
        ts_event="2026-11-20T14:30:01.5Z",
        trader_id="T-03",
        instrument_id="AAPL.XNAS",
        order_id="O-9",
        fill_qty=decimal.Decimal("100"),
        fill_price="228.50",
        trade_id="X-1",
        extra={"venue": "XNAS"},
    )
    change = tt.events.ParamChanged(
        name="k", old_value=2, new_value=3, reason="regime", actor="algo:m1", source="meta"
    )
    with tt.Recorder.open(data) as rec:
        receipts = rec.record_many([fill, change])
        again = rec.record(fill)
    assert [r.seq for r in receipts] == [1, 2]
    # The default event_id is fixed at construction: recording the object again is
    # the same event, not a new one.
    assert again.duplicate and again.seq == 1
    recorded = json.loads(journal_lines(data)[1])
    assert recorded["type"] == "order.filled"
    assert recorded["entity"] == {"kind": "order", "id": "O-9"}
    assert recorded["data"] == {
        "fill_qty": "100",
        "fill_price": "228.50",
        "trade_id": "X-1",
        "venue": "XNAS",
    }
    assert recorded["event_id"] == fill.event_id


def test_missing_and_bad_fields_are_refused(data):
    with pytest.raises(TypeError, match="trade_id"):
        tt.events.OrderFilled(  # type: ignore[call-arg]
            source="gw", actor="system", trader_id="T-1", instrument_id="X",
            order_id="O-1", fill_qty=1, fill_price=1,
        )
    bad = tt.events.OrderSubmitted(
        source="oms", actor="trader:T-1", trader_id="T-1", instrument_id="X",
        order_id="O-1", side="sideways", quantity=10, order_type="limit",
    )
    with tt.Recorder.open(data) as rec:
        with pytest.raises(tt.ValidationError) as e:
            rec.record(bad)
    text = str(e.value)
    assert "data.side:" in text and "data.price:" in text
    assert len(journal_lines(data)) == 1
