"""Echo servers and clients of the WebSocket libraries gomask integrates with.

A server of one library runs in a process of its own and a client, of the
same or another library, in another, over 127.0.0.1 only. The integration
tests (tests/test_integrations.py) and the end-to-end benchmark
(benchmarks/apps.py) both use them::

    python benchmarks/peers.py serve LIBRARY [--mode MODE] [--flavor sync] [--compression]
    python benchmarks/peers.py client LIBRARY --port N [--mode MODE] [--compression]
        --messages b:0,t:125,...

``serve`` prints ``PORT <n>`` once it listens and echoes every data message
back with its type (text or binary); to the text message :data:`CPU_QUERY`
it answers with its process's CPU time in seconds (``time.process_time()``:
every thread of the process), so that a client can measure the server's
CPU time per message. It exits when its standard input closes, or after
``--lifetime`` seconds.

Connections are uncompressed unless ``--compression`` is given to both
sides: then websockets and wsproto negotiate permessage-deflate (RFC 7692),
as a websockets client and uvicorn's or hypercorn's wsproto server do by
default, and the client fails if it was not negotiated. (The other libraries'
peers have no compression here.)

``client`` sends each message of ``--messages`` (``b:SIZE`` binary,
``t:SIZE`` text: valid UTF-8 of exactly SIZE bytes, with 1- to 4-byte
characters, see :func:`make_message`), receives the echo, and prints one
JSON line per message with the SHA-256 of what was sent and of what came
back, then a summary line; it exits 0 only if every echo came back
identical and of the same type.

Modes, for the process they run in (:func:`apply_mode`):

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
    integration calls them (``gomask.integrations._mask`` and
    ``_mask_inplace``), flipping one bit: fails only if the library really
    masks through the integration.

Every blocking call has a timeout; the libraries are imported only when a
server or client of theirs is made, gomask only by the modes that use it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import importlib
import json
import os
import random
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

__all__ = [
    "COMPRESSING",
    "CPU_QUERY",
    "HOST",
    "LIBRARIES",
    "MODES",
    "Client",
    "Server",
    "apply_mode",
    "check_compression",
    "connect",
    "make_message",
    "run_client",
    "serve",
]

#: Libraries with a server and a client here.
LIBRARIES = ("websockets", "wsproto", "tornado", "aiohttp", "autobahn")
#: How a process sets itself up (see the module docstring).
MODES = ("plain", "gomask", "gomask-all", "broken", "gomask-broken")
#: Servers listen here, clients connect here: loopback only.
HOST = "127.0.0.1"
#: A text message that the servers answer with their CPU time (seconds, as text).
CPU_QUERY = "\x00gomask-peers: cpu time?"
#: Largest message the servers and clients accept (bytes).
MAX_MESSAGE = 64 << 20
_RECV = 256 << 10
_SCRIPT = Path(__file__).resolve()

Message = bytes | str
T = TypeVar("T")


# --------------------------------------------------------------------------
# Messages.

# Characters of 1, 2, 3 and 4 bytes in UTF-8.
_CHARS = ("a", "Z", "0", " ", "é", "ß", "Ж", "€", "中", "한", "😀", "𝄞")


def make_message(kind: str, size: int, seed: int) -> Message:
    """A binary message (*kind* ``"b"``) of *size* random bytes, or a text
    message (``"t"``) whose UTF-8 encoding is exactly *size* bytes, both
    determined by *seed*; made without any masking code."""
    rng = random.Random(seed)
    if kind == "b":
        return rng.randbytes(size)
    if kind != "t":
        raise ValueError(f"message kind is b or t, got {kind!r}")
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
    """``b:0,t:125`` -> ``[("b", 0), ("t", 125)]``."""
    out = []
    for item in spec.split(","):
        kind, _, size = item.partition(":")
        if kind not in ("b", "t"):
            raise ValueError(f"message kind is b or t, got {item!r}")
        out.append((kind, int(size)))
    return out


def _spec(messages: Sequence[tuple[str, int]]) -> str:
    return ",".join(f"{kind}:{size}" for kind, size in messages)


# --------------------------------------------------------------------------
# Modes.


def _flip_bytes(data: bytes) -> bytes:
    return bytes([data[0] ^ 1]) + data[1:] if data else data


def _flip_in_place(buffer: Any) -> None:
    if len(buffer):
        buffer[0] ^= 1


def apply_mode(library: str, mode: str) -> None:
    """Set up this process as *mode* says (see the module docstring)."""
    if mode not in MODES:
        raise ValueError(f"mode is one of {MODES}, got {mode!r}")
    if mode == "plain":
        return
    if mode == "broken":
        _break_library(library)
        return
    from gomask import integrations

    integrations.install(library, min_size=None if mode == "gomask" else 0)
    if mode == "gomask-broken":
        # gomask's functions as the integration calls them: module globals.
        module: Any = integrations
        real_mask, real_inplace = module._mask, module._mask_inplace

        def bad_mask(data: Any, key: Any, offset: int = 0) -> bytes:
            return _flip_bytes(real_mask(data, key, offset))

        def bad_inplace(buffer: Any, key: Any) -> int:
            n: int = real_inplace(buffer, key)
            _flip_in_place(buffer)
            return n

        module._mask = bad_mask
        module._mask_inplace = bad_inplace


def _break_library(library: str) -> None:
    """Wrap the library's own masker (no gomask) so that it flips a bit."""
    if library == "websockets":
        frames = _module("websockets.frames")
        apply_mask = frames.apply_mask
        frames.apply_mask = lambda data, mask: _flip_bytes(apply_mask(data, mask))
    elif library == "tornado":
        websocket = _module("tornado.websocket")
        ws_mask = websocket._websocket_mask
        websocket._websocket_mask = lambda mask, data: _flip_bytes(ws_mask(mask, data))
    elif library == "aiohttp":
        reader = _module("aiohttp._websocket.reader")
        writer = _module("aiohttp._websocket.writer")

        def wrap(original: Any) -> Any:
            def websocket_mask(mask: bytes, data: bytearray) -> None:
                original(mask, data)
                _flip_in_place(data)

            return websocket_mask

        writer.websocket_mask = wrap(writer.websocket_mask)
        if reader.WebSocketReader.__module__.endswith("reader_py"):
            reader_py = _module("aiohttp._websocket.reader_py")
            reader_py.websocket_mask = wrap(reader_py.websocket_mask)
    elif library == "wsproto":
        fp = _module("wsproto.frame_protocol")

        class Broken(fp.XorMaskerSimple):  # type: ignore[name-defined,misc]
            def process(self, data: bytearray) -> bytearray:
                out: bytearray = super().process(data)
                _flip_in_place(out)
                return out

        fp.XorMaskerSimple = Broken
    elif library == "autobahn":
        protocol = _module("autobahn.websocket.protocol")
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


def _module(name: str) -> Any:
    return importlib.import_module(name)


def _reply(message: Message) -> Message:
    return str(time.process_time()) if message == CPU_QUERY else message


# --------------------------------------------------------------------------
# Servers. Each calls ready(port) once it listens, then serves until the
# process ends.


#: The libraries whose peers here can negotiate permessage-deflate.
COMPRESSING = ("websockets", "wsproto")


def check_compression(library: str, compression: bool) -> None:
    if compression and library not in COMPRESSING:
        raise ValueError(f"compression: only {', '.join(COMPRESSING)} here, not {library}")


def serve(
    library: str, ready: Callable[[int], None], flavor: str = "", compression: bool = False
) -> None:
    """Run an echo server of *library* on 127.0.0.1 (port chosen by the OS).

    *flavor* ``"sync"``: websockets' threaded server instead of its asyncio one.
    *compression*: accept permessage-deflate (websockets and wsproto only).
    """
    check_compression(library, compression)
    if library == "websockets":
        if flavor == "sync":
            _serve_websockets_sync(ready, compression)
        else:
            asyncio.run(_serve_websockets(ready, compression))
    elif library == "wsproto":
        _serve_wsproto(ready, compression)
    elif library == "tornado":
        asyncio.run(_serve_tornado(ready))
    elif library == "aiohttp":
        asyncio.run(_serve_aiohttp(ready))
    elif library == "autobahn":
        _serve_autobahn(ready)
    else:
        raise ValueError(f"no server for {library!r}")


def _websockets_compression(compression: bool) -> str | None:
    return "deflate" if compression else None


async def _serve_websockets(ready: Callable[[int], None], compression: bool) -> None:
    server_module = _module("websockets.asyncio.server")

    async def handler(ws: Any) -> None:
        async for message in ws:
            await ws.send(_reply(message))

    async with server_module.serve(
        handler,
        HOST,
        0,
        max_size=MAX_MESSAGE,
        compression=_websockets_compression(compression),
        ping_interval=None,
    ) as server:
        ready(server.sockets[0].getsockname()[1])
        await asyncio.get_running_loop().create_future()


def _serve_websockets_sync(ready: Callable[[int], None], compression: bool) -> None:
    server_module = _module("websockets.sync.server")

    def handler(ws: Any) -> None:
        for message in ws:
            ws.send(_reply(message))

    with server_module.serve(
        handler,
        HOST,
        0,
        max_size=MAX_MESSAGE,
        compression=_websockets_compression(compression),
        ping_interval=None,
    ) as server:
        ready(server.socket.getsockname()[1])
        server.serve_forever()


class _WsprotoPeer:
    """One wsproto connection over a blocking socket (either side)."""

    def __init__(self, sock: socket.socket, connection: Any, compression: bool = False) -> None:
        self.sock = sock
        self.connection = connection
        self.compression = compression
        self.events = _module("wsproto.events")
        self.parts: list[Message] = []

    def extensions(self) -> list[Any]:
        """What this side offers or accepts: a fresh extension object (it
        keeps the connection's compression state)."""
        if not self.compression:
            return []
        return [_module("wsproto.extensions").PerMessageDeflate()]

    def send(self, event: Any) -> None:
        self.sock.sendall(self.connection.send(event))

    def next_message(self) -> Message | None:
        """The next complete data message, or None when the peer closes."""
        events = self.events
        for _ in range(1 << 30):  # bounded by the socket timeout per recv
            for event in self.connection.events():
                if isinstance(event, events.Message):
                    self.parts.append(event.data)
                    if event.message_finished:
                        parts, self.parts = self.parts, []
                        if isinstance(parts[0], str):
                            return "".join(parts)  # type: ignore[arg-type]
                        return b"".join(parts)  # type: ignore[arg-type]
                elif isinstance(event, events.Ping):
                    self.send(event.response())
                elif isinstance(event, events.CloseConnection):
                    if self.connection.state.name not in ("CLOSED", "LOCAL_CLOSING"):
                        self.send(event.response())
                    return None
                elif isinstance(event, events.Request):
                    self.send(events.AcceptConnection(extensions=self.extensions()))
            data = self.sock.recv(_RECV)
            self.connection.receive_data(data or None)
            if not data:
                return None
        return None


def _serve_wsproto(ready: Callable[[int], None], compression: bool) -> None:
    wsproto = _module("wsproto")
    listener = socket.create_server((HOST, 0))
    ready(listener.getsockname()[1])

    def handle(sock: socket.socket) -> None:
        with sock:
            connection = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
            peer = _WsprotoPeer(sock, connection, compression)
            for _ in range(1 << 40):
                message = peer.next_message()
                if message is None:
                    return
                peer.send(peer.events.Message(data=_reply(message)))

    while True:
        sock, _ = listener.accept()
        threading.Thread(target=handle, args=(sock,), daemon=True).start()


async def _serve_tornado(ready: Callable[[int], None]) -> None:
    web = _module("tornado.web")
    websocket = _module("tornado.websocket")
    httpserver = _module("tornado.httpserver")
    netutil = _module("tornado.netutil")

    def on_message(self: Any, message: Message) -> None:
        reply = _reply(message)
        self.write_message(reply, binary=isinstance(reply, bytes))

    handler = type("EchoHandler", (websocket.WebSocketHandler,), {"on_message": on_message})
    app = web.Application([(r"/", handler)], websocket_max_message_size=MAX_MESSAGE)
    sockets = netutil.bind_sockets(0, HOST)
    server = httpserver.HTTPServer(app, max_buffer_size=2 * MAX_MESSAGE)
    server.add_sockets(sockets)
    ready(sockets[0].getsockname()[1])
    await asyncio.get_running_loop().create_future()


async def _serve_aiohttp(ready: Callable[[int], None]) -> None:
    web = _module("aiohttp.web")
    aiohttp = _module("aiohttp")

    async def handler(request: Any) -> Any:
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE, compress=False)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(_reply(msg.data))
            elif msg.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    app = web.Application(client_max_size=2 * MAX_MESSAGE)
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    sock = socket.create_server((HOST, 0))
    await web.SockSite(runner, sock).start()
    ready(sock.getsockname()[1])
    await asyncio.get_running_loop().create_future()


def _autobahn_options(factory: Any, timeout: float) -> None:
    factory.setProtocolOptions(
        maxFramePayloadSize=0,
        maxMessagePayloadSize=0,
        autoFragmentSize=0,
        openHandshakeTimeout=timeout,
        closeHandshakeTimeout=timeout,
    )


def _serve_autobahn(ready: Callable[[int], None]) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ws = _module("autobahn.asyncio.websocket")

    def on_message(self: Any, payload: bytes, is_binary: bool) -> None:
        if is_binary:
            self.sendMessage(payload, isBinary=True)
        else:
            self.sendMessage(str(_reply(payload.decode())).encode(), isBinary=False)

    protocol = type("EchoProtocol", (ws.WebSocketServerProtocol,), {"onMessage": on_message})
    factory = ws.WebSocketServerFactory()
    factory.protocol = protocol
    _autobahn_options(factory, 30.0)
    server = loop.run_until_complete(loop.create_server(factory, HOST, 0))
    ready(server.sockets[0].getsockname()[1])
    loop.run_forever()


# --------------------------------------------------------------------------
# Clients.


class Client(Protocol):
    """A connected client: one message out, its echo back."""

    def exchange(self, message: Message) -> Message:
        """Send *message* (``str``: a text message) and return the reply."""

    def close(self) -> None:
        """Close the connection (bounded by the client's timeout)."""


def connect(library: str, port: int, timeout: float = 60.0, compression: bool = False) -> Client:
    """A client of *library* connected to ``ws://127.0.0.1:port/``.

    Every send, receive and the closing handshake wait at most *timeout*
    seconds; a closed connection raises :class:`ConnectionError`.
    *compression*: offer permessage-deflate, and raise :class:`ConnectionError`
    if the server does not accept it (websockets and wsproto only).
    """
    check_compression(library, compression)
    if library == "websockets":
        return _WebsocketsClient(port, timeout, compression)
    if library == "wsproto":
        return _WsprotoClient(port, timeout, compression)
    makers: dict[str, Callable[[int, float], Client]] = {
        "websockets": _WebsocketsClient,
        "wsproto": _WsprotoClient,
        "tornado": _TornadoClient,
        "aiohttp": _AiohttpClient,
        "autobahn": _AutobahnClient,
    }
    if library not in makers:
        raise ValueError(f"no client for {library!r}")
    return makers[library](port, timeout)


def cpu_of_server(client: Client) -> float:
    """The CPU time (seconds, all threads) of the server *client* talks to."""
    return float(client.exchange(CPU_QUERY))


class _WebsocketsClient:
    def __init__(self, port: int, timeout: float, compression: bool = False) -> None:
        client = _module("websockets.sync.client")
        self.timeout = timeout
        # Entered as a context manager: websockets >= 17.1 warns otherwise,
        # and older versions return a connection that is one too.
        self.context = client.connect(
            f"ws://{HOST}:{port}/",
            max_size=MAX_MESSAGE,
            compression=_websockets_compression(compression),
            open_timeout=timeout,
            close_timeout=timeout,
            ping_interval=None,
        )
        self.ws = self.context.__enter__()
        if compression and not self.ws.protocol.extensions:
            self.close()
            raise ConnectionError("websockets: the server did not accept permessage-deflate")

    def exchange(self, message: Message) -> Message:
        self.ws.send(message)
        reply: Message = self.ws.recv(timeout=self.timeout)
        return reply

    def close(self) -> None:
        self.context.__exit__(None, None, None)


class _WsprotoClient:
    def __init__(self, port: int, timeout: float, compression: bool = False) -> None:
        wsproto = _module("wsproto")
        sock = socket.create_connection((HOST, port), timeout=timeout)
        connection = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        self.peer = _WsprotoPeer(sock, connection, compression)
        request = self.peer.events.Request(
            host=f"{HOST}:{port}", target="/", extensions=self.peer.extensions()
        )
        self.peer.send(request)
        for _ in range(1 << 20):
            for event in self.peer.connection.events():
                if isinstance(event, self.peer.events.AcceptConnection):
                    if compression and not event.extensions:
                        sock.close()
                        raise ConnectionError(
                            "wsproto: the server did not accept permessage-deflate"
                        )
                    return
                if isinstance(event, self.peer.events.RejectConnection):
                    raise ConnectionError("wsproto: the server rejected the connection")
            data = sock.recv(_RECV)
            if not data:
                raise ConnectionError("wsproto: the server closed during the handshake")
            self.peer.connection.receive_data(data)
        raise ConnectionError("wsproto: no handshake")

    def exchange(self, message: Message) -> Message:
        self.peer.send(self.peer.events.Message(data=message))
        reply = self.peer.next_message()
        if reply is None:
            raise ConnectionError("wsproto: the server closed the connection")
        return reply

    def close(self) -> None:
        try:
            self.peer.send(self.peer.events.CloseConnection(code=1000))
            self.peer.next_message()
        except OSError:
            pass
        finally:
            self.peer.sock.close()


class _AsyncClient:
    """Runs an asyncio client on a loop of its own, one call at a time."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)

    def run(self, awaitable: Awaitable[T]) -> T:
        return self.loop.run_until_complete(asyncio.wait_for(awaitable, self.timeout))

    def close_loop(self) -> None:
        self.loop.close()


class _TornadoClient(_AsyncClient):
    def __init__(self, port: int, timeout: float) -> None:
        super().__init__(timeout)
        websocket = _module("tornado.websocket")
        self.ws = self.run(
            websocket.websocket_connect(
                f"ws://{HOST}:{port}/", max_message_size=MAX_MESSAGE, connect_timeout=timeout
            )
        )

    def exchange(self, message: Message) -> Message:
        self.run(self.ws.write_message(message, binary=isinstance(message, bytes)))
        reply: Message | None = self.run(self.ws.read_message())
        if reply is None:
            raise ConnectionError("tornado: the server closed the connection")
        return reply

    def close(self) -> None:
        self.ws.close()
        try:
            self.run(self.ws.read_message())  # None once the close handshake is done
        finally:
            self.close_loop()


class _AiohttpClient(_AsyncClient):
    def __init__(self, port: int, timeout: float) -> None:
        super().__init__(timeout)
        self.aiohttp = _module("aiohttp")

        async def start() -> tuple[Any, Any]:
            session = self.aiohttp.ClientSession()
            ws = await session.ws_connect(
                f"ws://{HOST}:{port}/", max_msg_size=MAX_MESSAGE, compress=0, autoping=True
            )
            return session, ws

        self.session, self.ws = self.run(start())

    def exchange(self, message: Message) -> Message:
        if isinstance(message, str):
            self.run(self.ws.send_str(message))
        else:
            self.run(self.ws.send_bytes(message))
        msg = self.run(self.ws.receive())
        if msg.type not in (self.aiohttp.WSMsgType.TEXT, self.aiohttp.WSMsgType.BINARY):
            raise ConnectionError(f"aiohttp: received {msg.type!r}: {msg.data!r}")
        reply: Message = msg.data
        return reply

    def close(self) -> None:
        async def stop() -> None:
            await self.ws.close()
            await self.session.close()

        try:
            self.run(stop())
        finally:
            self.close_loop()


class _AutobahnClient(_AsyncClient):
    def __init__(self, port: int, timeout: float) -> None:
        super().__init__(timeout)
        ws = _module("autobahn.asyncio.websocket")
        loop = self.loop
        opened: asyncio.Future[Any] = loop.create_future()
        self.queue: asyncio.Queue[tuple[bytes, bool] | None] = asyncio.Queue()
        queue = self.queue

        def on_open(protocol: Any) -> None:
            if not opened.done():
                opened.set_result(protocol)

        def on_message(protocol: Any, payload: bytes, is_binary: bool) -> None:
            queue.put_nowait((payload, is_binary))

        def on_close(protocol: Any, was_clean: bool, code: Any, reason: Any) -> None:
            queue.put_nowait(None)
            if not opened.done():
                opened.set_exception(ConnectionError(f"autobahn: closed ({code}, {reason})"))

        protocol = type(
            "EchoClient",
            (ws.WebSocketClientProtocol,),
            {"onOpen": on_open, "onMessage": on_message, "onClose": on_close},
        )
        factory = ws.WebSocketClientFactory(f"ws://{HOST}:{port}/")
        factory.protocol = protocol
        _autobahn_options(factory, timeout)
        self.run(loop.create_connection(factory, HOST, port))
        self.protocol = self.run(opened)

    def exchange(self, message: Message) -> Message:
        binary = isinstance(message, bytes)
        payload = message if isinstance(message, bytes) else message.encode()
        self.protocol.sendMessage(payload, isBinary=binary)
        item = self.run(self.queue.get())
        if item is None:
            raise ConnectionError("autobahn: the connection closed")
        data, is_binary = item
        return data if is_binary else data.decode()

    def close(self) -> None:
        try:
            self.protocol.sendClose(1000)
            for _ in range(100):  # messages still queued, then the close
                if self.run(self.queue.get()) is None:
                    break
        finally:
            self.close_loop()


# --------------------------------------------------------------------------
# Processes: a server, and the checking client, each in a process of its own.


class Server:
    """``python benchmarks/peers.py serve`` in a subprocess, listening on
    :attr:`port`; :meth:`stop` closes its stdin (it exits then) and kills it
    if it has not exited after 10 s. Raises :class:`RuntimeError` with the
    end of its stderr if it does not print its port within *start_timeout*."""

    def __init__(
        self,
        library: str,
        mode: str = "plain",
        flavor: str = "",
        lifetime: float = 900.0,
        start_timeout: float = 60.0,
        compression: bool = False,
    ) -> None:
        check_compression(library, compression)
        command = [sys.executable, str(_SCRIPT), "serve", library, "--mode", mode]
        command += ["--lifetime", str(lifetime)]
        if flavor:
            command += ["--flavor", flavor]
        if compression:
            command.append("--compression")
        self.label = f"{library} server ({mode}{', ' + flavor if flavor else ''})"
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        port = self._read_port(start_timeout)
        if port is None:
            raise RuntimeError(f"{self.label} did not start: {self.stop()}")
        self.port = port

    def _read_port(self, timeout: float) -> int | None:
        """The port the server prints (``PORT <n>``), or None if it exits or
        stays silent for *timeout* seconds."""
        stdout = self.process.stdout
        assert stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:  # bounded by the deadline
                if selector.select(timeout=max(0.0, deadline - time.monotonic())):
                    line = stdout.readline().decode()
                    if line.startswith("PORT "):
                        return int(line.split()[1])
                    if not line:  # the server exited
                        break
        return None

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> str:
        """Stop the server; returns the end of what it wrote to stderr."""
        process = self.process
        if process.stdin and not process.stdin.closed:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        error = process.stderr.read().decode(errors="replace")[-2000:] if process.stderr else ""
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()
        return error


def run_client(
    library: str,
    port: int,
    mode: str,
    messages: Sequence[tuple[str, int]],
    timeout: float = 120.0,
    process_timeout: float = 240.0,
    compression: bool = False,
) -> tuple[int, list[dict[str, Any]], str]:
    """Run ``python benchmarks/peers.py client`` in a subprocess: every
    message out and its echo checked. Returns (exit code, one row per
    message, the end of its stderr and stdout)."""
    command = [sys.executable, str(_SCRIPT), "client", library, "--port", str(port)]
    command += ["--mode", mode, "--messages", _spec(messages), "--timeout", str(timeout)]
    if compression:
        command.append("--compression")
    done = subprocess.run(command, capture_output=True, text=True, timeout=process_timeout)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    rows = [row for row in lines if "kind" in row]
    return done.returncode, rows, done.stderr[-3000:] + done.stdout[-2000:]


def _check_echoes(
    library: str,
    port: int,
    messages: Sequence[tuple[str, int]],
    timeout: float,
    compression: bool = False,
) -> int:
    """The ``client`` command: each message out, its echo compared (SHA-256)."""
    failures = 0
    try:
        client = connect(library, port, timeout, compression)
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


def _exit_when_stdin_closes(lifetime: float) -> None:
    """End the process when the parent closes our stdin, or after *lifetime* s."""

    def watch() -> None:
        try:
            sys.stdin.buffer.read()
        finally:
            os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    timer = threading.Timer(lifetime, os._exit, args=(0,))
    timer.daemon = True
    timer.start()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/peers.py", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    server = commands.add_parser("serve", help="run an echo server, print PORT <n>")
    server.add_argument("library", choices=LIBRARIES)
    server.add_argument("--mode", choices=MODES, default="plain")
    server.add_argument("--flavor", default="", help="websockets: 'sync' for its threaded server")
    server.add_argument("--lifetime", type=float, default=900.0, help="seconds at most")
    server.add_argument("--compression", action="store_true", help="accept permessage-deflate")
    client = commands.add_parser("client", help="send messages, check their echoes")
    client.add_argument("library", choices=LIBRARIES)
    client.add_argument("--mode", choices=MODES, default="plain")
    client.add_argument("--port", type=int, required=True)
    client.add_argument("--messages", required=True, help="b:SIZE or t:SIZE, comma-separated")
    client.add_argument("--timeout", type=float, default=60.0)
    client.add_argument("--compression", action="store_true", help="offer permessage-deflate")
    args = parser.parse_args(argv)
    apply_mode(args.library, args.mode)
    if args.command == "client":
        return _check_echoes(
            args.library, args.port, parse_messages(args.messages), args.timeout, args.compression
        )
    _exit_when_stdin_closes(args.lifetime)

    def ready(port: int) -> None:
        print(f"PORT {port}", flush=True)

    serve(args.library, ready, args.flavor, args.compression)
    return 0


if __name__ == "__main__":
    sys.exit(main())
