#!/usr/bin/env python3
"""The Python package's speed, each figure beside a floor measured in the same run.

    python/benches/run.sh [--events N]

1. Recording N realistic events (a simulated trading day from `tradetrail demo`) with
   ``record_many``, acknowledged when written (``durability="os"``), against the floor
   of a plain-Python hash-chained JSON Lines writer doing the same in-process (the
   approach teams write themselves: json.dumps, SHA-256 chain, one os.write per event
   to an O_APPEND file; it validates nothing, so the comparison flatters it).
2. ``record`` one event at a time: the latency of each call, p50/p99, beside the plain
   writer's per-event time.
3. ``query(...).to_pandas()`` of N records, beside pyarrow reading the same table from
   a Parquet file in the page cache into a DataFrame the same way (text columns
   Arrow-backed; the path for long history in the archive).

Machines are shared and noisy: read the ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import pyarrow.parquet as pq

import tradetrail as tt

ENVELOPE = ("seq", "ts_recorded", "prev")


def demo_events(cli: str, n: int, work: pathlib.Path) -> list[dict]:
    """About ``n`` producer events of a simulated trading day (no journal.* records)."""
    d = work / "demo"
    subprocess.run(
        [cli, "demo", "--data", str(d), "--events", str(n), "--seed", "11"],
        check=True,
        capture_output=True,
    )
    out: list[dict] = []
    for seg in sorted((d / "journal").glob("*.jsonl")):
        for line in seg.read_bytes().splitlines():
            rec = json.loads(line)
            if rec["type"].startswith("journal."):
                continue
            for k in ENVELOPE:
                rec.pop(k, None)
            out.append(rec)
    return out[:n]


def plain_writer(events: list[dict], path: pathlib.Path) -> list[float]:
    """The floor: a hash-chained JSON Lines writer in plain Python; per-event seconds."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    prev = "0" * 64
    times = []
    try:
        for seq, ev in enumerate(events):
            t0 = time.perf_counter()
            record = {"seq": seq, "ts_recorded": time.time_ns(), "prev": prev}
            record.update(ev)
            line = json.dumps(record, separators=(",", ":")).encode()
            os.write(fd, line + b"\n")
            prev = hashlib.sha256(line).hexdigest()
            times.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
    return times


def arrow_strings(t):
    """Text columns Arrow-backed, as ``Records.to_pandas()`` makes them."""
    import pandas as pd
    import pyarrow as pa

    return pd.ArrowDtype(t) if pa.types.is_string(t) else None


def fresh(work: pathlib.Path, name: str) -> pathlib.Path:
    d = work / name
    tt.init(d, origin=f"tradetrail.bench/{name}")
    return d


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--single", type=int, default=20_000, help="events recorded one at a time")
    ap.add_argument("--cli", default=os.environ.get("TRADETRAIL_BIN", "tradetrail"))
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        events = demo_events(args.cli, args.events, work)
        n = len(events)
        size = sum(len(json.dumps(e, separators=(",", ":"))) for e in events) / n
        print(f"{n:,} events of a simulated trading day, {size:.0f} bytes on average")

        # 1. Batched recording.
        t0 = time.perf_counter()
        plain = plain_writer(events, work / "plain.jsonl")
        floor_s = time.perf_counter() - t0
        with tt.Recorder.open(fresh(work, "many")) as rec:
            t0 = time.perf_counter()
            receipts = rec.record_many(events, durability="os")
            many_s = time.perf_counter() - t0
        assert len(receipts) == n
        print(
            f"record_many:       {n / many_s:>12,.0f} events/s   "
            f"plain-Python writer {n / floor_s:>10,.0f} events/s   "
            f"ratio {floor_s / many_s:.1f}x"
        )

        # 2. One at a time.
        k = min(args.single, n)
        with tt.Recorder.open(fresh(work, "single")) as rec:
            lat = []
            for ev in events[:k]:
                t0 = time.perf_counter()
                rec.record(ev, durability="os")
                lat.append(time.perf_counter() - t0)
        p50, p99 = pct(lat, 0.50) * 1e6, pct(lat, 0.99) * 1e6
        f50, f99 = pct(plain[:k], 0.50) * 1e6, pct(plain[:k], 0.99) * 1e6
        print(
            f"record (one each): p50 {p50:6.1f} us  p99 {p99:6.1f} us   "
            f"plain-Python writer p50 {f50:5.1f} us  p99 {f99:5.1f} us"
        )

        # 3. A query into pandas.
        with tt.Recorder.open(work / "many") as rec:
            rec.query(type="no.such-type")  # builds the index once, outside the timing
            runs = []
            for _ in range(5):
                t0 = time.perf_counter()
                frame = rec.query().to_pandas()
                runs.append(time.perf_counter() - t0)
            rows = len(frame)
            pq.write_table(rec.query().to_arrow(), work / "same.parquet")
        floor_runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            floor_frame = pq.read_table(work / "same.parquet").to_pandas(types_mapper=arrow_strings)
            floor_runs.append(time.perf_counter() - t0)
        assert len(floor_frame) == rows
        q, f = statistics.median(runs), statistics.median(floor_runs)
        print(
            f"query().to_pandas() of {rows:,} records: {q * 1e3:7.1f} ms   "
            f"pq.read_table(...).to_pandas() of the same rows: {f * 1e3:7.1f} ms   "
            f"ratio {q / f:.2f}"
        )


if __name__ == "__main__":
    sys.exit(main())
