"""``python -m gomask bench`` and ``python -m gomask info``: what they print.

Timings are not asserted (speed lives in the benchmark itself): these tests
run it with tiny budgets and check what it prints and computes.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys

from gomask import _bench


def gomask_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gomask", *args], capture_output=True, text=True, timeout=timeout
    )


def test_default_run_prints_the_seed_table_and_a_summary() -> None:
    result = gomask_cli("bench", "--seconds", "0.02", "--budget", "0.002")
    assert result.returncode == 0, result.stderr
    rows = {"Hello world print", "JSON", "Websocket mask 64kB", "Websocket masking (256kB)"}
    duration = r"[\d.,]+ (?:ns|µs|ms|s)"
    found = set()
    for line in result.stdout.splitlines():
        m = re.match(rf"^(.+?)\s+({duration})\s+({duration})\s+(Go|Python) x[\d.,]+ faster$", line)
        if m:
            found.add(m.group(1))
    assert found == rows, result.stdout
    assert "Dynamic" in result.stdout
    assert "Native" in result.stdout
    assert "Python wins the tiny calls" in result.stdout  # the honest reading
    if importlib.util.find_spec("websockets") is None:
        assert "No WebSocket library is installed" in result.stdout
    else:
        assert re.search(r"^  websockets \((C|Python)\): [\d.]+ at 125 B", result.stdout, re.M)


def test_peers_as_json() -> None:
    result = gomask_cli("bench", "--peers", "--json", "--budget", "0.002")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    peers = report["peers"]
    assert [int(size) for size in peers["seconds"]] == list(_bench.PEER_SIZES)
    for row in peers["seconds"].values():
        assert row["gomask mask"] > 0
        assert row["gomask mask_inplace"] > 0
    compared = {n for n, im in peers["implementations"].items() if im["versus"]}
    assert set(peers["crossover"]) == compared
    overhead = peers["overhead"]["seconds"]
    assert [int(size) for size in overhead] == list(_bench.FLOOR_SIZES)
    for row in overhead.values():
        assert set(row) == {"gomask mask", "lean mask", "gomask mask_inplace", "lean mask_inplace"}
    assert set(peers["batch"]["seconds"]) >= {"gomask mask_batch", "a loop of gomask mask"}


def test_crossover_on_the_grid() -> None:
    us = 1e-6
    ours = _bench.Implementation("ours", "copy", lambda d, k: _bench.Timed(bytes, d))
    peer = _bench.Implementation("peer", "copy", lambda d, k: _bench.Timed(bytes, d), "ours")
    never = {str(s): {"ours": 2 * us, "peer": 1 * us} for s in (1, 2, 4)}
    always = {str(s): {"ours": 1 * us, "peer": 2 * us} for s in (1, 2, 4)}
    assert _bench.crossovers([ours, peer], never, b"abcd", 0.001) == {"peer": None}
    assert _bench.crossovers([ours, peer], always, b"abcd", 0.001) == {"peer": 1}


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
