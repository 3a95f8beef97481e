"""``python -m gomask bench``: gomask measured against Python and its peers.

The default run prints the demo's table: print hello world, decode the
person JSON, mask 64 kB, mask 256 kB. "Dynamic" is the gomask call into Go,
"Native" the same work in plain Python (a linear byte loop for the masking,
not the demo's quadratic one).

``--peers`` times masking from 2 B to 16 MiB against the other masking
functions Python users have (websockets' C ``apply_mask``, aiohttp's Cython
mask, wsproto's pure-Python masker, those that are installed), the batch
API against loops of single calls, and gomask's calls against an empty call
into Go with the same argument types (the floor of any ctypes call), then
checks the performance targets and prints the crossover sizes. ``--threads``
times two threads masking their own buffers against the same work done
serially. ``--json`` prints everything as JSON, ``--plot FILE.png`` draws
throughput against size (needs matplotlib: ``pip install gomask[bench]``).

Every cell is the mean time of one call from the fastest of several timed
batches; all implementations of a size are timed one after the other,
several rounds in turn, so that they see the same machine load, and every
ratio compares two cells of the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import json
import os
import platform
import sys
import threading
import time
import timeit
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gomask import _native, examples
import gomask.mask as gomask_mask

PERSON_DOCUMENT = (
    '{"name": "John", "age": 30, "cars": ["Ford", "BMW", "Fiat"], '
    '"friends": [{"name": "Peter", "age": 30}, {"name": "Anna", "age": 30}]}'
)
KEY = bytes.fromhex("37fa213d")

KiB = 1024
MiB = 1024 * KiB

#: Payload sizes of ``--peers``.
PEER_SIZES = (
    2, 8, 32, 125, 512, KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB, 4 * MiB, 16 * MiB,
)  # fmt: skip
#: Sizes at which gomask's calls are compared with the floor.
FLOOR_SIZES = (2, 125, KiB)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seconds",
        type=float,
        default=0.5,
        help="time budget per cell of the default table (default 0.5; the table takes about "
        "8 times this)",
    )
    parser.add_argument(
        "--peers",
        action="store_true",
        help="compare masking with websockets, aiohttp and wsproto (those installed) from 2 B "
        "to 16 MiB, the batch API, and the cost of a call into Go; check the targets",
    )
    parser.add_argument(
        "--threads",
        action="store_true",
        help="time two threads masking their own 4 MiB buffers against the same work serially",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=0.04,
        help="seconds per timed batch of --peers and --threads (default 0.04: --peers "
        "--threads then takes about 30 s)",
    )
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw throughput against size (log-log) into FILE.png; implies --peers",
    )


def run(args: argparse.Namespace) -> int:
    peers = args.peers or bool(args.plot)
    if args.plot:
        _require_matplotlib()
    report: dict[str, Any] = {"machine": machine()}
    if not peers and not args.threads:
        report["seed_table"] = seed_table(args.seconds)
    if peers:
        report["peers"] = peer_comparison(args.budget)
    if args.threads:
        report["threads"] = thread_scaling(args.budget)
    if peers:
        report["targets"] = check_targets(report)
    if args.plot:
        plot(report, args.plot)
        _progress(f"wrote {args.plot}")
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    _print_machine(report["machine"])
    if "seed_table" in report:
        _print_seed_table(report["seed_table"])
    if peers:
        _print_peers(report["peers"])
    if "threads" in report:
        _print_threads(report["threads"])
    if peers:
        _print_targets(report["targets"])
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

        One untimed call comes first, as in pyperf's warm-up: the batch
        before was another implementation's, which left other data in the
        caches (and, for gomask's large calls, its helper goroutines asleep),
        so the first call of a batch costs up to twice as much as the next
        ones at the sizes that do not fit in the cache. Every batch is the
        steady state of calls made back to back.
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


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# --- the machine ---------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "platform": f"{sys.platform} {platform.machine()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "gomask_implementation": gomask_mask.implementation(),
    }
    if hasattr(os, "getloadavg"):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    with contextlib.suppress(ImportError):
        build = _native.library().build_info()
        info["go"] = build.get("go_version")
        info["mask_kernel"] = build.get("mask_kernel")
        info["go_max_procs"] = build.get("max_procs")
        info["stream_threshold"] = build.get("stream_threshold")
    info["gil_release_threshold"] = gomask_mask.GIL_RELEASE_THRESHOLD
    parallel = gomask_mask.get_parallelism()
    info["parallel_threshold"], info["parallel_workers"] = parallel.threshold, parallel.workers
    info["peers"] = {name: _version(dist) for name, dist in _PEER_DISTRIBUTIONS.items()}
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


def _print_machine(m: dict[str, Any]) -> None:
    load = m.get("load_average")
    print(
        f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['platform']}, {m['python']}, "
        f"Go {m.get('go')}, kernel {m.get('mask_kernel')}"
        + (f", load average {load[0]:.2f}" if load else "")
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
    return bytes(b ^ key[i & 3] for i, b in enumerate(data))


def seed_table(seconds: float) -> list[dict[str, object]]:
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
            lambda: gomask_mask.mask(data_64k, KEY),
            lambda: native_mask(data_64k, KEY),
        ),
        (
            "Websocket masking (256kB)",
            lambda: gomask_mask.mask(data_256k, KEY),
            lambda: native_mask(data_256k, KEY),
        ),
    ]
    results = []
    for name, dynamic, native in rows:
        with stdout_silenced():
            go_s = time_call(dynamic, seconds)
            py_s = time_call(native, seconds)
        results.append({"name": name, "dynamic_s": go_s, "native_s": py_s})
        _progress(f"measured {name}")
    return results


def _print_seed_table(results: list[dict[str, Any]]) -> None:
    print("Benchmark results: Dynamic is the Go call; Native is the equivalent Python function.")
    print(f"{'':<26} {'Dynamic':>12} {'Native':>12}  speedup")
    for row in results:
        go_s, py_s = float(row["dynamic_s"]), float(row["native_s"])
        ratio = py_s / go_s
        faster = f"Go x{ratio:,.0f} faster" if ratio >= 1 else f"Python x{1 / ratio:.1f} faster"
        print(f"{row['name']:<26} {_duration(go_s):>12} {_duration(py_s):>12}  {faster}")


def _duration(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


# --- peers ---------------------------------------------------------------------------------

_PEER_DISTRIBUTIONS = {"websockets": "websockets", "aiohttp": "aiohttp", "wsproto": "wsproto"}


@dataclass(frozen=True)
class Implementation:
    """One masking function under test."""

    name: str
    #: "copy": fn(data: bytes, key) returns the masked data; "inplace":
    #: fn masks a bytearray in place.
    kind: str
    #: Builds the timed call for a payload of random bytes and a key.
    make: Callable[[bytes, bytes], Timed]
    #: The gomask function the peer is compared with.
    versus: str | None = None
    #: Largest size worth timing (pure-Python peers take seconds at 16 MiB).
    max_size: int = 1 << 62


def implementations() -> list[Implementation]:
    """gomask's two calls and the peers that are installed."""
    impls = [
        Implementation("gomask mask", "copy", lambda d, k: Timed(gomask_mask.mask, d, k)),
        Implementation(
            "gomask mask_inplace",
            "inplace",
            lambda d, k: Timed(gomask_mask.mask_inplace, bytearray(d), k),
        ),
    ]
    with contextlib.suppress(ImportError):
        speedups = importlib.import_module("websockets.speedups")
        impls.append(
            Implementation(
                "websockets apply_mask",
                "copy",
                lambda d, k: Timed(speedups.apply_mask, d, k),
                versus="gomask mask",
            )
        )
    with contextlib.suppress(ImportError):
        aiohttp_mask = importlib.import_module("aiohttp._websocket.mask")
        cython_mask = aiohttp_mask._websocket_mask_cython
        impls.append(
            Implementation(
                "aiohttp mask (in place)",
                "inplace",
                lambda d, k: Timed(cython_mask, k, bytearray(d)),
                versus="gomask mask_inplace",
            )
        )
    with contextlib.suppress(ImportError):
        frame_protocol = importlib.import_module("wsproto.frame_protocol")
        masker = frame_protocol.XorMaskerSimple

        def wsproto_mask(data: bytes, key: bytes) -> bytearray:
            result: bytearray = masker(key).process(data)
            return result

        impls.append(
            Implementation(
                "wsproto XorMaskerSimple",
                "copy",
                lambda d, k: Timed(wsproto_mask, d, k),
                versus="gomask mask",
                max_size=4 * MiB,
            )
        )
    return impls


def peer_comparison(budget: float) -> dict[str, Any]:
    """Time every implementation at every size, the batch API and the floor."""
    impls = implementations()
    key = os.urandom(4)
    sizes: dict[str, dict[str, float]] = {}
    started = time.perf_counter()
    for i, size in enumerate(PEER_SIZES):
        data = os.urandom(size)
        timed = {im.name: im.make(data, key) for im in impls if size <= im.max_size}
        _check_results(impls, data, key)
        # Fewer rounds for the big sizes: each batch is the same budget.
        rounds = 5 if size <= 64 * KiB else 3
        best = best_of(timed, budget, rounds)
        sizes[str(size)] = best
        elapsed = time.perf_counter() - started
        _progress(f"[{i + 1}/{len(PEER_SIZES)}] {_size_name(size)} timed ({elapsed:.0f} s)")
    result: dict[str, Any] = {
        "implementations": {im.name: {"kind": im.kind, "versus": im.versus} for im in impls},
        "seconds": sizes,
    }
    result["crossover"] = crossovers(impls, sizes, key, budget)
    _progress("crossovers found")
    result["floor"] = floor_comparison(budget)
    _progress("floor timed")
    result["batch"] = batch_comparison(budget)
    _progress("batch timed")
    return result


def _check_results(impls: list[Implementation], data: bytes, key: bytes) -> None:
    """Every implementation must compute the same thing before it is timed."""
    if len(data) > MiB:
        return
    want = gomask_mask.mask(data, key)
    for im in impls:
        if len(data) > im.max_size:
            continue
        timed = im.make(data, key)
        result = timed.fn(*timed.args)
        if im.kind == "inplace":
            result = next(a for a in timed.args if isinstance(a, bytearray))
        if bytes(result) != want:  # type: ignore[call-overload]
            raise AssertionError(f"{im.name} disagrees with gomask.mask at {len(data)} bytes")


def crossovers(
    impls: list[Implementation],
    seconds: dict[str, dict[str, float]],
    key: bytes,
    budget: float,
) -> dict[str, int | None]:
    """For each peer, the smallest size from which gomask is faster.

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


def floor_comparison(budget: float) -> dict[str, Any]:
    """gomask's calls against the leanest plain-ctypes binding of the same job.

    The floor of ``mask()`` is a Python function that allocates the result
    and makes one typed call, with the same arguments, into an empty Go
    function of the same prototype; that of ``mask_inplace()`` pins the
    buffer the cheapest way ctypes has (``c_char.from_buffer``) and makes
    the same empty call. What gomask adds to it is its validation.
    """
    lib = _native.library()
    empty = lib.debug_gil.get("empty")
    if empty is None:
        return {"seconds": {}, "missing": "the library was built without its benchmark exports"}
    pin = ctypes.c_char.from_buffer

    def floor_mask(data: bytes, key: bytes) -> bytes:
        n = len(data)
        out = bytes(n)
        empty(out, data, n, key)
        return out

    def floor_mask_inplace(buf: bytearray, key: bytes) -> None:
        pinned = pin(buf)
        address = ctypes.addressof(pinned)
        empty(address, address, len(buf), key)

    key = os.urandom(4)
    rows: dict[str, dict[str, float]] = {}
    for size in FLOOR_SIZES:
        data = os.urandom(size)
        buf = bytearray(data)
        timed = {
            "mask": Timed(gomask_mask.mask, data, key),
            "mask floor": Timed(floor_mask, data, key),
            "mask_inplace": Timed(gomask_mask.mask_inplace, buf, key),
            "mask_inplace floor": Timed(floor_mask_inplace, buf, key),
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
        "gomask mask_batch (key list)": Timed(gomask_mask.mask_batch, payloads, keys),
        "loop of gomask mask": Timed(gomask_loop, payloads, keys),
    }
    with contextlib.suppress(ImportError):
        apply_mask = importlib.import_module("websockets.speedups").apply_mask

        def websockets_loop(payloads: list[bytes], keys: list[bytes]) -> list[bytes]:
            return [apply_mask(p, k) for p, k in zip(payloads, keys, strict=True)]

        timed["loop of websockets apply_mask"] = Timed(websockets_loop, payloads, keys)
    seconds = best_of(timed, budget, 5)
    return {"count": count, "size": size, "seconds": seconds}


# --- threads ---------------------------------------------------------------------------------


def thread_scaling(budget: float, size: int = 4 * MiB, calls: int = 0) -> dict[str, Any]:
    """Two threads, each masking its own *size* buffer in place *calls*
    times, against one thread doing both threads' calls; for gomask with
    splitting over goroutines off (only the GIL release at work) and with
    the default settings, and for the peers that mask in place."""
    threads = 2
    key = os.urandom(4)
    candidates: dict[str, Callable[[bytearray], object]] = {
        "gomask mask_inplace, 1 goroutine per call": lambda b: gomask_mask.mask_inplace(b, key),
        "gomask mask_inplace, default settings": lambda b: gomask_mask.mask_inplace(b, key),
    }
    with contextlib.suppress(ImportError):
        cython_mask = importlib.import_module("aiohttp._websocket.mask")._websocket_mask_cython
        candidates["aiohttp mask (in place)"] = lambda b: cython_mask(key, b)
    results: dict[str, dict[str, float]] = {}
    saved = gomask_mask.get_parallelism()
    for name, fn in candidates.items():
        if "1 goroutine" in name:
            gomask_mask.set_parallelism(workers=1)
        try:
            buffers = [bytearray(os.urandom(size)) for _ in range(threads)]
            n = calls or max(4, round(budget * 10 / max(_one_call(fn, buffers[0]), 1e-7)))
            serial, parallel = [], []
            for _ in range(3):
                serial.append(_serial(fn, buffers, n))
                parallel.append(_threaded(fn, buffers, n))
            results[name] = {
                "calls_per_thread": n,
                "serial_s": min(serial),
                "threads_s": min(parallel),
                "ratio": min(parallel) / min(serial),
            }
        finally:
            gomask_mask.set_parallelism(*saved)
        _progress(f"threads: {name} timed")
    return {"threads": threads, "size": size, "results": results}


def _one_call(fn: Callable[[bytearray], object], buf: bytearray) -> float:
    start = time.perf_counter()
    for _ in range(3):
        fn(buf)
    return (time.perf_counter() - start) / 3


def _serial(fn: Callable[[bytearray], object], buffers: list[bytearray], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        for buf in buffers:
            fn(buf)
    return time.perf_counter() - start


def _threaded(fn: Callable[[bytearray], object], buffers: list[bytearray], n: int) -> float:
    barrier = threading.Barrier(len(buffers) + 1)

    def work(buf: bytearray) -> None:
        barrier.wait()
        for _ in range(n):
            fn(buf)

    workers = [threading.Thread(target=work, args=(buf,)) for buf in buffers]
    for w in workers:
        w.start()
    barrier.wait()
    start = time.perf_counter()
    for w in workers:
        w.join()
    return time.perf_counter() - start


# --- targets ---------------------------------------------------------------------------------


@dataclass
class Target:
    """One row of the performance targets."""

    work: str
    limit: float
    measured: float | None
    detail: str = ""
    #: "<=": measured must not exceed limit; ">=": must reach it.
    sense: str = "<="
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        if self.measured is None:
            return None
        return self.measured <= self.limit if self.sense == "<=" else self.measured >= self.limit


def check_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The performance targets of gomask, as ratios measured in this run."""
    peers = report["peers"]
    seconds = peers["seconds"]
    targets: list[Target] = []

    def ratio(ours: str, peer: str, size: int) -> float | None:
        row = seconds.get(str(size), {})
        if ours in row and peer in row:
            return float(row[ours] / row[peer])
        return None

    pairs = (
        ("gomask mask_inplace", "aiohttp mask (in place)"),
        ("gomask mask", "websockets apply_mask"),
    )
    for ours, peer in pairs:
        for size, limit in ((MiB, 1.0), (16 * MiB, 0.75), (64 * KiB, 1.5)):
            targets.append(
                Target(f"{ours} ÷ {peer}, {_size_name(size)}", limit, ratio(ours, peer, size))
            )
    small_size_limits = (
        ("gomask mask", "websockets apply_mask", 6.0),
        ("gomask mask_inplace", "aiohttp mask (in place)", 15.0),
    )
    for ours, peer, limit in small_size_limits:
        for size in FLOOR_SIZES:
            targets.append(
                Target(f"{ours} ÷ {peer}, {_size_name(size)}", limit, ratio(ours, peer, size))
            )
    floor = peers["floor"]["seconds"]
    for size in FLOOR_SIZES:
        row = floor.get(str(size))
        for call in ("mask", "mask_inplace"):
            targets.append(
                Target(
                    f"{call} ÷ the leanest ctypes binding of the same call, {_size_name(size)}",
                    1.3,
                    row[call] / row[f"{call} floor"] if row else None,
                )
            )
    if "threads" in report:
        # The target is about the GIL: with splitting over goroutines off,
        # only the GIL release lets two threads use two cores. With the
        # default settings one thread already uses both (its calls are
        # split), so two threads cannot halve the time; their ratio is
        # reported beside it.
        results = report["threads"]["results"]
        alone = results.get("gomask mask_inplace, 1 goroutine per call")
        split = results.get("gomask mask_inplace, default settings")
        if alone is not None:

            def per_call(r: dict[str, float]) -> float:
                return r["serial_s"] / r["calls_per_thread"]

            targets.append(
                Target(
                    "2 threads ÷ serial, 4 MiB in place, 1 goroutine per call",
                    0.7,
                    alone["ratio"],
                    detail=(
                        f"default settings: 2 threads ÷ serial {split['ratio']:.2f}, "
                        f"serial {per_call(split) / per_call(alone):.2f} times the time of "
                        "1 goroutine per call"
                        if split
                        else ""
                    ),
                )
            )
    batch = peers["batch"]["seconds"]
    loop = batch["loop of gomask mask"]
    targets.append(
        Target(
            f"batch speed-up per frame over a loop of gomask mask "
            f"({peers['batch']['count']} x {peers['batch']['size']} B)",
            3.0,
            loop / batch["gomask mask_batch"],
            sense=">=",
            detail=(
                f"over a loop of websockets apply_mask: "
                f"{batch['loop of websockets apply_mask'] / batch['gomask mask_batch']:.2f}"
                if "loop of websockets apply_mask" in batch
                else ""
            ),
        )
    )
    return [
        {
            "work": t.work,
            "limit": t.limit,
            "sense": t.sense,
            "measured": t.measured,
            "met": t.met,
            "detail": t.detail,
        }
        for t in targets
    ]


# --- printing ------------------------------------------------------------------------------


def _size_name(n: int) -> str:
    if n >= MiB and n % MiB == 0:
        return f"{n // MiB} MiB"
    if n >= KiB and n % KiB == 0:
        return f"{n // KiB} KiB"
    return f"{n} B"


def _print_peers(peers: dict[str, Any]) -> None:
    names = list(peers["implementations"])
    seconds = peers["seconds"]
    print()
    print("Masking: µs per call (GB/s)")
    print(f"{'size':>8} " + " ".join(f"{n:>24}" for n in names))
    for size, row in seconds.items():
        cells = []
        for n in names:
            if n in row:
                s = row[n]
                cells.append(f"{s * 1e6:>13.3f} ({int(size) / s / 1e9:6.2f})")
            else:
                cells.append(f"{'-':>24}")
        print(f"{_size_name(int(size)):>8} " + " ".join(cells))
    print()
    print("gomask ÷ peer (time ratio; below 1 gomask is faster)")
    peers_only = [n for n in names if peers["implementations"][n]["versus"]]
    print(f"{'size':>8} " + " ".join(f"{n:>24}" for n in peers_only))
    for size, row in seconds.items():
        cells = []
        for n in peers_only:
            ours = peers["implementations"][n]["versus"]
            cells.append(f"{row[ours] / row[n]:>24.2f}" if n in row else f"{'-':>24}")
        print(f"{_size_name(int(size)):>8} " + " ".join(cells))
    print()
    print("Crossover: smallest size from which gomask is faster")
    for peer, size in peers["crossover"].items():
        ours = peers["implementations"][peer]["versus"]
        where = "never (up to 16 MiB)" if size is None else f"{size} bytes ({_size_name(size)})"
        print(f"  {ours} vs {peer}: {where}")
    print()
    print("Cost of a call into Go: µs per call")
    floor = peers["floor"]["seconds"]
    columns = list(next(iter(floor.values())))
    print(f"{'size':>8} " + " ".join(f"{c:>21}" for c in columns))
    for size, row in floor.items():
        print(f"{_size_name(int(size)):>8} " + " ".join(f"{row[c] * 1e6:>21.3f}" for c in columns))
    batch = peers["batch"]
    print()
    print(f"Batch: {batch['count']} payloads of {batch['size']} B, each with its own key")
    base = batch["seconds"]["gomask mask_batch"]
    for name, s in batch["seconds"].items():
        print(
            f"  {name:<32} {s * 1e6:>10.1f} µs  {s / batch['count'] * 1e9:>7.1f} ns per payload"
            f"  ({s / base:.2f}x mask_batch)"
        )


def _print_threads(threads: dict[str, Any]) -> None:
    print()
    print(
        f"Threads: {threads['threads']} threads, each masking its own "
        f"{_size_name(threads['size'])} buffer, against the same calls in one thread"
    )
    for name, r in threads["results"].items():
        print(
            f"  {name:<44} serial {r['serial_s'] * 1e3:8.1f} ms  threads "
            f"{r['threads_s'] * 1e3:8.1f} ms  ratio {r['ratio']:.2f}"
        )


def _print_targets(targets: list[dict[str, Any]]) -> None:
    print()
    print("Targets (ratios from this run)")
    for t in targets:
        measured = "n/a" if t["measured"] is None else f"{t['measured']:.2f}"
        verdict = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        detail = f"  [{t['detail']}]" if t["detail"] else ""
        print(f"  {t['work']:<78} {measured:>6} {t['sense']} {t['limit']:<5} {verdict}{detail}")


# --- plot ------------------------------------------------------------------------------------


def _require_matplotlib() -> None:
    try:
        importlib.import_module("matplotlib")
    except ImportError:
        raise SystemExit(
            "--plot needs matplotlib: pip install 'gomask[bench]' (or pip install matplotlib)"
        ) from None


def plot(report: dict[str, Any], path: str) -> None:
    """Throughput against payload size, log-log, one line per implementation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    peers = report["peers"]
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for name in peers["implementations"]:
        points = [
            (int(size), int(size) / row[name] / 1e9)
            for size, row in peers["seconds"].items()
            if name in row
        ]
        style = "-" if name.startswith("gomask") else "--"
        ax.plot(*zip(*points, strict=True), style, marker="o", markersize=3, label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ticks = [int(s) for s in peers["seconds"]]
    ax.set_xticks(ticks, [_size_name(s).replace(" ", "") for s in ticks], rotation=45)
    ax.set_xlabel("payload size")
    ax.set_ylabel("throughput (GB/s, higher is better)")
    m = report["machine"]
    ax.set_title(
        f"WebSocket masking throughput\n{m['cpu']}, {m['cpus']} CPUs, {m['platform']}, "
        f"{m['python']}, Go {m.get('go')} ({m.get('mask_kernel')} kernel)",
        fontsize=9,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
