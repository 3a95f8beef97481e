"""``python -m gomask bench``: the demo's table, Go call against native Python.

Rows are those of the document gomask grew from: print hello world, decode
the person JSON, mask 64 kB, mask 256 kB. "Dynamic" is the gomask call into
Go, "Native" the same work in plain Python (a linear byte loop for the
masking, not the demo's quadratic one). Each cell is the mean time of one
call, from the fastest of several timed batches.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator

from gomask import examples
from gomask import mask as gomask_mask

PERSON_DOCUMENT = (
    '{"name": "John", "age": 30, "cars": ["Ford", "BMW", "Fiat"], '
    '"friends": [{"name": "Peter", "age": 30}, {"name": "Anna", "age": 30}]}'
)
KEY = bytes.fromhex("37fa213d")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seconds",
        type=float,
        default=0.5,
        help="time budget per cell (default 0.5; the whole table takes about 8 times this)",
    )
    parser.add_argument("--json", action="store_true", help="print results as JSON")


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
        print(f"  measured {name}", file=sys.stderr, flush=True)
    return results


def run(args: argparse.Namespace) -> int:
    results = seed_table(args.seconds)
    if args.json:
        print(json.dumps({"seed_table": results}, indent=2))
        return 0
    print("Benchmark results: Dynamic is the Go call; Native is the equivalent Python function.")
    print(f"{'':<26} {'Dynamic':>12} {'Native':>12}  speedup")
    for row in results:
        go_s, py_s = float(row["dynamic_s"]), float(row["native_s"])  # type: ignore[arg-type]
        ratio = py_s / go_s
        faster = f"Go x{ratio:,.0f} faster" if ratio >= 1 else f"Python x{1 / ratio:.1f} faster"
        print(f"{row['name']:<26} {_duration(go_s):>12} {_duration(py_s):>12}  {faster}")
    return 0


def _duration(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"
