"""The code of README.md and docs/*.md runs as written.

Every ```python block runs, each in a fresh interpreter in an empty
directory, unless the line right above its fence is an HTML comment that
says why not: ``<!-- doc-test: not run: REASON -->``. A block marked
``<!-- doc-test: needs wsproto -->`` (modules, comma-separated) skips where
one of them is not installed (not in the main venv: the test extra installs
them). The block marked
``<!-- doc-test: asgi app.py -->`` (docs/integrations.md) is a complete ASGI
application: it is written to app.py and served by uvicorn and by hypercorn,
each in a subprocess on 127.0.0.1, with the command lines the docs give; a
websockets client echoes messages through it and reads the server's gomask
counters over HTTP, and the server prints them again when it stops.

The servers are in the test extra (the README's test command installs them,
so these tests run there); elsewhere they skip.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
HOST = "127.0.0.1"
#: A fence, and the comment that may stand on the line above it.
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
MARK = re.compile(
    r"^<!-- doc-test: (?P<what>not run: .+\S|needs [\w.]+(, [\w.]+)*|asgi app\.py) -->$"
)
BLOCK_TIMEOUT = 120.0
SERVER_START_TIMEOUT = 60.0
KIB = 1 << 10

pytestmark = pytest.mark.skipif(not DOCS[0].is_file(), reason="needs a source checkout")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    language: str
    mark: str  # "", "not run: ...", "needs a, b" or "asgi app.py"
    code: str

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(REPO).as_posix()}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, with their marks."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, language = opening.groups()
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
        body = [
            line[len(indent) :] if line.startswith(indent) else line for line in lines[i + 1 : end]
        ]
        above = lines[i - 1].strip() if i else ""
        mark = MARK.match(above)
        if above.startswith("<!-- doc-test") and mark is None:
            raise AssertionError(f"{path}:{i}: unreadable mark {above!r}")
        found.append(Block(path, i + 1, language, mark["what"] if mark else "", "\n".join(body)))
        i = end + 1
    return found


PYTHON_BLOCKS = [
    b for path in DOCS if path.is_file() for b in blocks(path) if b.language == "python"
]
RUN = [b for b in PYTHON_BLOCKS if not b.mark or b.mark.startswith("needs ")]


def test_every_python_block_runs_or_says_why_not() -> None:
    assert len(RUN) >= 4, [b.name for b in PYTHON_BLOCKS]
    apps = [b for b in PYTHON_BLOCKS if b.mark == "asgi app.py"]
    assert [b.path.name for b in apps] == ["integrations.md"]
    for block in PYTHON_BLOCKS:
        if block.mark.startswith("not run"):
            assert len(block.mark) > len("not run: ") + 10, f"{block.name}: say why it is not run"


@pytest.mark.parametrize("block", RUN, ids=[b.name for b in RUN])
def test_python_block_runs(block: Block, tmp_path: Path) -> None:
    """Run as a user would paste it: a fresh interpreter, an empty directory."""
    for module in block.mark.removeprefix("needs ").split(", ") if block.mark else ():
        pytest.importorskip(module, reason=f"{block.name} needs {module}")
    done = subprocess.run(
        [sys.executable, "-c", block.code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
    )
    assert done.returncode == 0, f"{block.name}:\n{block.code}\n{done.stdout}{done.stderr}"


def test_the_servers_are_in_the_test_extra() -> None:
    """So that the README's test command installs them and the tests below
    run wherever the full suite does."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    extra = re.search(r"^test = \[\n(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    assert extra is not None
    for server in ("uvicorn", "hypercorn"):
        assert re.search(rf'^\s*"{server}[<>=!~ ;"]', extra.group(1), re.MULTILINE), server


# --------------------------------------------------------------------------
# The ASGI application of docs/integrations.md, served.


def app_source() -> str:
    (app,) = [b for b in PYTHON_BLOCKS if b.mark == "asgi app.py"]
    return app.code


def server_command(server: str, port: int, *options: str) -> list[str]:
    """The documented command line (``uvicorn app:app --ws wsproto``,
    ``hypercorn app:app``), on 127.0.0.1 and *port*."""
    if server == "uvicorn":
        address = ["--host", HOST, "--port", str(port)]
        return [sys.executable, "-m", "uvicorn", "app:app", "--ws", "wsproto", *address, *options]
    return [sys.executable, "-m", "hypercorn", "app:app", "--bind", f"{HOST}:{port}", *options]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Running:
    """The application served by *server* in a subprocess, from *directory*."""

    def __init__(self, server: str, directory: Path, *options: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            server_command(server, self.port, *options),
            cwd=directory,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:  # bounded by the deadline
            try:
                self.stats()
                return
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{server} did not start:\n{self.stop()}") from None
                time.sleep(0.2)

    def stats(self) -> dict[str, Any]:
        url = f"http://{HOST}:{self.port}/gomask-stats"
        with urllib.request.urlopen(url, timeout=10) as answer:
            return json.loads(answer.read())  # type: ignore[no-any-return]

    def stop(self) -> str:
        """Stop the server as Ctrl-C or a process manager would (SIGTERM; on
        Windows, terminate) and return everything it printed."""
        if self.process.poll() is None:
            if os.name == "posix":
                self.process.send_signal(signal.SIGTERM)
            else:
                self.process.terminate()
        try:
            output, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate(timeout=10)
        return output


@pytest.fixture
def app_directory(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(app_source(), encoding="utf-8")
    return tmp_path


@pytest.fixture(params=["uvicorn", "hypercorn"])
def server_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    pytest.importorskip(name, reason=f"{name} is not installed (the test extra installs it)")
    pytest.importorskip("wsproto")
    pytest.importorskip("websockets.sync.client")
    return name


def echo(port: int, messages: list[bytes | str], compression: str | None) -> list[Any]:
    """Send each message with a websockets client, check its echo; returns
    the extensions negotiated."""
    from websockets.sync.client import connect

    with connect(
        f"ws://{HOST}:{port}/",
        compression=compression,
        max_size=None,
        open_timeout=30,
        close_timeout=10,
        ping_interval=None,
    ) as ws:
        for message in messages:
            ws.send(message)
            assert ws.recv(timeout=30) == message, "the echo differs"
        return list(ws.protocol.extensions)


def shutdown_stats(output: str) -> dict[int, dict[str, Any]]:
    """What the application printed when it stopped: its counters by pid."""
    found = {}
    for line in output.splitlines():
        if line.startswith("gomask stats "):
            stats = json.loads(line.removeprefix("gomask stats "))
            found[stats["pid"]] = stats["gomask"]
    return found


def test_asgi_app_echoes_through_gomask(server_name: str, app_directory: Path) -> None:
    """Uncompressed, as docs/integrations.md says to turn compression off:
    the server's wsproto unmasks the client's frames with gomask (the chunks
    of at least 16 KiB it reads of them: nearly all their bytes), and the
    echo is right only if gomask unmasks right."""
    rng = random.Random(24)
    large: list[bytes | str] = [rng.randbytes(64 * KIB), rng.randbytes(1 << 20), "é" * 20000]
    small: list[bytes | str] = [b"x" * 100, "short"]
    sizes = [len(m) if isinstance(m, bytes) else len(m.encode()) for m in large + small]
    if server_name == "uvicorn":  # the server refuses compression; the client offers it
        options, compression = ("--ws-per-message-deflate", "false"), "deflate"
    else:  # hypercorn has no option: the client does not offer it
        options, compression = (), None
    server = Running(server_name, app_directory, *options)
    try:
        assert echo(server.port, large + small, compression) == []
        stats = server.stats()
    finally:
        output = server.stop()
    counts = stats["gomask"]["wsproto"]
    close_frame = 2  # its status code
    assert counts["gomask_bytes"] + counts["library_bytes"] == sum(sizes) + close_frame, output
    assert counts["gomask_bytes"] >= 0.9 * sum(sizes[: len(large)])
    assert counts["gomask_calls"] >= len(large)
    if os.name == "posix":  # each worker prints its own counters when it stops
        assert shutdown_stats(output) == {stats["pid"]: stats["gomask"]}, output


def test_asgi_app_under_compression(server_name: str, app_directory: Path) -> None:
    """permessage-deflate, as a websockets client and both servers negotiate
    by default: gomask unmasks the compressed frames, and stats() counts
    those wire bytes, not the messages' (docs/integrations.md#compression)."""
    incompressible = random.Random(7).randbytes(64 * KIB)
    compressible = b"gomask " * (150 * KIB)  # 1 MiB that deflates to a few KiB
    server = Running(server_name, app_directory)
    try:
        extensions = echo(server.port, [incompressible, compressible], "deflate")
        stats = server.stats()
    finally:
        server.stop()
    assert [type(e).__name__ for e in extensions] == ["PerMessageDeflate"]
    counts = stats["gomask"]["wsproto"]
    # 1.06 MiB of messages, about 64 KiB on the wire: the random 64 KiB (a
    # few bytes longer compressed) mostly to gomask, the compressible MiB a
    # frame of a few KiB, left to wsproto's masker.
    on_the_wire = counts["gomask_bytes"] + counts["library_bytes"]
    assert len(incompressible) < on_the_wire < len(incompressible) + 32 * KIB
    assert counts["gomask_bytes"] >= len(incompressible) // 2


@pytest.mark.skipif(os.name != "posix", reason="stops the server with SIGTERM")
def test_asgi_app_counts_per_worker(app_directory: Path) -> None:
    """uvicorn --workers 2: each worker has its own counters, which it
    prints when it stops; together they count every frame."""
    pytest.importorskip("uvicorn", reason="uvicorn is not installed (the test extra installs it)")
    pytest.importorskip("websockets.sync.client")
    rng = random.Random(2)
    messages = [rng.randbytes(32 * KIB) for _ in range(6)]
    server = Running(
        "uvicorn", app_directory, "--workers", "2", "--ws-per-message-deflate", "false"
    )
    try:
        for message in messages:  # a connection each: the workers share them out
            echo(server.port, [message], None)
    finally:
        output = server.stop()
    by_worker = shutdown_stats(output)
    assert len(by_worker) == 2, output
    assert sum(c["wsproto"]["gomask_bytes"] for c in by_worker.values()) == 6 * 32 * KIB
