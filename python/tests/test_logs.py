"""tt.LogHandler: operational logs recorded beside the trail, found by level and
category; a full queue blocks or drops as configured, never silently."""

from __future__ import annotations

import json
import logging
import threading

import pytest

import tradetrail as tt
from conftest import journal_lines, run_cli


def logger(name: str, handler: logging.Handler) -> logging.Logger:
    log = logging.getLogger(name)
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG)
    log.propagate = False
    return log


def test_log_lines_are_found_by_level_and_category(data, cli):
    with tt.Recorder.open(data) as rec:
        h = tt.LogHandler(rec, category="order", source="oms", levels={"connection": "warning"})
        log = logger("oms.test1", h)
        log.debug("book built")
        log.info("order %s sent", "O-1", extra={"trader_id": "T-03", "venue": "XNAS"})
        log.warning("order %s rejected", "O-2", extra={"trader_id": "T-03"})
        log.info("heartbeat", extra={"category": "connection"})  # below connection's minimum
        log.error("socket closed", extra={"category": "connection", "attempt": 3})
        try:
            raise ValueError("bad fill")
        except ValueError:
            log.critical("fill handler failed", exc_info=True)
        rec.log_metric("queue_depth", 12, tags={"venue": "XNAS"}, unit="messages")
        h.close()
        assert h.stats == {"queued": 5, "recorded": 5, "dropped": 0, "failed": 0}

        warn = [(r["type"], r["entity"]["id"], r["data"]["message"]) for r in rec.query(level="warning")]
        order = [r["data"]["message"] for r in rec.query(category="order")]
        both = rec.query(level="warning", category="order").lines()
        metric = list(rec.query(type="log.metric"))
    assert warn == [
        ("log.warning", "order", "order O-2 rejected"),
        ("log.error", "connection", "socket closed"),
        ("log.critical", "order", "fill handler failed"),
    ]
    assert order == ["book built", "order O-1 sent", "order O-2 rejected", "fill handler failed"]
    assert metric[0]["data"] == {
        "name": "queue_depth", "value": "12", "unit": "messages", "tags": {"venue": "XNAS"}
    }
    info = next(json.loads(l) for l in journal_lines(data) if b"order O-1 sent" in l)
    assert info["trader_id"] == "T-03" and info["source"] == "oms"
    assert info["data"]["context"] == {"venue": "XNAS"}
    assert info["data"]["logger"] == "oms.test1"
    crit = next(json.loads(l) for l in journal_lines(data) if b"fill handler failed" in l)
    assert "ValueError: bad fill" in crit["data"]["exception"]

    # The CLI's --level/--category give the same lines.
    out = run_cli(cli, "query", "--data", str(data), "--level", "warning", "--category",
                  "order", "--format", "jsonl")
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.splitlines() == both and len(both) == 2
    out = run_cli(cli, "query", "--data", str(data), "--level", "loud")
    assert out.returncode == 2 and b"--level: unknown level" in out.stderr
    with tt.Recorder.open(data) as rec:
        with pytest.raises(ValueError, match="not both"):
            rec.query(type="log.*", level="info")


def test_a_full_queue_drops_and_says_so(data):
    with tt.Recorder.open(data) as rec:
        h = tt.LogHandler(rec, category="system", queue_size=5, on_full="drop", start=False)
        log = logger("oms.test2", h)
        for i in range(20):
            log.info("line %d", i)
        assert h.stats["dropped"] == 15
        h.start()
        h.close()
        assert h.stats == {"queued": 5, "recorded": 5, "dropped": 15, "failed": 0}
        lines = [r["data"]["message"] for r in rec.query(type="log.info")]
        dropped = list(rec.query(type="log.dropped"))
    assert lines == [f"line {i}" for i in range(5)]
    assert len(dropped) == 1 and dropped[0]["data"]["dropped"] == "15"


def test_a_full_queue_blocks_and_loses_nothing(data):
    with tt.Recorder.open(data) as rec:
        h = tt.LogHandler(rec, category="system", queue_size=5, on_full="block", start=False)
        log = logger("oms.test3", h)
        done = threading.Event()

        def burst():
            for i in range(50):
                log.info("line %d", i)
            done.set()

        t = threading.Thread(target=burst)
        t.start()
        assert not done.wait(0.5), "the logging thread must wait for room"
        assert h.stats["queued"] == 5
        h.start()
        t.join(timeout=60)
        h.close()
        assert h.stats == {"queued": 50, "recorded": 50, "dropped": 0, "failed": 0}
        lines = [r["data"]["message"] for r in rec.query(type="log.info")]
    assert lines == [f"line {i}" for i in range(50)]


def test_bad_settings_are_refused(data):
    with tt.Recorder.open(data) as rec:
        with pytest.raises(ValueError, match="on_full"):
            tt.LogHandler(rec, on_full="maybe")
        with pytest.raises(ValueError, match=r"levels\['order'\]"):
            tt.LogHandler(rec, levels={"order": "loud"})


def test_levels_per_category_come_from_tradetrail_toml(data):
    with open(data / "tradetrail.toml", "a") as f:
        f.write('\n[log]\nlevel = "info"\n\n[log.categories]\norder = "debug"\nconnection = "warning"\n')
    with tt.Recorder.open(data) as rec:
        assert rec.log_levels() == {
            "level": "info", "categories": {"order": "debug", "connection": "warning"}
        }
        h = tt.LogHandler(rec, category="system")
        log = logger("oms.config_levels", h)
        for category in ("order", "connection", "system"):
            for level in (logging.DEBUG, logging.INFO, logging.WARNING):
                log.log(level, f"{category} {logging.getLevelName(level)}",
                        extra={"category": category})
        # Each handler records on its own thread: the first is closed (everything it
        # queued recorded) before the second starts, so the order below is fixed.
        h.close()
        # Levels given to the handler beat the configuration.
        h2 = tt.LogHandler(rec, category="system", levels={"connection": "debug"})
        log2 = logger("oms.given_levels", h2)
        log2.debug("connection given", extra={"category": "connection"})
        log2.debug("system given")
        h2.close()
        got = [r["data"]["message"] for r in rec.query(type="log.*")]
    assert got == [
        "order DEBUG", "order INFO", "order WARNING",
        "connection WARNING",
        "system INFO", "system WARNING",
        "connection given", "system given",
    ]


def test_a_bad_level_in_tradetrail_toml_names_the_setting(data):
    with open(data / "tradetrail.toml", "a") as f:
        f.write('\n[log.categories]\norder = "loud"\n')
    with pytest.raises(tt.TradetrailError, match='log.categories."order": use one of debug'):
        tt.Recorder.open(data)
