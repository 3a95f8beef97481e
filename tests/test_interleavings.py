"""Safe under every interleaving: each public entry point stopped at every
line gomask executes, with its buffer shrunk, grown, released or re-entered
there (tests/interleavings.py runs it, in a child interpreter).

The child runs with PYTHONMALLOC=debug on CPython, whose allocator aborts
("bad trailing pad byte", or glibc's own checks) when Go writes past a
buffer that shrank after gomask measured it: the exit status catches that,
and the results are checked against conftest.fast_spec, so a call that
returns another call's bytes, or masks from the wrong position, fails too.
The stop is made by sys.settrace, which works on CPython with and without
the GIL and on PyPy; what happens at the stop happens in the trace function
and, in a second round, in another thread while the masking thread waits.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import PYPY, needs_go_library
from interleavings import ENTRIES, OTHER_ENTRIES
from reliability_helpers import malloc_debug_env, result_of, run_python

TESTS = Path(__file__).resolve().parent


@pytest.mark.parametrize(
    "entry",
    [
        *ENTRIES,
        # parse_person is Go's alone: the pure-Python build has no example to call.
        *(
            pytest.param(e, marks=needs_go_library) if e.startswith("examples.") else e
            for e in OTHER_ENTRIES
        ),
    ],
)
def test_stopped_at_every_line(entry: str) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(TESTS)!r})
        import interleavings
        interleavings.main({entry!r})
        """
    )
    proc = run_python(code, timeout=300, env=malloc_debug_env())
    if proc.returncode != 0:
        # The last line of stderr that names a run is the run that crashed.
        runs = [line for line in proc.stderr.splitlines() if "line event" in line]
        others = [line for line in proc.stderr.splitlines() if "line event" not in line]
        pytest.fail(
            f"the child died (exit status {proc.returncode}) in or after: "
            f"{runs[-1] if runs else '(no run yet)'}\n" + "\n".join(others[-40:])
        )
    result = result_of(proc)
    if result["skipped"]:
        pytest.skip(result["skipped"])
    assert result["failures"] == [], "\n".join(result["failures"])
    # The test has teeth: changes were made, and some were refused while
    # gomask held the buffer.
    assert result["runs"] > 100, result
    assert result["applied"] > 0, result
    if not PYPY:  # PyPy cannot pin a buffer: nothing is refused there
        assert result["refused"] > 0, result
