"""Plots of a ``python benchmarks/maskers.py --json`` report (formerly
``python -m gomask bench --plot``): throughput against payload size into
FILE.png, and gomask ÷ each library's masker against size, with a line at 1,
into FILE-ratio.png. Needs matplotlib (the ``bench`` extra has it).

    python benchmarks/maskers.py --json > report.json
    python benchmarks/plot.py report.json throughput.png
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gomask._bench import progress, size_name


def plot(report: dict[str, Any], path: str) -> list[Path]:
    """Throughput against payload size into *path*, and gomask ÷ each
    library against size, with a line at 1, beside it (``-ratio``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    peers = report["peers"]
    m = report["machine"]
    title = (
        f"{m['cpu']}, {m['cpus']} CPUs, {m['platform']}, {m['python']}, "
        f"Go {m.get('go')} ({m.get('mask_kernel')} kernel)"
    )
    ticks = [int(s) for s in peers["seconds"]]
    labels = [size_name(s).replace(" ", "") for s in ticks]
    out = Path(path)
    ratio_path = out.with_name(f"{out.stem}-ratio{out.suffix or '.png'}")

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for name in peers["implementations"]:
        points = [
            (int(size), int(size) / row[name] / 1e9)
            for size, row in peers["seconds"].items()
            if name in row
        ]
        style = "-" if name.startswith("gomask") else "--"
        ax.plot(*zip(*points, strict=True), style, marker="o", markersize=3, label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(ticks, labels, rotation=45)
    ax.set_xlabel("payload size")
    ax.set_ylabel("throughput (GB/s, higher is better)")
    ax.set_title(f"WebSocket masking throughput\n{title}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for name, im in peers["implementations"].items():
        if not im["versus"]:
            continue
        points = [
            (int(size), row[im["versus"]] / row[name])
            for size, row in peers["seconds"].items()
            if name in row and im["versus"] in row
        ]
        ax.plot(
            *zip(*points, strict=True), marker="o", markersize=3, label=f"{im['versus']} ÷ {name}"
        )
    ax.axhline(1.0, color="black", linewidth=1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(ticks, labels, rotation=45)
    ax.set_xlabel("payload size")
    ax.set_ylabel("gomask time ÷ library time (below 1: gomask is faster)")
    ax.set_title(f"gomask against each library's masker\n{title}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(ratio_path)
    plt.close(fig)
    return [out, ratio_path]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/plot.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("report", help="the JSON of python benchmarks/maskers.py --json")
    parser.add_argument("out", metavar="FILE.png", help="the throughput plot (and FILE-ratio.png)")
    args = parser.parse_args(argv)
    try:
        report = json.loads(Path(args.report).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        parser.exit(2, f"cannot read {args.report}: {exc}\n")
    if not isinstance(report, dict) or "peers" not in report:
        parser.exit(2, f"{args.report} has no peers: make it with benchmarks/maskers.py --json\n")
    try:
        importlib.import_module("matplotlib")
    except ImportError:
        parser.exit(2, "plot.py needs matplotlib: pip install matplotlib (or gomask[bench])\n")
    for path in plot(report, args.out):
        progress(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
