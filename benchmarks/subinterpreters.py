"""Do small calls scale across subinterpreters (CPython 3.14, each its own GIL)?

``mask()`` of a short ``bytes`` (125 B and 1 KiB: WebSocket-sized frames) in
a loop, timed as calls per second of all the workers together, in four
ways: one thread of the main interpreter; one subinterpreter; two
subinterpreters at once, each driven by its own thread; two threads of the
main interpreter (sharing its GIL). The four alternate, round after round,
so that a busy neighbour on the machine hits all of them alike; the range
over the rounds is printed. The workers
start together (a barrier) and the clock runs until the last one is done.

    python benchmarks/subinterpreters.py [--calls 200000] [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gomask._bench import machine, print_machine, size_name

#: Run in each worker: `calls` calls of mask() on `size` bytes.
WORKER = """
from gomask.mask import mask
data = bytes(range(256)) * (size // 256) + bytes(size % 256)
key = b"\\x37\\xfa\\x21\\x3d"
for _ in range(calls):
    mask(data, key)
"""


def in_interpreters(count: int, size: int, calls: int) -> float:
    """Calls per second of *count* subinterpreters masking at once."""
    from concurrent import interpreters  # CPython >= 3.14

    interps = [interpreters.create() for _ in range(count)]
    try:
        for interp in interps:
            interp.prepare_main(size=size, calls=1000)
            interp.exec(WORKER)  # import and load before the clock starts
            interp.prepare_main(size=size, calls=calls)
        barrier = threading.Barrier(count + 1)

        def run(interp: Any) -> None:
            barrier.wait()
            interp.exec(WORKER)

        threads = [threading.Thread(target=run, args=(interp,)) for interp in interps]
        for t in threads:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in threads:
            t.join()
        return count * calls / (time.perf_counter() - start)
    finally:
        for interp in interps:
            interp.close()


def in_threads(count: int, size: int, calls: int) -> float:
    """Calls per second of *count* threads of this interpreter masking at once."""
    namespace: dict[str, Any] = {"size": size, "calls": 1000}
    exec(WORKER, namespace)  # the same loop, run here
    code = compile(WORKER, "<worker>", "exec")
    barrier = threading.Barrier(count + 1)

    def run() -> None:
        barrier.wait()
        exec(code, {"size": size, "calls": calls})

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return count * calls / (time.perf_counter() - start)


WAYS = {
    "1 thread, main interpreter": lambda size, calls: in_threads(1, size, calls),
    "1 interpreter": lambda size, calls: in_interpreters(1, size, calls),
    "2 interpreters": lambda size, calls: in_interpreters(2, size, calls),
    "2 threads, 1 interpreter": lambda size, calls: in_threads(2, size, calls),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000, help="calls per worker and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if sys.version_info < (3, 14) or sys.implementation.name != "cpython":
        parser.error("needs CPython >= 3.14 (concurrent.interpreters)")

    results: dict[str, dict[str, list[float]]] = {}
    for size in (125, 1024):
        rates: dict[str, list[float]] = {way: [] for way in WAYS}
        for _ in range(args.rounds):
            for way, run in WAYS.items():
                rates[way].append(run(size, args.calls))
        results[size_name(size)] = rates

    info = machine()
    if args.json:
        print(json.dumps({"machine": info, "calls_per_second": results}, indent=2))
        return 0
    print_machine(info)
    for size, rates in results.items():
        one = sorted(rates["1 interpreter"])[len(rates["1 interpreter"]) // 2]
        print(f"mask() of {size} bytes, calls/s of all workers, min-max over {args.rounds} rounds:")
        for way, values in rates.items():
            median = sorted(values)[len(values) // 2]
            print(
                f"  {way:27} {min(values) / 1e6:5.2f}-{max(values) / 1e6:5.2f} M/s"
                f"  (median {median / one:4.2f} x 1 interpreter)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
