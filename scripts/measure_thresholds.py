"""Measure the size from which gomask masks faster than each library's own C masker.

Prints, for websockets, tornado, aiohttp and autobahn (those installed, on
the masker each actually uses), the median time per call of the library's
patch point as shipped and as ``gomask.integrations.install(lib, min_size=0)``
patches it (every frame to gomask), at frame sizes from 16 B to 16 MiB, and
the suggested threshold: the smallest size from which gomask is no slower at
every larger size measured (0 when that holds from the smallest). These are
the ``*_MIN_SIZE`` constants of ``gomask.integrations``. A library that masks in pure Python has no
threshold (every frame goes to gomask); this script says so and skips it.

    python scripts/measure_thresholds.py [--rounds 7] [--target-ms 10] [--libraries ...]

Each round times both functions back to back, alternating which goes first;
each timing repeats the call until about --target-ms has passed. Run it on
an otherwise idle machine.
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
    else:
        raise ValueError(library)
    integrations.uninstall(library)
    assert plan.native, plan
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


def measure(library: str, rounds: int, target: float) -> dict[str, Any]:
    rows = []
    for size in SIZES:
        own_call, gomask_call = _callers(library, size)
        own: list[float] = []
        gomask: list[float] = []
        for r in range(rounds):
            order = [(own_call, own), (gomask_call, gomask)]
            if r % 2:
                order.reverse()
            for call, times in order:
                times.append(_per_call(call, target))
        rows.append((size, statistics.median(own), statistics.median(gomask)))
    threshold = None
    for i in range(len(rows)):
        if all(g <= o for _, o, g in rows[i:]):
            threshold = rows[i][0] if i else 0  # faster from the smallest size: always
            break
    return {"library": library, "rows": rows, "threshold": threshold}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--target-ms", type=float, default=10.0)
    parser.add_argument(
        "--libraries", nargs="*", default=["websockets", "tornado", "aiohttp", "autobahn"]
    )
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
        if not plan.native:
            print(f"{library} {plan.version}: masks in pure Python here: no threshold")
            continue
        result = measure(library, args.rounds, args.target_ms / 1000)
        results.append(result)
        print(f"\n{library} {plan.version} ({plan.native}), µs per call, median of {args.rounds}")
        print(f"{'size':>10} {'own':>11} {'gomask':>11} {'ratio':>7}")
        for size, own, gomask in result["rows"]:
            print(f"{size:>10} {own * 1e6:>11.3f} {gomask * 1e6:>11.3f} {gomask / own:>7.2f}")
        threshold = result["threshold"]
        shown = "none (never faster)" if threshold is None else threshold
        print(f"suggested threshold: {shown}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
