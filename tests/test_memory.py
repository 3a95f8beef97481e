"""Memory: no growth over hundreds of thousands of calls, no write outside the buffer.

Both run in a child interpreter: RSS is measured on a clean process, and an
out-of-bounds write that corrupts the heap fails the test instead of pytest.
"""

from __future__ import annotations

import sys
import textwrap

import pytest
from conftest import needs_go_library
from reliability_helpers import result_of, run_python

CALLS = 200_000


@needs_go_library
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads RSS from /proc")
def test_rss_is_flat_over_hundreds_of_thousands_of_calls() -> None:
    """Every function, 200 000 times each after a warm-up, including the
    error paths (Go allocates a gomask_error that Python frees through Go)
    and the results Go allocates in C memory (parse_person, build_info).

    A leak of one 100-byte error message per call would grow RSS by about
    20 MB per function (about 30 MB with malloc's overhead), 10 MB in each
    half of its calls: the bound of 3 MB per function (twice its smaller
    half), 12 MB in all, is far below that and far above the noise of
    Python's and Go's allocators.
    """
    code = textwrap.dedent(
        f"""
        import array
        import ctypes
        import gc
        import json
        import os

        try:
            import numpy as np
        except ImportError:  # no numpy for this Python
            np = None

        import gomask.mask as gm
        from gomask import _native
        from gomask.examples import add, hello_world, parse_person

        CALLS = {CALLS}
        KEY = bytes.fromhex("37fa213d")
        result_out = os.fdopen(os.dup(1), "w")
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # hello_world prints to fd 1
        PAGE = os.sysconf("SC_PAGE_SIZE")


        def rss():
            gc.collect()
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * PAGE


        small = os.urandom(64)
        medium = os.urandom(20_000)  # above the GIL threshold: new bytes, GIL released
        small_ba = bytearray(small)
        small_view = memoryview(bytearray(small))[3:50]
        small_array = array.array("I", small)
        masker = gm.Masker(KEY)
        friends = [{{"name": "Anna", "age": 3}}]
        doc = json.dumps({{"name": "John", "age": 30, "cars": ["Ford", "BMW"], "friends": friends}})
        bad_doc = '{{"name": "John", "age": -1}}'
        lib = _native.library()
        batch = [small[:5], small[5:30], small]


        def expect(error, call, *args):
            try:
                call(*args)
            except error:
                return
            raise AssertionError("no error")


        def debug_panic():
            lib.check(lib.debug_gil["panic"](_native.pointer_to(b"leak?"), 5, 0))


        functions = {{
            "mask(bytes)": lambda: gm.mask(small, KEY, 1),
            "mask(bytes, 20 kB)": lambda: gm.mask(medium, KEY),
            "mask(bytearray)": lambda: gm.mask(small_ba, KEY),
            "mask(memoryview)": lambda: gm.mask(small_view, KEY),
            "mask_inplace(bytearray)": lambda: gm.mask_inplace(small_ba, KEY, 2),
            "mask_inplace(memoryview)": lambda: gm.mask_inplace(small_view, KEY),
            "mask_inplace(array)": lambda: gm.mask_inplace(small_array, KEY),
            "Masker.process": lambda: masker.process(small),
            "Masker.process_inplace": lambda: masker.process_inplace(small_ba),
            "wstx": lambda: gm.wstx(0x37FA213D, small_ba),
            "add": lambda: add(2, 3),
            "add overflow (Go error)": lambda: expect(OverflowError, add, 2**63 - 1, 1),
            "parse_person": lambda: parse_person(doc),
            "parse_person invalid (Go error)": lambda: expect(ValueError, parse_person, bad_doc),
            "hello_world": hello_world,
            "debug panic (Go error)": lambda: expect(_native.GoPanicError, debug_panic),
            "build_info": lib.build_info,
        }}
        if hasattr(gm, "mask_batch"):
            functions["mask_batch"] = lambda: gm.mask_batch(batch, KEY * 3)
        if np is not None:
            small_np = np.zeros(64, np.uint8)
            functions["mask_inplace(numpy)"] = lambda: gm.mask_inplace(small_np, KEY)

        for fn in functions.values():  # warm up: caches, Go heap, allocator arenas
            for _ in range(20_000):
                fn()
        # Each function in two halves: a leak grows RSS in both, while a
        # one-time step (an allocator's new arena, a thread the Go runtime
        # starts for a garbage collection) lands in one of them.
        start = rss()
        growth = {{}}
        for name, fn in functions.items():
            halves = []
            for _ in range(2):
                before = rss()
                for _ in range(CALLS // 2):
                    fn()
                halves.append(rss() - before)
            growth[name] = 2 * min(halves)
        end = rss()
        result = {{"start": start, "end": end, "growth": growth}}
        print("RESULT " + json.dumps(result), file=result_out)
        result_out.flush()
        """
    )
    result = result_of(run_python(code, timeout=300))
    mb = 1 << 20
    print(
        f"RSS {result['start'] / mb:.1f} MB -> {result['end'] / mb:.1f} MB over "
        f"{CALLS} calls of {len(result['growth'])} functions"
    )
    for name, grown in result["growth"].items():
        print(f"  {name:34} {grown / 1024:+9.0f} kB")
    worst = max(result["growth"].items(), key=lambda item: item[1])
    # PyPy frees ctypes' temporary objects at its own garbage collections,
    # and its heap grows in larger steps: a looser bound, still far below
    # the 20 MB that one leaked message per call would add.
    bound = 8 * mb if sys.implementation.name == "pypy" else 3 * mb
    assert worst[1] < bound, f"{worst[0]} grew RSS by {worst[1] / mb:.1f} MB"
    total = 40 * mb if sys.implementation.name == "pypy" else 12 * mb
    assert sum(result["growth"].values()) < total, result


def test_writes_stay_inside_the_buffer() -> None:
    """Guard bytes around slices of every length up to 300 and around the
    kernel's thresholds (word loop, tile, GIL release, goroutine split), at
    every alignment and mask position: only the slice changes, correctly."""
    code = textwrap.dedent(
        """
        import array
        import json
        import os
        import random

        import gomask.mask as gm

        KEY = bytes.fromhex("37fa213d")
        GUARD = 64
        rng = random.Random(1)
        gm.set_parallelism(threshold=512 << 10, workers=2)  # goroutines from 512 KiB


        def ref(data, key, pos):
            # Big integers: independent of gomask, fast enough for MiB sizes.
            stream = (key[pos:] + key[:pos]) * (len(data) // 4 + 1)
            x = int.from_bytes(data, "big") ^ int.from_bytes(stream[: len(data)], "big")
            return x.to_bytes(len(data), "big")


        edges = [63, 64, 65, 1023, 1024, 1025, 4095, 4097, 16383, 16384, 16385]
        edges += [65537, (512 << 10) - 1, 512 << 10, (512 << 10) + 1, (1 << 20) + 3]
        edges += [(4 << 20) + 5]
        cases = [(n, a, p) for n in range(301) for a in range(8) for p in range(4)]
        cases += [(n, a, p) for n in edges for a in (0, 1, 3, 7) for p in (0, 3)]
        bad = []
        for n, align, pos in cases:
            total = n + 2 * GUARD + 8
            original = rng.randbytes(total)
            lo, hi = GUARD + align, GUARD + align + n
            want = original[:lo] + ref(original[lo:hi], KEY, pos) + original[hi:]
            for api in ("mask_inplace", "process_inplace", "wstx", "mask"):
                buf = bytearray(original)
                view = memoryview(buf)[lo:hi]
                if api == "mask_inplace":
                    gm.mask_inplace(view, KEY, pos)
                elif api == "process_inplace":
                    gm.Masker(KEY, pos).process_inplace(view)
                elif api == "wstx":
                    if pos:
                        continue
                    gm.wstx(int.from_bytes(KEY, "big"), view)
                else:
                    out = gm.mask(view, KEY, pos)
                    if out != want[lo:hi] or buf != original:
                        bad.append([api, n, align, pos])
                    continue
                if buf != want:
                    outside = buf[:lo] != original[:lo] or buf[hi:] != original[hi:]
                    bad.append([api, n, align, pos, "outside" if outside else "inside"])
        # Buffers of 4-byte items, a view into the middle of a larger one.
        for n in (1, 3, 17, 4099, 300_001):
            big = array.array("i", rng.randbytes(4 * (n + 16)))
            original = big.tobytes()
            gm.mask_inplace(memoryview(big)[8 : 8 + n], KEY, 1)
            b = big.tobytes()
            if b[:32] != original[:32] or b[32 + 4 * n :] != original[32 + 4 * n :]:
                bad.append(["int32", n])
            if b[32 : 32 + 4 * n] != ref(original[32 : 32 + 4 * n], KEY, 1):
                bad.append(["int32 content", n])
        print("RESULT " + json.dumps({"cases": len(cases), "bad": bad[:20]}))
        """
    )
    result = result_of(run_python(code, timeout=200))
    assert result["bad"] == [], result
    assert result["cases"] > 9000
