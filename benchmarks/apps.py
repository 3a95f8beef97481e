"""The WebSocket libraries timed end to end, with and without gomask.

For each library (websockets, wsproto, tornado, aiohttp, autobahn: those
installed), an echo server of that library runs in one process and a client
of the same library in another, over 127.0.0.1 (benchmarks/peers.py). The
client sends binary messages of 125 B, 64 KiB, 1 MiB and 16 MiB (and, with
``--more-sizes``, 1, 4 and 16 KiB), one at a time, and waits for each echo:

* back to back: the mean round trip (the client masks, the server unmasks,
  echoes, the client reads);
* with pauses (``--gaps``, default 0.3 and 1 ms): each message after the
  client has slept that long, as on a quiet connection; the median round
  trip.

Both ways, each process reports its CPU time per message, from
``time.process_time()`` over all its messages (and pauses): every thread of
the process, the Go runtime's included, which a back-to-back loop hides
(after a pause, a call into Go wakes the runtime's threads). The server
reports its CPU time on a query of the client.

"With gomask" runs ``gomask.integrations.install(library)`` (with
``--every-frame``: ``min_size=0``) in the processes chosen by ``--side``
(both, by default); "without" runs the libraries as installed, gomask not
imported. The two alternate, round by round, each with fresh processes;
every cell is the median over the rounds, and ratios are with ÷ without
(below 1: better with gomask).

wsproto, which has no I/O of its own, is also timed in one process: a
client ``WSConnection`` sends each message and a server ``WSConnection``
receives it in 256 KiB pieces, as from a socket (send + receive, no echo),
back to back and with the same pauses: wall time, and the process's CPU
time per message.

``--compression`` (websockets and wsproto only) has every connection
negotiate permessage-deflate (RFC 7692), as a websockets client and uvicorn's
and hypercorn's wsproto servers do by default: each message is compressed
before it is masked, and gomask masks the compressed bytes. The messages are
random bytes, which deflate cannot shrink: the cost of compressing, without
its gain.

    python benchmarks/apps.py [--rounds 5] [--libraries wsproto ...] [--side both|server|client]
        [--gaps 0.3,1] [--more-sizes] [--sizes SIZE:COUNT,...] [--compression] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: the harness is in this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import peers, timing
from benchmarks.timing import GAPS, KiB, MiB, gap_name, median_of, ratio, size_name

__all__ = ["MORE_SIZES", "SIZES", "print_apps", "run_apps"]

#: Message sizes, and the number of messages timed back to back per size and round.
SIZES: tuple[tuple[int, int], ...] = ((125, 2000), (64 * KiB, 300), (MiB, 40), (16 * MiB, 4))
#: Added by --more-sizes: sizes in between, for the thresholds of gomask.integrations.
MORE_SIZES: tuple[tuple[int, int], ...] = ((KiB, 1500), (4 * KiB, 1000), (16 * KiB, 600))
#: At most this many messages per size, round and pause.
PACED = 200
_SIDES = ("both", "server", "client")
_CLIENT_TIMEOUT = 900.0
_SCRIPT = Path(__file__).resolve()


def _available(library: str) -> bool:
    from gomask import integrations

    try:
        integrations.describe(library)
    except integrations.IntegrationError:
        return False
    return True


# --------------------------------------------------------------------------
# End to end: a server process and a client process.


def _client(
    library: str,
    port: int,
    mode: str,
    sizes: Sequence[tuple[int, int]],
    gaps: Sequence[float],
    paced: int,
    compression: bool,
) -> Any:
    """One client run in a subprocess; returns its per-size timings."""
    command = [sys.executable, str(_SCRIPT), "client", library, str(port), "--mode", mode]
    command += ["--sizes", _sizes_spec(sizes), "--paced", str(paced)]
    command += ["--gaps", ",".join(f"{gap * 1000:g}" for gap in gaps)]
    if compression:
        command.append("--compression")
    done = subprocess.run(command, capture_output=True, text=True, timeout=_CLIENT_TIMEOUT)
    if done.returncode:
        raise RuntimeError(f"{library} client failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def client_main(
    library: str,
    port: int,
    mode: str,
    sizes: Sequence[tuple[int, int]],
    gaps: Sequence[float],
    paced: int,
    compression: bool = False,
) -> int:
    """The client process: times the echoes of each size, prints JSON."""
    peers.apply_mode(library, mode)
    client = peers.connect(library, port, timeout=120, compression=compression)
    results: dict[str, Any] = {}
    try:
        for seed, (size, count) in enumerate(sizes):
            data = peers.make_message("b", size, seed)

            def exchange(data: peers.Message = data) -> None:
                client.exchange(data)

            for _ in range(min(count, 3)):
                if client.exchange(data) != data:
                    raise RuntimeError(f"{library}: the echo of {size} bytes differs")
            server_cpu = peers.cpu_of_server(client)
            seconds, client_cpu = timing.back_to_back(exchange, count)
            server_cpu = peers.cpu_of_server(client) - server_cpu
            row: dict[str, Any] = {
                "seconds": seconds,
                "client_cpu": client_cpu,
                "server_cpu": server_cpu / count,
                "paced": [],
            }
            number = min(count, paced)
            for gap in gaps:
                server_cpu = peers.cpu_of_server(client)
                done = timing.paced(exchange, gap, number)
                server_cpu = peers.cpu_of_server(client) - server_cpu
                row["paced"].append(
                    {
                        "count": number,
                        "latency": done.latency,
                        "client_cpu": done.cpu,
                        "server_cpu": server_cpu / number,
                        "slept": done.gap,
                    }
                )
            results[str(size)] = row
    finally:
        client.close()
    print(json.dumps(results), flush=True)
    return 0


def _end_to_end(
    library: str,
    rounds: int,
    side: str,
    sizes: Sequence[tuple[int, int]],
    gaps: Sequence[float],
    paced: int,
    every_frame: bool,
    compression: bool,
) -> dict[str, Any]:
    from gomask import integrations

    # Fresh processes for every run, so that no difference between two
    # long-lived processes (memory layout, the CPU they run on) biases every
    # round the same way.
    gomask_mode = "gomask-all" if every_frame else "gomask"
    samples: dict[bool, list[Any]] = {False: [], True: []}
    for r in range(rounds):
        for with_gomask in (False, True) if r % 2 == 0 else (True, False):
            mode = gomask_mode if with_gomask else "plain"
            server_mode = mode if side in ("both", "server") else "plain"
            client_mode = mode if side in ("both", "client") else "plain"
            server = peers.Server(library, server_mode, lifetime=3600, compression=compression)
            try:
                result = _client(library, server.port, client_mode, sizes, gaps, paced, compression)
            finally:
                server.stop()
            samples[with_gomask].append(result)
    rows = []
    for size, count in sizes:
        runs = {g: [s[str(size)] for s in samples[g]] for g in (False, True)}
        row: dict[str, Any] = {"size": size, "count": count}
        row.update(_medians(runs, ("seconds", "server_cpu", "client_cpu")))
        row["paced"] = [
            {
                "gap": gap,
                "count": runs[True][0]["paced"][i]["count"],
                **_medians(
                    {g: [run["paced"][i] for run in runs[g]] for g in runs},
                    ("latency", "server_cpu", "client_cpu", "slept"),
                ),
            }
            for i, gap in enumerate(gaps)
        ]
        rows.append(row)
    plan = integrations.describe(library, min_size=0 if every_frame else None)
    return {"library": library, "plan": plan._asdict(), "rows": rows}


def _medians(runs: dict[bool, list[dict[str, Any]]], keys: Sequence[str]) -> dict[str, float]:
    """``without_KEY`` and ``with_KEY``: the median of KEY over the runs."""
    return {
        f"{'with' if g else 'without'}_{key}": median_of(runs[g], key)
        for g in (False, True)
        for key in keys
    }


# --------------------------------------------------------------------------
# wsproto in one process.


def _wsproto_send_receive(data: bytes, compression: bool = False) -> Callable[[], None]:
    """A call that sends *data* from a client WSConnection and receives it
    in a server WSConnection, in 256 KiB pieces (*compression*: with
    permessage-deflate)."""
    import wsproto
    import wsproto.events as events
    from wsproto.extensions import PerMessageDeflate

    def extensions() -> list[Any]:
        return [PerMessageDeflate()] if compression else []

    client = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    server = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
    request = events.Request(host=peers.HOST, target="/", extensions=extensions())
    server.receive_data(client.send(request))
    for event in server.events():
        if isinstance(event, events.Request):
            accept = events.AcceptConnection(extensions=extensions())
            client.receive_data(server.send(accept))
    for _ in client.events():
        pass
    piece = 256 * KiB

    def send_receive() -> None:
        wire = client.send(events.Message(data=data))
        view = memoryview(wire)
        received = 0
        for offset in range(0, len(wire), piece):
            server.receive_data(view[offset : offset + piece].tobytes())
            for event in server.events():
                received += len(event.data)  # type: ignore[attr-defined]
        if received != len(data):
            raise RuntimeError(f"wsproto in process: received {received} of {len(data)} bytes")

    return send_receive


def _wsproto_in_process(
    rounds: int,
    sizes: Sequence[tuple[int, int]],
    gaps: Sequence[float],
    paced: int,
    every_frame: bool,
    compression: bool,
) -> dict[str, Any]:
    from gomask import integrations

    was_installed = "wsproto" in integrations.installed()
    samples: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    try:
        for r in range(rounds):
            for with_gomask in (False, True) if r % 2 == 0 else (True, False):
                if with_gomask:
                    integrations.install("wsproto", min_size=0 if every_frame else None)
                else:
                    integrations.uninstall("wsproto")
                result = {}
                for seed, (size, count) in enumerate(sizes):
                    data = peers.make_message("b", size, seed)
                    assert isinstance(data, bytes)
                    call = _wsproto_send_receive(data, compression)
                    timing.back_to_back(call, min(count, 3))  # warm up
                    seconds, cpu = timing.back_to_back(call, count)
                    number = min(count, paced)
                    done = [timing.paced(call, gap, number) for gap in gaps]
                    result[str(size)] = {
                        "seconds": seconds,
                        "cpu": cpu,
                        "paced": [
                            {"count": number, "latency": d.latency, "cpu": d.cpu, "slept": d.gap}
                            for d in done
                        ],
                    }
                samples[with_gomask].append(result)
    finally:
        if was_installed:
            integrations.install("wsproto")
        else:
            integrations.uninstall("wsproto")
    rows = []
    for size, count in sizes:
        runs = {g: [s[str(size)] for s in samples[g]] for g in (False, True)}
        row: dict[str, Any] = {"size": size, "count": count, **_medians(runs, ("seconds", "cpu"))}
        row["paced"] = [
            {
                "gap": gap,
                "count": runs[True][0]["paced"][i]["count"],
                **_medians(
                    {g: [run["paced"][i] for run in runs[g]] for g in runs},
                    ("latency", "cpu", "slept"),
                ),
            }
            for i, gap in enumerate(gaps)
        ]
        rows.append(row)
    return {"library": "wsproto", "rows": rows}


def run_apps(
    rounds: int = 5,
    libraries: Sequence[str] | None = None,
    side: str = "both",
    sizes: Sequence[tuple[int, int]] = SIZES,
    gaps: Sequence[float] = GAPS,
    paced: int = PACED,
    every_frame: bool = False,
    compression: bool = False,
) -> dict[str, Any]:
    """Time every library in *libraries* (default: those installed) end to end,
    *rounds* rounds alternating with and without gomask, back to back and
    after each pause of *gaps* (seconds; at most *paced* messages each), and
    wsproto in one process; with permessage-deflate if *compression*;
    returns the report :func:`print_apps` prints."""
    from gomask.mask import implementation

    if side not in _SIDES:
        raise ValueError(f"side must be one of {_SIDES}, got {side!r}")
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    if paced < 1 or any(gap < 0 for gap in gaps):
        raise ValueError("paced must be at least 1, and gaps not negative")
    names = list(libraries) if libraries else [n for n in peers.LIBRARIES if _available(n)]
    if compression:
        if not libraries:
            names = [n for n in names if n in peers.COMPRESSING]
        for name in names:
            peers.check_compression(name, compression)
    report: dict[str, Any] = {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "gomask": implementation(),
        "cpus": os.cpu_count(),
        "rounds": rounds,
        "side": side,
        "every_frame": every_frame,
        "compression": compression,
        "gaps": list(gaps),
        "end_to_end": [],
        "in_process": [],
    }
    for name in names:
        report["end_to_end"].append(
            _end_to_end(name, rounds, side, sizes, gaps, paced, every_frame, compression)
        )
    if "wsproto" in names:
        report["in_process"].append(
            _wsproto_in_process(rounds, sizes, gaps, paced, every_frame, compression)
        )
    return report


# --------------------------------------------------------------------------
# The report as tables.


def _speed(size: int, seconds: float) -> str:
    """Messages per second for small messages, else MB/s."""
    if size < 4 * KiB:
        return f"{1 / seconds:>9,.0f} msg/s"
    return f"{size / seconds / 1e6:>9,.0f} MB/s"


def _cells(row: dict[str, Any], key: str) -> str:
    """without, with (µs) and their ratio."""
    without, with_ = row[f"without_{key}"], row[f"with_{key}"]
    return f"{without * 1e6:>9,.1f} {with_ * 1e6:>9,.1f} {ratio(with_, without):>5.2f}"


def _routing(plan: dict[str, Any]) -> str:
    own = plan["native"] or "its own Python masker"
    if plan["min_size"] == 0:
        routed = "every frame to gomask"
    elif plan["min_size"] is None:
        routed = f"not patched: {plan['native']} is as fast as gomask at every size"
    else:
        routed = f"frames from {size_name(plan['min_size'])} to gomask, smaller ones to {own}"
    note = f"; {plan['note']}" if plan["note"] else ""
    return f"{plan['library']} {plan['version']}: {routed}{note}"


def _table(
    title: str, rows: list[dict[str, Any]], groups: Sequence[tuple[str, str, str]], speed: bool
) -> None:
    """One row per size back to back (*groups*: (heading, key back to back,
    key with pauses)), then one per pause."""
    print(title)
    group = f"{'without':>9} {'with':>9} {'ratio':>5}"
    print(f"{'':>7}  {'':<12}" + "".join(f"  {heading:^25}" for heading, _, _ in groups))
    header = f"{'size':>7}  {'messages':<12}" + f"  {group}" * len(groups)
    print(header + (f"  {'with gomask':>15}" if speed else ""))
    print("-" * (len(header) + (17 if speed else 0)))
    for row in rows:
        size = row["size"]
        line = f"{size_name(size):>7}  {'back to back':<12}"
        line += "".join(f"  {_cells(row, key)}" for _, key, _ in groups)
        print(line + (f"  {_speed(size, row['with_seconds']):>15}" if speed else ""))
        for paced in row["paced"]:
            line = f"{'':>7}  {'gap ' + gap_name(paced['gap']):<12}"
            print(line + "".join(f"  {_cells(paced, key)}" for _, _, key in groups))


def print_apps(report: dict[str, Any]) -> None:
    """Print the report of :func:`run_apps` as tables, one per library."""
    where = {
        "both": "in the server and the client process",
        "server": "in the server process only (the client is plain)",
        "client": "in the client process only (the server is plain)",
    }[report["side"]]
    call = "install(library, min_size=0)" if report["every_frame"] else "install(library)"
    print(
        f"{report['python']}, gomask {report['gomask']}, {report['cpus']} CPUs; "
        f"medians of {report['rounds']} rounds, with and without gomask alternating."
    )
    print(f"With gomask: gomask.integrations.{call} {where}.")
    if report.get("compression"):
        print(
            "permessage-deflate on every connection: messages (random bytes) are compressed,\n"
            "and gomask masks the compressed bytes."
        )
    print(
        "µs per message; ratio: with ÷ without gomask (below 1: better with gomask).\n"
        "Round trip: the mean back to back, the median with pauses (each message after a\n"
        "sleep of the gap). CPU: time.process_time() of each process (every thread, the Go\n"
        "runtime's too) over its messages and pauses, per message.\n"
    )
    for entry in report["end_to_end"]:
        _table(
            f"{entry['library']}: end to end over 127.0.0.1, binary message out, echo back",
            entry["rows"],
            [
                ("round trip", "seconds", "latency"),
                ("server CPU", "server_cpu", "server_cpu"),
                ("client CPU", "client_cpu", "client_cpu"),
            ],
            speed=True,
        )
        print(_routing(entry["plan"]) + "\n")
    for entry in report["in_process"]:
        _table(
            f"{entry['library']} in one process: client send + server receive (no echo)",
            entry["rows"],
            [("wall time", "seconds", "latency"), ("process CPU", "cpu", "cpu")],
            speed=False,
        )
        print()


def _parse_sizes(text: str) -> list[tuple[int, int]]:
    pairs = []
    for item in text.split(","):
        size, _, count = item.partition(":")
        pairs.append((int(size), int(count)))
    return pairs


def _sizes_spec(sizes: Sequence[tuple[int, int]]) -> str:
    return ",".join(f"{size}:{count}" for size, count in sizes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/apps.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument(
        "--libraries", nargs="*", choices=peers.LIBRARIES, help="default: those installed"
    )
    parser.add_argument("--side", choices=_SIDES, default="both", help="where gomask is installed")
    parser.add_argument("--sizes", help=f"SIZE:COUNT,... (default {_sizes_spec(SIZES)})")
    parser.add_argument("--more-sizes", action="store_true", help=f"add {_sizes_spec(MORE_SIZES)}")
    parser.add_argument(
        "--gaps", default="0.3,1", help="pauses between messages, ms (default 0.3,1; '': none)"
    )
    parser.add_argument(
        "--paced", type=int, default=PACED, help=f"messages per pause at most (default {PACED})"
    )
    parser.add_argument(
        "--every-frame", action="store_true", help="with gomask: install(library, min_size=0)"
    )
    parser.add_argument(
        "--compression",
        action="store_true",
        help=f"permessage-deflate on every connection ({', '.join(peers.COMPRESSING)} only)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    # The client process that run_apps starts.
    commands = parser.add_subparsers(dest="command")
    client = commands.add_parser("client", help=argparse.SUPPRESS)
    client.add_argument("library", choices=peers.LIBRARIES)
    client.add_argument("port", type=int)
    client.add_argument("--mode", choices=peers.MODES, required=True)
    client.add_argument("--sizes", required=True)
    client.add_argument("--gaps", required=True)
    client.add_argument("--paced", type=int, required=True)
    client.add_argument("--compression", action="store_true")
    args = parser.parse_args(argv)
    gaps = timing.parse_gaps(args.gaps)
    if args.command == "client":
        sizes = _parse_sizes(args.sizes)
        return client_main(
            args.library, args.port, args.mode, sizes, gaps, args.paced, args.compression
        )
    sizes = _parse_sizes(args.sizes) if args.sizes else list(SIZES)
    if args.more_sizes:
        sizes = sorted({**dict(MORE_SIZES), **dict(sizes)}.items())
    report = run_apps(
        args.rounds,
        args.libraries,
        args.side,
        sizes,
        gaps,
        args.paced,
        args.every_frame,
        args.compression,
    )
    print_apps(report)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
