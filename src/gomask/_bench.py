"""``python -m gomask bench``: gomask measured against plain Python and the
masking functions of the WebSocket libraries.

With no option it prints the table of the demo gomask grew from: print a
line, decode a small JSON document, mask 64 kB and 256 kB, each as a call
into Go ("Dynamic") and as the same work in plain Python ("Native"), then
one line comparing gomask with the masking functions of the WebSocket
libraries that are installed.

--peers    masking from 2 B to 16 MiB against the libraries' own maskers
           (the ones they use on this interpreter: C where they have it,
           Python otherwise), with the size from which gomask is faster,
           the cost of a call into Go, and the batch API.

From a checkout: benchmarks/threads.py (goroutines and threads) and
benchmarks/plot.py (plots of a --peers --json report).

Every time is the mean of one call over a batch, the fastest batch (or the
median, where calls are spread over time) of several; the variants of one
measurement run in turn, several rounds, so that they see the same machine
load, and every ratio compares two numbers of the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import json
import os
import platform
import statistics
import sys
import time
import timeit
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import gomask
import gomask.mask as gomask_mask
from gomask import _fallback, _native, examples

PERSON_DOCUMENT = (
    '{"name": "John", "age": 30, "cars": ["Ford", "BMW", "Fiat"], '
    '"friends": [{"name": "Peter", "age": 30}, {"name": "Anna", "age": 30}]}'
)

KiB = 1024
MiB = 1024 * KiB

#: Payload sizes of ``--peers``.
PEER_SIZES = (
    2, 8, 32, 125, 512, KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB, 4 * MiB, 16 * MiB,
)  # fmt: skip
#: Sizes at which a call's overhead is compared with the leanest ctypes call.
FLOOR_SIZES = (2, 125, KiB)
#: Sizes of the one-line summary of the default run.
SUMMARY_SIZES = (125, 64 * KiB, MiB)
#: Pure-Python maskers are not timed above this size: they take seconds.
PURE_PYTHON_MAX = 4 * MiB


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seconds",
        type=float,
        default=0.5,
        help="time budget per cell of the demo's table (default 0.5; the table takes about "
        "8 times this)",
    )
    parser.add_argument(
        "--peers",
        action="store_true",
        help="masking from 2 B to 16 MiB against the WebSocket libraries' own maskers",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=0.04,
        help="seconds per timed batch (default 0.04)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def run(args: argparse.Namespace) -> int:
    report: dict[str, Any] = {"machine": machine()}
    if args.peers:
        report["peers"] = peer_comparison(args.budget)
    else:
        report["seed_table"] = seed_table(args.seconds)
        report["summary"] = summary(args.budget)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print_machine(report["machine"])
    if args.peers:
        _print_peers(report["peers"])
    else:
        _print_seed_table(report["seed_table"])
        _print_summary(report["summary"])
    return 0


# --- timing ------------------------------------------------------------------------------


def time_call(fn: Callable[[], object], seconds: float, repeats: int = 5) -> float:
    """Mean seconds per call of *fn*, from the fastest of *repeats* batches."""
    number = 1
    while True:  # grow the batch until it takes a tenth of the budget
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / (repeats * 2) or number >= 1 << 24:
            break
        number *= 2
    best = elapsed / number
    for _ in range(repeats - 1):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


class Timed:
    """A call ``fn(*args)`` timed with timeit: the statement names each
    argument, so every implementation pays the same, minimal, harness cost."""

    def __init__(self, fn: Callable[..., object], *args: object) -> None:
        self.fn, self.args = fn, args
        names = [f"a{i}" for i in range(len(args))]
        namespace: dict[str, object] = {"f": fn, **dict(zip(names, args, strict=True))}
        self._timer = timeit.Timer(f"f({', '.join(names)})", globals=namespace)
        self._number = 0

    def batch(self, budget: float) -> float:
        """Seconds per call over one batch of about *budget* seconds.

        One untimed call comes first: the batch before was another
        implementation's and left other data in the caches, so the first
        call of a batch is not the steady state of calls back to back.
        """
        self._timer.timeit(1)
        if not self._number:  # calibrate once: the batch that takes about budget
            number = 1
            while True:
                elapsed = self._timer.timeit(number)
                if elapsed >= budget / 4 or number >= 1 << 22:
                    break
                number *= 2
            self._number = max(1, round(number * budget / max(elapsed, 1e-9)))
        return self._timer.timeit(self._number) / self._number


def best_of(timed: dict[str, Timed], budget: float, rounds: int) -> dict[str, float]:
    """The fastest batch of each of *timed*, measured in turn, *rounds* times."""
    best = dict.fromkeys(timed, float("inf"))
    for _ in range(rounds):
        for name, t in timed.items():
            best[name] = min(best[name], t.batch(budget))
    return best


def progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# --- the machine ---------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info: dict[str, Any] = {
        "gomask": gomask.__version__,
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "platform": f"{sys.platform} {platform.machine()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "free_threaded": not getattr(sys, "_is_gil_enabled", lambda: True)(),
        "gomask_implementation": gomask_mask.implementation(),
    }
    if hasattr(os, "getloadavg"):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    with contextlib.suppress(ImportError):
        build = _native.library().build_info()
        info["go"] = build.get("go_version")
        info["mask_kernel"] = build.get("mask_kernel")
    info["gil_release_threshold"] = gomask_mask.GIL_RELEASE_THRESHOLD
    parallel = gomask_mask.get_parallelism()
    info["parallel_threshold"], info["parallel_workers"] = parallel.threshold, parallel.workers
    info["libraries"] = {name: _version(name) for name in _LIBRARIES}
    return info


def _cpu_model() -> str:
    with (
        contextlib.suppress(OSError),
        open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f,
    ):
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _version(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def print_machine(m: dict[str, Any]) -> None:
    threading_note = ", GIL disabled" if m["free_threaded"] else ""
    go = f"Go {m['go']} ({m['mask_kernel']} kernel)" if m.get("go") else "no Go library"
    load = m.get("load_average")
    print(
        f"gomask {m['gomask']} on {m['python']}{threading_note}, {m['platform']}, "
        f"{m['cpus']} CPUs ({m['cpu']}), {go}, implementation {m['gomask_implementation']}"
        + (f"; load average {load[0]:.2f}" if load else "")
    )


# --- the demo's table ---------------------------------------------------------------------


@contextlib.contextmanager
def stdout_silenced() -> Iterator[None]:
    """Send file descriptor 1 (Go's stdout) and sys.stdout to the null device."""
    sys.stdout.flush()
    saved_fd = os.dup(1)
    saved_stdout = sys.stdout
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        sys.stdout = null
        try:
            yield
        finally:
            sys.stdout = saved_stdout
            os.dup2(saved_fd, 1)
            os.close(saved_fd)


def native_hello_world() -> None:
    print("Hello, world! (from Go)")


def native_parse_person(doc: str) -> examples.Person:
    obj = json.loads(doc)
    return examples.Person(
        name=obj["name"],
        age=obj["age"],
        cars=tuple(obj.get("cars") or ()),
        friends=tuple(examples.Friend(f["name"], f["age"]) for f in obj.get("friends") or ()),
    )


def native_mask(data: bytes, key: bytes) -> bytes:
    """The demo's masking in plain Python, byte by byte (linear, unlike the
    demo's, which sliced the buffer in its loop)."""
    return bytes(b ^ key[i & 3] for i, b in enumerate(data))


def seed_table(seconds: float) -> list[dict[str, object]]:
    key = bytes.fromhex("37fa213d")
    data_64k = os.urandom(64 * 1024)
    data_256k = os.urandom(256 * 1024)
    rows: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        ("Hello world print", examples.hello_world, native_hello_world),
        (
            "JSON",
            lambda: examples.parse_person(PERSON_DOCUMENT),
            lambda: native_parse_person(PERSON_DOCUMENT),
        ),
        (
            "Websocket mask 64kB",
            lambda: gomask_mask.mask(data_64k, key),
            lambda: native_mask(data_64k, key),
        ),
        (
            "Websocket masking (256kB)",
            lambda: gomask_mask.mask(data_256k, key),
            lambda: native_mask(data_256k, key),
        ),
    ]
    results = []
    for name, dynamic, native in rows:
        with stdout_silenced():
            go_s = time_call(dynamic, seconds)
            py_s = time_call(native, seconds)
        results.append({"name": name, "dynamic_s": go_s, "native_s": py_s})
        progress(f"measured {name}")
    return results


def _print_seed_table(results: list[dict[str, Any]]) -> None:
    print()
    print("The demo's benchmark: Dynamic is the call into Go, Native the same work in Python.")
    print(f"{'':<26} {'Dynamic':>12} {'Native':>12}  speed-up")
    for row in results:
        go_s, py_s = float(row["dynamic_s"]), float(row["native_s"])
        ratio = py_s / go_s
        faster = f"Go x{ratio:,.0f} faster" if ratio >= 1 else f"Python x{1 / ratio:.1f} faster"
        print(f"{row['name']:<26} {_duration(go_s):>12} {_duration(py_s):>12}  {faster}")
    print(
        "A call into Go costs a fixed fraction of a microsecond, so Python wins the tiny calls "
        "(printing,\na small JSON document); on bulk data (masking kilobytes) the Go loop wins "
        "by orders of magnitude.\nThe Native masking here is a plain Python loop: the "
        "WebSocket libraries do much better (--peers)."
    )


def summary(budget: float) -> dict[str, Any]:
    """gomask's mask() against each installed library's masker, at a few sizes."""
    rows: dict[str, dict[str, float]] = {}
    for size in SUMMARY_SIZES:
        data = os.urandom(size)
        key = os.urandom(4)
        timed = {im.name: im.make(data, key) for im in implementations() if size <= im.max_size}
        rows[str(size)] = best_of(timed, budget, 3)
    return {"seconds": rows, "implementations": _implementation_table()}


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
            f"{_ratio(row[ours] / row[peer])} at {size_name(int(size))}"
            for size, row in summary["seconds"].items()
            if peer in row
        ]
        print(f"  {peer}: " + ", ".join(cells))
    print("  (python -m gomask bench --peers: every size, and where gomask starts to win)")


def _duration(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _ratio(r: float) -> str:
    return f"{r:.2f}"


# --- calls after pauses ------------------------------------------------------------------

#: The pauses of "calls after pauses", in seconds.
GAPS = (0.0, 100e-6, 300e-6, 1e-3, 3e-3, 10e-3)
#: The payload of "calls after pauses".
GAP_SIZE = 4 * KiB


def call_gaps(seconds: float, rounds: int = 3, size: int = GAP_SIZE) -> dict[str, Any]:
    """One mask() of *size* bytes after each pause of GAPS: the median time
    of the call, and the CPU time that the process's other threads (the Go
    runtime's) spend per call, over about *seconds* of calls. With the yields
    of the library's calls on and off (the fix of docs/runtime-tax.md), in
    alternating rounds, medians; and websockets' C masker as a control where
    it is installed. Then the CPU the process spends in the second after.
    """
    data, key = os.urandom(size), os.urandom(4)
    lib = _native.library() if gomask_mask.implementation() == "go" else None
    set_yields = lib.debug_gil.get("set_yields") if lib is not None else None
    settings: dict[str, Callable[[bytes, bytes], object]] = {"gomask": gomask_mask.mask}
    if set_yields is not None:
        settings = {"gomask": gomask_mask.mask, "gomask, no yields": gomask_mask.mask}
    with contextlib.suppress(ImportError):
        settings["websockets (C)"] = importlib.import_module("websockets.speedups").apply_mask
    rows = []
    try:
        for gap in GAPS:
            calls = 20_000 if not gap else max(50, int(seconds / (gap + 60e-6)))
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in settings}
            for r in range(rounds):
                for name in settings if r % 2 == 0 else reversed(settings):
                    if set_yields is not None:
                        set_yields(int(name != "gomask, no yields"))
                    _spaced_calls(settings[name], data, key, gap, 20)  # warm up
                    samples[name].append(_spaced_calls(settings[name], data, key, gap, calls))
            rows.append(
                {
                    "gap": gap,
                    **{
                        name: {
                            "latency": statistics.median(s[0] for s in values),
                            "other_cpu": statistics.median(s[1] for s in values),
                        }
                        for name, values in samples.items()
                    },
                }
            )
            progress(f"calls after pauses of {_duration(gap) if gap else '0 s'}")
    finally:
        if set_yields is not None:
            set_yields(1)
    for _ in range(200):  # a burst, then a second of nothing
        gomask_mask.mask(data, key)
    before = time.process_time()
    time.sleep(1.0)
    idle = time.process_time() - before
    return {"size": size, "settings": list(settings), "rows": rows, "idle_cpu_per_second": idle}


def _spaced_calls(
    fn: Callable[[bytes, bytes], object], data: bytes, key: bytes, gap: float, calls: int
) -> tuple[float, float]:
    """(median seconds per call, other threads' CPU seconds per call) of
    *calls* calls of fn(data, key), each after sleeping *gap* seconds."""
    sleep, clock = time.sleep, time.perf_counter
    latencies = []
    process, thread = time.process_time(), time.thread_time()
    for _ in range(calls):
        if gap:
            sleep(gap)
        start = clock()
        fn(data, key)
        latencies.append(clock() - start)
    other = (time.process_time() - process) - (time.thread_time() - thread)
    return statistics.median(latencies), other / calls


def _print_gaps(report: dict[str, Any]) -> None:
    names = report["settings"]
    print()
    print(
        f"Calls after pauses: one call on {size_name(report['size'])} after sleeping; median "
        "time of the call, and CPU time\nof the process's other threads (the Go runtime's) per "
        "call. 'no yields': without the fix of docs/runtime-tax.md."
    )
    print(f"{'pause':>8} " + "".join(f"{n:>28}" for n in names))
    base = report["rows"][0]
    for row in report["rows"]:
        cells = []
        for n in names:
            lat, cpu = row[n]["latency"], row[n]["other_cpu"]
            times = lat / base[n]["latency"]
            cells.append(f"{f'{lat * 1e6:.2f} µs ({times:.1f}x), {cpu * 1e6:.2f} µs CPU':>28}")
        gap = _duration(row["gap"]) if row["gap"] else "none"
        print(f"{gap:>8} " + "".join(cells))
    print(
        f"CPU time of the process in the second after the last call: "
        f"{report['idle_cpu_per_second'] * 1e3:.2f} ms"
    )


# --- the libraries' maskers -----------------------------------------------------------------

_LIBRARIES = ("websockets", "aiohttp", "wsproto", "tornado", "autobahn")


@dataclass(frozen=True)
class Implementation:
    """One masking function under test."""

    name: str
    #: "copy": returns the masked data; "inplace": masks a bytearray in place.
    kind: str
    #: Builds the timed call for a payload of random bytes and a key.
    make: Callable[[bytes, bytes], Timed]
    #: The gomask function it is compared with (None: it is gomask's).
    versus: str | None = None
    #: Largest size worth timing.
    max_size: int = 1 << 62


def _lang(fn: object, compiled: str) -> str:
    """Whether *fn* is the library's compiled masker (*compiled* is
    ``module:attribute``): "C", or "Python"."""
    module, attribute = compiled.split(":")
    try:
        native = getattr(importlib.import_module(module), attribute, None)
    except ImportError:
        return "Python"
    return "C" if fn is native else "Python"


def implementations() -> list[Implementation]:
    """gomask's calls, gomask's own pure-Python path, and the maskers the
    installed libraries use on this interpreter."""
    impls = [
        Implementation("gomask mask", "copy", lambda d, k: Timed(gomask_mask.mask, d, k)),
        Implementation(
            "gomask mask_inplace",
            "inplace",
            lambda d, k: Timed(gomask_mask.mask_inplace, bytearray(d), k),
        ),
    ]
    if gomask_mask.implementation() == "go" and not _fallback.XOR_AS_INTEGERS:
        # PyPy: what gomask runs where a call into Go does not pay.
        impls.append(
            Implementation(
                "gomask pure Python",
                "copy",
                lambda d, k: Timed(_fallback.mask, d, k),
                versus="gomask mask",
                max_size=PURE_PYTHON_MAX,
            )
        )
    # (label, module, attribute, the library's compiled masker, kind, how it is called)
    library_maskers: list[tuple[str, str, str, str, str, Callable[..., Timed]]] = [
        ("websockets", "websockets.frames", "apply_mask", "websockets.speedups:apply_mask",
         "copy", lambda f, d, k: Timed(f, d, k)),
        ("aiohttp", "aiohttp._websocket.helpers", "websocket_mask",
         "aiohttp._websocket.mask:_websocket_mask_cython", "inplace",
         lambda f, d, k: Timed(f, k, bytearray(d))),
        ("tornado", "tornado.util", "_websocket_mask", "tornado.speedups:websocket_mask", "copy",
         lambda f, d, k: Timed(f, k, d)),
    ]  # fmt: skip
    for label, module, attribute, compiled, kind, timed in library_maskers:
        with contextlib.suppress(ImportError):
            fn = getattr(importlib.import_module(module), attribute)
            lang = _lang(fn, compiled)
            impls.append(
                Implementation(
                    f"{label} ({lang}{', in place' if kind == 'inplace' else ''})",
                    kind,
                    partial(_library_timed, timed, fn),
                    versus="gomask mask_inplace" if kind == "inplace" else "gomask mask",
                    max_size=1 << 62 if lang == "C" else PURE_PYTHON_MAX,
                )
            )
    with contextlib.suppress(ImportError):
        masker = importlib.import_module("wsproto.frame_protocol").XorMaskerSimple

        def wsproto_mask(data: bytes, key: bytes) -> bytearray:
            result: bytearray = masker(key).process(data)
            return result

        impls.append(
            Implementation(
                "wsproto (Python)",
                "copy",
                lambda d, k: Timed(wsproto_mask, d, k),
                versus="gomask mask",
                max_size=PURE_PYTHON_MAX,
            )
        )
    return impls


def _library_timed(
    timed: Callable[..., Timed], fn: Callable[..., object], data: bytes, key: bytes
) -> Timed:
    return timed(fn, data, key)


def _implementation_table() -> dict[str, dict[str, Any]]:
    return {im.name: {"kind": im.kind, "versus": im.versus} for im in implementations()}


def peer_comparison(budget: float) -> dict[str, Any]:
    """Every implementation at every size, crossovers, call overhead, batch."""
    impls = implementations()
    key = os.urandom(4)
    sizes: dict[str, dict[str, float]] = {}
    started = time.perf_counter()
    for i, size in enumerate(PEER_SIZES):
        data = os.urandom(size)
        _check_results(impls, data, key)
        timed = {im.name: im.make(data, key) for im in impls if size <= im.max_size}
        rounds = 5 if size <= 64 * KiB else 3
        sizes[str(size)] = best_of(timed, budget, rounds)
        elapsed = time.perf_counter() - started
        progress(f"[{i + 1}/{len(PEER_SIZES)}] {size_name(size)} timed ({elapsed:.0f} s)")
    result: dict[str, Any] = {"implementations": _implementation_table(), "seconds": sizes}
    result["crossover"] = crossovers(impls, sizes, key, budget)
    progress("crossovers found")
    result["overhead"] = call_overhead(budget)
    progress("call overhead timed")
    result["batch"] = batch_comparison(budget)
    progress("batch timed")
    return result


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
    impls: list[Implementation],
    seconds: dict[str, dict[str, float]],
    key: bytes,
    budget: float,
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
        if first == len(grid):
            found[peer.name] = None
            continue
        if first == 0:
            found[peer.name] = grid[0]
            continue

        def faster(size: int, peer: Implementation = peer, ours: Implementation = ours) -> bool:
            data = os.urandom(size)
            t = best_of({"ours": ours.make(data, key), "peer": peer.make(data, key)}, budget, 3)
            return t["ours"] < t["peer"]

        low, high = grid[first - 1], grid[first]
        while high > low * 1.1 and high - low > 1:
            mid = int((low * high) ** 0.5)
            if faster(mid):
                high = mid
            else:
                low = mid
        found[peer.name] = high
    return found


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
    mask = gomask_mask.mask
    if gomask_mask.mask_batch(payloads, key_bytes) != [
        mask(p, k) for p, k in zip(payloads, keys, strict=True)
    ]:
        raise AssertionError("mask_batch disagrees with mask")

    def gomask_loop(payloads: list[bytes], keys: list[bytes]) -> list[bytes]:
        return [mask(p, k) for p, k in zip(payloads, keys, strict=True)]

    timed = {
        "gomask mask_batch": Timed(gomask_mask.mask_batch, payloads, key_bytes),
        "gomask mask_batch, a list of keys": Timed(gomask_mask.mask_batch, payloads, keys),
        "a loop of gomask mask": Timed(gomask_loop, payloads, keys),
    }
    with contextlib.suppress(ImportError):
        apply_mask = importlib.import_module("websockets.frames").apply_mask

        def websockets_loop(payloads: list[bytes], keys: list[bytes]) -> list[bytes]:
            return [apply_mask(p, k) for p, k in zip(payloads, keys, strict=True)]

        timed["a loop of websockets apply_mask"] = Timed(websockets_loop, payloads, keys)
    return {"count": count, "size": size, "seconds": best_of(timed, budget, 5)}


# --- printing ------------------------------------------------------------------------------


def size_name(n: int) -> str:
    if n >= MiB and n % MiB == 0:
        return f"{n // MiB} MiB"
    if n >= KiB and n % KiB == 0:
        return f"{n // KiB} KiB"
    return f"{n} B"


def _print_peers(peers: dict[str, Any]) -> None:
    names = list(peers["implementations"])
    seconds = peers["seconds"]
    width = max(16, *(len(n) for n in names)) + 1
    print()
    print("Masking: µs per call (GB/s)")
    print(f"{'size':>8} " + "".join(f"{n:>{width}}" for n in names))
    for size, row in seconds.items():
        cells = []
        for n in names:
            if n in row:
                s = row[n]
                cells.append(f"{f'{s * 1e6:.3f} ({int(size) / s / 1e9:.2f})':>{width}}")
            else:
                cells.append(f"{'-':>{width}}")
        print(f"{size_name(int(size)):>8} " + "".join(cells))
    others = [n for n in names if peers["implementations"][n]["versus"]]
    if others:
        print()
        print("gomask ÷ each, time per call (below 1: gomask is faster)")
        print(f"{'size':>8} " + "".join(f"{n:>{width}}" for n in others))
        for size, row in seconds.items():
            cells = []
            for n in others:
                ours = peers["implementations"][n]["versus"]
                cell = f"{row[ours] / row[n]:.2f}" if n in row and ours in row else "-"
                cells.append(f"{cell:>{width}}")
            print(f"{size_name(int(size)):>8} " + "".join(cells))
        print()
        print("gomask is faster from:")
        for peer, size in peers["crossover"].items():
            ours = peers["implementations"][peer]["versus"]
            top = max(int(s) for s, row in seconds.items() if peer in row)
            where = (
                f"not up to {size_name(top)}"
                if size is None
                else f"{size:,} bytes ({_human(size)})"
            )
            print(f"  {ours} vs {peer}: {where}")
    overhead = peers["overhead"]
    print()
    if "missing" in overhead:
        print(f"Call overhead: not measured, {overhead['missing']}")
    else:
        print(
            "Call overhead: µs per call of gomask and of the leanest ctypes call of the same job "
            "(an empty Go function)"
        )
        print(f"{'size':>8} {'mask':>8} {'lean':>8} {'ratio':>6}   {'mask_inplace':>12} "
              f"{'lean':>8} {'ratio':>6}")  # fmt: skip
        for size, row in overhead["seconds"].items():
            a, b = row["gomask mask"], row["lean mask"]
            c, d = row["gomask mask_inplace"], row["lean mask_inplace"]
            print(
                f"{size_name(int(size)):>8} {a * 1e6:8.3f} {b * 1e6:8.3f} {a / b:6.2f}   "
                f"{c * 1e6:12.3f} {d * 1e6:8.3f} {c / d:6.2f}"
            )
    batch = peers["batch"]
    print()
    print(f"Batch: {batch['count']} payloads of {batch['size']} B, each with its own key")
    base = batch["seconds"]["gomask mask_batch"]
    for name, s in batch["seconds"].items():
        print(
            f"  {name:<34} {s * 1e6:>9.1f} µs  {s / batch['count'] * 1e9:>7.1f} ns per payload"
            f"  ({s / base:.2f} x mask_batch)"
        )


def _human(n: int) -> str:
    if n >= MiB:
        return f"{n / MiB:.1f} MiB"
    if n >= KiB:
        return f"{n / KiB:.0f} KiB"
    return f"{n} B"
