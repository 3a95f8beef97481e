"""Run the Go side's own checks: gofmt, go vet and go test ./... ."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import REPO

GOSRC = REPO / "gosrc"


def run_go(go: tuple[list[str], dict[str, str]], *args: str) -> subprocess.CompletedProcess[str]:
    exe, env = go
    return subprocess.run(
        [*exe, *args], cwd=GOSRC, env=env, capture_output=True, text=True, timeout=600
    )


def test_gofmt(go: tuple[list[str], dict[str, str]]) -> None:
    gofmt = Path(go[0][0]).with_name("gofmt" + Path(go[0][0]).suffix)
    result = subprocess.run(
        [str(gofmt), "-l", "."], cwd=GOSRC, env=go[1], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "", f"files need gofmt:\n{result.stdout}"


def test_go_vet(go: tuple[list[str], dict[str, str]]) -> None:
    result = run_go(go, "vet", "./...")
    assert result.returncode == 0, result.stdout + result.stderr


def test_go_test(go: tuple[list[str], dict[str, str]]) -> None:
    # Includes the fuzz targets' seed corpora.
    result = run_go(go, "test", "-count=1", "./...")
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok  \tgomask/internal/wsmask" in result.stdout
    assert "ok  \tgomask/internal/person" in result.stdout
    assert "ok  \tgomask\t" in result.stdout  # the export layer's checks (exports_test.go)
