"""gomask.integrations: unit tests, and real servers and clients of each library.

The exchanges run a server of one library and a client of the same or
another library in two processes (benchmarks/peers.py), over 127.0.0.1, with
gomask installed on one side and not on the other, both ways round: with
both ends patched in one process a wrong masker would undo its own error
(XOR), so such a test could not fail. The control tests show that these
exchanges do fail when one side masks wrongly, and that the gomask side
really masks through the integration.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gomask import integrations
from gomask.mask import implementation

# The harness of benchmarks/, from the checkout (gomask itself may be installed).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import peers
from benchmarks.peers import Server

MIB = 1 << 20
SIZES = [0, 1, 125, 64 << 10, MIB + 3, 16 * MIB]
ALL_MESSAGES = [(kind, size) for size in SIZES for kind in ("b", "t")]
NO_16_MIB = [(k, s) for k, s in ALL_MESSAGES if s < 16 * MIB]
LIBRARIES = integrations.SUPPORTED
# Every masker flips at byte 0, so the empty message still echoes and the
# 1-byte one must fail.
CONTROL_MESSAGES = [("b", 0), ("b", 1), ("t", 125), ("b", 64 << 10), ("b", MIB + 3)]
SERVER_START_TIMEOUT = 60.0
CLIENT_TIMEOUT = 240.0


def _need(library: str) -> None:
    pytest.importorskip(library)
    if library == "autobahn":
        pytest.importorskip("autobahn.asyncio.websocket")
    if library == "wsproto":
        pytest.importorskip("h11")


@pytest.fixture(scope="module")
def server() -> Iterator[Callable[..., Server]]:
    """server(library, mode, flavor="") -> a running benchmarks.peers.Server (a
    subprocess, stopped by closing its stdin), one per kind per module."""
    running: dict[tuple[str, str, str], Server] = {}

    def get(library: str, mode: str, flavor: str = "") -> Server:
        key = (library, mode, flavor)
        found = running.get(key)
        if found is None or not found.running():
            try:
                found = Server(library, mode, flavor, start_timeout=SERVER_START_TIMEOUT)
            except RuntimeError as exc:  # it did not start: its stderr is in the message
                pytest.fail(str(exc))
            running[key] = found
        return found

    yield get
    for running_server in running.values():
        running_server.stop()


def exchange(
    server_library: str,
    server_mode: str,
    client_library: str,
    client_mode: str,
    messages: list[tuple[str, int]],
    server: Callable[..., Server],
    flavor: str = "",
) -> tuple[int, list[dict[str, Any]], str]:
    for library in {server_library, client_library}:
        _need(library)
    running = server(server_library, server_mode, flavor)
    return peers.run_client(
        client_library, running.port, client_mode, messages, 120.0, CLIENT_TIMEOUT
    )


def assert_all_echoed(result: tuple[int, list[dict[str, Any]], str], messages: list[Any]) -> None:
    code, rows, output = result
    bad = [row for row in rows if not row.get("ok")]
    assert not bad, f"messages not echoed intact: {bad}\n{output}"
    assert [(row["kind"], row["size"]) for row in rows] == messages, output
    assert all(row["got_size"] == row["size"] for row in rows)
    assert code == 0, output


ORIENTATIONS = [("plain", "gomask"), ("gomask", "plain")]  # (server mode, client mode)
ORIENTATION_IDS = ["gomask-client", "gomask-server"]


# --------------------------------------------------------------------------
# Real peers.


@pytest.mark.parametrize(("server_mode", "client_mode"), ORIENTATIONS, ids=ORIENTATION_IDS)
@pytest.mark.parametrize("library", LIBRARIES)
def test_same_library(
    library: str, server_mode: str, client_mode: str, server: Callable[..., Server]
) -> None:
    """The library's own server and client, every size up to 16 MiB, binary and text."""
    result = exchange(library, server_mode, library, client_mode, ALL_MESSAGES, server)
    assert_all_echoed(result, ALL_MESSAGES)


@pytest.mark.parametrize(
    ("server_mode", "client_mode"),
    [("plain", "gomask-all"), ("gomask-all", "plain")],
    ids=ORIENTATION_IDS,
)
@pytest.mark.parametrize("library", ["websockets", "tornado", "aiohttp", "autobahn"])
def test_every_frame_through_gomask(
    library: str, server_mode: str, client_mode: str, server: Callable[..., Server]
) -> None:
    """install(min_size=0): also the small frames that routing keeps with the C masker."""
    result = exchange(library, server_mode, library, client_mode, NO_16_MIB, server)
    assert_all_echoed(result, NO_16_MIB)


@pytest.mark.parametrize(("server_mode", "client_mode"), ORIENTATIONS, ids=ORIENTATION_IDS)
def test_websockets_threaded_server(
    server_mode: str, client_mode: str, server: Callable[..., Server]
) -> None:
    """websockets' sync server (a thread per connection)."""
    result = exchange(
        "websockets", server_mode, "websockets", client_mode, ALL_MESSAGES, server, flavor="sync"
    )
    assert_all_echoed(result, ALL_MESSAGES)


# Every library is the client of two others and the server of two others.
CROSS_PAIRS = [
    ("websockets", "wsproto"),
    ("wsproto", "tornado"),
    ("tornado", "aiohttp"),
    ("aiohttp", "autobahn"),
    ("autobahn", "websockets"),
    ("wsproto", "websockets"),
    ("tornado", "wsproto"),
    ("aiohttp", "tornado"),
    ("autobahn", "aiohttp"),
    ("websockets", "autobahn"),
]


@pytest.mark.parametrize(("server_mode", "client_mode"), ORIENTATIONS, ids=ORIENTATION_IDS)
@pytest.mark.parametrize(("client_library", "server_library"), CROSS_PAIRS)
def test_cross_pair(
    client_library: str,
    server_library: str,
    server_mode: str,
    client_mode: str,
    server: Callable[..., Server],
) -> None:
    """A client of one library against a server of another."""
    result = exchange(server_library, server_mode, client_library, client_mode, NO_16_MIB, server)
    assert_all_echoed(result, NO_16_MIB)


# --------------------------------------------------------------------------
# Controls: these exchanges must fail.


def assert_masking_failed(result: tuple[int, list[dict[str, Any]], str]) -> None:
    code, rows, output = result
    assert code != 0, f"a wrong masker went unnoticed:\n{output}"
    assert rows, output
    assert rows[0]["size"] == 0, output
    assert rows[0]["ok"], f"the empty message must echo: {output}"
    assert len(rows) >= 2, output
    assert not rows[1]["ok"], f"the 1-byte message must fail: {output}"


def _aiohttp_reader_is_compiled() -> bool:
    import aiohttp._websocket.reader as reader

    return not reader.WebSocketReader.__module__.endswith("reader_py")


@pytest.mark.parametrize("side", ["client", "server"])
@pytest.mark.parametrize("library", LIBRARIES)
def test_control_wrong_masker_fails(library: str, side: str, server: Callable[..., Server]) -> None:
    """The library's own masker wrapped to flip one bit (no gomask): detected."""
    _need(library)
    if library == "aiohttp" and side == "server" and _aiohttp_reader_is_compiled():
        pytest.skip("aiohttp's compiled reader masks through a cimport: nothing to break")
    modes = ("plain", "broken") if side == "client" else ("broken", "plain")
    result = exchange(library, modes[0], library, modes[1], CONTROL_MESSAGES, server)
    assert_masking_failed(result)


@pytest.mark.parametrize("side", ["client", "server"])
@pytest.mark.parametrize("library", LIBRARIES)
def test_control_gomask_side_masks_through_gomask(
    library: str, side: str, server: Callable[..., Server]
) -> None:
    """gomask's functions, as the integration calls them, flipping one bit: the
    exchange fails, so the passing exchanges above did mask with gomask."""
    _need(library)
    modes = ("plain", "gomask-broken") if side == "client" else ("gomask-broken", "plain")
    result = exchange(library, modes[0], library, modes[1], CONTROL_MESSAGES, server)
    if library == "aiohttp" and side == "server" and _aiohttp_reader_is_compiled():
        # The limitation install() documents: an aiohttp server unmasks with
        # its own Cython masker, so gomask's broken one is never called.
        assert_all_echoed(result, CONTROL_MESSAGES)
        assert "cimport" in integrations.describe("aiohttp").note
    else:
        assert_masking_failed(result)


# --------------------------------------------------------------------------
# In process: install, uninstall, installed, refusals.

PATCH_POINTS = {
    "websockets": ("websockets.frames", "apply_mask"),
    "wsproto": ("wsproto.frame_protocol", "XorMaskerSimple"),
    "tornado": ("tornado.websocket", "_websocket_mask"),
    "aiohttp": ("aiohttp._websocket.writer", "websocket_mask"),
    "autobahn": ("autobahn.websocket.protocol", "create_xor_masker"),
}


def _point(library: str) -> tuple[Any, str]:
    import importlib

    module_name, attribute = PATCH_POINTS[library]
    return importlib.import_module(module_name), attribute


@pytest.fixture(autouse=True)
def _uninstalled() -> Iterator[None]:
    integrations.uninstall()
    yield
    integrations.uninstall()
    assert integrations.installed() == ()


def test_import_imports_no_library() -> None:
    code = (
        "import sys, gomask.integrations as i; i.installed(); i.uninstall();"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in i.SUPPORTED))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("library", LIBRARIES)
def test_install_uninstall_restores(library: str) -> None:
    _need(library)
    module, attribute = _point(library)
    original = getattr(module, attribute)
    # A library whose C masker gomask does not beat at any size (min_size
    # None) is patched only when given a min_size.
    size = 4096 if integrations.describe(library).min_size is None else None
    assert integrations.install(library, min_size=size) == (library,)
    patched = getattr(module, attribute)
    assert patched is not original
    assert integrations.installed() == (library,)
    # Idempotent: the same replacement, not a wrapper of it.
    assert integrations.install(library, min_size=size) == (library,)
    assert integrations.install(library) == (library,)
    assert getattr(module, attribute) is patched
    assert integrations.uninstall(library) == (library,)
    assert getattr(module, attribute) is original
    assert integrations.installed() == ()
    assert integrations.uninstall(library) == ()


@pytest.mark.parametrize("library", ["websockets", "tornado", "aiohttp", "autobahn"])
def test_install_again_with_another_min_size(library: str) -> None:
    _need(library)
    module, attribute = _point(library)
    original = getattr(module, attribute)
    integrations.install(library)
    first = getattr(module, attribute)
    integrations.install(library, min_size=12345)  # none of the defaults
    if integrations.describe(library).native:
        assert integrations.describe(library).min_size == 12345
        assert getattr(module, attribute) is not first
    integrations.uninstall(library)
    assert getattr(module, attribute) is original


def test_install_all_installed() -> None:
    available = [
        lib
        for lib in LIBRARIES
        if _importable(lib) and integrations.describe(lib).min_size is not None
    ]
    if implementation() == "python":
        available = []  # gomask's pure-Python fallback: install() patches nothing
    assert integrations.install() == tuple(available)
    assert integrations.installed() == tuple(available)
    assert integrations.uninstall() == tuple(available)


def test_install_all_patches_nothing_with_the_pure_python_fallback() -> None:
    _need("wsproto")
    code = (
        "from gomask import integrations as i, mask\n"
        "assert mask.implementation() == 'python'\n"
        "assert i.install() == ()\n"
        "print(i.install('wsproto'))\n"
    )
    env = {**os.environ, "GOMASK_PURE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "('wsproto',)"


def test_no_patch_where_gomask_never_pays() -> None:
    """aiohttp on its Cython masker: gomask was measured no faster at any size,
    so install() leaves it alone unless given a min_size."""
    _need("aiohttp")
    module, attribute = _point("aiohttp")
    original = getattr(module, attribute)
    plan = integrations.describe("aiohttp")
    if plan.native is None:
        pytest.skip("aiohttp masks in pure Python here")
    assert integrations.AIOHTTP_MIN_SIZE is None
    assert plan.min_size is None
    with pytest.warns(integrations.IntegrationWarning, match="aiohttp left unpatched: it masks"):
        assert integrations.install("aiohttp") == ()
    assert "aiohttp" not in integrations.install()
    assert getattr(module, attribute) is original
    assert integrations.install("aiohttp", min_size=0) == ("aiohttp",)
    assert getattr(module, attribute) is not original


def _importable(library: str) -> bool:
    try:
        __import__(library)
    except ImportError:
        return False
    return True


def test_websockets_legacy_framing_only_when_imported() -> None:
    """websockets.legacy.framing is patched too once it is imported (install()
    never imports it: that warns), and restored by uninstall()."""
    _need("websockets")
    code = (
        "import sys, warnings\n"
        "from gomask import integrations as i\n"
        "assert i.describe('websockets').points == ('websockets.frames.apply_mask',)\n"
        "assert 'websockets.legacy.framing' not in sys.modules\n"
        "with warnings.catch_warnings():\n"
        "    warnings.simplefilter('ignore')\n"
        "    import websockets.legacy.framing as legacy\n"
        "original = legacy.apply_mask\n"
        "i.install('websockets', min_size=0)\n"
        "print(i.describe('websockets').points)\n"
        "data, key = bytes(range(9)), b'\\x01\\x02\\x03\\x04'\n"
        "assert legacy.apply_mask is not original\n"
        "assert legacy.apply_mask(data, key) == original(data, key)\n"
        "i.uninstall()\n"
        "assert legacy.apply_mask is original\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "websockets.legacy.framing.apply_mask" in done.stdout


@pytest.mark.parametrize("how", ["named", "all"])
def test_websockets_legacy_framing_imported_after_install(how: str) -> None:
    """websockets.legacy.framing imported after install() binds websockets'
    own masker: installed() no longer claims websockets, and install() again,
    with the same arguments, patches the module (its frames then reach gomask,
    as stats() counts) and makes installed() true again."""
    _need("websockets")
    install = "i.install('websockets', min_size=0)" if how == "named" else "i.install(min_size=0)"
    code = (
        "import sys, warnings\n"
        "from gomask import integrations as i\n"
        f"assert 'websockets' in {install}\n"
        "assert i.installed()[:1] == ('websockets',)\n"
        "with warnings.catch_warnings():\n"
        "    warnings.simplefilter('ignore')\n"
        "    import websockets.legacy.framing as legacy\n"
        "original = legacy.apply_mask\n"
        "print('after import', i.installed())\n"
        f"print('again', {install})\n"
        "print('installed', i.installed())\n"
        "data, key = bytes(range(9)), b'\\x01\\x02\\x03\\x04'\n"
        "before = i.stats()['websockets'].gomask_calls\n"
        "assert legacy.apply_mask(data, key) == original(data, key)\n"
        "print('gomask calls', i.stats()['websockets'].gomask_calls - before)\n"
        "i.uninstall()\n"
        "assert legacy.apply_mask is original\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = dict(
        line.split(" ", 1) for line in done.stdout.replace("gomask calls", "calls").splitlines()
    )
    assert "'websockets'" not in lines["after"], done.stdout
    assert "'websockets'" in lines["again"], done.stdout
    assert "'websockets'" in lines["installed"], done.stdout
    assert lines["calls"] == "1", done.stdout


def test_uninstall_leaves_a_later_patch_alone() -> None:
    _need("websockets")
    import websockets.frames as frames

    original = frames.apply_mask
    integrations.install("websockets")

    def someone_elses(data: Any, mask: Any) -> bytes:
        return b""

    frames.apply_mask = someone_elses
    try:
        assert integrations.installed() == ()
        integrations.uninstall("websockets")
        assert frames.apply_mask is someone_elses
    finally:
        frames.apply_mask = original


def test_unknown_and_bad_arguments() -> None:
    with pytest.raises(integrations.IntegrationError, match="unknown library 'flask'"):
        integrations.install("flask")
    with pytest.raises(TypeError):
        integrations.install(b"websockets")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative"):
        integrations.install("wsproto", min_size=-1)
    with pytest.raises(TypeError):
        integrations.install("wsproto", min_size=1.5)  # type: ignore[arg-type]
    assert integrations.installed() == ()


def _wrong_shapes() -> list[Any]:
    """(library, attribute value of the wrong shape, expected message part)."""

    def swapped(mask: bytes, data: bytes) -> bytes:
        return bytes(b ^ mask[i % 4] for i, b in enumerate(data))

    def unmasked(data: bytes, mask: bytes) -> bytes:
        return bytes(data)

    def three(mask: bytes, data: bytes, extra: int) -> bytes:
        return data

    def copies(mask: bytes, data: bytearray) -> bytes:  # returns instead of masking in place
        return bytes(b ^ mask[i % 4] for i, b in enumerate(data))

    class NoPosition:  # restarts the key on every chunk
        def __init__(self, masking_key: bytes) -> None:
            self.key = masking_key

        def process(self, data: bytearray) -> bytearray:
            return bytearray(b ^ self.key[i % 4] for i, b in enumerate(data))

    class NoPointer:
        def __init__(self, mask: bytes) -> None:
            self.mask = mask

        def process(self, data: bytes) -> bytes:
            return data

    return [
        pytest.param("websockets", swapped, "signature", id="websockets-swapped-arguments"),
        pytest.param("websockets", unmasked, "does not mask", id="websockets-no-masking"),
        pytest.param("tornado", three, "signature", id="tornado-three-arguments"),
        pytest.param("tornado", lambda mask, data: data, "does not mask", id="tornado-no-masking"),
        pytest.param("aiohttp", copies, "does not mask", id="aiohttp-not-in-place"),
        pytest.param("wsproto", NoPosition, "does not mask", id="wsproto-no-stream-position"),
        pytest.param("wsproto", lambda key: None, "not a class", id="wsproto-function"),
        pytest.param("autobahn", lambda mask: NoPointer(mask), "signature", id="autobahn-arity"),
        pytest.param(
            "autobahn",
            lambda mask, length=None: NoPointer(mask),
            "no pointer",
            id="autobahn-no-pointer",
        ),
        pytest.param("websockets", 42, "not callable", id="websockets-not-callable"),
    ]


@pytest.mark.parametrize(("library", "value", "message"), _wrong_shapes())
def test_refuses_an_unexpected_patch_point(
    library: str, value: Any, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A patch point of another shape (as another library version might have):
    refused with a clear error, and nothing is patched."""
    _need(library)
    module, attribute = _point(library)
    monkeypatch.setattr(module, attribute, value)
    with pytest.raises(integrations.IntegrationError, match=message) as caught:
        integrations.install(library)
    assert "nothing was patched" in str(caught.value)
    assert getattr(module, attribute) is value
    assert integrations.installed() == ()


def test_refusal_patches_none_of_the_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _need("websockets")
    _need("wsproto")
    import websockets.frames as frames
    import wsproto.frame_protocol as fp

    original = frames.apply_mask
    monkeypatch.setattr(fp, "XorMaskerSimple", lambda key: None)
    with pytest.raises(integrations.IntegrationError):
        integrations.install("websockets", "wsproto")
    assert frames.apply_mask is original
    assert integrations.installed() == ()


def test_install_all_skips_an_unexpected_one_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _need("wsproto")
    import wsproto.frame_protocol as fp

    if implementation() == "python":
        pytest.skip("with gomask's pure-Python fallback install() patches nothing")
    monkeypatch.setattr(fp, "XorMaskerSimple", lambda key: None)
    with pytest.warns(integrations.IntegrationWarning, match="wsproto"):
        done = integrations.install()
    assert "wsproto" not in done
    assert integrations.installed() == done


# --------------------------------------------------------------------------
# Which masker the library uses, and routing by size.


def test_detects_websockets_pure_python_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """With websockets' own pure-Python apply_mask in place (as without its C
    extension), frames from PURE_PYTHON_MIN_SIZE go to gomask."""
    _need("websockets")
    import websockets.frames as frames
    import websockets.utils

    monkeypatch.setattr(frames, "apply_mask", websockets.utils.apply_mask)
    plan = integrations.describe("websockets")
    assert (plan.native, plan.min_size) == (None, integrations.PURE_PYTHON_MIN_SIZE)
    assert integrations.describe("websockets", min_size=123).min_size == 123


def test_detects_tornado_pure_python_path(monkeypatch: pytest.MonkeyPatch) -> None:
    _need("tornado")
    import tornado.util
    import tornado.websocket

    monkeypatch.setattr(tornado.websocket, "_websocket_mask", tornado.util._websocket_mask_python)
    assert integrations.describe("tornado").native is None


def test_detects_aiohttp_pure_python_path(monkeypatch: pytest.MonkeyPatch) -> None:
    _need("aiohttp")
    import aiohttp._websocket.helpers as helpers
    import aiohttp._websocket.writer as writer

    monkeypatch.setattr(writer, "websocket_mask", helpers._websocket_mask_python)
    assert integrations.describe("aiohttp").native is None


@pytest.mark.parametrize(
    ("library", "module", "name"),
    [
        ("websockets", "websockets.speedups", "apply_mask"),
        ("tornado", "tornado.speedups", "websocket_mask"),
        ("aiohttp", "aiohttp._websocket.mask", "_websocket_mask_cython"),
    ],
)
def test_detects_c_path(library: str, module: str, name: str) -> None:
    _need(library)
    import importlib

    native = getattr(pytest.importorskip(module), name)
    patched_module, attribute = _point(library)
    if getattr(patched_module, attribute) is not native:
        pytest.skip(f"{library} does not use {module} here")
    plan = integrations.describe(library)
    assert plan.native == module
    assert plan.min_size == getattr(integrations, f"{library.upper()}_MIN_SIZE")
    assert importlib.import_module(module)


def _reference(data: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


@pytest.mark.parametrize("library", ["websockets", "tornado", "aiohttp"])
def test_routing_by_size(library: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Frames below the threshold stay with the library, the others go to gomask;
    both are masked right. (Counts the calls of gomask's functions.)"""
    _need(library)
    threshold = 1000
    integrations.install(library, min_size=threshold)
    if not integrations.describe(library).native:
        pytest.skip(f"{library} masks in pure Python here: no routing")
    calls: list[int] = []
    real_mask, real_inplace = integrations._mask, integrations._mask_inplace

    def counting_mask(data: Any, key: Any, offset: int = 0) -> bytes:
        calls.append(len(data))
        return real_mask(data, key, offset)

    def counting_inplace(buffer: Any, key: Any) -> int:
        calls.append(len(buffer))
        n: int = real_inplace(buffer, key)
        return n

    monkeypatch.setattr(integrations, "_mask", counting_mask)
    monkeypatch.setattr(integrations, "_mask_inplace", counting_inplace)
    module, attribute = _point(library)
    patched = getattr(module, attribute)
    key = os.urandom(4)
    for size in (0, 1, threshold - 1, threshold, threshold + 1, 70000):
        data = os.urandom(size)
        if library == "websockets":
            result = patched(data, key)
        elif library == "tornado":
            result = patched(key, data)
        else:
            buffer = bytearray(data)
            assert patched(key, buffer) is None
            result = bytes(buffer)
        assert result == _reference(data, key), size
    assert calls == [threshold, threshold + 1, 70000]


def test_stats_count_frames_by_masker() -> None:
    """stats(): the calls and bytes each masker took, from install() on."""
    _need("websockets")
    import websockets.frames as frames

    integrations.install("websockets", min_size=100)
    key = os.urandom(4)
    for size in (10, 99, 100, 5000):
        assert frames.apply_mask(bytes(size), key) == _reference(bytes(size), key)
    assert integrations.stats() == {"websockets": integrations.Counts(2, 5100, 2, 109)}
    integrations.install("websockets", min_size=0)  # patched again: counts from zero
    frames.apply_mask(b"abc", key)
    assert integrations.stats() == {"websockets": integrations.Counts(1, 3, 0, 0)}
    integrations.uninstall()
    assert integrations.stats() == {}


def test_wsproto_masker_matches_wsproto() -> None:
    """gomask's WsprotoMasker against wsproto's own, over random chunkings."""
    _need("wsproto")
    from wsproto.frame_protocol import XorMaskerSimple

    rng = random.Random(5)
    for _ in range(200):
        key = rng.randbytes(4)
        data = rng.randbytes(rng.randrange(0, 3000))
        ours, theirs = integrations.WsprotoMasker(bytearray(key)), XorMaskerSimple(key)
        position = 0
        for _ in range(20):  # bounded: at most 20 chunks
            if position >= len(data):
                break
            end = min(len(data), position + rng.randrange(0, 700))
            chunk = data[position:end]
            got = ours.process(bytearray(chunk))
            assert type(got) is bytearray
            assert got == theirs.process(bytearray(chunk))
            position = end
    buffer = bytearray(b"abcdefg")
    assert integrations.WsprotoMasker(b"\x01\x02\x03\x04").process(buffer) is buffer  # in place
    assert integrations.WsprotoMasker(b"\x00\x00\x00\x01").process(b"\x00") == bytearray(1)
    with pytest.raises(ValueError, match="4 bytes"):
        integrations.WsprotoMasker(b"abc")


def test_routed_wsproto_masker_matches_wsproto() -> None:
    """install()'s wsproto masker sends chunks below PURE_PYTHON_MIN_SIZE to
    wsproto's masker and longer ones to gomask, continuing one mask stream."""
    _need("wsproto")
    import wsproto.frame_protocol as frame_protocol

    original = frame_protocol.XorMaskerSimple
    integrations.install("wsproto")
    try:
        routed = frame_protocol.XorMaskerSimple
        assert routed is not original
        small, large = 5, integrations.PURE_PYTHON_MIN_SIZE + 3
        rng = random.Random(6)
        for sizes in ([small, large, small], [large, small, large], [1, 2, 3, large]):
            key = rng.randbytes(4)
            ours, theirs = routed(bytearray(key)), original(key)
            for size in sizes:
                chunk = rng.randbytes(size)
                assert ours.process(bytearray(chunk)) == theirs.process(bytearray(chunk)), sizes
    finally:
        integrations.uninstall("wsproto")
    assert frame_protocol.XorMaskerSimple is original


def test_autobahn_masker_matches_autobahn() -> None:
    """gomask's AutobahnMasker against autobahn's masker: process, pointer, reset."""
    _need("autobahn")
    from autobahn.websocket.xormasker import create_xor_masker

    rng = random.Random(6)
    for _ in range(100):
        key = rng.randbytes(4)
        data = rng.randbytes(rng.randrange(1, 3000))
        ours, theirs = integrations.AutobahnMasker(key), create_xor_masker(key, len(data))
        position = 0
        for step in range(20):  # bounded
            if position >= len(data):
                break
            end = min(len(data), position + rng.randrange(0, 700))
            chunk = data[position:end]
            got = ours.process(chunk)
            assert type(got) is bytes
            assert got == theirs.process(chunk)
            assert ours.pointer() == theirs.pointer() == end
            position = end
            if step == 3:
                ours.reset()
                theirs.reset()
                assert ours.pointer() == theirs.pointer() == 0
                data, position = data[position:], 0


def test_autobahn_routed_masker_matches_autobahn() -> None:
    """install('autobahn', min_size=N): frames of at least N bytes get gomask's
    masker, which still masks chunks shorter than N with autobahn's own; the
    stream stays right across both kinds of chunk."""
    _need("autobahn")
    import autobahn.websocket.protocol as protocol
    from autobahn.websocket.xormasker import create_xor_masker

    integrations.install("autobahn", min_size=300)
    if not integrations.describe("autobahn").native:
        pytest.skip("autobahn masks in pure Python here: no routing")
    patched = protocol.create_xor_masker
    rng = random.Random(7)
    for _ in range(50):
        key = rng.randbytes(4)
        data = rng.randbytes(rng.randrange(300, 5000))
        ours, theirs = patched(key, len(data)), create_xor_masker(key, len(data))
        assert not isinstance(theirs, integrations.AutobahnMasker)
        assert isinstance(ours, integrations.AutobahnMasker)
        position = 0
        for _ in range(40):  # bounded
            if position >= len(data):
                break
            end = min(len(data), position + rng.choice([1, 3, 299, 300, 301, 1000]))
            chunk = data[position:end]
            assert ours.process(chunk) == theirs.process(chunk)
            assert ours.pointer() == theirs.pointer() == end
            position = end
    assert not isinstance(patched(b"abcd", 299), integrations.AutobahnMasker)


# --------------------------------------------------------------------------
# Threads: installing and uninstalling while connections run.


def test_install_while_connections_run(server: Callable[..., Server]) -> None:
    """Clients in threads of this process, against plain servers in another,
    while other threads install and uninstall: every message echoes intact
    (each masker object stays with the frame that made it)."""
    _need("websockets")
    _need("wsproto")
    import websockets.frames
    import wsproto.frame_protocol

    originals = (websockets.frames.apply_mask, wsproto.frame_protocol.XorMaskerSimple)
    ports = {
        "websockets": server("websockets", "plain").port,
        "wsproto": server("wsproto", "plain").port,
    }
    deadline = time.monotonic() + 60
    errors: list[str] = []
    finished = threading.Event()
    sizes = [1, 125, 4093, 70001, 600_003]

    def talk(library: str, seed: int) -> None:
        try:
            client = peers.connect(library, ports[library], timeout=60)
            try:
                for i in range(30):  # bounded in count, and by the deadline
                    if time.monotonic() > deadline:
                        break
                    kind = "t" if i % 3 == 0 else "b"
                    message = peers.make_message(kind, sizes[i % len(sizes)], seed * 100 + i)
                    if client.exchange(message) != message:
                        errors.append(f"{library} message {i} changed")
            finally:
                client.close()
        except Exception as exc:
            errors.append(f"{library}: {type(exc).__name__}: {exc}")

    def toggle() -> None:
        for i in range(10_000):  # bounded in count, and by the deadline
            if finished.is_set() or time.monotonic() > deadline:
                return
            if i % 2:
                integrations.uninstall("websockets", "wsproto")
            else:
                integrations.install("websockets", "wsproto", min_size=0 if i % 4 else None)

    talkers = [
        threading.Thread(target=talk, args=(library, n))
        for n, library in enumerate(["websockets", "websockets", "wsproto", "wsproto"])
    ]
    togglers = [threading.Thread(target=toggle) for _ in range(2)]
    for thread in talkers + togglers:
        thread.start()
    for thread in talkers:
        thread.join(timeout=120)
    finished.set()
    for thread in togglers:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in talkers + togglers)
    assert not errors, errors
    integrations.uninstall()
    assert (websockets.frames.apply_mask, wsproto.frame_protocol.XorMaskerSimple) == originals
