"""The Autobahn|Testsuite against every library gomask patches, with and without gomask.

    python compliance/run.py                       # the core and deflate cases (.ci/run's)
    python compliance/run.py --cases all           # every case, 9.* (performance) too
    python compliance/run.py --testees wsproto --roles server --cases 1.*,12.1.*

For each testee (compliance/testee.py: a library's echo server or client)
and role, three runs: gomask off (the library's own masker), ``install(min_size=0)``
(every frame through gomask) and ``install()`` (gomask's thresholds). A
server is tested by ``wstest -m fuzzingclient``, a client against
``wstest -m fuzzingserver``, on 127.0.0.1, each on a free port, every process
ended at the end of its run. wstest is provided by scripts/wstest.sh
(CPython 2.7 and autobahntestsuite, once, then reused).

It fails (exit 1) if any case's behavior or behaviorClose (wstest's verdicts
in its JSON report) differs between the three runs of a testee, if a run
reports a different set of cases, or if a gomask run did not reach gomask:
with ``min_size=0`` integrations.stats() must count frames masked by gomask;
with ``install()``, wherever install() patched the library (it leaves those
whose C masker it was not measured faster than alone: that run is then the
library's own, and must show that). A case a library fails in all three
runs is the library's own result: counted, listed, not a failure of gomask.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TESTEES = (
    "wsproto",
    "websockets-asyncio",
    "websockets-sansio",
    "websockets-legacy",
    "tornado",
    "aiohttp",
    "autobahn",
)
MODES = ("off", "all", "default")
MODE_LABEL = {"off": "without gomask", "all": "install(min_size=0)", "default": "install()"}
# wstest's case patterns: "*" is any text, and a pattern matches any case id
# it begins (so "12.1.1" is written as an id, never a pattern: "12.1.1*" would
# take 12.1.10-18 too).
DEFLATE_SECTIONS = [f"12.{n}" for n in range(1, 6)] + [f"13.{n}" for n in range(1, 8)]
CASE_SETS = {
    # Framing, pings, reserved bits, opcodes, fragmentation, UTF-8, closing,
    # and 10.1.1: 247 cases, ~10 s a run.
    "core": ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"],
    # permessage-deflate, every section (text, binary, each negotiated
    # parameter) with its 1000 messages of 16 B and of 1 KiB: 24 cases, ~30 s
    # a run. Each section goes on to 128 KiB messages, whose cases take up to
    # a minute each (wstest masks in pure Python on 2.7): "deflate-all".
    "deflate": [f"{section}.{m}" for section in DEFLATE_SECTIONS for m in (1, 4)],
    "deflate-all": ["12.*", "13.*"],
    # Limits and performance: messages and frames up to 16 MiB, 54 cases.
    "performance": ["9.*"],
    "all": ["*"],
}
VERDICTS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
AGAIN = 3  # runs again of the cases that differed
RUN_TIMEOUT = 1800  # seconds, one wstest run: far above any measured


def log(message: str) -> None:
    print(f"compliance: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port} after {timeout} s")


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def testee_env(testee: str) -> dict[str, str]:
    env = dict(os.environ)
    if testee == "aiohttp":
        # aiohttp's pure-Python reader and writer: its compiled reader calls
        # its Cython masker through a cimport, which gomask cannot patch.
        env["AIOHTTP_NO_EXTENSIONS"] = "1"
    return env


def read_port(process: subprocess.Popen[str], timeout: float) -> int:
    assert process.stdout is not None
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise RuntimeError(f"the testee gave no port in {timeout} s")
    line = process.stdout.readline()
    if not line.startswith("port "):
        raise RuntimeError(f"the testee gave no port: {line!r} (exit {process.poll()})")
    return int(line.split()[1])


def one_run(
    wstest: str, testee: str, role: str, mode: str, cases: list[str], work: Path
) -> dict[str, Any]:
    """wstest's verdicts {case: [behavior, behaviorClose]} and what gomask saw."""
    work.mkdir(parents=True)
    out = work / "reports"
    stats = work / "stats.json"
    command = [sys.executable, str(HERE / "testee.py"), testee, role, "--gomask", mode]
    command += ["--stats", str(stats)]
    started = time.monotonic()
    with open(work / "wstest.log", "w") as wstest_log, open(work / "testee.log", "w") as testee_log:
        if role == "server":
            server = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=testee_log,
                text=True,
                env=testee_env(testee),
            )
            try:
                port = read_port(server, 60)
                spec = {
                    "outdir": str(out),
                    "servers": [{"agent": testee, "url": f"ws://127.0.0.1:{port}"}],
                    "cases": cases,
                    "exclude-cases": [],
                    "exclude-agent-cases": {},
                }
                (work / "spec.json").write_text(json.dumps(spec))
                subprocess.run(
                    [wstest, "-m", "fuzzingclient", "-s", "spec.json"],
                    cwd=work, stdout=wstest_log, stderr=subprocess.STDOUT,
                    timeout=RUN_TIMEOUT, check=True,
                )  # fmt: skip
            finally:
                stop(server)
            if server.returncode != 0:
                raise RuntimeError(f"the server exited with {server.returncode}: see {work}")
        else:
            port = free_port()
            spec = {"url": f"ws://127.0.0.1:{port}", "outdir": str(out), "cases": cases,
                    "exclude-cases": [], "exclude-agent-cases": {}}  # fmt: skip
            (work / "spec.json").write_text(json.dumps(spec))
            fuzzer = subprocess.Popen(
                [wstest, "-m", "fuzzingserver", "-s", "spec.json", "-u", "0"],
                cwd=work, stdout=wstest_log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                wait_listening(port, fuzzer, 60)
                subprocess.run(
                    [*command, "--url", f"ws://127.0.0.1:{port}"],
                    stdout=testee_log, stderr=subprocess.STDOUT, env=testee_env(testee),
                    timeout=RUN_TIMEOUT, check=True,
                )  # fmt: skip
            finally:
                stop(fuzzer)
    index = json.loads((out / "index.json").read_text())
    verdicts = {
        case: [result["behavior"], result["behaviorClose"]]
        for case, result in index[testee].items()
    }
    return {
        "verdicts": verdicts,
        "gomask": json.loads(stats.read_text()),
        "seconds": round(time.monotonic() - started, 1),
    }


def case_key(case: str) -> tuple[int, ...]:
    return tuple(int(part) for part in case.split("."))


def same_outcome(a: list[str] | None, b: list[str] | None) -> bool:
    """The same verdicts, or OK and NON-STRICT with the same close.

    Where wstest accepts a case both ways (OK: the echo of a message came
    before the connection failed on the frame after it; NON-STRICT: it did
    not), which one a run gets depends on how the event loop orders the echo
    and the parsing of the next octets, which wstest sends one at a time in
    3.4, 4.1.5, 4.2.5: the race goes either way with gomask and without
    (it did in the first measurements, with install() leaving websockets
    unpatched). A wrong masker changes the echo's payload or the close: FAILED.
    """
    if a is None or b is None:
        return a is b
    return a == b or (a[1] == b[1] and {a[0], b[0]} == {"OK", "NON-STRICT"})


def differing(runs: dict[str, dict[str, Any]], exact: bool = False) -> list[str]:
    """The cases whose verdicts differ between the three runs (*exact*: OK and NON-STRICT too)."""
    reference = runs["off"]["verdicts"]
    cases = {
        case
        for mode in ("all", "default")
        for case, verdict in runs[mode]["verdicts"].items()
        if (
            reference.get(case) != verdict
            if exact
            else not same_outcome(reference.get(case), verdict)
        )
    }
    return sorted(cases, key=case_key)


Seen = dict[str, dict[str, list[list[str]]]]  # run -> case -> every verdict it gave


def overlap(seen: Seen, mode: str, case: str) -> bool:
    """Whether *mode*, run again, gave a verdict that the library gave without gomask too."""
    with_gomask = {tuple(v) for v in seen.get(mode, {}).get(case, [])}
    return bool(with_gomask & {tuple(v) for v in seen.get("off", {}).get(case, [])})


def check(testee: str, role: str, runs: dict[str, dict[str, Any]], seen: Seen) -> list[str]:
    """What is wrong with the three runs of one testee and role: nothing, if they agree.

    *seen* holds, for each case that differed, every verdict that each run
    gave when run again: a case whose verdict depends on how TCP delivers the
    octets that wstest sends one at a time varies from run to run, with gomask
    and without. Such a case passes if the gomask run, run again, gives a
    verdict that the run without gomask gives too; a wrong masker changes a
    verdict every time.
    """
    problems = []
    label = f"{testee} {role}"
    reference = runs["off"]["verdicts"]
    for mode in ("all", "default"):
        verdicts = runs[mode]["verdicts"]
        if set(verdicts) != set(reference):
            problems.append(f"{label}: {mode} ran other cases than off")
        for case in sorted(set(verdicts) & set(reference), key=case_key):
            if not same_outcome(verdicts[case], reference[case]) and not overlap(seen, mode, case):
                problems.append(
                    f"{label}: case {case}: {MODE_LABEL[mode]} "
                    f"{seen.get(mode, {}).get(case, [verdicts[case]])}, "
                    f"without gomask {seen.get('off', {}).get(case, [reference[case]])}"
                )
    library = runs["off"]["gomask"]["library"]
    seen = runs["all"]["gomask"]
    if library not in seen["installed"] or not (seen["stats"] or {}).get("gomask_calls"):
        problems.append(f"{label}: install(min_size=0) masked no frame with gomask: {seen}")
    seen = runs["default"]["gomask"]
    if library in seen["installed"]:
        if not (seen["stats"] or {}).get("gomask_calls"):
            problems.append(f"{label}: install() patched {library}, gomask masked nothing: {seen}")
    elif seen["stats"] is not None:
        problems.append(f"{label}: install() left {library} alone, yet it has stats: {seen}")
    return problems


def summary_row(
    testee: str, role: str, runs: dict[str, dict[str, Any]], varies: int, differs: bool
) -> str:
    counts = Counter(v[0] for v in runs["off"]["verdicts"].values())
    counts_close = Counter(v[1] for v in runs["off"]["verdicts"].values())
    cells = [str(counts.get(v, 0)) for v in VERDICTS]
    others = sorted(set(counts) - set(VERDICTS))
    if others:
        cells[-1] += " (+" + ", ".join(f"{counts[o]} {o}" for o in others) + ")"
    agree = "yes" if varies == 0 else f"yes; {varies} vary on their own"
    agree = "NO" if differs else agree
    gomask = []
    for mode in ("all", "default"):
        seen = runs[mode]["gomask"]
        calls = (seen["stats"] or {}).get("gomask_calls")
        gomask.append(f"{calls:,}" if seen["library"] in seen["installed"] else "not patched")
    close_ok = counts_close.get("OK", 0)
    return (
        f"| {testee} | {role} | {len(runs['off']['verdicts'])} | "
        + " | ".join(cells)
        + f" | {close_ok} | {agree} | {gomask[0]} | {gomask[1]} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cases", default="core,deflate",
        help=f"comma-separated sets ({', '.join(CASE_SETS)}) or wstest case patterns "
        "(default: core,deflate)",
    )  # fmt: skip
    parser.add_argument("--testees", default=",".join(TESTEES), help="comma-separated")
    parser.add_argument("--roles", default="server,client", help="comma-separated")
    parser.add_argument("--wstest", help="wstest to use (default: scripts/wstest.sh's)")
    parser.add_argument("--json", help="write every verdict and count to this file")
    parser.add_argument("--keep", help="keep wstest's reports and logs in this directory")
    parser.add_argument(
        "--jobs", type=int, default=2,
        help="runs at the same time (default 2: each run is two processes, mostly one busy)",
    )  # fmt: skip
    args = parser.parse_args()

    cases: list[str] = []
    for item in args.cases.split(","):
        cases += CASE_SETS.get(item, [item])
    testees = args.testees.split(",")
    roles = args.roles.split(",")
    for testee in testees:
        if testee not in TESTEES:
            parser.error(f"unknown testee {testee}: one of {', '.join(TESTEES)}")
    wstest = args.wstest or subprocess.run(
        ["bash", str(ROOT / "scripts" / "wstest.sh")],
        stdout=subprocess.PIPE, text=True, check=True,
    ).stdout.splitlines()[-1]  # fmt: skip

    started = time.monotonic()
    keep = Path(args.keep) if args.keep else None
    work = Path(tempfile.mkdtemp(prefix="gomask-compliance-")) if keep is None else keep
    problems: list[str] = []
    rows: list[str] = []
    results: dict[str, Any] = {"cases": cases, "runs": {}}

    def run(testee: str, role: str, mode: str) -> dict[str, Any]:
        result = one_run(wstest, testee, role, mode, cases, work / f"{testee}-{role}-{mode}")
        seen = result["gomask"]
        log(
            f"{testee} {role}, {MODE_LABEL[mode]}: {len(result['verdicts'])} cases "
            f"in {result['seconds']} s; gomask {seen['installed']} {seen['stats']}"
        )
        return result

    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = {
            (testee, role, mode): pool.submit(run, testee, role, mode)
            for testee in testees
            for role in roles
            for mode in MODES
        }
    for testee in testees:
        for role in roles:
            runs = {mode: futures[testee, role, mode].result() for mode in MODES}
            # The cases that differ are run again, in the three runs, up to
            # AGAIN times, until each gomask run gives a verdict that the
            # run without gomask gives too (see check()).
            again = differing(runs)
            seen: Seen = {
                mode: {case: [runs[mode]["verdicts"][case]] for case in again} for mode in MODES
            }
            for attempt in range(AGAIN if again else 0):
                log(f"{testee} {role}: again ({attempt + 1}): {' '.join(again)}")
                for mode in MODES:
                    rerun = one_run(
                        wstest, testee, role, mode, again,
                        work / f"{testee}-{role}-{mode}-again{attempt}",
                    )  # fmt: skip
                    for case, verdict in rerun["verdicts"].items():
                        if verdict not in seen[mode][case]:
                            seen[mode][case].append(verdict)
                if not check(testee, role, runs, seen):
                    break
            varies = [case for case in again if len(seen["off"][case]) > 1 or any(
                overlap(seen, mode, case) for mode in ("all", "default"))]  # fmt: skip
            if varies:
                log(
                    f"{testee} {role}: vary from run to run, without gomask too: "
                    + ", ".join(f"{case} {seen['off'][case]}" for case in varies)
                )
            races = [case for case in differing(runs, exact=True) if case not in again]
            if races:
                log(
                    f"{testee} {role}: OK in one run, NON-STRICT in another (accepted both ways): "
                    + ", ".join(races)
                )
            varies += races
            for mode in MODES:
                runs[mode]["again"] = seen[mode]
            found = check(testee, role, runs, seen)
            for problem in found:
                log(f"DIFFERS: {problem}")
            problems += found
            rows.append(summary_row(testee, role, runs, len(varies), bool(found)))
            results["runs"][f"{testee} {role}"] = runs
            own = sorted(
                (
                    c
                    for c, v in runs["off"]["verdicts"].items()
                    if v[0] not in ("OK", "INFORMATIONAL", "NON-STRICT")
                ),
                key=case_key,
            )
            if own:
                log(
                    f"{testee} {role}: the library's own (without gomask too): "
                    + ", ".join(f"{c} {runs['off']['verdicts'][c][0]}" for c in own)
                )
    if keep is None:
        import shutil

        shutil.rmtree(work, ignore_errors=True)

    print(
        f"cases: {' '.join(cases)}; the verdicts of the runs without gomask, "
        "which the two others match case by case"
    )
    print(
        "| testee | role | cases | "
        + " | ".join(VERDICTS)
        + " | close OK | all three agree | gomask calls, min_size=0 | gomask calls, install() |"
    )
    print("|---" * (len(VERDICTS) + 7) + "|")
    for row in rows:
        print(row)
    elapsed = time.monotonic() - started
    if args.json:
        results["seconds"] = round(elapsed, 1)
        Path(args.json).write_text(json.dumps(results, indent=1, sort_keys=True))
    failed = len({problem.split(":")[0] for problem in problems})
    if problems:
        print(f"compliance: {len(problems)} problems:", *problems, sep="\n  ", file=sys.stderr)
    else:
        print(f"compliance: {len(rows)} testees x 3 runs agree case by case ({elapsed:.0f} s)")
    # One line per testee and role, as test runners close.
    print(f"compliance: {len(rows) - failed} passed, {failed} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
