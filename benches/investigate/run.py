#!/usr/bin/env python3
"""Whole-process investigation figures beside their comparisons, in one run:

1. `tradetrail stats --by type` (index warm) against DuckDB answering
   `SELECT type, count(*) ... GROUP BY type` in-process over a Parquet copy of the same
   events (one file, written by DuckDB from the archive's files), and against
   `tradetrail --version` (the process start-up alone).
2. `tradetrail trail O-...` of an order whose records left journal/ for the archive,
   against the same trail while they are still in journal/.

    cargo build --release -p tradetrail-cli
    python3 benches/investigate/run.py [--bin target/release/tradetrail]
                                       [--events 1000000] [--dir /path] [--runs 40]

`--bin` may be given more than once (an old build and a new one): each binary makes
its own demo journal and archive (the archive's files are what its writer makes), and
the processes are timed in turns, one of each binary per round, so the figures of the
binaries are of one sitting under the same load.

The journal is that of `tradetrail demo`. The archived copy is made with
`tradetrail archive --seal`; its sealed segments then leave journal/ as `retention
apply` removes them past the hot window (all but the newest sealed one: the files are
deleted here, since the demo's records are not older than the shortest hot window,
one day). Its query index is then built from scratch, as after a real removal.

Each tradetrail figure is the median wall time of `--runs` processes (stdout to
/dev/null). DuckDB's is the median of `--runs` queries on one open connection
(`duckdb.connect()` once, then `con.sql(...).fetchall()`), that is without any
start-up; with a new connection per query it is also printed. Ratios are of figures
of the same run: the machine is shared.
"""

import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def median_ms(cmd, runs):
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        ts.append((time.perf_counter() - t) * 1000)
    return statistics.median(ts)


def duckdb_ms(parquet, runs):
    import duckdb

    q = f"SELECT type, count(*) FROM read_parquet('{parquet}') GROUP BY type"
    con = duckdb.connect()
    rows = con.sql(q).fetchall()
    same = []
    for _ in range(runs):
        t = time.perf_counter()
        con.sql(q).fetchall()
        same.append((time.perf_counter() - t) * 1000)
    fresh = []
    for _ in range(max(5, runs // 4)):
        t = time.perf_counter()
        c = duckdb.connect()
        c.sql(q).fetchall()
        c.close()
        fresh.append((time.perf_counter() - t) * 1000)
    return statistics.median(same), statistics.median(fresh), dict(rows)


def median_ms_each(cmds, runs):
    """Median wall time of each command, run in turns (one of each per round)."""
    ts = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            t = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            ts[i].append((time.perf_counter() - t) * 1000)
    return [statistics.median(t) for t in ts]


def prepare(tt, scratch, events):
    """A demo journal (hot), and a copy whose older records left journal/ (cold)."""
    hot = os.path.join(scratch, "hot")
    run = lambda *args: subprocess.run(
        [tt, *args], check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ).stdout
    run("demo", "--data", hot, "--events", str(events))
    cold = os.path.join(scratch, "cold")
    shutil.copytree(hot, cold)
    run("archive", "--seal", "--data", cold)
    segs = sorted(glob.glob(os.path.join(cold, "journal", "*.jsonl")))
    for s in segs[:-2]:  # keep the newest sealed segment and the active one
        os.remove(s)
    shutil.rmtree(os.path.join(cold, "index", "query"), ignore_errors=True)
    run("stats", "--data", hot)  # index warm
    run("stats", "--data", cold)
    # An order in the middle of the archived records.
    line = run("query", "--data", cold, "--type", "order.submitted", "--format", "jsonl",
               "--after", str(events // 2), "--limit", "1")
    import json

    order = json.loads(line)["entity"]["id"]
    ours = {}
    for row in run("stats", "--by", "type", "--format", "csv", "--data", hot).splitlines()[1:]:
        k, v = row.rsplit(",", 1)
        ours[k] = int(v)
    return {"hot": hot, "cold": cold, "order": order, "ours": ours}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", default=None)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--runs", type=int, default=40)
    a = ap.parse_args()
    bins = [os.path.abspath(b) for b in (a.bin or ["target/release/tradetrail"])]
    scratch = tempfile.mkdtemp(prefix="tradetrail-bench-investigate-", dir=a.dir)
    try:
        sets = []
        for i, tt in enumerate(bins):
            d = os.path.join(scratch, f"bin{i}")
            os.makedirs(d)
            sets.append(prepare(tt, d, a.events))
        parquet = os.path.join(scratch, "events.parquet")
        import duckdb

        files = os.path.join(sets[0]["cold"], "archive", "**", "*.parquet")
        duckdb.sql(
            f"COPY (SELECT * FROM read_parquet('{files}', hive_partitioning=false)) "
            f"TO '{parquet}' (FORMAT parquet)"
        )
        start = median_ms_each([[tt, "--version"] for tt in bins], a.runs)
        stats = median_ms_each(
            [[tt, "stats", "--by", "type", "--data", s["hot"]] for tt, s in zip(bins, sets)], a.runs
        )
        same, fresh, theirs = duckdb_ms(parquet, a.runs)
        trail_cold = median_ms_each(
            [[tt, "trail", s["order"], "--data", s["cold"]] for tt, s in zip(bins, sets)], a.runs
        )
        trail_hot = median_ms_each(
            [[tt, "trail", s["order"], "--data", s["hot"]] for tt, s in zip(bins, sets)], a.runs
        )
        print(f"{a.events} demo events; medians of {a.runs} runs; load {os.getloadavg()[0]:.2f}")
        print(f"DuckDB GROUP BY type, open connection        {same:8.2f} ms")
        print(f"DuckDB GROUP BY type, new connection         {fresh:8.2f} ms")
        ok = True
        for i, (tt, s) in enumerate(zip(bins, sets)):
            same_counts = s["ours"] == theirs
            ok = ok and same_counts
            order = s["order"]
            print(f"[{i}] {tt}")
            print(f"tradetrail --version (start-up only)        {start[i]:8.2f} ms")
            print(f"tradetrail stats --by type, whole process    {stats[i]:8.2f} ms   ratio tradetrail/DuckDB {stats[i] / same:.2f}")
            print(f"same counts as DuckDB: {same_counts}")
            print(f"tradetrail trail {order}, archived          {trail_cold[i]:8.2f} ms   target <= 5 ms")
            print(f"tradetrail trail {order}, in journal/       {trail_hot[i]:8.2f} ms   archived/hot {trail_cold[i] / trail_hot[i]:.2f}")
        if not ok:
            sys.exit(1)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
