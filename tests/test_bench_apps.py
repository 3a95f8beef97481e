"""python -m gomask._bench_apps: it runs and reports (no timing is asserted)."""

from __future__ import annotations

import pytest

from gomask import _bench_apps, integrations


@pytest.mark.parametrize("side", ["both", "server"])
def test_run_apps_small(side: str, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("wsproto")
    sizes = ((125, 5), (64 * 1024, 2))
    report = _bench_apps.run_apps(1, ["wsproto"], side=side, sizes=sizes)
    assert [entry["library"] for entry in report["end_to_end"]] == ["wsproto"]
    (entry,) = report["end_to_end"]
    assert [row["size"] for row in entry["rows"]] == [125, 64 * 1024]
    for row in entry["rows"]:
        for key in ("without_seconds", "with_seconds", "without_server_cpu", "with_server_cpu"):
            assert row[key] >= 0
        assert row["with_seconds"] > 0
    assert [row["size"] for row in report["in_process"][0]["rows"]] == [125, 64 * 1024]
    assert integrations.installed() == ()  # the in-process part restores the state it found
    _bench_apps.print_apps(report)
    out = capsys.readouterr().out
    assert "wsproto" in out
    assert "msg/s" in out
    assert "MB/s" in out


def test_run_apps_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="side"):
        _bench_apps.run_apps(1, ["wsproto"], side="neither")
    with pytest.raises(ValueError, match="rounds"):
        _bench_apps.run_apps(0, ["wsproto"])
