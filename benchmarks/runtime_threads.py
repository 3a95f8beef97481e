"""Which of the Go runtime's threads work for calls after a pause (Linux).

``gomask.mask()`` of 4 KiB after each pause, for a few seconds per pause, with
the library's yields on and off (docs/runtime-tax.md); then, for every thread
of the process, the CPU time it spent (``/proc/self/task/*/schedstat``) and
how often it was woken (voluntary context switches), per call. The calling
thread is "caller"; the others are the Go runtime's (sysmon is the one woken
about every 10 ms while calls keep coming; the others run the scheduler for a
yield or a taken P).

    python benchmarks/runtime_threads.py [--pauses 0.1,0.3,1] [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gomask.mask as gomask_mask
from gomask import _native

TASKS = Path("/proc/self/task")


def threads() -> dict[int, tuple[int, int]]:
    """Each thread's (CPU time in ns, voluntary context switches) so far."""
    found = {}
    for task in TASKS.iterdir():
        try:
            cpu_ns = int((task / "schedstat").read_text().split()[0])
            status = (task / "status").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        (switches,) = (
            int(line.split()[1])
            for line in status.splitlines()
            if line.startswith("voluntary_ctxt_switches")
        )
        found[int(task.name)] = (cpu_ns, switches)
    return found


def run(pause: float, seconds: float, yields: bool) -> None:
    set_yields = _native.library().debug_gil["set_yields"]
    set_yields(int(yields))
    data, key = os.urandom(4096), os.urandom(4)
    for _ in range(1000):  # the runtime binds this thread to an M, sysmon settles
        gomask_mask.mask(data, key)
    time.sleep(0.05)
    before, calls = threads(), 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        gomask_mask.mask(data, key)
        calls += 1
        time.sleep(pause)
    after = threads()
    set_yields(1)
    caller = threading.get_native_id()
    print(f"pause {pause * 1e3:g} ms, yields {'on' if yields else 'off'}: {calls} calls")
    for tid in sorted(after, key=lambda t: (t != caller, t)):
        then = before.get(tid, (0, 0))
        cpu_ns, switches = after[tid][0] - then[0], after[tid][1] - then[1]
        if tid == caller or switches:
            name = "caller" if tid == caller else str(tid)
            print(
                f"  {name:>8}  {cpu_ns / 1e3 / calls:7.2f} µs CPU/call"
                f"  {switches / calls:6.3f} wake-ups/call"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pauses", default="0.1,0.3,1", help="ms, comma-separated")
    parser.add_argument("--seconds", type=float, default=3.0, help="of calls per pause and setting")
    args = parser.parse_args()
    if not TASKS.is_dir():
        sys.exit("benchmarks/runtime_threads.py: needs Linux's /proc/self/task")
    if gomask_mask.implementation() != "go" or "set_yields" not in _native.library().debug_gil:
        sys.exit("benchmarks/runtime_threads.py: needs the Go library with its debug exports")
    for pause in (float(ms) / 1e3 for ms in args.pauses.split(",")):
        for yields in (True, False):
            run(pause, args.seconds, yields)


if __name__ == "__main__":
    main()
