"""``python -m gomask info`` and ``python -m gomask bench``."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Sequence

import gomask
from gomask import _native
import gomask.mask as gomask_mask


def info() -> int:
    """Print what is installed and which implementation is active."""
    rows: list[tuple[str, object]] = [
        ("gomask", gomask.__version__),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("platform", f"{sys.platform} {platform.machine()}"),
        ("implementation", gomask_mask.implementation()),
        ("library", _native.library_path()),
    ]
    if os.environ.get(_native.LIBRARY_ENV):
        rows.append(("library source", f"${_native.LIBRARY_ENV}"))
    status = 0
    try:
        lib = _native.library()
    except ImportError as exc:
        rows.append(("library status", f"NOT LOADABLE: {exc}"))
        status = 0 if gomask_mask.implementation() == "python" else 1
    else:
        build = lib.build_info()
        rows += [
            ("library version", build.get("version")),
            ("library abi", build.get("abi")),
            ("go version", build.get("go_version")),
            ("go target", f"{build.get('goos')}/{build.get('goarch')}"),
            ("go max procs", build.get("max_procs")),
            ("mask kernel", build.get("mask_kernel")),
            ("go max workers", build.get("max_workers")),
            ("uncached copies from", f"{build.get('stream_threshold')} bytes"),
        ]
    parallel = gomask_mask.get_parallelism()
    rows += [
        ("gil released from", f"{gomask_mask.GIL_RELEASE_THRESHOLD} bytes"),
        (
            "parallel from",
            f"{parallel.threshold} bytes, up to {parallel.workers} goroutines",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return status


def _bench_description() -> str:
    from gomask import _bench

    return (_bench.__doc__ or "").split("\n\n", 1)[-1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gomask", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="show version, library, Go version and active implementation")
    bench_parser = commands.add_parser(
        "bench",
        help="benchmark Go calls against native Python (the demo's table), or, with --peers "
        "and --threads, masking against websockets, aiohttp and wsproto",
        description=_bench_description(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from gomask import _bench

    _bench.add_arguments(bench_parser)
    args = parser.parse_args(argv)
    if args.command == "info":
        return info()
    return _bench.run(args)


if __name__ == "__main__":
    sys.exit(main())
