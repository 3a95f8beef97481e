"""Timing of the benchmarks: calls back to back, and calls after pauses.

Back to back, a loop hides what a call costs outside the calling thread: the
Go runtime parks its threads when the process goes idle, and the next call
into Go wakes them (its monitor thread at least), in threads of its own. So
the benchmarks also time calls that arrive after a pause, as the messages of
a quiet connection do, and count their CPU time as ``time.process_time()``
does: every thread of the process, the Go runtime's included, the pauses
included (what a call sets off after it returns is counted too).
"""

from __future__ import annotations

import statistics
import time
import timeit
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

KiB = 1024
MiB = 1024 * KiB
#: Pauses between calls, seconds (``--gaps`` takes milliseconds).
GAPS = (0.0003, 0.001)


class Paced(NamedTuple):
    """Calls after pauses, per call (seconds)."""

    #: Process CPU time (all threads) over the calls and their pauses, per call.
    cpu: float
    #: Median wall time of one call (a round trip, for an exchange).
    latency: float
    #: Median length of the pauses as slept (at least the gap asked).
    gap: float


def back_to_back(call: Callable[[], object], count: int) -> tuple[float, float]:
    """*count* calls in a row: (wall time, process CPU time) per call."""
    cpu = time.process_time()
    start = time.perf_counter()
    for _ in range(count):
        call()
    wall = time.perf_counter() - start
    return wall / count, (time.process_time() - cpu) / count


def paced(call: Callable[[], object], gap: float, count: int) -> Paced:
    """*count* calls, each after a pause of *gap* seconds (``time.sleep``), and
    a last pause after the last call, so that every call is followed by one."""
    latencies = []
    gaps = []
    cpu = time.process_time()
    for _ in range(count):
        before = time.perf_counter()
        time.sleep(gap)
        start = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - start)
        gaps.append(start - before)
    time.sleep(gap)
    used = time.process_time() - cpu
    return Paced(used / count, statistics.median(latencies), statistics.median(gaps))


def for_seconds(call: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Calls back to back for about *seconds* (after one call to warm up), in
    batches that double: (wall time, process CPU time) per call."""
    call()
    number = 0
    batch = 1
    cpu = time.process_time()
    start = time.perf_counter()
    for _ in range(40):  # bounded: at most 2**40 calls
        for _ in range(batch):
            call()
        number += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
        batch *= 2
    return elapsed / number, (time.process_time() - cpu) / number


def parse_gaps(text: str) -> tuple[float, ...]:
    """``"0.3,1"`` (milliseconds) -> ``(0.0003, 0.001)`` (seconds); ``""``: none."""
    gaps = tuple(float(item) / 1000 for item in text.split(",") if item.strip())
    if any(gap < 0 for gap in gaps):
        raise ValueError(f"gaps are not negative: {text!r}")
    return gaps


def gap_name(gap: float) -> str:
    """0.0003 -> ``"0.3 ms"``."""
    return f"{gap * 1000:g} ms"


def size_name(n: int) -> str:
    if n >= MiB and n % MiB == 0:
        return f"{n // MiB} MiB"
    if n >= KiB and n % KiB == 0:
        return f"{n // KiB} KiB"
    return f"{n} B"


def ratio(with_: float, without: float) -> float:
    return with_ / without if without > 0 else float("nan")


def median_of(samples: Sequence[dict[str, Any]], key: str) -> float:
    return float(statistics.median(sample[key] for sample in samples))


def no_worse_from(rows: Sequence[tuple[int, float, float]]) -> int | None:
    """The smallest size from which the third column is no larger than the
    second at every larger size of *rows* ``(size, own, gomask)``, sorted by
    size: ``0`` when that holds from the first row, None when not even at the
    last."""
    for i, (size, _, _) in enumerate(rows):
        if all(gomask <= own for _, own, gomask in rows[i:]):
            return size if i else 0
    return None


# --- back to back, with timeit -------------------------------------------------------------


class Timed:
    """A call ``fn(*args)`` timed with timeit: the statement names each
    argument, so every implementation pays the same, minimal, harness cost."""

    #: The clock of every Timed: wall time, or time.thread_time (the calling
    #: thread's CPU time, which on a busy machine leaves out what other
    #: processes take from it; a call that runs on the caller's thread alone).
    clock: Callable[[], float] = time.perf_counter

    def __init__(self, fn: Callable[..., object], *args: object) -> None:
        self.fn, self.args = fn, args
        names = [f"a{i}" for i in range(len(args))]
        namespace: dict[str, object] = {"f": fn, **dict(zip(names, args, strict=True))}
        self._timer = timeit.Timer(f"f({', '.join(names)})", timer=Timed.clock, globals=namespace)
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
