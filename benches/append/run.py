#!/usr/bin/env python3
"""`tradetrail append FILE` against the plain-Python writer (python_writer.py), whole
process, on the same realistic events, with both durabilities.

    cargo build --release -p tradetrail-cli
    python3 benches/append/run.py [--bin target/release/tradetrail] [--events 200000]
                                  [--dir /path/on/the/disk] [--runs 3]

The events are those of `tradetrail demo` (a simulated trading day: orders, fills,
positions, signals, risk checks, approvals…), taken from its journal with the
journal's header (`seq`, `ts_recorded`, `prev`) removed: ~390 bytes each. Each run
appends them to a freshly `init`ed data directory (or a fresh output file for Python),
stdout (the receipts) to /dev/null; the wall time of the whole process is measured (for
tradetrail that includes opening the data directory and the signed checkpoint its
default policy takes every 100,000 records). Prints events/s, the median of `--runs`,
and tradetrail's ratio to Python, and beside them the CPU seconds (user + system) of
the process, which a busy shared machine disturbs less than the wall time.
"""

import argparse
import glob
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def make_events(binary, n, scratch):
    """n demo events without the journal header, one per line."""
    demo = os.path.join(scratch, "demo")
    subprocess.run(
        [binary, "demo", "--data", demo, "--events", str(n + 100)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    path = os.path.join(scratch, "events.jsonl")
    written = 0
    with open(path, "wb") as out:
        for seg in sorted(glob.glob(os.path.join(demo, "journal", "*.jsonl"))):
            with open(seg, "rb") as f:
                for line in f:
                    # {"seq":N,"ts_recorded":N,"prev":"<64 hex>",<body fields>}
                    at = line.index(b'"prev":"') + len(b'"prev":"') + 64 + 2
                    body = b"{" + line[at:]
                    if body.startswith((b'{"type":"journal.', b'{"type":"system.started')):
                        continue
                    out.write(body)
                    written += 1
                    if written == n:
                        break
            if written == n:
                break
    shutil.rmtree(demo)
    if written < n:
        sys.exit(f"the demo gave {written} events, not {n}")
    return path


def cpu_of_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd, **kw):
    """Wall seconds of the whole process; its CPU seconds (user + system) are added
    to CPU[cmd's program]."""
    c0 = cpu_of_children()
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    took = time.perf_counter() - t0
    CPU.setdefault(cmd[0] if "python" not in cmd[0] else "python", []).append(
        cpu_of_children() - c0
    )
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {r.stderr.decode()}")
    return took


# CPU seconds of each run, by program (a shared machine's load changes wall times
# more than CPU times).
CPU = {}


def run_tradetrail(binary, events, scratch, durability):
    data = os.path.join(scratch, "tt")
    shutil.rmtree(data, ignore_errors=True)
    subprocess.run(
        [binary, "init", "--data", data, "--origin", "bench/append"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cmd = [binary, "append", "--data", data, events]
    if durability == "os":
        cmd[2:2] = ["--durability", "os"]
    took = timed(cmd)
    shutil.rmtree(data)
    return took


def run_python(events, scratch, durability):
    out = os.path.join(scratch, "py.jsonl")
    if os.path.exists(out):
        os.remove(out)
    took = timed(
        [
            sys.executable,
            os.path.join(HERE, "python_writer.py"),
            events,
            out,
            "--durability",
            durability,
        ]
    )
    os.remove(out)
    return took


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--bin",
        action="append",
        help="a tradetrail binary (repeat to compare builds; the first makes the events)",
    )
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--dir", default=".")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--durability",
        action="append",
        choices=["os", "default"],
        help="measure only this durability (repeatable; default both)",
    )
    args = ap.parse_args()
    binaries = [os.path.abspath(b) for b in (args.bin or ["target/release/tradetrail"])]
    n = args.events
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="append-bench-") as scratch:
        events = make_events(binaries[0], n, scratch)
        size = os.path.getsize(events)
        print(f"{n} events, {size / n:.0f} B each; median of {args.runs} run(s)")
        for durability in args.durability or ["os", "default"]:
            CPU.clear()
            py = statistics.median(
                run_python(events, scratch, durability) for _ in range(args.runs)
            )
            py_cpu = statistics.median(CPU["python"])
            print(
                f"durability {durability:7}  python writer  {n / py:>11,.0f} /s ({py:.3f} s)"
                f"                  cpu {py_cpu:.3f} s"
            )
            for binary in binaries:
                tt = statistics.median(
                    run_tradetrail(binary, events, scratch, durability) for _ in range(args.runs)
                )
                tt_cpu = statistics.median(CPU[binary])
                print(
                    f"durability {durability:7}  tradetrail     {n / tt:>11,.0f} /s ({tt:.3f} s)"
                    f"  {py / tt:6.1f}x python  cpu {tt_cpu:.3f} s ({py_cpu / tt_cpu:.1f}x)"
                    f"  {binary}"
                )


if __name__ == "__main__":
    main()
