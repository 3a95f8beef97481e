"""``python -m gomask bench``: what a call into Go costs, measured here.

With no option: the demo's table (print a line, decode a small JSON document,
mask 64 kB and 256 kB, each as a call into Go, "Dynamic", and as the same
work in plain Python, "Native"), and calls after pauses (what the Go runtime
costs a call that follows idle time, with the library's fix on and off).
Where gomask runs without Go (the pure-Python build, GOMASK_PURE=1), the
table says what ran, and what needs the Go library is not run, saying so.

From a source checkout (benchmarks/ is not in the wheel), with the arguments
after the option going to the script:

--calls  benchmarks/calls.py: the cost of a call against the leanest
         typed-ctypes binding of the same job, the batch API, and what each
         size cut-off of gomask.mask saves.
--peers  benchmarks/maskers.py: every size against the WebSocket libraries'
         own maskers.
--apps   benchmarks/apps.py: the libraries end to end. Every time is the
fastest batch (or the median, where calls are spread over time) of several;
the variants of one measurement alternate, and every ratio compares two
numbers of the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import gomask
import gomask.mask as gomask_mask
from gomask import _native, examples

KiB = 1024
MiB = 1024 * KiB
#: The pauses of "calls after pauses" (seconds), and the size of its payload.
GAPS = (0.0, 100e-6, 300e-6, 1e-3, 3e-3, 10e-3)
GAP_SIZE = 4 * KiB


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--seconds", type=float, default=0.5, help="seconds per cell of the demo's table (0.5)")
    add("--gaps-seconds", type=float, default=0.3, metavar="SECONDS",
        help="seconds of calls per pause and setting of calls after pauses (0.3)")  # fmt: skip
    add("--json", action="store_true", help="print the results as JSON")
    for name, script in CHECKOUT_SCRIPTS.items():
        what = f"run benchmarks/{script} of a source checkout with the arguments after it"
        add(f"--{name}", nargs=argparse.REMAINDER, metavar="ARG", help=what)


#: The options that run a script of a source checkout's benchmarks/ folder.
CHECKOUT_SCRIPTS = {"calls": "calls.py", "peers": "maskers.py", "apps": "apps.py"}


def run(args: argparse.Namespace) -> int:
    for name, script in CHECKOUT_SCRIPTS.items():
        if getattr(args, name) is not None:
            return run_checkout_script(script, getattr(args, name))
    report: dict[str, Any] = {"machine": machine()}
    report["seed_table"] = seed_table(args.seconds)
    # Calls after pauses measure the Go runtime: nothing to measure without it.
    go_masks = gomask_mask.implementation() == "go"
    report["call_gaps"] = call_gaps(args.gaps_seconds) if go_masks else None
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print_machine(report["machine"])
    _print_seed_table(report["seed_table"])
    if report["call_gaps"] is not None:
        _print_gaps(report["call_gaps"])
    else:
        print(
            "\nCalls after pauses: not run. They measure what the Go runtime costs a call after "
            f"idle time,\nand gomask masks in pure Python here: {_native.PURE_REASON}."
        )
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


def go_library_error() -> str | None:
    """Why the Go library cannot be called here (the first sentence of the
    error), or None where it loads."""
    try:
        _native.library()
    except ImportError as exc:
        return str(exc).split(". ", 1)[0].removeprefix("gomask: ")
    return None


def seed_table(seconds: float) -> list[dict[str, object]]:
    """The demo's rows: *dynamic* says what ran gomask's side, "go" or
    "python" (gomask's pure-Python implementation); a row that needs the Go
    library where it does not load has no times, and *not_run* says why."""
    key = bytes.fromhex("37fa213d")
    data_64k, data_256k = os.urandom(64 * KiB), os.urandom(256 * KiB)
    examples_error = go_library_error()
    masks_in = gomask_mask.implementation()
    rows: list[tuple[str, str | None, Callable[[], object], Callable[[], object]]] = [
        ("Hello world print", None, examples.hello_world,
         lambda: print("Hello, world! (from Go)")),
        ("JSON", None, lambda: examples.parse_person(PERSON_DOCUMENT),
         lambda: native_parse_person(PERSON_DOCUMENT)),
        ("Websocket mask 64kB", masks_in, lambda: gomask_mask.mask(data_64k, key),
         lambda: native_mask(data_64k, key)),
        ("Websocket masking (256kB)", masks_in, lambda: gomask_mask.mask(data_256k, key),
         lambda: native_mask(data_256k, key)),
    ]  # fmt: skip
    results: list[dict[str, object]] = []
    for name, ran, dynamic, native in rows:
        if ran is None and examples_error is not None:  # the examples call Go
            results.append({"name": name, "dynamic": None, "not_run": examples_error})
            progress(f"not run: {name}")
            continue
        with stdout_silenced():
            go_s, py_s = time_call(dynamic, seconds), time_call(native, seconds)
        results.append({"name": name, "dynamic": ran or "go", "dynamic_s": go_s, "native_s": py_s})
        progress(f"measured {name}")
    return results


#: What ran gomask's side of a row ("dynamic" of seed_table), as the speed-up says it.
_RAN = {"go": "Go", "python": "gomask's Python"}


def _print_seed_table(results: list[dict[str, Any]]) -> None:
    ran = {row["dynamic"] for row in results}
    if ran == {"go"}:
        print(
            "\nThe demo's benchmark: Dynamic is the call into Go, Native the same work in Python."
        )
    else:
        print(
            "\nThe demo's benchmark: Dynamic is gomask's call, into Go where the speed-up says Go "
            "and in gomask's\npure-Python implementation where it says gomask's Python "
            f"({_native.PURE_REASON}); Native is the same\nwork in plain Python."
        )
    print(f"{'':<26} {'Dynamic':>12} {'Native':>12}  speed-up")
    for row in results:
        if row["dynamic"] is None:
            print(f"{row['name']:<26} {'not run':>12} {'':>12}  {row['not_run']}")
            continue
        go_s, py_s = float(row["dynamic_s"]), float(row["native_s"])
        ratio = py_s / go_s
        who, other = _RAN[row["dynamic"]], "Python" if row["dynamic"] == "go" else "Native"
        faster = f"{who} x{ratio:,.0f} faster" if ratio >= 1 else f"{other} x{1 / ratio:.1f} faster"
        print(f"{row['name']:<26} {duration(go_s):>12} {duration(py_s):>12}  {faster}")
    if "go" in ran:
        print(
            "A call into Go costs a fixed fraction of a microsecond, so Python wins the tiny calls "
            "(printing,\na small JSON document); on bulk data (masking kilobytes) the Go loop "
            "wins by orders of magnitude."
        )
    if "python" in ran:
        print(
            "gomask's pure-Python masking XORs the payload as one big integer: well ahead of a "
            "byte loop,\nwell behind Go."
        )
    print(
        "The Native masking here is a plain Python loop: the WebSocket libraries do much "
        "better (--peers)."
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
