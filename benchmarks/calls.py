"""What a call into Go costs (``python -m gomask bench --calls`` runs this).

The cost of a call against the leanest typed-ctypes binding of the same job
(allocate the result, or pin the buffer, and make one call with the same
arguments into an empty Go function of the same prototype), the batch API
against a loop of calls (1000 payloads of 125 B, and by payload size), and
what each size cut-off of ``gomask.mask`` saves at a size below it and one
above (each forced both ways).

    python benchmarks/calls.py [--budget 0.04] [--cpu] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gomask.mask as gomask_mask
from benchmarks.timing import Timed, best_of
from gomask import _native
from gomask._bench import (
    KiB,
    MiB,
    duration,
    machine,
    print_machine,
    size_name,
)

#: Sizes at which a call's overhead is compared with the leanest ctypes call.
FLOOR_SIZES = (2, 125, KiB)
#: A size cut-off pays if the route it picks saves at least this much.
PAYS = 0.10


def call_overhead(budget: float) -> dict[str, Any]:
    """gomask's calls against the leanest plain-ctypes binding of the same job.

    The lean ``mask()`` allocates the result and makes one typed call, with
    the same arguments, into an empty Go function of the same prototype;
    the lean ``mask_inplace()`` pins the buffer the cheapest way ctypes has
    (``c_char.from_buffer``) and makes the same empty call. What gomask
    adds is its validation of the arguments and the choice of call.
    """
    lib = _native.library()
    empty = lib.debug_gil.get("empty")
    if empty is None:
        return {"missing": "this library was built without its benchmark exports"}
    pin = ctypes.c_char.from_buffer
    pointer_to = _native.pointer_to

    def lean_mask(data: bytes, key: bytes) -> bytes:
        n = len(data)
        out = bytes(n)
        empty(out, pointer_to(data), n, pointer_to(key))
        return out

    def lean_mask_inplace(buf: bytearray, key: bytes) -> None:
        pinned = pin(buf)
        address = ctypes.addressof(pinned)
        empty(address, address, len(buf), pointer_to(key))

    key = os.urandom(4)
    rows: dict[str, dict[str, float]] = {}
    for size in FLOOR_SIZES:
        data = os.urandom(size)
        buf = bytearray(data)
        timed = {
            "gomask mask": Timed(gomask_mask.mask, data, key),
            "lean mask": Timed(lean_mask, data, key),
            "gomask mask_inplace": Timed(gomask_mask.mask_inplace, buf, key),
            "lean mask_inplace": Timed(lean_mask_inplace, buf, key),
        }
        rows[str(size)] = best_of(timed, budget, 5)
    return {"seconds": rows}


def batch_comparison(budget: float, count: int = 1000, size: int = 125) -> dict[str, Any]:
    """*count* payloads of *size* bytes, each with its own key."""
    payloads = [os.urandom(size) for _ in range(count)]
    key_bytes = os.urandom(4 * count)
    keys = [key_bytes[4 * i : 4 * i + 4] for i in range(count)]

    def loop(mask: Callable[[bytes, bytes], bytes]) -> Callable[..., list[bytes]]:
        return lambda payloads, keys: [mask(p, k) for p, k in zip(payloads, keys, strict=True)]

    if gomask_mask.mask_batch(payloads, key_bytes) != loop(gomask_mask.mask)(payloads, keys):
        raise AssertionError("mask_batch disagrees with mask")
    timed = {
        "gomask mask_batch": Timed(gomask_mask.mask_batch, payloads, key_bytes),
        "gomask mask_batch, a list of keys": Timed(gomask_mask.mask_batch, payloads, keys),
        "a loop of gomask mask": Timed(loop(gomask_mask.mask), payloads, keys),
    }
    with contextlib.suppress(ImportError):
        apply_mask = importlib.import_module("websockets.frames").apply_mask
        timed["a loop of websockets apply_mask"] = Timed(loop(apply_mask), payloads, keys)
    return {"count": count, "size": size, "seconds": best_of(timed, budget, 5)}


#: Payload sizes of the batch API against a loop of calls, and how many of each.
BATCH_SIZES = ((125, 1000), (KiB, 500), (4 * KiB, 200), (16 * KiB, 100), (64 * KiB, 50))


def batch_by_size(budget: float) -> list[dict[str, Any]]:
    """mask_batch() against a loop of mask() at each of BATCH_SIZES (keys
    packed for the batch, listed for the loop, as each takes them best)."""
    rows = []
    for size, count in BATCH_SIZES:
        payloads = [os.urandom(size) for _ in range(count)]
        key_bytes = os.urandom(4 * count)
        keys = [key_bytes[4 * i : 4 * i + 4] for i in range(count)]

        def loop(
            payloads: list[bytes], keys: list[bytes], mask: Any = gomask_mask.mask
        ) -> list[bytes]:
            return [mask(p, k) for p, k in zip(payloads, keys, strict=True)]

        timed = {
            "mask_batch": Timed(gomask_mask.mask_batch, payloads, key_bytes),
            "loop": Timed(loop, payloads, keys),
        }
        seconds = best_of(timed, budget, 5)
        rows.append({"size": size, "count": count, "seconds": seconds})
    return rows


def cutoff_cases() -> list[tuple[str, str, tuple[int, int], tuple[str, str]]]:
    """The size cut-offs of gomask.mask that apply here: (attribute, the
    function timed, a size below it and one above, the routes below and from it)."""
    if gomask_mask._GO_CPYTHON:
        return [
            ("_ZEROED_MAX", "mask", (KiB, MiB), ("zero-filled", "uninitialised")),
            ("GIL_RELEASE_THRESHOLD", "mask_inplace", (4 * KiB, MiB),
             ("keeps the GIL", "releases the GIL")),
        ]  # fmt: skip
    if gomask_mask._GO_PYPY:
        return [("PYPY_GO_MIN_SIZE", "mask", (KiB, 64 * KiB), ("Python (JIT)", "Go"))]
    return []


class _Forced(Timed):
    """A Timed call with the cut-off *attribute* of gomask.mask set to *value* while it runs."""

    def __init__(
        self, attribute: str, value: int, fn: Callable[..., object], *args: object
    ) -> None:
        super().__init__(fn, *args)
        self.attribute, self.value = attribute, value

    def batch(self, budget: float) -> float:
        saved = getattr(gomask_mask, self.attribute)
        setattr(gomask_mask, self.attribute, self.value)
        try:
            return super().batch(budget)
        finally:
            setattr(gomask_mask, self.attribute, saved)


def cutoffs(budget: float) -> list[dict[str, Any]]:
    """Each cut-off forced both ways (a huge value: every size takes the route
    below it; 0: the route from it) at a size below it and one above: the
    route it picks at each, and what that saves against the other route."""
    results = []
    for attribute, function, sizes, (below, above) in cutoff_cases():
        value: int = getattr(gomask_mask, attribute)
        fn, rows = getattr(gomask_mask, function), []
        for size in sizes:
            data, key = os.urandom(size), os.urandom(4)
            arg = bytearray(data) if function == "mask_inplace" else data
            forced = {below: 1 << 62, above: 0}
            timed = {route: _Forced(attribute, v, fn, arg, key) for route, v in forced.items()}
            seconds = best_of(timed, budget, 5 if size <= 64 * KiB else 3)
            picks, other = (below, above) if size < value else (above, below)
            saves = 1 - seconds[picks] / seconds[other]
            row = dict(size=size, picks=picks, other=other, seconds=seconds, saves=saves)
            rows.append(row | {"pays": saves >= PAYS})
        results.append({"cutoff": attribute, "value": value, "function": function, "rows": rows})
    return results


def _print_overhead(overhead: dict[str, Any]) -> None:
    if "missing" in overhead:
        print(f"\nCall overhead: not measured, {overhead['missing']}")
        return
    print(
        "\nCall overhead: µs per call of gomask and of the leanest ctypes call of the same "
        f"job (an empty Go function)\n{'size':>8} {'mask':>8} {'lean':>8} {'ratio':>6}   "
        f"{'mask_inplace':>12} {'lean':>8} {'ratio':>6}"
    )
    for size, row in overhead["seconds"].items():
        a, b = row["gomask mask"], row["lean mask"]
        c, d = row["gomask mask_inplace"], row["lean mask_inplace"]
        print(
            f"{size_name(int(size)):>8} {a * 1e6:8.3f} {b * 1e6:8.3f} {a / b:6.2f}   "
            f"{c * 1e6:12.3f} {d * 1e6:8.3f} {c / d:6.2f}"
        )


def _print_batch(batch: dict[str, Any]) -> None:
    print(f"\nBatch: {batch['count']} payloads of {batch['size']} B, each with its own key")
    base = batch["seconds"]["gomask mask_batch"]
    for name, s in batch["seconds"].items():
        print(
            f"  {name:<34} {s * 1e6:>9.1f} µs  {s / batch['count'] * 1e9:>7.1f} ns per "
            f"payload  ({s / base:.2f} x mask_batch)"
        )


def _print_batch_by_size(rows: list[dict[str, Any]]) -> None:
    print(
        "\nmask_batch against a loop of mask(), by payload size (loop ÷ batch above 1: the "
        f"batch is faster)\n{'size':>8} {'count':>6} {'batch µs':>10} {'loop µs':>10} {'ratio':>6}"
    )
    for row in rows:
        batch, loop = row["seconds"]["mask_batch"], row["seconds"]["loop"]
        print(
            f"{size_name(row['size']):>8} {row['count']:>6} {batch * 1e6:>10.1f} "
            f"{loop * 1e6:>10.1f} {loop / batch:>6.2f}"
        )


def _print_cutoffs(results: list[dict[str, Any]]) -> None:
    if not results:
        print("\nCut-offs of gomask.mask: none applies (the pure-Python implementation)")
        return
    print(
        "\nCut-offs of gomask.mask, each forced both ways at a size below it and one above: the "
        f"route it picks\nthere against the other one (a cut-off pays if it saves {PAYS:.0%} or "
        f"more)\n{'size':>10}  {'picks':<16} {'time':>9}  {'other':<16} {'time':>9} {'saves':>8}"
    )
    for result in results:
        print(f"  {result['cutoff']} = {size_name(result['value'])}, {result['function']}():")
        for row in result["rows"]:
            mine, other = row["seconds"][row["picks"]], row["seconds"][row["other"]]
            note = "" if row["pays"] else f"  under {PAYS:.0%}: not shown to pay"
            print(
                f"{size_name(row['size']):>10}  {row['picks']:<16} {duration(mine):>9}  "
                f"{row['other']:<16} {duration(other):>9} {row['saves']:>8.1%}{note}"
            )
        if result["cutoff"] == "GIL_RELEASE_THRESHOLD":
            print(
                "    (releasing the GIL lets other threads run meanwhile: one thread's timing "
                "does not show that)"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=0.04, help="seconds per timed batch")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time the calling thread's CPU time, not wall time (for a busy machine)",
    )
    args = parser.parse_args(argv)
    if args.cpu:
        Timed.clock = time.thread_time
    report: dict[str, Any] = {"machine": machine()}
    report["overhead"] = call_overhead(args.budget)
    report["batch"] = batch_comparison(args.budget)
    report["batch_by_size"] = batch_by_size(args.budget)
    report["cutoffs"] = cutoffs(args.budget)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print_machine(report["machine"])
    _print_overhead(report["overhead"])
    _print_batch(report["batch"])
    _print_batch_by_size(report["batch_by_size"])
    _print_cutoffs(report["cutoffs"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
