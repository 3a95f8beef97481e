"""The command line of gomask: ``python -m gomask info``, ``python -m gomask bench`` and
``python -m gomask --version``."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Sequence

import gomask
import gomask.mask as gomask_mask
from gomask import _native

DESCRIPTION = "gomask masks WebSocket payloads (RFC 6455) in Go, called from Python."


def info() -> int:
    """Print what is installed and how masking runs; 1 if the Go library
    this gomask needs cannot be loaded (the reason goes to standard error)."""
    rows: list[tuple[str, object]] = [
        ("gomask", gomask.__version__),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("platform", f"{sys.platform} {platform.machine()}"),
    ]
    if hasattr(sys, "_is_gil_enabled"):
        rows.append(("gil", "enabled" if sys._is_gil_enabled() else "disabled"))
    rows.append(("implementation", gomask_mask.implementation()))
    error = None
    if _native.PURE_REASON is not None:
        rows.append(("why", _native.PURE_REASON))
    else:
        source = f"${_native.LIBRARY_ENV}" if os.environ.get(_native.LIBRARY_ENV) else "packaged"
        rows.append(("library", f"{_native.library_path()} ({source})"))
        try:
            build = _native.library().build_info()
        except ImportError as exc:
            error = str(exc)
        else:
            parallel = gomask_mask.get_parallelism()
            rows += [
                ("library version", build.get("version")),
                ("library abi", build.get("abi")),
                ("go version", build.get("go_version")),
                ("go target", f"{build.get('goos')}/{build.get('goarch')}"),
                ("mask kernel", build.get("mask_kernel")),
                ("GOMAXPROCS", build.get("max_procs")),
                ("gil released from", f"{gomask_mask.GIL_RELEASE_THRESHOLD} bytes"),
                ("split from", f"{parallel.threshold} bytes, over {parallel.workers} goroutines"),
            ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    if error is not None:
        sys.stdout.flush()
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from gomask import _bench

    parser = argparse.ArgumentParser(
        prog="python -m gomask",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gomask {gomask.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    commands.add_parser("info", help="versions, the Go library, and how calls reach it")
    bench_parser = commands.add_parser(
        "bench",
        help="gomask timed against plain Python and the WebSocket libraries",
        description=(_bench.__doc__ or "").split("\n\n", 1)[-1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _bench.add_arguments(bench_parser)
    args = parser.parse_args(argv)
    if args.command == "info":
        return info()
    return _bench.run(args)


def _run() -> int:
    """main(), ending quietly when the reader of the output goes away
    (``python -m gomask info | head -1``)."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at the null device,
        # so that nothing more is written to the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(_run())
