"""Fixtures: a fresh data directory, the CLI binary, event factories."""

from __future__ import annotations

import itertools
import os
import pathlib
import subprocess
import uuid

import pytest

import tradetrail as tt

REPO = pathlib.Path(__file__).resolve().parents[2]

_n = itertools.count(1)


def param_changed(**over):
    """A valid `param.changed` event; keyword arguments override fields."""
    n = next(_n)
    ev = {
        "type": "param.changed",
        "ts_event": "2026-11-20T14:30:01.5Z",
        "source": "meta",
        "actor": "algo:m1",
        "data": {"name": f"k{n}", "old_value": "2", "new_value": "3", "reason": "regime"},
    }
    ev.update(over)
    return ev


def with_id(**over):
    return param_changed(event_id=str(uuid.uuid4()), **over)


def journal_bytes(data: pathlib.Path) -> int:
    """Total size of the journal's segment files."""
    return sum(p.stat().st_size for p in (data / "journal").glob("*.jsonl"))


def journal_lines(data: pathlib.Path) -> list[bytes]:
    out: list[bytes] = []
    for p in sorted((data / "journal").glob("*.jsonl")):
        out.extend(p.read_bytes().splitlines())
    return out


@pytest.fixture
def data(tmp_path: pathlib.Path) -> pathlib.Path:
    d = tmp_path / "data"
    tt.init(d, origin="tradetrail.test/python")
    return d


@pytest.fixture(scope="session")
def cli() -> str:
    """The `tradetrail` binary (`TRADETRAIL_BIN`, else the workspace's debug build)."""
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    path = os.environ.get("TRADETRAIL_BIN") or str(target / "debug" / "tradetrail")
    assert os.access(path, os.X_OK), (
        f"{path} is missing: build it with `cargo build -p tradetrail-cli` "
        "(python/run-tests.sh does)"
    )
    return path


def run_cli(cli: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [cli, *args], input=stdin, capture_output=True, timeout=120, check=False
    )
