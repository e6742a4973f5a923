"""Threads and asyncio: nothing lost, the loop never blocked, the GIL released."""

from __future__ import annotations

import asyncio
import threading
import time

import tradetrail as tt
from conftest import journal_lines, param_changed


def test_threads_and_a_task_lose_nothing(data):
    per_thread, per_task = 300, 200
    results: list[list[tt.Receipt]] = [[], []]
    errors: list[BaseException] = []

    with tt.Recorder.open(data) as rec:
        start = threading.Barrier(3)

        def worker(k: int) -> None:
            try:
                start.wait()
                for i in range(per_thread):
                    if i % 50 == 0:
                        results[k].extend(
                            rec.record_many([param_changed(actor=f"algo:t{k}")] * 5)
                        )
                    else:
                        results[k].append(rec.record(param_changed(actor=f"algo:t{k}")))
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        async def task() -> list[tt.Receipt]:
            await asyncio.to_thread(start.wait)
            return [await rec.arecord(param_changed(actor="algo:a")) for _ in range(per_task)]

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        from_task = asyncio.run(task())
        for t in threads:
            t.join()
        verdict = rec.verify()

    assert not errors, errors
    every = results[0] + results[1] + from_task
    expected = 2 * (per_thread + (per_thread // 50) * 4) + per_task
    assert len(every) == expected
    seqs = [r.seq for r in every]
    assert len(set(seqs)) == expected
    assert set(seqs) == set(range(1, expected + 1))
    assert verdict["ok"] is True and verdict["records"] == expected + 1
    assert len(journal_lines(data)) == expected + 1
    # Each producer's own receipts come back in its order.
    for own in (results[0], results[1], from_task):
        assert [r.seq for r in own] == sorted(r.seq for r in own)


def test_arecord_does_not_block_the_loop(data):
    async def main() -> tuple[float, float, int]:
        ticks: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            while not stop.is_set():
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.001)

        with tt.Recorder.open(data) as rec:
            tick_task = asyncio.create_task(ticker())
            await asyncio.sleep(0.01)
            t0 = time.perf_counter()
            # A burst: many records at once, each synced to disk.
            events = [param_changed() for _ in range(200)]
            await asyncio.gather(
                *(rec.arecord(e, durability="fsync") for e in events),
                rec.arecord_many([param_changed() for _ in range(5000)], durability="fsync"),
            )
            t1 = time.perf_counter()
            stop.set()
            await tick_task
        during = [t for t in ticks if t0 <= t <= t1]
        gaps = [b - a for a, b in zip([t0, *during], [*during, t1])]
        return t1 - t0, max(gaps), len(during)

    burst, worst_gap, ticked = asyncio.run(main())
    # Blocking calls would hold the loop for the whole burst: no tick in between.
    assert ticked >= 3, (burst, worst_gap, ticked)
    assert worst_gap < burst / 2, (burst, worst_gap, ticked)


def test_the_gil_is_released_while_recording(data):
    lines = [tt.to_json(param_changed()) for _ in range(20000)]
    spins: list[float] = []
    call: list[float] = []

    with tt.Recorder.open(data) as rec:

        def big_batch() -> None:
            call.append(time.perf_counter())
            rec.record_many(lines, durability="fsync")
            call.append(time.perf_counter())

        t = threading.Thread(target=big_batch)
        t.start()
        while t.is_alive():
            spins.append(time.perf_counter())
        t.join()
    start, end = call
    took = end - start
    assert took > 0.02, took
    inside = [s for s in spins if start < s < end]
    gaps = [b - a for a, b in zip([start, *inside], [*inside, end])]
    # With the GIL held through the call, this thread could not run until it ended.
    assert len(inside) > 10 and max(gaps) < took / 2, (len(inside), max(gaps), took)
