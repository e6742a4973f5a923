"""The abi3 wheel, installed alone into a fresh venv (python/run-tests.sh builds it and
sets TRADETRAIL_WHEEL_PYTHON): it imports from there, not from this checkout, carries
its type stubs, records and verifies."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import pytest

SCRIPT = r"""
import json, pathlib, sys
import tradetrail as tt
from tradetrail import _tradetrail

pkg = pathlib.Path(tt.__file__).parent
tt.init(sys.argv[1], origin="tradetrail.test/wheel")
with tt.Recorder.open(sys.argv[1]) as rec:
    r = rec.record(tt.events.ParamChanged(name="k", old_value=1, new_value=2, reason="r",
                                          actor="algo:m1", source="meta"))
    verdict = rec.verify()
print(json.dumps({
    "package": str(pkg),
    "native": _tradetrail.__file__,
    "files": sorted(p.name for p in pkg.iterdir()),
    "seq": r.seq,
    "ok": verdict["ok"],
    "records": verdict["records"],
}))
"""


@pytest.fixture
def wheel_python() -> str:
    path = os.environ.get("TRADETRAIL_WHEEL_PYTHON")
    if not path:
        pytest.fail("TRADETRAIL_WHEEL_PYTHON is not set: run the tests with python/run-tests.sh")
    return path


def test_the_wheel_imports_from_a_fresh_venv_and_records(wheel_python, tmp_path):
    out = subprocess.run(
        [wheel_python, "-c", SCRIPT, str(tmp_path / "data")],
        capture_output=True, timeout=120, check=False,
        cwd=tmp_path,                     # not the checkout: nothing to import by accident
    )
    assert out.returncode == 0, out.stderr.decode()
    got = json.loads(out.stdout)
    venv = pathlib.Path(wheel_python).parent.parent
    assert pathlib.Path(got["package"]).is_relative_to(venv), got["package"]
    assert pathlib.Path(got["native"]).is_relative_to(venv)
    assert got["native"].endswith(".abi3.so")
    assert {"py.typed", "_tradetrail.pyi", "__init__.py", "events.py", "logs.py"} <= set(got["files"])
    assert (got["seq"], got["ok"], got["records"]) == (1, True, 2)
