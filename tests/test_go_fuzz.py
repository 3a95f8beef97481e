"""A short run of Go's native fuzzer on the masking kernel and the person decoder.

``FuzzMask`` compares the kernel with a byte-by-byte reference at every
length, mask position and alignment; ``FuzzDecode`` checks that no document
panics the decoder and that accepted ones keep the export layer's
invariants. Their seed corpora already run in ``go test ./...``
(tests/test_go.py); this file runs the fuzzing engine itself for a few
seconds each. A failure leaves the crashing input in
gosrc/internal/<package>/testdata/fuzz/, where ``go test`` replays it from
then on.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

GOSRC = Path(__file__).resolve().parent.parent / "gosrc"
FUZZTIME = "5s"


@pytest.mark.parametrize(
    ("package", "target"),
    [("./internal/wsmask", "FuzzMask"), ("./internal/person", "FuzzDecode")],
)
def test_go_fuzz(go: tuple[list[str], dict[str, str]], package: str, target: str) -> None:
    command, env = go
    try:
        result = subprocess.run(
            [
                *command,
                "test",
                "-run=^$",
                f"-fuzz=^{target}$",
                f"-fuzztime={FUZZTIME}",
                "-parallel=2",
                package,
            ],
            cwd=GOSRC,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,  # compiling with coverage instrumentation takes most of it
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"go test -fuzz={target} did not finish in 300 s: {exc.stdout!r}")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "PASS" in output or "ok " in output, output[-3000:]
