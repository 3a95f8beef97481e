"""``--apps``: WebSocket libraries timed end to end, with and without gomask.

For each library (websockets, wsproto, tornado, aiohttp, autobahn: those
installed), an echo server of that library runs in one process and a client
of the same library in another, over 127.0.0.1. The client sends binary
messages of 125 B, 64 KiB, 1 MiB and 16 MiB, one at a time, and waits for
each echo; the time per message is the round trip (the client masks, the
server unmasks, echoes unmasked, the client reads). The server reports its
CPU time, so the table also shows the server's CPU time per message.
"With gomask" runs ``gomask.integrations.install(library)`` in the
processes chosen by ``side`` (both, by default); "without" runs the
libraries as installed. The two alternate, round by round, and every cell
is the median over the rounds; ratios are with ÷ without, of time per
message (below 1: gomask is faster).

wsproto, which has no I/O of its own, is also timed in one process: a
client ``WSConnection`` sends each message and a server ``WSConnection``
receives it in 256 KiB pieces, as from a socket (send + receive, no echo).

    python -m gomask._bench_apps [--rounds 5] [--libraries wsproto ...] [--side both|server|client]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from gomask import _peers, integrations
from gomask._bench import _size_name as _size
from gomask.mask import implementation

__all__ = ["SIZES", "print_apps", "run_apps"]

KiB = 1024
MiB = 1024 * KiB
#: Message sizes and the number of messages timed per size and round.
SIZES: tuple[tuple[int, int], ...] = ((125, 2000), (64 * KiB, 300), (MiB, 40), (16 * MiB, 4))
_SIDES = ("both", "server", "client")
_START_TIMEOUT = 60.0
_CLIENT_TIMEOUT = 600.0


def _available(library: str) -> bool:
    try:
        integrations.describe(library)
    except integrations.IntegrationError:
        return False
    return True


class _Server:
    """``python -m gomask._peers serve`` in a subprocess (stopped by closing stdin)."""

    def __init__(self, library: str, gomask: bool) -> None:
        command = [sys.executable, "-m", "gomask._peers", "serve", library, "--lifetime", "3600"]
        if gomask:
            command.append("--gomask")
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.port = self._port()

    def _port(self) -> int:
        port = _peers.read_port(self.process, _START_TIMEOUT)
        if port is None:
            raise RuntimeError(f"the server did not start: {self.stop()}")
        return port

    def stop(self) -> str:
        """Stop the server; returns the end of its stderr."""
        return _peers.stop_server(self.process)


def _client(library: str, port: int, gomask: bool, sizes: Sequence[tuple[int, int]]) -> Any:
    """One client run in a subprocess; returns its per-size timings."""
    command = [sys.executable, "-m", "gomask._bench_apps", "client", library, str(port)]
    command += ["--sizes", ",".join(f"{size}:{count}" for size, count in sizes)]
    if gomask:
        command.append("--gomask")
    done = subprocess.run(command, capture_output=True, text=True, timeout=_CLIENT_TIMEOUT)
    if done.returncode:
        raise RuntimeError(f"{library} client failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def client_main(library: str, port: int, sizes: Sequence[tuple[int, int]], gomask: bool) -> int:
    """The client process: times *count* echoes per size, prints JSON."""
    if gomask:
        integrations.install(library)
    client = _peers.connect(library, port, timeout=120)
    results: dict[str, dict[str, float]] = {}
    try:
        for size, count in sizes:
            data = os.urandom(size)
            for _ in range(min(count, 3)):
                client.exchange(data)
            cpu_before = float(client.exchange(_peers.CPU_QUERY))
            start = time.perf_counter()
            for _ in range(count):
                reply = client.exchange(data)
            elapsed = time.perf_counter() - start
            cpu_after = float(client.exchange(_peers.CPU_QUERY))
            if reply != data:
                raise RuntimeError(f"{library}: the echo of {size} bytes differs")
            results[str(size)] = {
                "seconds": elapsed / count,
                "server_cpu": (cpu_after - cpu_before) / count,
            }
    finally:
        client.close()
    print(json.dumps(results), flush=True)
    return 0


def _end_to_end(
    library: str, rounds: int, side: str, sizes: Sequence[tuple[int, int]]
) -> dict[str, Any]:
    # A fresh server process for every run, so that no difference between
    # two long-lived processes (memory layout, the CPU they run on) biases
    # every round the same way.
    server_gomask = side in ("both", "server")
    client_gomask = side in ("both", "client")
    samples: dict[bool, list[Any]] = {False: [], True: []}
    for r in range(rounds):
        for with_gomask in (False, True) if r % 2 == 0 else (True, False):
            server = _Server(library, with_gomask and server_gomask)
            try:
                result = _client(library, server.port, with_gomask and client_gomask, sizes)
            finally:
                server.stop()
            samples[with_gomask].append(result)
    rows = []
    for size, count in sizes:
        cells: dict[str, float] = {}
        for with_gomask, name in ((False, "without"), (True, "with")):
            runs = samples[with_gomask]
            cells[f"{name}_seconds"] = statistics.median(s[str(size)]["seconds"] for s in runs)
            cells[f"{name}_server_cpu"] = statistics.median(
                s[str(size)]["server_cpu"] for s in runs
            )
        rows.append({"size": size, "count": count, **cells})
    return {"library": library, "plan": integrations.describe(library)._asdict(), "rows": rows}


def _wsproto_pair() -> tuple[Any, Any, Any]:
    import wsproto
    import wsproto.events as events

    client = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    server = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
    server.receive_data(client.send(events.Request(host="127.0.0.1", target="/")))
    for event in server.events():
        if isinstance(event, events.Request):
            client.receive_data(server.send(events.AcceptConnection()))
    for _ in client.events():
        pass
    return client, server, events


def _wsproto_in_process_once(size: int, count: int) -> float:
    client, server, events = _wsproto_pair()
    data = os.urandom(size)
    piece = 256 * KiB
    received = 0
    start = time.perf_counter()
    for _ in range(count):
        wire = client.send(events.Message(data=data))
        view = memoryview(wire)
        for offset in range(0, len(wire), piece):
            server.receive_data(view[offset : offset + piece].tobytes())
            for event in server.events():
                received += len(event.data)
    elapsed = time.perf_counter() - start
    if received != size * count:
        raise RuntimeError(f"wsproto in process: received {received} of {size * count} bytes")
    return elapsed / count


def _wsproto_in_process(rounds: int, sizes: Sequence[tuple[int, int]]) -> dict[str, Any]:
    was_installed = "wsproto" in integrations.installed()
    samples: dict[bool, dict[int, list[float]]] = {False: {}, True: {}}
    try:
        for r in range(rounds):
            for with_gomask in (False, True) if r % 2 == 0 else (True, False):
                if with_gomask:
                    integrations.install("wsproto")
                else:
                    integrations.uninstall("wsproto")
                for size, count in sizes:
                    _wsproto_in_process_once(size, min(count, 3))  # warm up
                    seconds = _wsproto_in_process_once(size, count)
                    samples[with_gomask].setdefault(size, []).append(seconds)
    finally:
        if was_installed:
            integrations.install("wsproto")
        else:
            integrations.uninstall("wsproto")
    rows = [
        {
            "size": size,
            "count": count,
            "without_seconds": statistics.median(samples[False][size]),
            "with_seconds": statistics.median(samples[True][size]),
        }
        for size, count in sizes
    ]
    return {"library": "wsproto", "rows": rows}


def run_apps(
    rounds: int = 5,
    libraries: Sequence[str] | None = None,
    side: str = "both",
    sizes: Sequence[tuple[int, int]] = SIZES,
) -> dict[str, Any]:
    """Time every library in *libraries* (default: those installed) end to end,
    *rounds* rounds alternating with and without gomask, and wsproto in one
    process; returns the report :func:`print_apps` prints."""
    if side not in _SIDES:
        raise ValueError(f"side must be one of {_SIDES}, got {side!r}")
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    names = list(libraries) if libraries else [n for n in _peers.LIBRARIES if _available(n)]
    report: dict[str, Any] = {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "gomask": implementation(),
        "cpus": os.cpu_count(),
        "rounds": rounds,
        "side": side,
        "end_to_end": [],
        "in_process": [],
    }
    for name in names:
        report["end_to_end"].append(_end_to_end(name, rounds, side, sizes))
    if "wsproto" in names:
        report["in_process"].append(_wsproto_in_process(rounds, sizes))
    return report


def _speed(size: int, seconds: float) -> str:
    """Messages per second for small messages, else µs per message and MB/s."""
    if size < 4 * KiB:
        return f"{1 / seconds:>9,.0f} msg/s"
    return f"{seconds * 1e6:>9,.0f} µs {size / seconds / 1e6:>6,.0f} MB/s"


def print_apps(report: dict[str, Any]) -> None:
    """Print the report of :func:`run_apps` as tables."""
    where = {
        "both": "in the server and the client process",
        "server": "in the server process only (the client is plain)",
        "client": "in the client process only (the server is plain)",
    }[report["side"]]
    print(
        f"{report['python']}, gomask {report['gomask']}, {report['cpus']} CPUs; "
        f"medians of {report['rounds']} rounds, with and without gomask alternating."
    )
    print(f"With gomask: gomask.integrations.install(library) {where}.")
    print("Ratio: time per message with ÷ without gomask (below 1: faster with gomask).\n")
    if report["end_to_end"]:
        print("End to end over 127.0.0.1: binary message out, echo back, one at a time")
        header = (
            f"{'library':<11} {'size':>7}  {'without gomask':>25}  {'with gomask':>25}  "
            f"{'ratio':>5}  {'server CPU µs/msg':>19}  {'ratio':>5}"
        )
        print(header)
        print("-" * len(header))
        for entry in report["end_to_end"]:
            for row in entry["rows"]:
                size = row["size"]
                without, with_ = row["without_seconds"], row["with_seconds"]
                cpu_without, cpu_with = row["without_server_cpu"], row["with_server_cpu"]
                cpu_ratio = cpu_with / cpu_without if cpu_without > 0 else float("nan")
                print(
                    f"{entry['library']:<11} {_size(size):>7}  {_speed(size, without):>25}  "
                    f"{_speed(size, with_):>25}  {with_ / without:>5.2f}  "
                    f"{cpu_without * 1e6:>8,.0f} → {cpu_with * 1e6:>8,.0f}  {cpu_ratio:>5.2f}"
                )
            plan = entry["plan"]
            own = plan["native"] or "its own Python masker"
            if plan["min_size"] == 0:
                routed = "every frame to gomask"
            elif plan["min_size"] is None:
                routed = f"not patched: {plan['native']} is as fast as gomask at every size"
            else:
                routed = f"frames from {_size(plan['min_size'])} to gomask, smaller ones to {own}"
            note = f"; {plan['note']}" if plan["note"] else ""
            print(f"{'':<11} {plan['library']} {plan['version']}: {routed}{note}")
        print()
    for entry in report["in_process"]:
        print(f"{entry['library']} in one process: client send + server receive, µs per message")
        print(f"{'size':>7}  {'without':>10}  {'with':>10}  {'ratio':>5}")
        for row in entry["rows"]:
            without, with_ = row["without_seconds"], row["with_seconds"]
            print(
                f"{_size(row['size']):>7}  {without * 1e6:>10,.1f}  {with_ * 1e6:>10,.1f}  "
                f"{with_ / without:>5.2f}"
            )
        print()


def _parse_sizes(text: str) -> list[tuple[int, int]]:
    pairs = []
    for item in text.split(","):
        size, _, count = item.partition(":")
        pairs.append((int(size), int(count)))
    return pairs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gomask._bench_apps", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument(
        "--libraries", nargs="*", choices=_peers.LIBRARIES, help="default: those installed"
    )
    parser.add_argument("--side", choices=_SIDES, default="both", help="where gomask is installed")
    parser.add_argument("--sizes", help="SIZE:COUNT,... (default: 125:2000,65536:300,...)")
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    # The client process that run_apps starts.
    commands = parser.add_subparsers(dest="command")
    client = commands.add_parser("client", help=argparse.SUPPRESS)
    client.add_argument("library", choices=_peers.LIBRARIES)
    client.add_argument("port", type=int)
    client.add_argument("--sizes", required=True)
    client.add_argument("--gomask", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "client":
        return client_main(args.library, args.port, _parse_sizes(args.sizes), args.gomask)
    sizes = _parse_sizes(args.sizes) if args.sizes else SIZES
    report = run_apps(args.rounds, args.libraries, args.side, sizes)
    print_apps(report)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
