"""``python -m gomask bench``: its output, its JSON, and how it checks the targets.

Timings are not asserted (speed lives in the benchmark itself): these tests
run it with tiny budgets and check what it prints and computes.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gomask import _bench


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gomask", "bench", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_default_run_prints_the_seed_table() -> None:
    result = bench("--seconds", "0.02")
    assert result.returncode == 0, result.stderr
    rows = {
        "Hello world print",
        "JSON",
        "Websocket mask 64kB",
        "Websocket masking (256kB)",
    }
    duration = r"[\d.,]+ (?:ns|µs|ms|s)"
    found = set()
    for line in result.stdout.splitlines():
        m = re.match(rf"^(.+?)\s+({duration})\s+({duration})\s+(Go|Python) x[\d.,]+ faster$", line)
        if m:
            found.add(m.group(1))
    assert found == rows, result.stdout
    assert "Dynamic" in result.stdout
    assert "Native" in result.stdout


def test_peers_and_threads_as_json() -> None:
    result = bench("--peers", "--threads", "--json", "--budget", "0.002")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["machine"]["parallel_threshold"] > 0
    seconds = report["peers"]["seconds"]
    assert [int(size) for size in seconds] == list(_bench.PEER_SIZES)
    for row in seconds.values():
        assert row["gomask mask"] > 0
        assert row["gomask mask_inplace"] > 0
    floor = report["peers"]["floor"]["seconds"]
    assert [int(size) for size in floor] == list(_bench.FLOOR_SIZES)
    assert set(report["peers"]["batch"]["seconds"]) >= {"gomask mask_batch", "loop of gomask mask"}
    assert set(report["threads"]["results"]) >= {
        "gomask mask_inplace, 1 goroutine per call",
        "gomask mask_inplace, default settings",
    }
    works = [t["work"] for t in report["targets"]]
    assert any("empty call into Go" in w for w in works)
    assert any(w.startswith("2 threads") for w in works)
    for target in report["targets"]:
        assert set(target) == {"work", "limit", "sense", "measured", "met", "detail"}
        if target["measured"] is None:  # the peer is not installed
            assert target["met"] is None


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_plot(tmp_path: Path) -> None:
    out = tmp_path / "throughput.png"
    result = bench("--plot", str(out), "--budget", "0.002")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def synthetic_report() -> dict[str, Any]:
    """A report with made-up seconds, to check the arithmetic of check_targets."""
    us = 1e-6
    sizes = {
        str(size): {
            "gomask mask": 2 * us,
            "gomask mask_inplace": 1 * us,
            "websockets apply_mask": 1 * us,
            "aiohttp mask (in place)": 4 * us,
        }
        for size in _bench.PEER_SIZES
    }
    sizes[str(_bench.MiB)]["gomask mask"] = 0.5 * us  # met (0.5 <= 1.0)
    floor_row = {
        "mask": 3 * us,
        "mask floor": 2 * us,
        "mask_inplace": 2 * us,
        "mask_inplace floor": 2 * us,
        "floor (issue, PyDLL)": 4 * us,
        "floor (issue, CDLL)": 5 * us,
    }
    return {
        "peers": {
            "seconds": sizes,
            "floor": {"seconds": {str(s): dict(floor_row) for s in _bench.FLOOR_SIZES}},
            "batch": {
                "count": 1000,
                "size": 125,
                "seconds": {"gomask mask_batch": 1e-4, "loop of gomask mask": 5e-4},
            },
        },
        "threads": {
            "results": {
                "gomask mask_inplace, 1 goroutine per call": {
                    "calls_per_thread": 100,
                    "serial_s": 1.0,
                    "threads_s": 0.6,
                    "ratio": 0.6,
                },
                "gomask mask_inplace, default settings": {
                    "calls_per_thread": 200,
                    "serial_s": 1.0,
                    "threads_s": 0.9,
                    "ratio": 0.9,
                },
            }
        },
    }


def test_check_targets_arithmetic() -> None:
    targets = {t["work"]: t for t in _bench.check_targets(synthetic_report())}

    def target(work: str, measured: float, met: bool) -> dict[str, Any]:
        found = next(t for w, t in targets.items() if w.startswith(work))
        assert found["measured"] == pytest.approx(measured), work
        assert found["met"] is met, work
        return found

    target("gomask mask ÷ websockets apply_mask, 1 MiB", 0.5, met=True)
    target("gomask mask ÷ websockets apply_mask, 16 MiB", 2.0, met=False)
    target("gomask mask_inplace ÷ aiohttp mask (in place), 64 KiB", 0.25, met=True)
    floor = target("mask ÷ empty call into Go with the same argument types, 125 B", 1.5, met=False)
    assert "floor: 0.75" in floor["detail"]
    threads = target("2 threads ÷ serial, 4 MiB in place, 1 goroutine per call", 0.6, met=True)
    # Per call: the default settings made twice the calls in the same serial time.
    assert "serial 0.50 times" in threads["detail"]
    target("batch speed-up", 5.0, met=True)


def test_check_targets_without_peers() -> None:
    report = synthetic_report()
    for row in report["peers"]["seconds"].values():
        del row["websockets apply_mask"]
    targets = _bench.check_targets(report)
    websockets = [t for t in targets if "websockets" in t["work"]]
    assert websockets
    assert all(t["measured"] is None and t["met"] is None for t in websockets)
