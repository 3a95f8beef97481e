"""``python -m gomask bench`` and ``python -m gomask info``: what they print.

Timings are not asserted (speed lives in the benchmark itself): these tests
run it with tiny budgets and check what it prints and computes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import gomask
import gomask.mask as gomask_mask
from gomask import _bench

REPO = Path(__file__).resolve().parent.parent


def gomask_cli(*args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gomask", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
    )


EXAMPLE_ROWS = ("Hello world print", "JSON")
MASK_ROWS = ("Websocket mask 64kB", "Websocket masking (256kB)")
DURATION = r"[\d.,]+ (?:ns|µs|ms|s)"


def seed_rows(output: str) -> dict[str, str]:
    """The demo table's rows: name -> the speed-up column (or why not run)."""
    rows = {}
    for line in output.splitlines():
        m = re.match(rf"^(.+?)\s+(?:{DURATION}\s+{DURATION}|not run)\s+(.+)$", line)
        if m and m.group(1) in EXAMPLE_ROWS + MASK_ROWS:
            rows[m.group(1)] = m.group(2)
    return rows


def test_default_run_prints_the_seed_table_and_calls_after_pauses() -> None:
    """Whatever this gomask is: each row says what ran it, and what needs the
    Go library where it does not load (the pure-Python build) says so."""
    result = gomask_cli("bench", "--seconds", "0.02", "--gaps-seconds", "0.001")
    assert result.returncode == 0, result.stderr
    rows = seed_rows(result.stdout)
    assert set(rows) == set(EXAMPLE_ROWS + MASK_ROWS), result.stdout
    go_faster = r"^(Go|Python) x[\d.,]+ faster$"
    if _bench.go_library_error() is None:
        assert all(re.match(go_faster, rows[name]) for name in EXAMPLE_ROWS), rows
        assert "Python wins the tiny calls" in result.stdout  # the honest reading
    else:  # the examples call Go: not run, saying why
        assert all(rows[name] == _bench.go_library_error() for name in EXAMPLE_ROWS), rows
        assert "pure-Python build" in rows["JSON"]
    assert "Dynamic" in result.stdout
    assert "Native" in result.stdout
    if gomask_mask.implementation() == "go":
        assert all(re.match(go_faster, rows[name]) for name in MASK_ROWS), rows
        assert re.search(r"Calls after pauses: mask\(\) of \d+ KiB", result.stdout)
        pauses = re.findall(r"^ +(none|[\d.]+ [µm]s) \| ", result.stdout, re.M)
        assert pauses == ["none", "100 µs", "300 µs", "1 ms", "3 ms", "10 ms"], result.stdout
        assert "in the second after the last call" in result.stdout
    else:
        assert_masking_said_python(result.stdout, rows)


def assert_masking_said_python(output: str, rows: dict[str, str]) -> None:
    """The table of a gomask that masks in pure Python says so, and does not
    claim Go for what Python did."""
    assert "Dynamic is the call into Go" not in output
    assert "pure-Python implementation" in output
    for name in MASK_ROWS:
        assert re.match(r"^(gomask's Python|Native) x[\d.,]+ faster$", rows[name]), rows
    assert "Calls after pauses: not run" in output
    assert "in the second after the last call" not in output


def test_pure_mode_table_says_what_ran() -> None:
    """GOMASK_PURE=1: Python masks, and the table says so (it said "Dynamic
    is the call into Go" and "Go x22 faster")."""
    result = gomask_cli("bench", "--seconds", "0.02", "--gaps-seconds", "0.001", GOMASK_PURE="1")
    assert result.returncode == 0, result.stderr
    rows = seed_rows(result.stdout)
    assert set(rows) == set(EXAMPLE_ROWS + MASK_ROWS), result.stdout
    assert_masking_said_python(result.stdout, rows)
    assert "GOMASK_PURE is set" in result.stdout


def test_version() -> None:
    result = gomask_cli("--version", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"gomask {gomask.__version__}\n"


def test_call_gaps_rows() -> None:
    report = _bench.call_gaps(0.0001, rounds=1)
    json.dumps(report)  # its part of --json
    assert [row["gap"] for row in report["rows"]] == list(_bench.GAPS)
    assert report["settings"][0] == "gomask"
    if gomask_mask.implementation() == "go":
        assert "gomask, no yields" in report["settings"]
    for row in report["rows"]:
        for name in report["settings"]:
            assert set(row[name]) == {"latency", "other_cpu"}
    assert report["idle_cpu_per_second"] >= 0


def test_apps_runs_the_benchmark_of_the_checkout(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(gomask, "__file__", str(REPO / "src" / "gomask" / "__init__.py"))
    assert _bench.run_checkout_script("apps.py", ["--help"]) == 0
    assert "python benchmarks/apps.py" in capfd.readouterr().out


def test_apps_outside_a_checkout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(gomask, "__file__", str(tmp_path / "site-packages/gomask/__init__.py"))
    assert _bench.run_checkout_script("apps.py", ["--rounds", "1"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "benchmarks/apps.py of a source checkout" in line
    assert "not in the wheel" in line


@pytest.mark.skipif(
    not (Path(gomask.__file__).resolve().parents[2] / "benchmarks" / "apps.py").is_file(),
    reason="gomask is not run from a source checkout",
)
def test_apps_and_peers_command_lines() -> None:
    result = gomask_cli("bench", "--apps", "--help", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--rounds" in result.stdout
    result = gomask_cli("bench", "--peers", "--help", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--summary" in result.stdout
    result = gomask_cli("bench", "--calls", "--help", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--budget" in result.stdout


def test_size_and_duration_names() -> None:
    assert [_bench.size_name(n) for n in (125, 1536, 64 * 1024, 16 << 20)] == [
        "125 B",
        "1.5 KiB",
        "64 KiB",
        "16 MiB",
    ]
    assert [_bench.duration(s) for s in (2.5e-9, 12.3e-6, 0.0311, 1.5)] == [
        "2.5 ns",
        "12.3 µs",
        "31.1 ms",
        "1.5 s",
    ]


def test_help_is_plain_text() -> None:
    for args in (("--help",), ("bench", "--help")):
        result = gomask_cli(*args, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "``" not in result.stdout
        assert ":func:" not in result.stdout
    assert "info" in gomask_cli("--help", timeout=60).stdout


def test_output_into_a_closed_pipe_ends_quietly() -> None:
    for args in (("info",), ("bench", "--help")):
        proc = subprocess.Popen(
            [sys.executable, "-m", "gomask", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        proc.stdout.close()  # as `| head -1` does once it has its line: before gomask writes
        _, err = proc.communicate(timeout=60)
        assert b"Traceback" not in err, err.decode()
