"""gomask against the WebSocket libraries' own maskers, at every size.

Every size from 2 B to 16 MiB: µs per call of gomask's functions and of the
masker each installed library uses on this interpreter (C where it has one,
Python otherwise), gomask ÷ each, and the size from which gomask is faster
(bisected between the sizes of the grid). ``--summary``: three sizes only.
``--json`` prints the report, which benchmarks/plot.py draws.

    python benchmarks/maskers.py [--budget 0.04] [--summary] [--json]
    python -m gomask bench --peers [...]      # the same, from a checkout
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gomask.mask as gomask_mask
from benchmarks.timing import Timed, best_of
from gomask import _fallback
from gomask._bench import (
    KiB,
    MiB,
    machine,
    print_machine,
    progress,
    size_name,
)

#: Payload sizes of the full run, and of ``--summary``.
SIZES = (2, 8, 32, 125, 512, KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB, 4 * MiB, 16 * MiB)
SUMMARY_SIZES = (125, 64 * KiB, MiB)
#: Pure-Python maskers are not timed above this size: they take seconds.
PURE_PYTHON_MAX = 4 * MiB


@dataclass(frozen=True)
class Implementation:
    """One masking function under test: *kind* "copy" returns the masked data,
    "inplace" masks a bytearray; *make* builds its timed call for a payload and
    a key; *versus* is the gomask function it is compared with (None: it is
    gomask's); it is timed up to *max_size* bytes."""

    name: str
    kind: str
    make: Callable[[bytes, bytes], Timed]
    versus: str | None = None
    max_size: int = 1 << 62


#: (label, module, attribute, the library's compiled masker, kind, how it is called)
_LIBRARY_MASKERS: list[tuple[str, str, str, str, str, Callable[..., Timed]]] = [
    ("websockets", "websockets.frames", "apply_mask", "websockets.speedups:apply_mask", "copy",
     lambda f, d, k: Timed(f, d, k)),
    ("aiohttp", "aiohttp._websocket.helpers", "websocket_mask",
     "aiohttp._websocket.mask:_websocket_mask_cython", "inplace",
     lambda f, d, k: Timed(f, k, bytearray(d))),
    ("tornado", "tornado.util", "_websocket_mask", "tornado.speedups:websocket_mask", "copy",
     lambda f, d, k: Timed(f, k, d)),
]  # fmt: skip


def _lang(fn: object, compiled: str) -> str:
    """Whether *fn* is the library's compiled masker (``module:attribute``): "C", or "Python"."""
    module, attribute = compiled.split(":")
    try:
        return "C" if fn is getattr(importlib.import_module(module), attribute, None) else "Python"
    except ImportError:
        return "Python"


def implementations() -> list[Implementation]:
    """gomask's calls, gomask's own pure-Python path (PyPy), and the maskers
    the installed libraries use on this interpreter."""
    mask, mask_inplace = gomask_mask.mask, gomask_mask.mask_inplace
    impls = [
        Implementation("gomask mask", "copy", lambda d, k: Timed(mask, d, k)),
        Implementation(
            "gomask mask_inplace", "inplace", lambda d, k: Timed(mask_inplace, bytearray(d), k)
        ),
    ]
    if gomask_mask.implementation() == "go" and not _fallback.XOR_AS_INTEGERS:
        # PyPy: what gomask runs where a call into Go does not pay.
        pure = partial(Timed, _fallback.mask)
        impls.append(
            Implementation("gomask pure Python", "copy", pure, "gomask mask", PURE_PYTHON_MAX)
        )
    for label, module, attribute, compiled, kind, timed in _LIBRARY_MASKERS:
        with contextlib.suppress(ImportError):
            fn = getattr(importlib.import_module(module), attribute)
            lang = _lang(fn, compiled)
            name = f"{label} ({lang}{', in place' if kind == 'inplace' else ''})"
            versus = "gomask mask_inplace" if kind == "inplace" else "gomask mask"
            max_size = 1 << 62 if lang == "C" else PURE_PYTHON_MAX
            impls.append(Implementation(name, kind, partial(timed, fn), versus, max_size))
    with contextlib.suppress(ImportError):
        masker = importlib.import_module("wsproto.frame_protocol").XorMaskerSimple

        def wsproto_mask(data: bytes, key: bytes) -> bytearray:
            result: bytearray = masker(key).process(data)
            return result

        wsproto = partial(Timed, wsproto_mask)
        impls.append(
            Implementation("wsproto (Python)", "copy", wsproto, "gomask mask", PURE_PYTHON_MAX)
        )
    return impls


def _implementation_table() -> dict[str, dict[str, Any]]:
    return {im.name: {"kind": im.kind, "versus": im.versus} for im in implementations()}


def peer_comparison(budget: float, sizes: Sequence[int] = SIZES) -> dict[str, Any]:
    """Every implementation at every size, and the crossovers."""
    impls, key = implementations(), os.urandom(4)
    seconds = time_sizes(impls, sizes, budget)
    result: dict[str, Any] = {"implementations": _implementation_table(), "seconds": seconds}
    result["crossover"] = crossovers(impls, seconds, key, budget)
    progress("crossovers found")
    return result


def time_sizes(
    impls: list[Implementation], sizes: Sequence[int], budget: float
) -> dict[str, dict[str, float]]:
    """Seconds per call of each of *impls* at each of *sizes*, checked first, in turn."""
    key, rows, started = os.urandom(4), {}, time.perf_counter()
    for i, size in enumerate(sizes):
        data = os.urandom(size)
        _check_results(impls, data, key)
        timed = {im.name: im.make(data, key) for im in impls if size <= im.max_size}
        rows[str(size)] = best_of(timed, budget, 5 if size <= 64 * KiB else 3)
        elapsed = time.perf_counter() - started
        progress(f"[{i + 1}/{len(sizes)}] {size_name(size)} timed ({elapsed:.0f} s)")
    return rows


def _check_results(impls: list[Implementation], data: bytes, key: bytes) -> None:
    """Every implementation must compute the same thing before it is timed."""
    if len(data) > MiB:
        return
    want = _fallback.mask(data, key)
    for im in impls:
        if len(data) > im.max_size:
            continue
        timed = im.make(data, key)
        result = timed.fn(*timed.args)
        if im.kind == "inplace":
            result = next(a for a in timed.args if isinstance(a, bytearray))
        if bytes(result) != want:  # type: ignore[call-overload]
            raise AssertionError(f"{im.name} disagrees with the reference at {len(data)} bytes")


def crossovers(
    impls: list[Implementation], seconds: dict[str, dict[str, float]], key: bytes, budget: float
) -> dict[str, int | None]:
    """For each library, the smallest size from which gomask is faster.

    On the grid of sizes already timed, that is the first size from which
    gomask is faster at every larger size too; the exact size is then found
    by bisection (on a log scale, to about 10 %) between it and the grid
    size below. None if gomask is not faster at the largest size timed.
    """
    by_name = {im.name: im for im in impls}
    found: dict[str, int | None] = {}
    for peer in impls:
        if peer.versus is None:
            continue
        ours = by_name[peer.versus]
        grid = [int(s) for s, row in seconds.items() if peer.name in row and ours.name in row]
        faster_on_grid = [seconds[str(s)][ours.name] < seconds[str(s)][peer.name] for s in grid]
        first = len(grid)
        while first > 0 and faster_on_grid[first - 1]:
            first -= 1
        if first in (0, len(grid)):
            found[peer.name] = grid[0] if first == 0 else None
            continue

        def faster(size: int, peer: Implementation = peer, ours: Implementation = ours) -> bool:
            data = os.urandom(size)
            t = best_of({"ours": ours.make(data, key), "peer": peer.make(data, key)}, budget, 3)
            return t["ours"] < t["peer"]

        low, high = grid[first - 1], grid[first]
        while high > low * 1.1 and high - low > 1:
            mid = int((low * high) ** 0.5)
            low, high = (low, mid) if faster(mid) else (mid, high)
        found[peer.name] = high
    return found


def _print_table(title: str, columns: list[str], rows: dict[str, Any], cell: Any) -> None:
    """One line per size of *rows*, with ``cell(size, row, column)`` per column."""
    width = max(16, *(len(c) for c in columns)) + 1
    print(f"\n{title}\n{'size':>8} " + "".join(f"{c:>{width}}" for c in columns))
    for size, row in rows.items():
        cells = [cell(int(size), row, c) if c in row else "-" for c in columns]
        print(f"{size_name(int(size)):>8} " + "".join(f"{c:>{width}}" for c in cells))


def _print_peers(peers: dict[str, Any]) -> None:
    table, seconds = peers["implementations"], peers["seconds"]

    def speed(size: int, row: dict[str, float], name: str) -> str:
        return f"{row[name] * 1e6:.3f} ({size / row[name] / 1e9:.2f})"

    def ratio(size: int, row: dict[str, float], name: str) -> str:
        ours = table[name]["versus"]
        return f"{row[ours] / row[name]:.2f}" if ours in row else "-"

    _print_table("Masking: µs per call (GB/s)", list(table), seconds, speed)
    others = [name for name in table if table[name]["versus"]]
    if others:
        title = "gomask ÷ each, time per call (below 1: gomask is faster)"
        _print_table(title, others, seconds, ratio)
        print("\ngomask is faster from:")
        for peer, size in peers["crossover"].items():
            at = f"{size:,} bytes ({size_name(size)})" if size is not None else "not up to "
            if size is None:
                at += size_name(max(int(s) for s, row in seconds.items() if peer in row))
            print(f"  {table[peer]['versus']} vs {peer}: {at}")


def summary(budget: float) -> dict[str, Any]:
    """gomask's mask() against each installed library's masker, at a few sizes."""
    seconds = time_sizes(implementations(), SUMMARY_SIZES, budget)
    return {"seconds": seconds, "implementations": _implementation_table()}


def _print_summary(summary: dict[str, Any]) -> None:
    table = summary["implementations"]
    peers = [name for name, im in table.items() if im["versus"]]
    if not peers:
        print("\nNo WebSocket library is installed to compare with (pip install gomask[bench]).")
        return
    print("\ngomask ÷ each library's masker, time per call (below 1: gomask is faster):")
    for peer in peers:
        ours = table[peer]["versus"]
        cells = [
            f"{row[ours] / row[peer]:.2f} at {size_name(int(size))}"
            for size, row in summary["seconds"].items()
            if peer in row
        ]
        print(f"  {peer}: " + ", ".join(cells))
    print("  (benchmarks/maskers.py without --summary: every size, and where gomask starts to win)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=0.04, help="seconds per timed batch")
    parser.add_argument("--summary", action="store_true", help="three sizes only")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {"machine": machine()}
    if args.summary:
        report["summary"] = summary(args.budget)
    else:
        report["peers"] = peer_comparison(args.budget)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print_machine(report["machine"])
    if args.summary:
        _print_summary(report["summary"])
    else:
        _print_peers(report["peers"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
