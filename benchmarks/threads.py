"""How gomask uses the CPUs (formerly ``python -m gomask bench --threads``).

One large buffer split over goroutines (calls back to back, after idle time,
with irregular gaps), several threads masking at once, and small calls from
several threads; each with the default settings and without splitting
(``set_parallelism(workers=1)``), alternating, medians. Timed with the
helpers of ``gomask._bench``. Run it on an otherwise idle machine.

``--pauses``: instead, calls after pauses from 1, 2 and 4 threads at once
(each thread: a call on 4 KiB, then a sleep): the median time of a call and
the CPU time per call of the threads that are not calling (the Go
runtime's), with the library's yields on and off (docs/runtime-tax.md).

    python benchmarks/threads.py [--budget 0.04] [--pauses] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import gomask.mask as gomask_mask
from gomask._bench import MiB, machine, print_machine, progress, size_name, time_call

#: The settings compared: the library's defaults, and no split.
SETTINGS = {"default": None, "1 goroutine": 1}
#: The gaps of "irregular": back to back and apart, as frames reach a server.
IRREGULAR_GAPS = (0.0, 0.0, 20e-6, 200e-6, 1e-3, 3e-3)


@contextlib.contextmanager
def _workers(workers: int | None) -> Iterator[None]:
    saved = gomask_mask.get_parallelism()
    try:
        if workers is not None:
            gomask_mask.set_parallelism(workers=workers)
        yield
    finally:
        gomask_mask.set_parallelism(*saved)


def _masker(kind: str, size: int) -> Callable[[], object]:
    """One call of *kind* ("in place" or "copy") on a buffer of *size* bytes."""
    key = os.urandom(4)
    if kind == "in place":
        buf = bytearray(os.urandom(size))
        return lambda: gomask_mask.mask_inplace(buf, key)
    data = os.urandom(size)
    return lambda: gomask_mask.mask(data, key)


def _paired(measure: Callable[[int | None], float], rounds: int) -> dict[str, float]:
    """Medians of *measure* for each setting of SETTINGS, alternating."""
    samples: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for _ in range(rounds):
        for name, workers in SETTINGS.items():
            with _workers(workers):
                samples[name].append(measure(workers))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    medians["ratio"] = medians["default"] / medians["1 goroutine"]
    return medians


def _back_to_back(kind: str, size: int, budget: float) -> Callable[[int | None], float]:
    call = _masker(kind, size)

    def measure(workers: int | None) -> float:
        call()
        return time_call(call, budget, repeats=3)

    return measure


def _spaced(kind: str, size: int, gaps: list[float]) -> Callable[[int | None], float]:
    """Mean time of one call, each after the given idle gap (not timed)."""
    call = _masker(kind, size)

    def measure(workers: int | None) -> float:
        total = 0.0
        for gap in gaps:
            if gap:
                time.sleep(gap)
            start = time.perf_counter()
            call()
            total += time.perf_counter() - start
        return total / len(gaps)

    return measure


def _concurrent(threads: int, size: int, calls: int) -> Callable[[int | None], float]:
    """Wall time of *threads* threads each masking its own buffer *calls*
    times at once, divided by the time of the same calls made serially."""
    key = os.urandom(4)
    buffers = [bytearray(os.urandom(size)) for _ in range(threads)]

    def serial() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            for buf in buffers:
                gomask_mask.mask_inplace(buf, key)
        return time.perf_counter() - start

    def at_once() -> float:
        barrier = threading.Barrier(threads + 1)

        def work(buf: bytearray) -> None:
            barrier.wait()
            for _ in range(calls):
                gomask_mask.mask_inplace(buf, key)

        workers = [threading.Thread(target=work, args=(buf,)) for buf in buffers]
        for w in workers:
            w.start()
        barrier.wait()
        start = time.perf_counter()
        for w in workers:
            w.join()
        return time.perf_counter() - start

    def measure(workers: int | None) -> float:
        return at_once() / serial()

    return measure


def small_call_scaling(seconds: float, rounds: int = 5, size: int = 125) -> dict[str, Any]:
    """Calls per second of mask() on *size* bytes from 1 and 2 threads, each
    with its own payload and key (median over rounds, alternating)."""

    def rate(threads: int) -> float:
        counts = [0] * threads
        barrier = threading.Barrier(threads + 1)
        stop = threading.Event()

        def work(i: int) -> None:
            data, key, mask, c = os.urandom(size), os.urandom(4), gomask_mask.mask, 0
            barrier.wait()
            while not stop.is_set():
                for _ in range(200):
                    mask(data, key)
                c += 200
            counts[i] = c

        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        barrier.wait()
        start = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for w in workers:
            w.join()
        return sum(counts) / (time.perf_counter() - start)

    samples: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(rounds):
        for threads in samples:
            samples[threads].append(rate(threads))
    one, two = statistics.median(samples[1]), statistics.median(samples[2])
    return {"size": size, "calls_per_second": {"1": one, "2": two}, "scaling": two / one}


def thread_report(budget: float) -> dict[str, Any]:
    """Every row compares the default settings with splitting off
    (workers=1), alternating, medians."""
    rounds = 7
    rows: list[dict[str, Any]] = []

    def add(case: str, kind: str, size: int, measure: Callable[[int | None], float]) -> None:
        rows.append({"case": case, "kind": kind, "size": size, **_paired(measure, rounds)})
        progress(f"threads: {case}, {kind}, {size_name(size)}")

    rng = random.Random(1)
    irregular = [rng.choice(IRREGULAR_GAPS) for _ in range(24)]
    for kind in ("in place", "copy"):
        for size in (MiB, 4 * MiB, 16 * MiB, 32 * MiB):
            add("back to back", kind, size, _back_to_back(kind, size, budget))
    for kind in ("in place", "copy"):
        for size in (MiB, 4 * MiB, 16 * MiB):
            add("irregular gaps", kind, size, _spaced(kind, size, irregular))
            add("cold", kind, size, _spaced(kind, size, [5e-3] * 8))
    for threads in (2, 4):
        for size in (4 * MiB, 16 * MiB):
            # About 30 ms of work per thread at 15 GB/s.
            calls = max(3, round(0.03 / (size / 15e9)))
            case = f"{threads} threads at once ÷ serial"
            add(case, "in place", size, _concurrent(threads, size, calls))
    scaling = small_call_scaling(seconds=max(0.1, budget * 5))
    progress("threads: small calls")
    return {"rows": rows, "small_calls": scaling, "settings": list(SETTINGS)}


#: Threads and pauses of --pauses.
PAUSE_THREADS = (1, 2, 4)
PAUSES = (100e-6, 300e-6, 1e-3)


def spaced_threads(threads: int, gap: float, seconds: float) -> tuple[float, float]:
    """*threads* threads calling mask() of 4 KiB, each call after sleeping
    *gap*, for about *seconds*: (median seconds per call, CPU seconds per
    call of the process's other threads)."""
    calls = max(50, int(seconds / (gap + 60e-6)))
    barrier = threading.Barrier(threads + 1)
    latencies: list[float] = []
    own_cpu: list[float] = []

    def work() -> None:
        data, key, mask, clock = (
            os.urandom(4096),
            os.urandom(4),
            gomask_mask.mask,
            time.perf_counter,
        )
        mine = []
        barrier.wait()
        start = time.thread_time()
        for _ in range(calls):
            time.sleep(gap)
            t = clock()
            mask(data, key)
            mine.append(clock() - t)
        own_cpu.append(time.thread_time() - start)
        latencies.extend(mine)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    process = time.process_time()
    barrier.wait()
    for w in workers:
        w.join()
    other = time.process_time() - process - sum(own_cpu)
    return statistics.median(latencies), other / (calls * threads)


def pause_report(seconds: float, rounds: int = 3) -> dict[str, Any]:
    """spaced_threads for PAUSE_THREADS x PAUSES, yields on and off, alternating, medians."""
    from gomask import _native

    set_yields = _native.library().debug_gil["set_yields"]
    rows = []
    try:
        for threads in PAUSE_THREADS:
            for gap in PAUSES:
                samples: dict[str, list[tuple[float, float]]] = {"yields": [], "no yields": []}
                for r in range(rounds):
                    for name in ("yields", "no yields") if r % 2 == 0 else ("no yields", "yields"):
                        set_yields(int(name == "yields"))
                        samples[name].append(spaced_threads(threads, gap, seconds))
                row: dict[str, Any] = {"threads": threads, "gap": gap}
                for name, values in samples.items():
                    row[name] = {
                        "latency": statistics.median(v[0] for v in values),
                        "other_cpu": statistics.median(v[1] for v in values),
                    }
                rows.append(row)
                progress(f"pauses: {threads} threads, {gap * 1e3:g} ms")
    finally:
        set_yields(1)
    return {"rows": rows}


def print_pauses(report: dict[str, Any]) -> None:
    print(
        "\nCalls after pauses from several threads (mask() of 4 KiB): median time of a call, "
        "and CPU time of the\nother threads (the Go runtime's) per call, with the yields of "
        "docs/runtime-tax.md and without"
    )
    print(f"  {'threads':>7} {'pause':>7} {'yields':>26} {'no yields':>26}")
    for row in report["rows"]:
        cells = [
            f"{row[n]['latency'] * 1e6:8.2f} µs {row[n]['other_cpu'] * 1e6:8.2f} µs CPU"
            for n in ("yields", "no yields")
        ]
        print(f"  {row['threads']:>7} {row['gap'] * 1e3:>5g}ms {cells[0]:>26} {cells[1]:>26}")


def print_threads(report: dict[str, Any]) -> None:
    print()
    print(
        "Goroutines and threads: µs per call with the default settings and with one goroutine "
        "per call\n(set_parallelism(workers=1)); ratio below 1: the default is faster"
    )
    print(
        f"  {'case':<28} {'kind':<9} {'size':>7} {'default':>11} {'1 goroutine':>12} {'ratio':>6}"
    )
    for row in report["rows"]:
        if row["case"].endswith("÷ serial"):
            continue
        print(
            f"  {row['case']:<28} {row['kind']:<9} {size_name(row['size']):>7} "
            f"{row['default'] * 1e6:11.1f} {row['1 goroutine'] * 1e6:12.1f} {row['ratio']:6.2f}"
        )
    print()
    print(
        "Threads masking their own buffers at once: wall time ÷ the same calls made one after\n"
        "the other by one thread (below 1: the threads use more than one CPU)"
    )
    print(f"  {'threads':<28} {'kind':<9} {'size':>7} {'default':>11} {'1 goroutine':>12}")
    for row in report["rows"]:
        if not row["case"].endswith("÷ serial"):
            continue
        print(
            f"  {row['case']:<28} {row['kind']:<9} {size_name(row['size']):>7} "
            f"{row['default']:11.2f} {row['1 goroutine']:12.2f}"
        )
    small = report["small_calls"]
    rates = small["calls_per_second"]
    print()
    print(
        f"Small calls: mask() of {small['size']} B, {rates['1'] / 1e6:.2f} million calls/s from "
        f"one thread, {rates['2'] / 1e6:.2f} from two ({small['scaling']:.2f} x)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/threads.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--budget", type=float, default=0.04, help="seconds per timed batch (default 0.04)"
    )
    parser.add_argument("--pauses", action="store_true", help="calls after pauses, threads")
    parser.add_argument(
        "--seconds", type=float, default=0.5, help="seconds per cell of --pauses (default 0.5)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"machine": machine()}
    if args.pauses:
        report["pauses"] = pause_report(args.seconds)
    else:
        report["threads"] = thread_report(args.budget)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print_machine(report["machine"])
    if args.pauses:
        print_pauses(report["pauses"])
    else:
        print_threads(report["threads"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
