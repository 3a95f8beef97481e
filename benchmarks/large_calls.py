"""Large calls of ``mask()`` on ``bytes``, per byte, on this interpreter and another.

For each size: the first 100 calls of a fresh process (the library loaded
and one call made first, so that neither the load nor the first call's
setup is counted) and calls once warmed up (after 2,000), each as wall time
and as the calling thread's CPU time (``time.thread_time``: what other
processes on a busy machine take from it is not counted). Every result is
kept until the next call, as a caller that sends it would. With
``--compare PYTHON``, the same measurements under that interpreter, and the
ratio of this interpreter's time per byte to that one's: PyPy is meant to
stay within 2x of CPython from 64 KiB up.

    pypy3 benchmarks/large_calls.py --compare python3 [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

KiB = 1024
MiB = 1024 * KiB
SIZES = (64 * KiB, 256 * KiB, MiB, 4 * MiB)
FIRST = 100
WARMUP = 2000


def measure(size: int) -> dict[str, float]:
    """Seconds per call of mask() on *size* bytes: the first calls and warmed."""
    import gomask

    data, key = os.urandom(size), os.urandom(4)
    kept = gomask.mask(data, key)  # the library loaded, the route set up
    result: dict[str, float] = {}
    calls = max(20, min(WARMUP, (256 * MiB) // size))
    for name, count in (("first", FIRST), ("warm-up", calls), ("warmed", calls)):
        wall, cpu = time.perf_counter(), time.thread_time()
        for _ in range(count):
            kept = gomask.mask(data, key)
        result[f"{name} wall"] = (time.perf_counter() - wall) / count
        result[f"{name} cpu"] = (time.thread_time() - cpu) / count
    del kept
    return result


def run(python: str, rounds: int) -> dict[str, Any]:
    """Each size in a fresh process of *python*, *rounds* times: the medians."""
    samples: dict[int, list[dict[str, float]]] = {size: [] for size in SIZES}
    for _ in range(rounds):
        for size in SIZES:
            out = subprocess.run(
                [python, __file__, "--child", str(size)],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": _pythonpath()},
            ).stdout
            samples[size].append(json.loads(out))
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.implementation.name, sys.version.split()[0])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "python": version,
        "seconds": {
            str(size): {
                key: statistics.median(s[key] for s in rows)
                for key in ("first wall", "first cpu", "warmed wall", "warmed cpu")
            }
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
    print(f"mask() of bytes, ns per byte (medians of {report['rounds']} fresh processes)")
    header = f"{'size':>8}  {'':6} {'first 100':>10} {'warmed':>10}"
    if other:
        header += (
            f"   {other['python']:>18}: {'first 100':>10} {'warmed':>10}   ratio first, warmed"
        )
    print(f"{mine['python']}\n{header}")
    for size in SIZES:
        for clock in ("cpu", "wall"):
            row = mine["seconds"][str(size)]
            first, warm = row[f"first {clock}"] / size * 1e9, row[f"warmed {clock}"] / size * 1e9
            line = f"{size // KiB:>5} KiB  {clock:6} {first:10.3f} {warm:10.3f}"
            if other:
                o = other["seconds"][str(size)]
                ofirst = o[f"first {clock}"] / size * 1e9
                owarm = o[f"warmed {clock}"] / size * 1e9
                line += (
                    f"   {'':>18}  {ofirst:10.3f} {owarm:10.3f}   "
                    f"{first / ofirst:5.2f} {warm / owarm:5.2f}"
                )
            print(line)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--compare", metavar="PYTHON", help="another interpreter to compare with")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per size")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child)))
        return 0
    report: dict[str, Any] = {"rounds": args.rounds, "this": run(sys.executable, args.rounds)}
    if args.compare:
        report["compare"] = run(args.compare, args.rounds)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
