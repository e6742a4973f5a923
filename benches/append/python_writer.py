#!/usr/bin/env python3
"""The baseline `tradetrail append` is measured against: a plain-Python, hash-chained
JSON Lines writer, as someone would write it with the standard library alone.

    python3 benches/append/python_writer.py EVENTS.jsonl OUT.jsonl [--durability os|default]

For every input line it parses the event (`json.loads`; a line that is not a JSON
object stops the run), builds the record `{"seq":…,"ts_recorded":…,"prev":"…",<the
event's fields>}` (`json.dumps`, compact), chains it with SHA-256 of the previous
line, and writes it with one `os.write` to a file opened with `O_APPEND`. With
`--durability default` it also calls `os.fdatasync` after every event whose type
tradetrail's default durability policy fsyncs (`order.*`, `position.*`, `account.*`,
`approval.*`, `trading.*`); with `os` it never syncs. It prints one receipt line
(`{"seq":…,"hash":"…"}`) per event on stdout, as `tradetrail append` does.

It validates less than tradetrail (no field checks, no decimals, no event_id
deduplication), so the comparison flatters it.
"""

import argparse
import hashlib
import json
import os
import sys
import time

FSYNC_FAMILIES = ("order.", "position.", "account.", "approval.", "trading.")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("out")
    ap.add_argument("--durability", choices=["os", "default"], default="default")
    args = ap.parse_args()
    durable = args.durability == "default"

    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    out = sys.stdout
    prev = "0" * 64
    seq = 0
    with open(args.events, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            ev = json.loads(raw)
            if not isinstance(ev, dict) or not isinstance(ev.get("type"), str):
                sys.exit(f"{args.events}:{lineno}: event: must be a JSON object with a type")
            record = {"seq": seq, "ts_recorded": time.time_ns(), "prev": prev}
            record.update(ev)
            line = json.dumps(record, separators=(",", ":")).encode()
            os.write(fd, line + b"\n")
            if durable and ev["type"].startswith(FSYNC_FAMILIES):
                os.fdatasync(fd)
            prev = hashlib.sha256(line).hexdigest()
            out.write(f'{{"seq":{seq},"hash":"{prev}"}}\n')
            seq += 1
    os.close(fd)


if __name__ == "__main__":
    main()
