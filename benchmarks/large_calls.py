"""Large calls of ``mask()`` on ``bytes``, per byte, on this interpreter and another.

For each size: the first 100 calls of a fresh process (the library loaded
and one call made first, so that neither the load nor the first call's
setup is counted) and calls once warmed up (after 2,000 calls at every
size: PyPy's JIT compiles the loop and ctypes' Python code after about a
thousand), each as wall time, as the calling thread's CPU time
(``time.thread_time``: what other processes on a busy machine take from it
is not counted) and as page faults (``ru_minflt``: fresh memory from the
system, about 1-2 us a page here). Every result is kept until the next call,
as a caller that sends it would. On PyPy, a second pass of the warmed calls
times each call and tells which ones ran a step of a major garbage
collection (``gc.hooks``): their share of the CPU time, and the median call
that ran no collection at all. With ``--compare PYTHON``, the same
measurements under that interpreter, and the ratio of this interpreter's
time per byte to that one's: PyPy is meant to stay within 2x of CPython from
64 KiB up (docs/performance.md says why it does not).

    pypy3 benchmarks/large_calls.py --compare python3 [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

KiB = 1024
MiB = 1024 * KiB
SIZES = (64 * KiB, 256 * KiB, MiB, 4 * MiB)
FIRST = 100
WARMUP = 2000


def measure(size: int) -> dict[str, float]:
    """Per call of mask() on *size* bytes: the first calls and warmed."""
    import gomask

    data, key = os.urandom(size), os.urandom(4)
    kept = gomask.mask(data, key)  # the library loaded, the route set up
    result: dict[str, float] = {}
    calls = max(50, min(WARMUP, (256 * MiB) // size))
    for name, count in (("first", FIRST), ("warm-up", WARMUP), ("warmed", calls)):
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        wall, cpu = time.perf_counter(), time.thread_time()
        for _ in range(count):
            kept = gomask.mask(data, key)
        result[f"{name} wall"] = (time.perf_counter() - wall) / count
        result[f"{name} cpu"] = (time.thread_time() - cpu) / count
        result[f"{name} faults"] = (
            resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
        ) / count
    del kept
    result.update(_collections(data, key, calls))
    return result


def _collections(data: bytes, key: bytes, calls: int) -> dict[str, float]:
    """PyPy: the share of the CPU time of warmed calls spent in calls that
    ran a step of a major collection, and the median call that ran no
    collection (CPython: 0 and the median call)."""
    import gc

    import gomask

    events = [0]

    class Hooks:
        def on_gc_minor(self, stats: object) -> None:
            events[0] |= 1

        def on_gc_collect_step(self, stats: object) -> None:
            events[0] |= 2

        def on_gc_collect(self, stats: object) -> None:
            events[0] |= 2

    hooks = getattr(gc, "hooks", None)
    if hooks is not None:
        hooks.set(Hooks())
    clock, timed = time.thread_time, []
    kept = gomask.mask(data, key)
    try:
        for _ in range(calls):
            events[0] = 0
            start = clock()
            kept = gomask.mask(data, key)
            timed.append((clock() - start, events[0]))
    finally:
        if hooks is not None:
            hooks.reset()
    del kept
    quiet = statistics.median([t for t, event in timed if not event] or [0.0])
    major = [t for t, event in timed if event & 2]
    total = sum(t for t, _ in timed)
    return {
        "warmed no-gc cpu": quiet,
        "warmed major-gc share": (sum(major) - quiet * len(major)) / total if total else 0.0,
    }


STEPS = ("go call", "new bytes")


def measure_steps(size: int, name: str) -> dict[str, float]:
    """CPU seconds per call of one step of mask()'s route alone, in a fresh
    process, over the first 100 calls and warmed: the Go call into a reused
    ctypes buffer, or a new bytes copied out of such a buffer (``string_at``)."""
    from ctypes import addressof, c_char, string_at

    import gomask
    from gomask import _native

    data, key = os.urandom(size), os.urandom(4)
    gomask.mask(data, key)  # the library loaded; PyPy's JIT has compiled nothing yet
    lib = _native.loaded or _native.load()
    buffer = (c_char * size)()
    source, key_address = _native.pointer_to(data), _native.pointer_to(key)
    step: Callable[[], object] = {
        "go call": lambda: lib.check(lib.mask(addressof(buffer), source, size, key_address)),
        "new bytes": lambda: string_at(buffer, size),
    }[name]
    result: dict[str, float] = {}
    kept = step()
    calls = max(50, min(WARMUP, (256 * MiB) // size))
    for phase, count in (("first", FIRST), ("warm-up", WARMUP), ("warmed", calls)):
        cpu = time.thread_time()
        for _ in range(count):
            kept = step()
        result[f"{phase} {name}"] = (time.thread_time() - cpu) / count
    del kept
    return result


def run(python: str, rounds: int, steps: bool = False) -> dict[str, Any]:
    """Each size in a fresh process of *python*, *rounds* times: the medians."""
    samples: dict[int, list[dict[str, float]]] = {size: [] for size in SIZES}
    for _ in range(rounds):
        for size in SIZES:
            row: dict[str, float] = {}
            for step in STEPS if steps else [""]:
                out = subprocess.run(
                    [python, __file__, "--child", str(size), *(["--step", step] if step else [])],
                    check=True,
                    capture_output=True,
                    text=True,
                    env={**os.environ, "PYTHONPATH": _pythonpath()},
                ).stdout
                row.update(json.loads(out))
            samples[size].append(row)
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.implementation.name, sys.version.split()[0])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "python": version,
        "seconds": {
            str(size): {key: statistics.median(s[key] for s in rows) for key in rows[0]}
            for size, rows in samples.items()
        },
    }


def _pythonpath() -> str:
    """The gomask this script is run with, for the child processes."""
    import gomask

    parts = [str(Path(gomask.__file__).resolve().parent.parent)]
    return os.pathsep.join(parts + [p for p in [os.environ.get("PYTHONPATH")] if p])


def _print(report: dict[str, Any]) -> None:
    mine = report["this"]
    other = report.get("compare")
    print(
        f"mask() of bytes (medians of {report['rounds']} fresh processes): cpu and wall in ns "
        "per byte; faults: page faults per call; cpu no GC: the median warmed call that ran no "
        "garbage collection, ns per byte; major GC: the share of warmed CPU time in calls that "
        "ran a step of a major collection"
    )
    header = f"{'size':>8}  {'':11} {'first 100':>10} {'warmed':>10}"
    if other:
        header += (
            f"   {other['python']:>18}: {'first 100':>10} {'warmed':>10}   ratio first, warmed"
        )
    print(f"{mine['python']}\n{header}")
    for size in SIZES:
        for label, first_key, warm_key, scale in (
            ("cpu", "first cpu", "warmed cpu", 1e9 / size),
            ("wall", "first wall", "warmed wall", 1e9 / size),
            ("faults", "first faults", "warmed faults", 1.0),
            ("cpu no GC", None, "warmed no-gc cpu", 1e9 / size),
            ("major GC %", None, "warmed major-gc share", 100.0),
        ):
            values = [mine["seconds"][str(size)]]
            if other:
                values.append(other["seconds"][str(size)])
            cells = [
                (row[first_key] * scale if first_key else None, row[warm_key] * scale)
                for row in values
            ]
            line = f"{size // KiB:>5} KiB  {label:11} {_cell(cells[0][0])} {_cell(cells[0][1])}"
            if other:
                line += f"   {'':>18}  {_cell(cells[1][0])} {_cell(cells[1][1])}   "
                if label in ("cpu", "wall", "cpu no GC"):
                    line += " ".join(
                        f"{mine_value / other_value:5.2f}"
                        if mine_value and other_value
                        else "     "
                        for mine_value, other_value in zip(cells[0], cells[1], strict=True)
                    )
            print(line.rstrip())


def _print_steps(report: dict[str, Any]) -> None:
    print(
        f"Steps of mask()'s route alone, CPU us per call (medians of {report['rounds']} fresh "
        "processes): first 100 calls / warmed"
    )
    for side in ("this", "compare"):
        if side not in report:
            continue
        print(report[side]["python"])
        for size in SIZES:
            row = report[side]["seconds"][str(size)]
            cells = "   ".join(
                f"{name} {row[f'first {name}'] * 1e6:8.1f} / {row[f'warmed {name}'] * 1e6:7.1f}"
                for name in STEPS
            )
            print(f"{size // KiB:>5} KiB   {cells}")


def _cell(value: float | None) -> str:
    return f"{'':>10}" if value is None else f"{value:10.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--compare", metavar="PYTHON", help="another interpreter to compare with")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per size")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--steps",
        action="store_true",
        help="time the steps of the route alone instead (the Go call, the new bytes), CPU us, "
        "each in fresh processes",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child = measure_steps(args.child, args.step) if args.step else measure(args.child)
        print(json.dumps(child))
        return 0
    report: dict[str, Any] = {
        "rounds": args.rounds,
        "this": run(sys.executable, args.rounds, args.steps),
    }
    if args.compare:
        report["compare"] = run(args.compare, args.rounds, args.steps)
    if args.json:
        print(json.dumps(report, indent=2))
    elif args.steps:
        _print_steps(report)
    else:
        _print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
