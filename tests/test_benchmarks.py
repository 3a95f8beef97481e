"""benchmarks/apps.py, thresholds.py, threads.py, runtime_threads.py and plot.py: they run and
report (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import needs_go_library

import gomask.mask as gomask_mask
from gomask import integrations

# The benchmarks of the checkout (gomask itself may be installed).
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchmarks import apps, calls, maskers, thresholds, timing  # noqa: E402


@pytest.mark.parametrize("side", ["both", "server"])
def test_run_apps_small(side: str, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("wsproto")
    sizes = ((125, 5), (64 * 1024, 2))
    report = apps.run_apps(1, ["wsproto"], side=side, sizes=sizes, gaps=(0.0003,), paced=3)
    assert [entry["library"] for entry in report["end_to_end"]] == ["wsproto"]
    (entry,) = report["end_to_end"]
    assert [row["size"] for row in entry["rows"]] == [125, 64 * 1024]
    for row in entry["rows"]:
        for key in ("without_seconds", "with_seconds", "without_server_cpu", "with_server_cpu"):
            assert row[key] >= 0
        assert row["with_seconds"] > 0
        (paced,) = row["paced"]
        assert paced["gap"] == 0.0003
        assert paced["count"] == min(3, row["count"])
        for key in ("latency", "server_cpu", "client_cpu"):
            assert paced[f"without_{key}"] >= 0
            assert paced[f"with_{key}"] >= 0
        assert paced["with_latency"] > 0
        assert paced["with_slept"] >= 0.0003
    in_process = report["in_process"][0]["rows"]
    assert [row["size"] for row in in_process] == [125, 64 * 1024]
    assert all(row["paced"][0]["with_cpu"] >= 0 for row in in_process)
    assert integrations.installed() == ()  # the in-process part restores the state it found
    apps.print_apps(report)
    out = capsys.readouterr().out
    assert "wsproto" in out
    assert "msg/s" in out
    assert "MB/s" in out
    assert "gap 0.3 ms" in out


@pytest.mark.parametrize("library", ["wsproto", "websockets"])
def test_run_apps_with_compression(library: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--compression: the peers negotiate permessage-deflate (the client
    fails otherwise) and gomask masks the compressed frames."""
    pytest.importorskip(library)
    sizes = ((64 * 1024, 2),)
    report = apps.run_apps(
        1, [library], sizes=sizes, gaps=(), paced=1, every_frame=True, compression=True
    )
    assert report["compression"] is True
    (entry,) = report["end_to_end"]
    assert entry["rows"][0]["with_seconds"] > 0
    apps.print_apps(report)
    assert "permessage-deflate on every connection" in capsys.readouterr().out


def test_run_apps_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="compression: only websockets, wsproto"):
        apps.run_apps(1, ["tornado"], compression=True)
    with pytest.raises(ValueError, match="side"):
        apps.run_apps(1, ["wsproto"], side="neither")
    with pytest.raises(ValueError, match="rounds"):
        apps.run_apps(0, ["wsproto"])
    with pytest.raises(ValueError, match="gaps"):
        apps.run_apps(1, ["wsproto"], gaps=(-1.0,))


def test_apps_command_line_writes_json(tmp_path: Path) -> None:
    """python benchmarks/apps.py, as a script from the checkout: the table and --json."""
    pytest.importorskip("wsproto")
    report = tmp_path / "apps.json"
    command = [sys.executable, str(REPO / "benchmarks" / "apps.py"), "--rounds", "1"]
    command += ["--libraries", "wsproto", "--sizes", "125:3", "--gaps", "1", "--paced", "2"]
    command += ["--json", str(report)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "gap 1 ms" in done.stdout
    assert json.loads(report.read_text())["gaps"] == [0.001]


def test_no_worse_from() -> None:
    assert timing.no_worse_from([(16, 1.0, 0.5), (64, 1.0, 1.0)]) == 0
    assert timing.no_worse_from([(16, 1.0, 2.0), (64, 1.0, 0.5), (256, 1.0, 0.9)]) == 64
    assert timing.no_worse_from([(16, 1.0, 0.5), (64, 1.0, 2.0), (256, 1.0, 0.9)]) == 256
    assert timing.no_worse_from([(16, 1.0, 0.5), (64, 1.0, 2.0)]) is None
    assert timing.parse_gaps("0.3, 1") == (0.0003, 0.001)
    assert timing.parse_gaps("") == ()


def test_thresholds_small(capsys: pytest.CaptureFixture[str]) -> None:
    """wsproto's masker (pure Python: present wherever wsproto is) against
    gomask, two sizes, one round."""
    pytest.importorskip("wsproto")
    arguments = "--maskers wsproto-python --rounds 1 --sizes 16,65536 --gaps 0.3"
    code = thresholds.main([*arguments.split(), "--target-ms", "1", "--paced", "3"])
    assert code == 0
    out = capsys.readouterr().out
    assert "wsproto-python" in out
    assert "gap 0.3 ms: CPU" in out
    assert "gomask no worse from" in out
    assert integrations.installed() == ()


@needs_go_library
def test_threads_report() -> None:
    """python benchmarks/threads.py (formerly python -m gomask bench --threads)."""
    command = [sys.executable, str(REPO / "benchmarks" / "threads.py"), "--budget", "0.002"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for case in ("back to back", "irregular gaps", "cold", "2 threads at once", "4 threads"):
        assert case in out, out
    assert re.search(r"Small calls: mask\(\) of 125 B, [\d.]+ million calls/s", out)
    assert "issue" not in out.lower()
    assert "target" not in out.lower()


@pytest.mark.skipif(
    gomask_mask.implementation() != "go" or not Path("/proc/self/task").is_dir(),
    reason="needs the Go library and Linux's /proc",
)
def test_runtime_threads_report() -> None:
    """python benchmarks/runtime_threads.py: per thread, CPU and wake-ups per call."""
    script = REPO / "benchmarks" / "runtime_threads.py"
    command = [sys.executable, str(script), "--pauses", "0.1", "--seconds", "0.05"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for setting in ("yields on", "yields off"):
        assert re.search(rf"pause 0.1 ms, {setting}: \d+ calls\n +caller +[\d.]+ µs CPU/call", out)
    assert len(re.findall(r"wake-ups/call", out)) >= 2, out


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_plot(tmp_path: Path) -> None:
    """python benchmarks/plot.py of a python -m gomask bench --peers --json report."""
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "gomask", "bench", "--peers", "--json", "--budget", "0.002"]
    with report.open("w") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, timeout=300)
    assert result.returncode == 0, result.stderr
    out_png = tmp_path / "throughput.png"
    command = [sys.executable, str(REPO / "benchmarks" / "plot.py"), str(report), str(out_png)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for path in (out_png, tmp_path / "throughput-ratio.png"):
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_plot_refuses_a_report_without_peers(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text('{"machine": {}}')
    command = [sys.executable, str(REPO / "benchmarks" / "plot.py"), str(report), "out.png"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert "maskers.py --json" in result.stderr
    assert not (tmp_path / "out.png").exists()


def test_crossover_on_the_grid() -> None:
    us = 1e-6
    ours = maskers.Implementation("ours", "copy", lambda d, k: maskers.Timed(bytes, d))
    peer = maskers.Implementation("peer", "copy", lambda d, k: maskers.Timed(bytes, d), "ours")
    never = {str(s): {"ours": 2 * us, "peer": 1 * us} for s in (1, 2, 4)}
    always = {str(s): {"ours": 1 * us, "peer": 2 * us} for s in (1, 2, 4)}
    assert maskers.crossovers([ours, peer], never, b"abcd", 0.001) == {"peer": None}
    assert maskers.crossovers([ours, peer], always, b"abcd", 0.001) == {"peer": 1}


MASKERS = REPO / "benchmarks" / "maskers.py"


def test_maskers_as_json() -> None:
    command = [sys.executable, str(MASKERS), "--json", "--budget", "0.002"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    peers = json.loads(result.stdout)["peers"]
    assert [int(size) for size in peers["seconds"]] == list(maskers.SIZES)
    for row in peers["seconds"].values():
        assert row["gomask mask"] > 0
        assert row["gomask mask_inplace"] > 0
    compared = {n for n, im in peers["implementations"].items() if im["versus"]}
    assert set(peers["crossover"]) == compared


def test_maskers_summary() -> None:
    command = [sys.executable, str(MASKERS), "--summary", "--budget", "0.002"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    if importlib.util.find_spec("websockets") is None:
        assert "No WebSocket library is installed" in result.stdout
    else:
        assert re.search(r"^  websockets \((C|Python)\): [\d.]+ at 125 B", result.stdout, re.M)


@needs_go_library
def test_calls_as_json() -> None:
    command = [sys.executable, str(REPO / "benchmarks" / "calls.py"), "--json", "--budget", "0.002"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    overhead = report["overhead"]["seconds"]
    assert [int(size) for size in overhead] == list(calls.FLOOR_SIZES)
    for row in overhead.values():
        assert set(row) == {"gomask mask", "lean mask", "gomask mask_inplace", "lean mask_inplace"}
    assert set(report["batch"]["seconds"]) >= {"gomask mask_batch", "a loop of gomask mask"}
    cutoffs = {c["cutoff"]: c for c in report["cutoffs"]}
    assert set(cutoffs) == {name for name, *_ in calls.cutoff_cases()}
    for name, cutoff in cutoffs.items():
        assert cutoff["value"] == getattr(gomask_mask, name)
        below, above = cutoff["rows"]
        assert below["size"] < cutoff["value"] <= above["size"]
        assert (below["picks"], above["picks"]) == (above["other"], below["other"])
        for row in cutoff["rows"]:
            assert set(row["seconds"]) == {row["picks"], row["other"]}
            assert row["pays"] == (row["saves"] >= calls.PAYS)
    printed = subprocess.run(command[:2] + command[3:], capture_output=True, text=True, timeout=600)
    assert printed.returncode == 0, printed.stderr
    for title in ("Call overhead", "Batch:", "Cut-offs of gomask.mask"):
        assert title in printed.stdout


def test_cutoffs_pick_their_routes_and_restore_the_module() -> None:
    cases = {name: routes for name, _, _, routes in calls.cutoff_cases()}
    before = {name: getattr(gomask_mask, name) for name in cases}
    results = calls.cutoffs(0.0002)
    assert {name: getattr(gomask_mask, name) for name in cases} == before
    picks = {r["cutoff"]: tuple(row["picks"] for row in r["rows"]) for r in results}
    assert picks == cases  # the route below the cut-off, then the one from it
    if gomask_mask._GO_CPYTHON:
        assert set(cases) == {"_ZEROED_MAX", "GIL_RELEASE_THRESHOLD"}


def test_a_forced_cutoff_holds_during_the_batch_only() -> None:
    seen = []
    before = gomask_mask._ZEROED_MAX
    forced = calls._Forced("_ZEROED_MAX", 0, lambda: seen.append(gomask_mask._ZEROED_MAX))
    forced.batch(0.0001)
    assert seen
    assert set(seen) == {0}
    assert before == gomask_mask._ZEROED_MAX
