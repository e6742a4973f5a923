"""A recording process killed with SIGKILL at a random instant loses no acknowledged
event: every receipt it printed before it died is in the journal, byte for byte as
the receipt says, and the journal verifies."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import warnings

import pytest

import tradetrail as tt

CHILD = textwrap.dedent(
    """
    import json, sys, uuid
    import tradetrail as tt

    rec = tt.Recorder.open(sys.argv[1])
    n = 0
    while True:
        n += 1
        events = [{
            "type": "param.changed",
            "ts_event": "2026-11-20T14:30:01Z",
            "source": "meta",
            "actor": "algo:m1",
            "event_id": str(uuid.uuid4()),
            "data": {"name": f"k{n}-{i}", "old_value": "1", "new_value": "2", "reason": "r"},
        } for i in range(1 + n % 3)]
        if len(events) == 1:
            receipts = [rec.record(events[0], durability="fsync")]
        else:
            receipts = rec.record_many(events, durability="fsync")
        for ev, r in zip(events, receipts):
            # Printed only once acknowledged: fsync'd.
            sys.stdout.write(json.dumps([r.seq, r.hash, ev["event_id"]]) + "\\n")
        sys.stdout.flush()
    """
)


@pytest.mark.parametrize("round_", range(4))
def test_sigkill_loses_no_acknowledged_event(data, round_):
    rng = random.Random(round_ * 7919 + os.getpid())
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None
    wanted = rng.randint(5, 300)
    printed = []
    while len(printed) < wanted:
        line = child.stdout.readline()
        assert line, f"the child stopped: {child.stderr.read().decode() if child.stderr else ''}"
        printed.append(line)
    # It goes on recording while we read; kill it mid-flight.
    child.send_signal(signal.SIGKILL)
    rest, err = child.communicate()
    assert child.returncode == -signal.SIGKILL, err.decode()
    # What it printed before it died, without a line cut short by the kill.
    lines = printed + rest.splitlines(keepends=True)
    receipts = [json.loads(line) for line in lines if line.endswith(b"\n")]
    assert len(receipts) >= wanted

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an unfinished line may be cut
        rec = tt.Recorder.open(data)
    with rec:
        for seq, digest, event_id in receipts:
            line = rec.read_line(seq)
            assert hashlib.sha256(line).hexdigest() == digest, f"seq {seq}"
            assert json.loads(line)["event_id"] == event_id
        assert rec.verify()["ok"], rec.verify()
        # And the journal takes more records after the crash.
        assert rec.record(
            {"type": "param.changed", "ts_event": "2026-11-20T14:30:01Z", "source": "meta",
             "actor": "algo:m1", "data": {"name": "after", "old_value": "1",
                                          "new_value": "2", "reason": "r"}}
        ).seq > receipts[-1][0]
