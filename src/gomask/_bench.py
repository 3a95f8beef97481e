"""``python -m gomask bench``: what a call into Go costs, measured here.

With no option: the demo's table (print a line, decode a small JSON document,
mask 64 kB and 256 kB, each as a call into Go, "Dynamic", and as the same
work in plain Python, "Native"), and calls after pauses (what the Go runtime
costs a call that follows idle time, with the library's fix on and off).

--calls  the cost of a call against the leanest typed-ctypes binding of the
         same job, the batch API, and what each size cut-off of gomask.mask
         saves.
--peers  benchmarks/maskers.py of a source checkout: every size against the
         WebSocket libraries' own maskers.
--apps   benchmarks/apps.py of a source checkout: the libraries end to end.

The arguments after --peers or --apps go to the script. Every time is the
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
from importlib import metadata
from pathlib import Path
from typing import Any

import gomask
import gomask.mask as gomask_mask
from gomask import _native, examples

KiB = 1024
MiB = 1024 * KiB
#: Sizes at which a call's overhead is compared with the leanest ctypes call.
FLOOR_SIZES = (2, 125, KiB)
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
    add("--calls", action="store_true", help="the cost of a call, the batch API, the cut-offs")
    add("--json", action="store_true", help="print the results as JSON")
    for name, script in CHECKOUT_SCRIPTS.items():
        what = f"run benchmarks/{script} of a source checkout with the arguments after it"
        add(f"--{name}", nargs=argparse.REMAINDER, metavar="ARG", help=what)


#: The options that run a script of a source checkout's benchmarks/ folder.
CHECKOUT_SCRIPTS = {"peers": "maskers.py", "apps": "apps.py"}


def run(args: argparse.Namespace) -> int:
    for name, script in CHECKOUT_SCRIPTS.items():
        if getattr(args, name) is not None:
            return run_checkout_script(script, getattr(args, name))
    report: dict[str, Any] = {"machine": machine()}
    if args.calls:
        report["overhead"] = call_overhead(args.budget)
        report["batch"] = batch_comparison(args.budget)
        report["cutoffs"] = cutoffs(args.budget)
    else:
        report["seed_table"] = seed_table(args.seconds)
        report["call_gaps"] = call_gaps(args.gaps_seconds)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print_machine(report["machine"])
    if args.calls:
        _print_overhead(report["overhead"])
        _print_batch(report["batch"])
        _print_cutoffs(report["cutoffs"])
    else:
        _print_seed_table(report["seed_table"])
        _print_gaps(report["call_gaps"])
    return 0


def run_checkout_script(script: str, arguments: list[str]) -> int:
    """benchmarks/*script* with *arguments*, if gomask runs from a source checkout."""
    parents = Path(gomask.__file__).resolve().parents
    path = parents[2] / "benchmarks" / script if len(parents) > 2 else None
    if path is None or not path.is_file():
        print(
            f"this option runs benchmarks/{script} of a source checkout of gomask; the "
            "benchmarks are not in the wheel",
            file=sys.stderr,
        )
        return 2
    sys.stdout.flush()
    return subprocess.call([sys.executable, str(path), *arguments])


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


# --- calls after pauses ----------------------------------------------------------------------


def call_gaps(seconds: float, rounds: int = 3, size: int | None = None) -> dict[str, Any]:
    """One mask() of *size* bytes after each pause of GAPS: the median time
    of the call, and the CPU time that the process's other threads (the Go
    runtime's) spend per call, over about *seconds* of calls. With the yields
    of the library's calls on and off (the fix of docs/runtime-tax.md), in
    alternating rounds, medians; and websockets' C masker as a control where
    it is installed. Then the CPU the process spends in the second after.
    """
    if size is None:  # a call that reaches Go: on PyPy, shorter bytes stay in the JIT
        size = 2 * gomask_mask.PYPY_GO_MIN_SIZE if gomask_mask._GO_PYPY else GAP_SIZE
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


# --- the cost of a call -------------------------------------------------------------------


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
