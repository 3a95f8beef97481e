"""Measure the size from which gomask masks faster than each library's own C masker.

Prints, for websockets, tornado, aiohttp and autobahn (those installed, on
the masker each actually uses), the median time per call of the library's
patch point as shipped and as ``gomask.integrations.install(lib, min_size=0)``
patches it (every frame to gomask), at frame sizes from 16 B to 16 MiB, and
the suggested threshold: the smallest size from which gomask is no slower at
every larger size measured (0 when that holds from the smallest). These are
the ``*_MIN_SIZE`` constants of ``gomask.integrations``. A library that masks in pure Python has no
threshold (every frame goes to gomask); this script says so and skips it.
``--libraries wsproto`` times wsproto's pure-Python masker the same way
(for information: install() routes every wsproto frame to gomask).

    python scripts/measure_thresholds.py [--rounds 7] [--target-ms 10] [--libraries ...]

Two regimes are measured, and the suggested threshold is the larger of the
two:

* back to back: wall time per call, the call repeated until about
  --target-ms has passed (a busy connection);
* sparse: CPU time of the whole process per call, each call after an idle
  gap of --gap-us (200 µs: a server whose frames arrive one by one). This
  counts what a call costs in threads other than the caller's too, such as
  the Go runtime's, which a back-to-back loop hides.

Each round times both functions, alternating which goes first. Run it on an
otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from gomask import integrations

SIZES = [16 << i for i in range(21)]  # 16 B ... 16 MiB
SPARSE_SIZES = SIZES[::2]  # 16 B, 64 B, ... 16 MiB


def _callers(library: str, size: int) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """(library's own, gomask's) zero-argument calls masking one frame of *size*."""
    key = os.urandom(4)
    data = os.urandom(size)
    integrations.uninstall(library)
    plan = integrations.describe(library)
    if library == "websockets":
        import websockets.frames as module

        original = module.apply_mask
        integrations.install(library, min_size=0)
        patched = module.apply_mask
        calls = (lambda: original(data, key)), (lambda: patched(data, key))
    elif library == "tornado":
        import tornado.websocket as module

        original = module._websocket_mask
        integrations.install(library, min_size=0)
        patched = module._websocket_mask
        calls = (lambda: original(key, data)), (lambda: patched(key, data))
    elif library == "aiohttp":
        import aiohttp._websocket.writer as module

        original = module.websocket_mask
        integrations.install(library, min_size=0)
        patched = module.websocket_mask
        buffer = bytearray(data)
        calls = (lambda: original(key, buffer)), (lambda: patched(key, buffer))
    elif library == "autobahn":
        import autobahn.websocket.protocol as module

        original = module.create_xor_masker
        integrations.install(library, min_size=0)
        patched = module.create_xor_masker
        calls = (
            (lambda: original(key, size).process(data)),
            (lambda: patched(key, size).process(data)),
        )
    elif library == "wsproto":
        import wsproto.frame_protocol as module

        original = module.XorMaskerSimple
        buffer = bytearray(data)
        calls = (
            (lambda: original(key).process(buffer)),
            (lambda: integrations.WsprotoMasker(key).process(buffer)),
        )
    else:
        raise ValueError(library)
    integrations.uninstall(library)
    assert plan.native or library == "wsproto", plan
    return calls


def _per_call(call: Callable[[], Any], target: float) -> float:
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            call()
        elapsed = time.perf_counter() - start
        if elapsed >= target or number >= 1 << 22:
            return elapsed / number
        number = max(number * 2, int(number * target / max(elapsed, 1e-9)) + 1)


def _sparse_cpu_per_call(call: Callable[[], Any], gap: float, calls: int) -> float:
    """Process CPU time per call, each call after *gap* seconds idle."""
    total = 0.0
    for _ in range(calls):
        time.sleep(gap)
        start = time.process_time()
        call()
        total += time.process_time() - start
        # What other threads do after the call (the Go runtime's) is counted
        # by the next sleep's process time below.
        before = time.process_time()
        time.sleep(gap)
        total += time.process_time() - before
    return total / calls


def _threshold(rows: list[tuple[int, float, float]]) -> int | None:
    for i in range(len(rows)):
        if all(g <= o for _, o, g in rows[i:]):
            return rows[i][0] if i else 0  # faster from the smallest size: always
    return None


def measure(
    library: str, rounds: int, target: float, gap: float, sparse_calls: int
) -> dict[str, Any]:
    rows = []
    sparse_rows = []
    for size in SIZES:
        own_call, gomask_call = _callers(library, size)
        own: list[float] = []
        gomask: list[float] = []
        own_cpu: list[float] = []
        gomask_cpu: list[float] = []
        for r in range(rounds):
            order = [(own_call, own, own_cpu), (gomask_call, gomask, gomask_cpu)]
            if r % 2:
                order.reverse()
            for call, times, cpu in order:
                times.append(_per_call(call, target))
                if size in SPARSE_SIZES:
                    cpu.append(_sparse_cpu_per_call(call, gap, sparse_calls))
        rows.append((size, statistics.median(own), statistics.median(gomask)))
        if size in SPARSE_SIZES:
            sparse_rows.append((size, statistics.median(own_cpu), statistics.median(gomask_cpu)))
    dense, sparse = _threshold(rows), _threshold(sparse_rows)
    both = None if dense is None or sparse is None else max(dense, sparse)
    return {
        "library": library,
        "rows": rows,
        "sparse_rows": sparse_rows,
        "threshold_back_to_back": dense,
        "threshold_sparse": sparse,
        "threshold": both,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--target-ms", type=float, default=10.0)
    parser.add_argument(
        "--libraries", nargs="*", default=["websockets", "tornado", "aiohttp", "autobahn"]
    )
    parser.add_argument("--gap-us", type=float, default=200.0, help="idle gap of the sparse calls")
    parser.add_argument("--sparse-calls", type=int, default=200, help="sparse calls per timing")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    results = []
    print(f"python {sys.version.split()[0]} ({sys.implementation.name})")
    for library in args.libraries:
        try:
            plan = integrations.describe(library)
        except integrations.IntegrationError as exc:
            print(f"{library}: {exc}")
            continue
        if not plan.native and library != "wsproto":
            print(f"{library} {plan.version}: masks in pure Python here: no threshold")
            continue
        result = measure(
            library, args.rounds, args.target_ms / 1000, args.gap_us / 1e6, args.sparse_calls
        )
        results.append(result)
        sparse = dict((size, (own, gomask)) for size, own, gomask in result["sparse_rows"])
        print(f"\n{library} {plan.version} ({plan.native}), µs per call, median of {args.rounds}")
        print(f"{'':>10} {'back to back: wall':^31} {'sparse: process CPU':^31}")
        columns = f"{'own':>11} {'gomask':>11} {'ratio':>7}"
        print(f"{'size':>10} {columns} {columns}")
        for size, own, gomask in result["rows"]:
            line = f"{size:>10} {own * 1e6:>11.3f} {gomask * 1e6:>11.3f} {gomask / own:>7.2f}"
            if size in sparse:
                own_cpu, gomask_cpu = sparse[size]
                ratio = gomask_cpu / own_cpu if own_cpu else float("nan")
                line += f" {own_cpu * 1e6:>11.2f} {gomask_cpu * 1e6:>11.2f} {ratio:>7.2f}"
            print(line)
        for name in ("threshold_back_to_back", "threshold_sparse", "threshold"):
            value = result[name]
            shown = "none (never faster)" if value is None else value
            label = "suggested threshold" if name == "threshold" else name.replace("_", " ")
            print(f"{label}: {shown}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
