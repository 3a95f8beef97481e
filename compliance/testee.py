"""One testee of the Autobahn|Testsuite: an echo server or an echo client of one library.

    python compliance/testee.py LIBRARY server --gomask MODE --stats FILE
    python compliance/testee.py LIBRARY client --gomask MODE --stats FILE --url ws://127.0.0.1:PORT

MODE is how gomask is put in: ``off`` (not imported: the library's own
masker), ``all`` (``integrations.install(min_size=0)``: every frame through
gomask) or ``default`` (``integrations.install()``: gomask's thresholds, the
way a user installs it). LIBRARY is one of TESTEES.

A server binds a free port on 127.0.0.1, prints ``port N`` on stdout, echoes
every message (text as text, binary as binary) and offers or accepts
permessage-deflate where the library negotiates it; it runs until SIGTERM or
SIGINT. A client asks wstest's fuzzing server for the number of cases, runs
each (echoing what it receives, each case bounded in time), then asks for the
reports. Both then write to FILE, as JSON, what gomask saw:
``integrations.installed()`` and ``integrations.stats()`` (nothing for
``off``). compliance/run.py runs them against wstest and compares.

The echo code is what a user of each library writes; the only knobs turned
are message sizes (the suite sends up to 16 MiB) and compression.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

MAX_SIZE = 64 << 20  # larger than any message of the suite (9.* sends 16 MiB)
CASE_TIMEOUT = 60.0  # seconds for one case of a client; wstest's own are shorter

# testee -> the name gomask.integrations knows its library by
TESTEES = {
    "wsproto": "wsproto",
    "websockets-asyncio": "websockets",
    "websockets-sansio": "websockets",
    "websockets-legacy": "websockets",
    "tornado": "tornado",
    "aiohttp": "aiohttp",
    "autobahn": "autobahn",
}

Server = Callable[[asyncio.Event, Callable[[int], None]], Awaitable[None]]
Client = Callable[[str, bool], Awaitable[list[Any]]]


# --- wsproto: the sans-I/O connection on asyncio streams ---------------------


async def _read(reader: asyncio.StreamReader) -> bytes:
    """The next bytes, or b"" at the end: a reset connection ends it too."""
    try:
        return await reader.read(1 << 16)
    except ConnectionError:
        return b""


async def _wsproto_pump(
    ws: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, echo: bool
) -> list[Any]:
    from wsproto.connection import ConnectionState
    from wsproto.events import (
        AcceptConnection,
        BytesMessage,
        CloseConnection,
        Message,
        Ping,
        RejectConnection,
        Request,
        TextMessage,
    )
    from wsproto.extensions import PerMessageDeflate

    received: list[Any] = []
    parts: list[Any] = []
    failed = False
    while True:
        data = await _read(reader)
        ws.receive_data(data or None)
        for event in ws.events():
            if isinstance(event, Request):
                writer.write(ws.send(AcceptConnection(extensions=[PerMessageDeflate()])))
            elif isinstance(event, Message):
                parts.append(event.data)
                if event.message_finished:
                    if isinstance(event, TextMessage):
                        message: Any = "".join(parts)
                        reply: Message[Any] = TextMessage(data=message)
                    else:
                        message = b"".join(parts)
                        reply = BytesMessage(data=message)
                    parts = []
                    received.append(message)
                    if echo and ws.state is ConnectionState.OPEN:
                        writer.write(ws.send(reply))
            elif isinstance(event, Ping):
                if ws.state is ConnectionState.OPEN:
                    writer.write(ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                if ws.state is ConnectionState.OPEN:
                    # wsproto failed the connection (bad frame, bad UTF-8):
                    # its close frame, then the TCP connection closed, as
                    # RFC 6455 7.1.7 has it (wsproto parses nothing after).
                    writer.write(ws.send(event.response()))
                    failed = True
                elif ws.state is ConnectionState.REMOTE_CLOSING:
                    writer.write(ws.send(event.response()))
            elif isinstance(event, RejectConnection):
                break
        await writer.drain()
        if failed or not data or ws.state in (ConnectionState.CLOSED, ConnectionState.REJECTING):
            break
    writer.close()
    return received


async def wsproto_server(stop: asyncio.Event, ready: Callable[[int], None]) -> None:
    from wsproto import ConnectionType, WSConnection

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await _wsproto_pump(WSConnection(ConnectionType.SERVER), reader, writer, echo=True)
        except (ConnectionError, OSError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    ready(server.sockets[0].getsockname()[1])
    await stop.wait()
    server.close()


async def wsproto_client(url: str, echo: bool) -> list[Any]:
    from urllib.parse import urlsplit

    from wsproto import ConnectionType, WSConnection
    from wsproto.events import Request
    from wsproto.extensions import PerMessageDeflate

    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    ws = WSConnection(ConnectionType.CLIENT)
    target = parts.path + ("?" + parts.query if parts.query else "")
    writer.write(
        ws.send(Request(host=parts.netloc, target=target, extensions=[PerMessageDeflate()]))
    )
    return await _wsproto_pump(ws, reader, writer, echo)


# --- websockets: the asyncio API, the sans-I/O protocol, the legacy API --------


async def websockets_asyncio_server(stop: asyncio.Event, ready: Callable[[int], None]) -> None:
    from websockets.asyncio.server import serve
    from websockets.exceptions import WebSocketException

    async def echo(ws: Any) -> None:
        try:
            async for message in ws:
                await ws.send(message)
        except WebSocketException:
            pass

    async with serve(echo, "127.0.0.1", 0, max_size=MAX_SIZE) as server:
        ready(next(iter(server.sockets)).getsockname()[1])
        await stop.wait()


async def websockets_asyncio_client(url: str, echo: bool) -> list[Any]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import WebSocketException

    received: list[Any] = []
    async with connect(url, max_size=MAX_SIZE, open_timeout=60) as ws:
        try:
            async for message in ws:
                received.append(message)
                if echo:
                    await ws.send(message)
        except WebSocketException:
            pass
    return received


async def _websockets_pump(
    protocol: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, echo: bool
) -> list[Any]:
    from websockets.frames import Opcode
    from websockets.http11 import Request
    from websockets.protocol import State

    received: list[Any] = []
    parts: list[bytes] = []
    text = False

    def flush() -> None:
        for data in protocol.data_to_send():
            if data:
                writer.write(data)
            elif writer.can_write_eof():
                writer.write_eof()

    while True:
        data = await _read(reader)
        if data:
            protocol.receive_data(data)
        else:
            protocol.receive_eof()
        for event in protocol.events_received():
            if isinstance(event, Request):
                response = protocol.accept(event)
                protocol.send_response(response)
            elif hasattr(event, "opcode"):
                if event.opcode in (Opcode.TEXT, Opcode.BINARY):
                    text = event.opcode is Opcode.TEXT
                if event.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
                    parts.append(event.data)
                    if event.fin:
                        payload = b"".join(parts)
                        parts = []
                        try:
                            message: Any = payload.decode() if text else payload
                        except UnicodeDecodeError:
                            if protocol.state is State.OPEN:
                                protocol.fail(1007, "invalid UTF-8")
                            continue
                        received.append(message)
                        if echo and protocol.state is State.OPEN:
                            if text:
                                protocol.send_text(payload)
                            else:
                                protocol.send_binary(payload)
        flush()
        await writer.drain()
        if not data or protocol.close_expected() or protocol.state is State.CLOSED:
            break
    # After a close, the peer's end of the TCP connection (or ours).
    if protocol.state is not State.CLOSED:
        try:
            async with asyncio.timeout(10):
                while data := await _read(reader):
                    protocol.receive_data(data)
                protocol.receive_eof()
                flush()
        except TimeoutError:
            pass
    writer.close()
    return received


async def websockets_sansio_server(stop: asyncio.Event, ready: Callable[[int], None]) -> None:
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
    from websockets.server import ServerProtocol

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        protocol = ServerProtocol(extensions=[ServerPerMessageDeflateFactory()], max_size=MAX_SIZE)
        try:
            await _websockets_pump(protocol, reader, writer, echo=True)
        except (ConnectionError, OSError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    ready(server.sockets[0].getsockname()[1])
    await stop.wait()
    server.close()


async def websockets_sansio_client(url: str, echo: bool) -> list[Any]:
    from websockets.client import ClientProtocol
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    from websockets.uri import parse_uri

    uri = parse_uri(url)
    reader, writer = await asyncio.open_connection(uri.host, uri.port)
    protocol = ClientProtocol(uri, extensions=[ClientPerMessageDeflateFactory()], max_size=MAX_SIZE)
    protocol.send_request(protocol.connect())
    for data in protocol.data_to_send():
        writer.write(data)
    return await _websockets_pump(protocol, reader, writer, echo)


async def websockets_legacy_server(stop: asyncio.Event, ready: Callable[[int], None]) -> None:
    from websockets.exceptions import WebSocketException
    from websockets.legacy.server import serve

    async def echo(ws: Any, path: str = "") -> None:
        try:
            async for message in ws:
                await ws.send(message)
        except WebSocketException:
            pass

    async with serve(echo, "127.0.0.1", 0, max_size=MAX_SIZE) as server:
        ready(server.sockets[0].getsockname()[1])
        await stop.wait()


async def websockets_legacy_client(url: str, echo: bool) -> list[Any]:
    from websockets.exceptions import WebSocketException
    from websockets.legacy.client import connect

    received: list[Any] = []
    async with connect(url, max_size=MAX_SIZE, open_timeout=60) as ws:
        try:
            async for message in ws:
                received.append(message)
                if echo:
                    await ws.send(message)
        except WebSocketException:
            pass
    return received


# --- tornado --------------------------------------------------------------------


async def tornado_server(stop: asyncio.Event, ready: Callable[[int], None]) -> None:
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets
    from tornado.web import Application
    from tornado.websocket import WebSocketHandler

    class Echo(WebSocketHandler):
        def on_message(self, message: str | bytes) -> None:
            self.write_message(message, binary=isinstance(message, bytes))

        def get_compression_options(self) -> dict[str, Any]:
            return {}  # permessage-deflate, with tornado's defaults

    sockets = bind_sockets(0, "127.0.0.1")
    server = HTTPServer(Application([(r"/.*", Echo)], websocket_max_message_size=MAX_SIZE))
    server.add_sockets(sockets)
    ready(sockets[0].getsockname()[1])
    await stop.wait()
    server.stop()


async def tornado_client(url: str, echo: bool) -> list[Any]:
    from tornado.websocket import websocket_connect

    received: list[Any] = []
    ws = await websocket_connect(url, compression_options={}, max_message_size=MAX_SIZE)
    while (message := await ws.read_message()) is not None:
        received.append(message)
        if echo:
            # Closed meanwhile: read_message says so next.
            with contextlib.suppress(Exception):
                await ws.write_message(message, binary=isinstance(message, bytes))
    return received


# --- aiohttp (its pure-Python reader and writer: AIOHTTP_NO_EXTENSIONS=1) -------


async def aiohttp_server(stop: asyncio.Event, ready: Callable[[int], None]) -> None:
    from aiohttp import WSMsgType, web

    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0, compress=True)
        await ws.prepare(request)
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                await ws.send_str(message.data)
            elif message.type is WSMsgType.BINARY:
                await ws.send_bytes(message.data)
        return ws

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    assert site._server is not None
    ready(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    await stop.wait()
    await runner.cleanup()


async def aiohttp_client(url: str, echo: bool) -> list[Any]:
    import aiohttp

    received: list[Any] = []
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, max_msg_size=0, compress=15) as ws,
    ):
        async for message in ws:
            if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                received.append(message.data)
                if echo and not ws.closed:
                    with contextlib.suppress(ConnectionError):
                        if message.type is aiohttp.WSMsgType.TEXT:
                            await ws.send_str(message.data)
                        else:
                            await ws.send_bytes(message.data)
    return received


# --- autobahn, on asyncio ----------------------------------------------------------


def _autobahn_deflate_accept(offers: list[Any]) -> Any:
    from autobahn.websocket.compress import (
        PerMessageDeflateOffer,
        PerMessageDeflateOfferAccept,
    )

    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            return PerMessageDeflateOfferAccept(offer)
    return None


async def autobahn_server(stop: asyncio.Event, ready: Callable[[int], None]) -> None:
    from autobahn.asyncio.websocket import WebSocketServerFactory, WebSocketServerProtocol

    class Echo(WebSocketServerProtocol):  # type: ignore[misc]
        def onMessage(self, payload: bytes, isBinary: bool) -> None:  # noqa: N802, N803
            self.sendMessage(payload, isBinary)

    factory = WebSocketServerFactory()
    factory.protocol = Echo
    factory.setProtocolOptions(
        perMessageCompressionAccept=_autobahn_deflate_accept,
        maxFramePayloadSize=MAX_SIZE,
        maxMessagePayloadSize=MAX_SIZE,
    )
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", 0)
    ready(server.sockets[0].getsockname()[1])
    await stop.wait()
    server.close()


async def autobahn_client(url: str, echo: bool) -> list[Any]:
    from urllib.parse import urlsplit

    from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol
    from autobahn.websocket.compress import (
        PerMessageDeflateOffer,
        PerMessageDeflateResponse,
        PerMessageDeflateResponseAccept,
    )

    received: list[Any] = []
    loop = asyncio.get_running_loop()
    closed: asyncio.Future[None] = loop.create_future()

    class Echo(WebSocketClientProtocol):  # type: ignore[misc]
        def onMessage(self, payload: bytes, isBinary: bool) -> None:  # noqa: N802, N803
            received.append(payload if isBinary else payload.decode())
            if echo:
                self.sendMessage(payload, isBinary)

        def onClose(self, wasClean: bool, code: int, reason: str) -> None:  # noqa: N802, N803
            if not closed.done():
                closed.set_result(None)

    def accept(response: Any) -> Any:
        if isinstance(response, PerMessageDeflateResponse):
            return PerMessageDeflateResponseAccept(response)
        return None

    factory = WebSocketClientFactory(url)
    factory.protocol = Echo
    factory.setProtocolOptions(
        perMessageCompressionOffers=[PerMessageDeflateOffer(accept_max_window_bits=True)],
        perMessageCompressionAccept=accept,
        maxFramePayloadSize=MAX_SIZE,
        maxMessagePayloadSize=MAX_SIZE,
    )
    parts = urlsplit(url)
    transport, _ = await loop.create_connection(factory, parts.hostname, parts.port)
    try:
        await closed
    finally:
        transport.close()
    return received


SERVERS: dict[str, Server] = {
    "wsproto": wsproto_server,
    "websockets-asyncio": websockets_asyncio_server,
    "websockets-sansio": websockets_sansio_server,
    "websockets-legacy": websockets_legacy_server,
    "tornado": tornado_server,
    "aiohttp": aiohttp_server,
    "autobahn": autobahn_server,
}
CLIENTS: dict[str, Client] = {
    "wsproto": wsproto_client,
    "websockets-asyncio": websockets_asyncio_client,
    "websockets-sansio": websockets_sansio_client,
    "websockets-legacy": websockets_legacy_client,
    "tornado": tornado_client,
    "aiohttp": aiohttp_client,
    "autobahn": autobahn_client,
}


# --- running -----------------------------------------------------------------------


async def serve(testee: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def ready(port: int) -> None:
        print(f"port {port}", flush=True)

    await SERVERS[testee](stop, ready)


async def drive(testee: str, url: str) -> None:
    client = CLIENTS[testee]
    agent = testee
    count = int((await client(f"{url}/getCaseCount", False))[0])
    failures = 0
    for case in range(1, count + 1):
        try:
            async with asyncio.timeout(CASE_TIMEOUT):
                await client(f"{url}/runCase?case={case}&agent={agent}", True)
        except Exception:  # the case's verdict is wstest's, from what it saw
            failures += 1
    print(f"{testee} client: {count} cases, {failures} ended in an exception", file=sys.stderr)
    await client(f"{url}/updateReports?agent={agent}", False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("testee", choices=sorted(TESTEES))
    parser.add_argument("role", choices=("server", "client"))
    parser.add_argument("--gomask", choices=("off", "all", "default"), required=True)
    parser.add_argument("--stats", required=True, help="where to write what gomask saw (JSON)")
    parser.add_argument("--url", help="wstest's fuzzing server (client role)")
    args = parser.parse_args()
    library = TESTEES[args.testee]

    if args.testee == "websockets-legacy":
        # install() patches websockets.legacy.framing only if it is imported.
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import websockets.legacy.client
            import websockets.legacy.server  # noqa: F401
    if args.gomask != "off":
        from gomask import integrations

        if args.gomask == "all":
            integrations.install(min_size=0)
        else:
            integrations.install()

    if args.role == "server":
        asyncio.run(serve(args.testee))
    else:
        if not args.url:
            parser.error("the client role needs --url")
        asyncio.run(drive(args.testee, args.url))

    seen: dict[str, Any] = {"library": library, "installed": [], "stats": None}
    if args.gomask != "off":
        counts = integrations.stats().get(library)
        seen["installed"] = list(integrations.installed())
        seen["stats"] = counts._asdict() if counts is not None else None
    with open(args.stats, "w") as file:
        json.dump(seen, file)


if __name__ == "__main__":
    main()
