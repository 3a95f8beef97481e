"""Call the repro library's export after pauses, from a thread Go did not
create, and print what each call costs (see ../runtime-tax.md):

    python3 driver.py ./librepro.so [calls per pause]

For each pause: the median time of one call, and the CPU time that the
process's other threads (the Go runtime's) spend per call, from
time.process_time() (every thread) minus time.thread_time() (this one).
Then the CPU time of the whole process in the second after the last call.
"""

import ctypes
import statistics
import sys
import time

library = ctypes.CDLL(sys.argv[1])
noop = library.noop
noop.argtypes, noop.restype = (), None
noop()  # the Go runtime binds this thread to an M on its first call

for pause in (0, 100e-6, 300e-6, 1e-3, 3e-3, 10e-3):
    calls = 20_000 if pause == 0 else max(100, int(1.0 / (pause + 60e-6)))
    if len(sys.argv) > 2:
        calls = int(sys.argv[2])
    latencies = []
    process, thread = time.process_time(), time.thread_time()
    for _ in range(calls):
        if pause:
            time.sleep(pause)
        t = time.perf_counter()
        noop()
        latencies.append(time.perf_counter() - t)
    other = (time.process_time() - process) - (time.thread_time() - thread)
    print(
        f"pause {pause * 1e3:4.1f} ms: call {statistics.median(latencies) * 1e6:6.2f} µs, "
        f"other threads {other / calls * 1e6:6.2f} µs CPU per call"
    )
before = time.process_time()
time.sleep(1)
print(f"the second after: {(time.process_time() - before) * 1e3:.2f} ms CPU")
