"""``python -m gomask bench``: gomask measured against plain Python and the
masking functions of the WebSocket libraries.

With no option: the demo's table (print a line, decode a small JSON document,
mask 64 kB and 256 kB, each as a call into Go, "Dynamic", and as the same
work in plain Python, "Native"), one line against the maskers of the
installed WebSocket libraries, and calls after pauses (what the Go runtime
costs a call that follows idle time, with the library's fix on and off).

--peers  masking from 2 B to 16 MiB against the libraries' own maskers, the
         size from which gomask is faster, the cost of a call into Go, the
         batch API, and what each size cut-off of gomask.mask saves.
--apps   benchmarks/apps.py of a source checkout, with the arguments after it.

From a checkout: benchmarks/threads.py (goroutines and threads) and
benchmarks/plot.py (plots of a --peers --json report). Every time is the
fastest batch (or the median, where calls are spread over time) of several;
the variants of one measurement alternate, and every ratio compares two
numbers of the same run.
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
import subprocess
import sys
import time
import timeit
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import gomask
import gomask.mask as gomask_mask
from gomask import _fallback, _native, examples

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
#: The pauses of "calls after pauses" (seconds), and the size of its payload.
GAPS = (0.0, 100e-6, 300e-6, 1e-3, 3e-3, 10e-3)
GAP_SIZE = 4 * KiB
#: A size cut-off pays if the route it picks saves at least this much.
PAYS = 0.10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--seconds", type=float, default=0.5, help="seconds per cell of the demo's table (0.5)")
    add("--budget", type=float, default=0.04, help="seconds per timed batch (default 0.04)")
    add("--gaps-seconds", type=float, default=0.3, metavar="SECONDS",
        help="seconds of calls per pause and setting of calls after pauses (0.3)")  # fmt: skip
    add("--peers", action="store_true", help="every size against the libraries' maskers")
    add("--json", action="store_true", help="print the results as JSON")
    add("--apps", nargs=argparse.REMAINDER, metavar="ARG",
        help="run benchmarks/apps.py of a source checkout with the arguments after it")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    if args.apps is not None:
        return run_apps(args.apps)
    report: dict[str, Any] = {"machine": machine()}
    if args.peers:
        report["peers"] = peer_comparison(args.budget)
    else:
        report["seed_table"] = seed_table(args.seconds)
        report["summary"] = summary(args.budget)
        report["call_gaps"] = call_gaps(args.gaps_seconds)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print_machine(report["machine"])
    if args.peers:
        _print_peers(report["peers"])
    else:
        _print_seed_table(report["seed_table"])
        _print_summary(report["summary"])
        _print_gaps(report["call_gaps"])
    return 0


def run_apps(arguments: list[str]) -> int:
    """benchmarks/apps.py with *arguments*, if gomask runs from a source checkout."""
    parents = Path(gomask.__file__).resolve().parents
    script = parents[2] / "benchmarks" / "apps.py" if len(parents) > 2 else None
    if script is None or not script.is_file():
        print(
            "--apps runs benchmarks/apps.py of a source checkout of gomask; the benchmark "
            "is not in the wheel",
            file=sys.stderr,
        )
        return 2
    sys.stdout.flush()
    return subprocess.call([sys.executable, str(script), *arguments])


# --- timing and printing ---------------------------------------------------------------------


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


def best_of(timed: Mapping[str, Timed], budget: float, rounds: int) -> dict[str, float]:
    """The fastest batch of each of *timed*, measured in turn, *rounds* times."""
    best = dict.fromkeys(timed, float("inf"))
    for _ in range(rounds):
        for name, t in timed.items():
            best[name] = min(best[name], t.batch(budget))
    return best


def progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def size_name(n: int) -> str:
    """125 -> "125 B", 65536 -> "64 KiB", 1536 -> "1.5 KiB"."""
    for unit, scale in (("MiB", MiB), ("KiB", KiB)):
        if n >= scale:
            return f"{n / scale:.4g} {unit}"
    return f"{n} B"


def duration(seconds: float) -> str:
    """0.0000123 -> "12.3 µs"."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


# --- the machine -----------------------------------------------------------------------------

_LIBRARIES = ("websockets", "aiohttp", "wsproto", "tornado", "autobahn")


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    parallel = gomask_mask.get_parallelism()
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
        info["go"], info["mask_kernel"] = build.get("go_version"), build.get("mask_kernel")
    info["gil_release_threshold"] = gomask_mask.GIL_RELEASE_THRESHOLD
    info["parallel_threshold"], info["parallel_workers"] = parallel.threshold, parallel.workers
    info["libraries"] = {name: _version(name) for name in _LIBRARIES}
    return info


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", errors="replace") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _version(distribution: str) -> str | None:
    with contextlib.suppress(metadata.PackageNotFoundError):
        return metadata.version(distribution)
    return None


def print_machine(m: dict[str, Any]) -> None:
    threading_note = ", GIL disabled" if m["free_threaded"] else ""
    go = f"Go {m['go']} ({m['mask_kernel']} kernel)" if m.get("go") else "no Go library"
    load = f"; load average {m['load_average'][0]:.2f}" if m.get("load_average") else ""
    print(
        f"gomask {m['gomask']} on {m['python']}{threading_note}, {m['platform']}, "
        f"{m['cpus']} CPUs ({m['cpu']}), {go}, implementation {m['gomask_implementation']}{load}"
    )


# --- the demo's table, and the summary -------------------------------------------------------

PERSON_DOCUMENT = (
    '{"name": "John", "age": 30, "cars": ["Ford", "BMW", "Fiat"], '
    '"friends": [{"name": "Peter", "age": 30}, {"name": "Anna", "age": 30}]}'
)


@contextlib.contextmanager
def stdout_silenced() -> Iterator[None]:
    """Send file descriptor 1 (Go's stdout) and sys.stdout to the null device."""
    sys.stdout.flush()
    saved_fd, saved_stdout = os.dup(1), sys.stdout
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        sys.stdout = null
        try:
            yield
        finally:
            sys.stdout = saved_stdout
            os.dup2(saved_fd, 1)
            os.close(saved_fd)


def native_parse_person(doc: str) -> examples.Person:
    obj = json.loads(doc)
    friends = tuple(examples.Friend(f["name"], f["age"]) for f in obj.get("friends") or ())
    return examples.Person(obj["name"], obj["age"], tuple(obj.get("cars") or ()), friends)


def native_mask(data: bytes, key: bytes) -> bytes:
    """The demo's masking in plain Python, byte by byte (linear, unlike the
    demo's, which sliced the buffer in its loop)."""
    return bytes(b ^ key[i & 3] for i, b in enumerate(data))


def seed_table(seconds: float) -> list[dict[str, object]]:
    key = bytes.fromhex("37fa213d")
    data_64k, data_256k = os.urandom(64 * KiB), os.urandom(256 * KiB)
    rows: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        ("Hello world print", examples.hello_world, lambda: print("Hello, world! (from Go)")),
        ("JSON", lambda: examples.parse_person(PERSON_DOCUMENT),
         lambda: native_parse_person(PERSON_DOCUMENT)),
        ("Websocket mask 64kB", lambda: gomask_mask.mask(data_64k, key),
         lambda: native_mask(data_64k, key)),
        ("Websocket masking (256kB)", lambda: gomask_mask.mask(data_256k, key),
         lambda: native_mask(data_256k, key)),
    ]  # fmt: skip
    results = []
    for name, dynamic, native in rows:
        with stdout_silenced():
            go_s, py_s = time_call(dynamic, seconds), time_call(native, seconds)
        results.append({"name": name, "dynamic_s": go_s, "native_s": py_s})
        progress(f"measured {name}")
    return results


def _print_seed_table(results: list[dict[str, Any]]) -> None:
    print("\nThe demo's benchmark: Dynamic is the call into Go, Native the same work in Python.")
    print(f"{'':<26} {'Dynamic':>12} {'Native':>12}  speed-up")
    for row in results:
        go_s, py_s = float(row["dynamic_s"]), float(row["native_s"])
        ratio = py_s / go_s
        faster = f"Go x{ratio:,.0f} faster" if ratio >= 1 else f"Python x{1 / ratio:.1f} faster"
        print(f"{row['name']:<26} {duration(go_s):>12} {duration(py_s):>12}  {faster}")
    print(
        "A call into Go costs a fixed fraction of a microsecond, so Python wins the tiny calls "
        "(printing,\na small JSON document); on bulk data (masking kilobytes) the Go loop wins "
        "by orders of magnitude.\nThe Native masking here is a plain Python loop: the "
        "WebSocket libraries do much better (--peers)."
    )


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
    print("  (python -m gomask bench --peers: every size, and where gomask starts to win)")


# --- calls after pauses ----------------------------------------------------------------------


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
        settings["gomask, no yields"] = gomask_mask.mask
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
            row: dict[str, Any] = {"gap": gap}
            for name, values in samples.items():
                row[name] = {
                    "latency": statistics.median(s[0] for s in values),
                    "other_cpu": statistics.median(s[1] for s in values),
                }
            rows.append(row)
            progress(f"calls after pauses of {duration(gap) if gap else '0 s'}")
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
    names, rows = report["settings"], report["rows"]
    print(
        f"\nCalls after pauses: mask() of {size_name(report['size'])} after each pause. call: "
        "the median time of a call; x: that\ntime ÷ back to back; other CPU: CPU time of the "
        "process's other threads (the Go runtime's) per\ncall. 'no yields': without the fix "
        "of docs/runtime-tax.md."
    )
    print((" " * 8 + "".join(f" | {name:^28}" for name in names)).rstrip())
    print(f"{'pause':>8}" + f" | {'call':>9} {'x':>6} {'other CPU':>11}" * len(names))
    for row in rows:
        line = f"{duration(row['gap']) if row['gap'] else 'none':>8}"
        for name in names:
            latency, cpu = row[name]["latency"], row[name]["other_cpu"]
            times = latency / rows[0][name]["latency"]
            line += f" | {duration(latency):>9} {times:>6.1f} {duration(max(cpu, 0)):>11}"
        print(line)
    idle = duration(report["idle_cpu_per_second"])
    print(f"CPU time of the process in the second after the last call: {idle}")


# --- the libraries' maskers ------------------------------------------------------------------


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


# --- --peers ---------------------------------------------------------------------------------


def peer_comparison(budget: float) -> dict[str, Any]:
    """Every implementation at every size, crossovers, call overhead, batch, cut-offs."""
    impls, key = implementations(), os.urandom(4)
    sizes = time_sizes(impls, PEER_SIZES, budget)
    result: dict[str, Any] = {"implementations": _implementation_table(), "seconds": sizes}
    result["crossover"] = crossovers(impls, sizes, key, budget)
    progress("crossovers found")
    result["overhead"] = call_overhead(budget)
    progress("call overhead timed")
    result["batch"] = batch_comparison(budget)
    progress("batch timed")
    result["cutoffs"] = cutoffs(budget)
    progress("cut-offs timed")
    return result


def time_sizes(
    impls: list[Implementation], sizes: tuple[int, ...], budget: float
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
    overhead = peers["overhead"]
    if "missing" in overhead:
        print(f"\nCall overhead: not measured, {overhead['missing']}")
    else:
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
    batch = peers["batch"]
    print(f"\nBatch: {batch['count']} payloads of {batch['size']} B, each with its own key")
    base = batch["seconds"]["gomask mask_batch"]
    for name, s in batch["seconds"].items():
        print(
            f"  {name:<34} {s * 1e6:>9.1f} µs  {s / batch['count'] * 1e9:>7.1f} ns per "
            f"payload  ({s / base:.2f} x mask_batch)"
        )
    _print_cutoffs(peers["cutoffs"])


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
