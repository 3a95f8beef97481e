"""compliance/run.py's verdict: what makes the conformance suite fail.

The suite itself (wstest against every library, three runs each) runs in
.ci/run; these check, without wstest, that its comparison fails where it must.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

RUN_PY = Path(__file__).resolve().parent.parent / "compliance" / "run.py"


@pytest.fixture(scope="module")
def run() -> ModuleType:
    if not RUN_PY.exists():
        pytest.skip("compliance/run.py is not here (an installed package's tests)")
    spec = importlib.util.spec_from_file_location("compliance_run", RUN_PY)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


OK = ["OK", "OK"]
NON_STRICT = ["NON-STRICT", "OK"]
FAILED = ["FAILED", "OK"]


def runs(
    off: dict[str, list[str]],
    all_: dict[str, list[str]] | None = None,
    default: dict[str, list[str]] | None = None,
    calls: int = 10,
    default_patched: bool = True,
    default_calls: int = 3,
) -> dict[str, dict[str, Any]]:
    def seen(installed: bool, gomask_calls: int) -> dict[str, Any]:
        stats = {"gomask_calls": gomask_calls, "gomask_bytes": gomask_calls * 100}
        return {
            "library": "wsproto",
            "installed": ["wsproto"] if installed else [],
            "stats": stats if installed else None,
        }

    return {
        "off": {"verdicts": off, "gomask": {"library": "wsproto", "installed": [], "stats": None}},
        "all": {"verdicts": all_ or dict(off), "gomask": seen(True, calls)},
        "default": {
            "verdicts": default or dict(off),
            "gomask": seen(default_patched, default_calls),
        },
    }


def test_agreeing_runs_pass(run: ModuleType) -> None:
    three = runs({"1.1.1": OK, "3.4": NON_STRICT})
    assert run.differing(three) == []
    assert run.check("wsproto", "server", three, {}) == []


def test_a_case_that_differs_fails(run: ModuleType) -> None:
    three = runs({"1.1.1": OK, "5.1": OK}, all_={"1.1.1": OK, "5.1": ["FAILED", "OK"]})
    assert run.differing(three) == ["5.1"]
    seen = {"off": {"5.1": [OK]}, "all": {"5.1": [["FAILED", "OK"]]}}
    (problem,) = run.check("wsproto", "server", three, seen)
    assert "case 5.1" in problem
    assert "install(min_size=0)" in problem


def test_a_close_that_differs_fails(run: ModuleType) -> None:
    three = runs({"7.1.1": OK}, default={"7.1.1": ["OK", "FAILED"]})
    assert run.differing(three) == ["7.1.1"]
    seen = {"off": {"7.1.1": [OK]}, "default": {"7.1.1": [["OK", "FAILED"]]}}
    (problem,) = run.check("wsproto", "client", three, seen)
    assert "case 7.1.1" in problem
    assert "install()" in problem


def test_a_case_that_varies_on_its_own_passes(run: ModuleType) -> None:
    # Run again, the gomask run also gives the verdict of the run without.
    three = runs({"7.9.5": OK}, all_={"7.9.5": FAILED})
    assert run.differing(three) == ["7.9.5"]
    seen = {"off": {"7.9.5": [OK]}, "all": {"7.9.5": [FAILED, OK]}}
    assert run.check("wsproto", "server", three, seen) == []
    seen = {"off": {"7.9.5": [OK, FAILED]}, "all": {"7.9.5": [FAILED]}}
    assert run.check("wsproto", "server", three, seen) == []
    # Never the same verdict: a difference.
    seen = {"off": {"7.9.5": [OK]}, "all": {"7.9.5": [FAILED]}}
    assert run.check("wsproto", "server", three, seen) != []


def test_ok_and_non_strict_are_one_outcome(run: ModuleType) -> None:
    # wstest accepts both: the echo came before the failing frame, or not.
    three = runs({"3.4": OK}, default={"3.4": NON_STRICT})
    assert run.differing(three) == []
    assert run.differing(three, exact=True) == ["3.4"]
    assert run.check("wsproto", "server", three, {}) == []
    # Not with another close, nor with FAILED.
    assert not run.same_outcome(OK, ["NON-STRICT", "FAILED"])
    assert not run.same_outcome(NON_STRICT, FAILED)


def test_other_cases_fail(run: ModuleType) -> None:
    three = runs({"1.1.1": OK, "1.1.2": OK}, all_={"1.1.1": OK})
    assert any("other cases" in p for p in run.check("wsproto", "server", three, {}))


def test_a_gomask_run_that_never_reached_gomask_fails(run: ModuleType) -> None:
    problems = run.check("wsproto", "server", runs({"1.1.1": OK}, calls=0), {})
    assert any("min_size=0" in p for p in problems)
    problems = run.check("wsproto", "server", runs({"1.1.1": OK}, default_calls=0), {})
    assert any("install() patched" in p for p in problems)


def test_install_may_leave_a_library_alone(run: ModuleType) -> None:
    # websockets and tornado with their C maskers: install() patches neither.
    three = runs({"1.1.1": OK}, default_patched=False)
    assert run.check("wsproto", "server", three, {}) == []
