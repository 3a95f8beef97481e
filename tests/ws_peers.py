"""A WebSocket server or client of one library, in a process of its own, for the tests.

    python tests/ws_peers.py serve LIBRARY --mode MODE [--flavor sync]
    python tests/ws_peers.py client LIBRARY --port N --mode MODE --messages b:0,t:125,...

``serve`` prints ``PORT <n>`` once it listens on 127.0.0.1 and echoes every
message back; it exits when its standard input closes (or after
``--lifetime`` seconds). ``client`` sends each message of ``--messages``
(``b:SIZE`` binary, ``t:SIZE`` text: valid UTF-8 of exactly SIZE bytes,
with 1- to 4-byte characters), receives the echo, and prints one JSON line
per message with the SHA-256 of what was sent and of what came back, then a
summary line; it exits 0 only if every echo came back identical and of the
same type. The messages are made here from a seed, without any masking
code, and compared with hashlib.

Modes, for the process they run in:

``plain``
    the library as installed, gomask not imported;
``gomask``
    ``gomask.integrations.install(LIBRARY)`` (the default size routing);
``gomask-all``
    ``install(LIBRARY, min_size=0)``: every frame through gomask;
``broken``
    the control: the library's own masker wrapped so that it flips one bit
    of every masked chunk (gomask not involved); an exchange with it must
    fail;
``gomask-broken``
    ``install(LIBRARY, min_size=0)`` with gomask's masking functions, as the
    integration calls them, flipping one bit: fails only if the library
    really masks through the integration.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from gomask import _peers

MODES = ("plain", "gomask", "gomask-all", "broken", "gomask-broken")

# Characters of 1, 2, 3 and 4 bytes in UTF-8.
_CHARS = ("a", "Z", "0", " ", "é", "ß", "Ж", "€", "中", "한", "😀", "𝄞")


def make_message(kind: str, size: int, seed: int) -> bytes | str:
    """A binary message of *size* random bytes, or a text message whose UTF-8
    encoding is exactly *size* bytes, both determined by *seed*."""
    rng = random.Random(seed)
    if kind == "b":
        return rng.randbytes(size)
    # A block of mixed characters, repeated, then ASCII up to the size.
    block_chars: list[str] = []
    block_len = 0
    while block_len < min(size, 4093):
        char = rng.choice(_CHARS)
        width = len(char.encode())
        if block_len + width > size:
            break
        block_chars.append(char)
        block_len += width
    block = "".join(block_chars)
    text = block * (size // block_len) if block_len else ""
    text += "x" * (size - len(text.encode()))
    assert len(text.encode()) == size
    return text


def parse_messages(spec: str) -> list[tuple[str, int]]:
    out = []
    for item in spec.split(","):
        kind, _, size = item.partition(":")
        if kind not in ("b", "t"):
            raise ValueError(f"message kind is b or t, got {item!r}")
        out.append((kind, int(size)))
    return out


def _flip_bytes(data: bytes) -> bytes:
    return bytes([data[0] ^ 1]) + data[1:] if data else data


def _flip_in_place(buffer: Any) -> None:
    if len(buffer):
        buffer[0] ^= 1


def apply_mode(library: str, mode: str) -> None:
    """Set up this process as *mode* says (see the module docstring)."""
    if mode == "plain":
        return
    if mode == "broken":
        _break_library(library)
        return
    from gomask import integrations

    if mode == "gomask":
        integrations.install(library)
    elif mode in ("gomask-all", "gomask-broken"):
        integrations.install(library, min_size=0)
    else:
        raise ValueError(mode)
    if mode == "gomask-broken":
        real_mask, real_inplace = integrations._mask, integrations._mask_inplace

        def bad_mask(data: Any, key: Any, offset: int = 0) -> bytes:
            return _flip_bytes(real_mask(data, key, offset))

        def bad_inplace(buffer: Any, key: Any, offset: int = 0) -> None:
            real_inplace(buffer, key, offset)
            _flip_in_place(buffer)

        integrations._mask = bad_mask  # type: ignore[assignment]
        integrations._mask_inplace = bad_inplace  # type: ignore[assignment]


def _break_library(library: str) -> None:
    """Wrap the library's own masker (no gomask) so that it flips a bit."""
    if library == "websockets":
        import websockets.frames as frames

        apply_mask = frames.apply_mask
        frames.apply_mask = lambda data, mask: _flip_bytes(apply_mask(data, mask))
    elif library == "tornado":
        import tornado.websocket as websocket

        ws_mask = websocket._websocket_mask
        websocket._websocket_mask = lambda mask, data: _flip_bytes(ws_mask(mask, data))
    elif library == "aiohttp":
        import aiohttp._websocket.reader as reader
        import aiohttp._websocket.writer as writer

        def wrap(original: Any) -> Any:
            def websocket_mask(mask: bytes, data: bytearray) -> None:
                original(mask, data)
                _flip_in_place(data)

            return websocket_mask

        writer.websocket_mask = wrap(writer.websocket_mask)
        if reader.WebSocketReader.__module__.endswith("reader_py"):
            import aiohttp._websocket.reader_py as reader_py

            reader_py.websocket_mask = wrap(reader_py.websocket_mask)
    elif library == "wsproto":
        import wsproto.frame_protocol as fp

        class Broken(fp.XorMaskerSimple):
            def process(self, data: bytearray) -> bytearray:
                out = super().process(data)
                _flip_in_place(out)
                return out

        fp.XorMaskerSimple = Broken  # type: ignore[misc]
    elif library == "autobahn":
        import autobahn.websocket.protocol as protocol

        create = protocol.create_xor_masker

        class BrokenMasker:
            def __init__(self, masker: Any) -> None:
                self.masker = masker

            def pointer(self) -> int:
                return int(self.masker.pointer())

            def reset(self) -> None:
                self.masker.reset()

            def process(self, data: bytes) -> bytes:
                return _flip_bytes(self.masker.process(data))

        protocol.create_xor_masker = lambda mask, length=None: BrokenMasker(create(mask, length))
    else:
        raise ValueError(library)


def run_client(library: str, port: int, messages: list[tuple[str, int]], timeout: float) -> int:
    failures = 0
    try:
        client = _peers.connect(library, port, timeout)
    except Exception as exc:
        print(json.dumps({"error": f"connect: {type(exc).__name__}: {exc}"}), flush=True)
        return 2
    try:
        for seed, (kind, size) in enumerate(messages):
            message = make_message(kind, size, seed)
            sent = message.encode() if isinstance(message, str) else message
            row: dict[str, Any] = {"kind": kind, "size": size, "sent": _sha(sent)}
            start = time.monotonic()
            try:
                reply = client.exchange(message)
            except Exception as exc:
                row.update(ok=False, error=f"{type(exc).__name__}: {exc}")
                print(json.dumps(row), flush=True)
                failures += 1
                break  # the connection is gone
            got = reply.encode() if isinstance(reply, str) else reply
            same_type = isinstance(reply, str) == (kind == "t")
            row.update(
                got=_sha(got),
                got_size=len(got),
                type_ok=same_type,
                ok=same_type and _sha(got) == row["sent"],
                seconds=round(time.monotonic() - start, 4),
            )
            failures += not row["ok"]
            print(json.dumps(row), flush=True)
    finally:
        try:
            client.close()
        except Exception as exc:  # a broken peer may not close cleanly
            print(json.dumps({"close_error": f"{type(exc).__name__}: {exc}"}), flush=True)
    print(json.dumps({"done": True, "failures": failures}), flush=True)
    return 1 if failures else 0


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve")
    serve.add_argument("library", choices=_peers.LIBRARIES)
    serve.add_argument("--mode", choices=MODES, required=True)
    serve.add_argument("--flavor", default="")
    serve.add_argument("--lifetime", type=float, default=600.0)
    client = commands.add_parser("client")
    client.add_argument("library", choices=_peers.LIBRARIES)
    client.add_argument("--mode", choices=MODES, required=True)
    client.add_argument("--port", type=int, required=True)
    client.add_argument("--messages", required=True)
    client.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    apply_mode(args.library, args.mode)
    if args.command == "serve":
        _peers._exit_when_stdin_closes(args.lifetime)

        def ready(port: int) -> None:
            print(f"PORT {port}", flush=True)

        _peers.serve(args.library, ready, args.flavor)
        return 0
    return run_client(args.library, args.port, parse_messages(args.messages), args.timeout)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
