"""Each library's own masker against gomask as the integration calls it.

For every masker present here (``websockets-c``, ``tornado-c``,
``aiohttp-cython`` (in place), ``autobahn-nvx``, and the pure-Python ones:
``websockets-python``, ``tornado-python``, ``aiohttp-python``,
``autobahn-python``, ``wsproto-python``), per frame size: the masker as the
library calls it, and the replacement that ``install(library, min_size=0)``
puts in its place (every frame to gomask), timed

* back to back: wall time per call;
* with pauses (``--gaps``, ms): each call after a sleep of the gap; process
  CPU time per call (``time.process_time()``: every thread, the Go
  runtime's included, over the calls and their pauses) and the median wall
  time of a call (latency).

Then, for each masker and each of these, the smallest size from which
gomask is no worse at every larger size measured, and the largest of them:
the ``*_MIN_SIZE`` constants of ``gomask.integrations`` (``PURE_PYTHON_MIN_SIZE``
for the pure-Python maskers). Rounds alternate which of the two goes first;
every number is the median over the rounds. Run it on an otherwise idle
machine.

    python benchmarks/thresholds.py [--rounds 5] [--maskers wsproto-python ...] [--gaps 1]
        [--sizes 16,64,...] [--json PATH]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

if not __package__:  # run as a script: the harness is in this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import timing
from benchmarks.timing import MiB, gap_name, size_name

#: 16 B, 64 B, ... 16 MiB.
SIZES = tuple(16 << 2 * i for i in range(11))


class Masker(NamedTuple):
    library: str
    #: The patch point of gomask.integrations: module, attribute.
    module: str
    name: str
    #: The library's own masker: module, attribute (or a loader).
    own: tuple[str, str] | Callable[[], Any]


def _autobahn_python() -> Any:
    """autobahn's pure-Python create_xor_masker, also where autobahn uses NVX
    (its module defines it only when ``autobahn.websocket.USES_NVX`` is false)."""
    websocket: Any = importlib.import_module("autobahn.websocket")
    spec = importlib.util.find_spec("autobahn.websocket.xormasker")
    assert spec is not None
    assert spec.loader is not None
    uses_nvx = websocket.USES_NVX
    websocket.USES_NVX = False
    try:
        module = importlib.util.module_from_spec(spec)  # a copy, not in sys.modules
        spec.loader.exec_module(module)
    finally:
        websocket.USES_NVX = uses_nvx
    return module.create_xor_masker


def _autobahn_nvx() -> Any:
    """autobahn's NVX create_xor_masker, where autobahn was built with NVX."""
    if not importlib.import_module("autobahn.websocket").HAS_NVX:
        raise ImportError("autobahn was built without NVX")
    return importlib.import_module("autobahn.nvx._xormasker").create_xor_masker


MASKERS = {
    "websockets-c": Masker(
        "websockets", "websockets.frames", "apply_mask", ("websockets.speedups", "apply_mask")
    ),
    "tornado-c": Masker(
        "tornado", "tornado.websocket", "_websocket_mask", ("tornado.speedups", "websocket_mask")
    ),
    "aiohttp-cython": Masker(
        "aiohttp",
        "aiohttp._websocket.writer",
        "websocket_mask",
        ("aiohttp._websocket.mask", "_websocket_mask_cython"),
    ),
    "autobahn-nvx": Masker(
        "autobahn", "autobahn.websocket.protocol", "create_xor_masker", _autobahn_nvx
    ),
    "websockets-python": Masker(
        "websockets", "websockets.frames", "apply_mask", ("websockets.utils", "apply_mask")
    ),
    "tornado-python": Masker(
        "tornado",
        "tornado.websocket",
        "_websocket_mask",
        ("tornado.util", "_websocket_mask_python"),
    ),
    "aiohttp-python": Masker(
        "aiohttp",
        "aiohttp._websocket.writer",
        "websocket_mask",
        ("aiohttp._websocket.helpers", "_websocket_mask_python"),
    ),
    "autobahn-python": Masker(
        "autobahn", "autobahn.websocket.protocol", "create_xor_masker", _autobahn_python
    ),
    "wsproto-python": Masker(
        "wsproto",
        "wsproto.frame_protocol",
        "XorMaskerSimple",
        ("wsproto.frame_protocol", "XorMaskerSimple"),
    ),
}


def maskers_of(masker: Masker) -> tuple[Any, Any]:
    """(the library's own masker, gomask's replacement of it as
    ``install(library, min_size=0)`` makes it); ImportError if absent."""
    from gomask import integrations

    module = importlib.import_module(masker.module)
    integrations.uninstall(masker.library)
    saved = getattr(module, masker.name)
    if callable(masker.own):
        own = masker.own()
    else:
        own = getattr(importlib.import_module(masker.own[0]), masker.own[1])
    setattr(module, masker.name, own)
    try:
        integrations.install(masker.library, min_size=0)
        replacement = getattr(module, masker.name)
        integrations.uninstall(masker.library)
    finally:
        setattr(module, masker.name, saved)
    return own, replacement


def caller(library: str, function: Any, size: int) -> Callable[[], object]:
    """A call of *function* masking one frame of *size*, as *library* calls it."""
    key, data = os.urandom(4), os.urandom(size)
    buffer = bytearray(data)
    calls: dict[str, Callable[[], object]] = {
        "websockets": lambda: function(data, key),
        "tornado": lambda: function(key, data),
        "aiohttp": lambda: function(key, buffer),  # in place
        "autobahn": lambda: function(key, size).process(data),
        "wsproto": lambda: function(key).process(buffer),  # wsproto's own copies it
    }
    return calls[library]


def measure(
    masker: Masker,
    functions: tuple[Any, Any],
    sizes: Sequence[int],
    rounds: int,
    gaps: Sequence[float],
    target: float,
    paced: int,
) -> list[dict[str, Any]]:
    """Per size: the medians of own and gomask, back to back and per gap."""
    own_masker, gomask_masker = functions
    rows = []
    for size in sizes:
        calls = {
            "own": caller(masker.library, own_masker, size),
            "gomask": caller(masker.library, gomask_masker, size),
        }
        samples: dict[str, list[float]] = {}
        for r in range(rounds):
            for who in ("own", "gomask") if r % 2 == 0 else ("gomask", "own"):
                wall, _ = timing.for_seconds(calls[who], target)
                samples.setdefault(f"{who}_wall", []).append(wall)
                for gap in gaps:
                    # About 0.1 s per timing, 3 to --paced calls.
                    number = max(3, min(paced, int(0.1 / (gap + wall))))
                    done = timing.paced(calls[who], gap, number)
                    samples.setdefault(f"{who}_cpu_{gap}", []).append(done.cpu)
                    samples.setdefault(f"{who}_latency_{gap}", []).append(done.latency)
        rows.append({"size": size, **{k: statistics.median(v) for k, v in samples.items()}})
    return rows


def regimes(gaps: Sequence[float]) -> list[tuple[str, str]]:
    """(heading, key) of each thing compared: wall back to back, then per gap
    CPU and latency."""
    out = [("back to back: wall", "wall")]
    for gap in gaps:
        out += [(f"gap {gap_name(gap)}: CPU", f"cpu_{gap}")]
        out += [(f"gap {gap_name(gap)}: latency", f"latency_{gap}")]
    return out


def thresholds(rows: list[dict[str, Any]], gaps: Sequence[float]) -> dict[str, int | None]:
    """Per regime, and ``"all"``: from which size gomask is no worse (None: never)."""
    found = {
        key: timing.no_worse_from([(r["size"], r[f"own_{key}"], r[f"gomask_{key}"]) for r in rows])
        for _, key in regimes(gaps)
    }
    values = list(found.values())
    found["all"] = None if None in values else max(v for v in values if v is not None)
    return found


def _shown(size: int | None) -> str:
    return {None: "never", 0: "every size"}.get(size) or size_name(size or 0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/thresholds.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--maskers", nargs="*", choices=list(MASKERS), help="default: all present")
    parser.add_argument("--rounds", type=int, default=5, help="default 5")
    parser.add_argument("--sizes", help="bytes, comma-separated (default 16, 64, ... 16 MiB)")
    parser.add_argument("--gaps", default="1", help="pauses between calls, ms (default 1)")
    parser.add_argument("--target-ms", type=float, default=10.0, help="per back-to-back timing")
    parser.add_argument("--paced", type=int, default=100, help="calls per pause at most")
    parser.add_argument(
        "--python-max", type=int, default=4 * MiB, help="largest size for pure-Python maskers"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    from gomask.mask import implementation

    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(SIZES)
    gaps = timing.parse_gaps(args.gaps)
    print(f"{sys.implementation.name} {sys.version.split()[0]}, gomask {implementation()}")
    print(f"µs per call, medians of {args.rounds} rounds; ratio: gomask ÷ own (below 1: faster)")
    results: list[dict[str, Any]] = []
    for name in args.maskers or MASKERS:
        masker = MASKERS[name]
        try:
            functions = maskers_of(masker)
        except ImportError as exc:
            print(f"\n{name}: not here ({exc})")
            continue
        limit = args.python_max if name.endswith("-python") else sys.maxsize
        measured = [size for size in sizes if size <= limit]
        target = args.target_ms / 1000
        rows = measure(masker, functions, measured, args.rounds, gaps, target, args.paced)
        found = thresholds(rows, gaps)
        results.append({"masker": name, "rows": rows, "thresholds": found})
        if isinstance(masker.own, tuple):
            own_name = ".".join(masker.own)
        else:
            own_name = f"{functions[0].__module__}.{functions[0].__qualname__}"
        print(f"\n{name}: {own_name} against install({masker.library!r}, min_size=0)")
        columns = f"{'own':>10} {'gomask':>10} {'ratio':>5}"
        print(f"{'':>7}" + "".join(f"  {heading:^27}" for heading, _ in regimes(gaps)))
        print(f"{'size':>7}" + f"  {columns}" * len(regimes(gaps)))
        for row in rows:
            line = f"{size_name(row['size']):>7}"
            for _, key in regimes(gaps):
                own_time, gomask_time = row[f"own_{key}"], row[f"gomask_{key}"]
                line += f"  {own_time * 1e6:>10,.2f} {gomask_time * 1e6:>10,.2f}"
                line += f" {timing.ratio(gomask_time, own_time):>5.2f}"
            print(line)
        print(
            "gomask no worse from: "
            + "; ".join(f"{heading} {_shown(found[key])}" for heading, key in regimes(gaps))
            + f"; all: {_shown(found['all'])}"
        )
    if results:
        print("\ngomask no worse from (every larger size measured too):")
        for result in results:
            print(f"  {result['masker']:<18} {_shown(result['thresholds']['all'])}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
