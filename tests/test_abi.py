"""One source for the ABI: the header Go generates against _native.py's prototypes.

``go build -buildmode=c-shared`` writes a C header with the prototype of
every export; setup.py drops it, this test builds the library again and reads
it. Every export must be declared in _native.py with the same C types, and
every declared prototype must be exported, so that a changed export cannot
pass with a stale prototype. The structs of gosrc/gomask_abi.h are compared
field by field with their ctypes layouts, as the C compiler lays them out.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import abi_calls
import pytest
from conftest import REPO

from gomask import _native

#: The C types of Go's header, as ctypes declares them; every pointer may
#: also be declared c_void_p.
C_TYPES: dict[str, Any] = {
    "void": None,
    "int": ctypes.c_int,
    "int64_t": ctypes.c_int64,
    "uint32_t": ctypes.c_uint32,
    "size_t": ctypes.c_size_t,
    "gomask_person": _native.CPerson,
}


def _ctype(c_type: str) -> Any:
    """The ctypes type of a C type such as ``size_t`` or ``gomask_person**``."""
    c_type = c_type.replace(" ", "")
    if c_type.endswith("*"):
        target = c_type[:-1]
        if target in ("uint8_t", "char", "void", "gomask_error"):
            return ctypes.c_void_p  # bytes, strings, opaque and error pointers
        return ctypes.POINTER(_ctype(target))
    return C_TYPES[c_type]


@pytest.fixture(scope="module")
def built_library(
    go: tuple[list[str], dict[str, str]],
    setup_py: ModuleType,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The library, built again; its header is next to it (.h)."""
    out = tmp_path_factory.mktemp("abi") / "libgomask.so"
    command, env = go
    subprocess.run(
        [
            *command,
            "build",
            "-buildmode=c-shared",
            "-ldflags",
            setup_py.go_ldflags(),
            "-o",
            str(out),
        ],
        cwd=REPO / "gosrc",
        env={**env, "CGO_ENABLED": "1"},
        check=True,
        timeout=600,
    )
    return out


@pytest.fixture(scope="module")
def header(built_library: Path) -> str:
    return built_library.with_suffix(".h").read_text()


def _exports(header: str) -> dict[str, tuple[tuple[Any, ...], Any]]:
    """name -> (argtypes, restype) of every ``extern`` prototype of *header*."""
    found = {}
    pattern = r"^extern (.+?)\s*\b(gomask_\w+)\((.*)\);$"
    for restype, name, params in re.findall(pattern, header, re.MULTILINE):
        args = [] if params.strip() in ("", "void") else params.split(",")
        # "uint8_t* dst" -> "uint8_t*": drop the parameter's name.
        argtypes = tuple(_ctype(re.sub(r"\s*\b\w+$", "", a.strip())) for a in args)
        found[name] = (argtypes, _ctype(restype))
    return found


def _same(declared: Any, exported: Any) -> bool:
    if declared is exported:
        return True
    pointer = getattr(exported, "_type_", None) is not None and issubclass(
        exported, ctypes._Pointer
    )
    return declared is ctypes.c_void_p and (pointer or exported is ctypes.c_void_p)


def test_every_export_is_declared_as_go_generates_it(header: str) -> None:
    exported = _exports(header)
    declared = {**_native._PROTOTYPES, **_native._DEBUG_PROTOTYPES}
    assert "gomask_mask" in exported, header
    assert sorted(exported) == sorted(declared)
    for name, (argtypes, restype) in declared.items():
        go_args, go_result = exported[name]
        assert len(argtypes) == len(go_args), name
        for i, (ours, theirs) in enumerate(zip(argtypes, go_args, strict=True)):
            assert _same(ours, theirs), f"{name} argument {i}: {ours} declared, Go has {theirs}"
        assert _same(restype, go_result), f"{name} result: {restype} declared, Go has {go_result}"


def test_the_header_comparison_catches_a_stale_prototype(
    header: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: a length declared with the wrong width is caught."""
    stale = dict(_native._PROTOTYPES)
    argtypes, restype = stale["gomask_mask"]
    stale["gomask_mask"] = ((*argtypes[:2], ctypes.c_uint32, argtypes[3]), restype)
    monkeypatch.setattr(_native, "_PROTOTYPES", stale)
    with pytest.raises(AssertionError, match="gomask_mask argument 2"):
        test_every_export_is_declared_as_go_generates_it(header)


STRUCTS = {
    "gomask_error": _native.CError,
    "gomask_string": _native.CString,
    "gomask_friend": _native.CFriend,
    "gomask_person": _native.CPerson,
}


def test_structs_have_the_layout_of_the_c_header(tmp_path: Path) -> None:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    lines = []
    for c_name, struct in STRUCTS.items():
        lines.append(f'printf("{c_name} size %zu\\n", sizeof({c_name}));')
        for field, _ in struct._fields_:
            lines.append(f'printf("{c_name} {field} %zu\\n", offsetof({c_name}, {field}));')
    source = tmp_path / "layout.c"
    source.write_text(
        '#include <stdio.h>\n#include <stddef.h>\n#include "gomask_abi.h"\n'
        "int main(void) {\n" + "\n".join(lines) + "\nreturn 0;\n}\n"
    )
    exe = tmp_path / "layout"
    subprocess.run([cc, "-I", str(REPO / "gosrc"), "-o", str(exe), str(source)], check=True)
    got = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    want = []
    for c_name, struct in STRUCTS.items():
        want.append(f"{c_name} size {ctypes.sizeof(struct)}")
        want += [f"{c_name} {f} {getattr(struct, f).offset}" for f, _ in struct._fields_]
    assert got.splitlines() == want


#: Calls of each outcome of each export in the memory check: a leak of one
#: error (about 80 bytes with malloc's overhead) per call grows RSS by 8 MB.
HOSTILE_CALLS = 100_000


def _hostile_run(library: Path, header: Path, export: str, tmp_path: Path) -> dict[str, Any]:
    """tests/abi_calls.py on one export, in a child process: its result, or
    a failure that names the call that killed it. Under AddressSanitizer
    (scripts/asan.sh) without the memory check: its quarantine holds freed
    memory, which RSS counts."""
    calls = 0 if "libasan" in os.environ.get("LD_PRELOAD", "") else HOSTILE_CALLS
    last_call = tmp_path / f"{export}.last"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "tests" / "abi_calls.py"),
            *(str(library), str(header), export, str(calls)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "GOMASK_ABI_LAST_CALL": str(last_call)},
    )
    if proc.returncode != 0:
        last = last_call.read_text().strip() if last_call.exists() else "(none)"
        return {"died": f"exit status {proc.returncode} at {export}{last}: {proc.stderr[-1500:]}"}
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    return result


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads RSS from /proc")
def test_every_export_survives_hostile_arguments(built_library: Path, tmp_path: Path) -> None:
    """Every export of the generated header, called through raw ctypes with
    NULL pointers, zero, small and huge lengths and counts (2**63, 2**64-1,
    lengths whose sum wraps around): the process survives every call (one
    child per export), each call returns a clean error or succeeds (no
    recovered panic), and each outcome repeated 100,000 times leaves RSS flat
    (tests/abi_calls.py says how). The exports come from the header, so a new
    one is covered without a change here."""
    # The library gomask loads where it is another build with its header
    # beside it (scripts/asan.sh: the AddressSanitizer build), else this one.
    library = built_library
    override = os.environ.get(_native.LIBRARY_ENV)
    if override and Path(override).with_suffix(".h").is_file():
        library = Path(override)
    header = library.with_suffix(".h")
    exports = abi_calls.c_prototypes(header.read_text())
    assert "gomask_mask_batch" in exports, exports
    problems = []
    report = []
    mb = 1 << 20
    for export in sorted(exports):
        result = _hostile_run(library, header, export, tmp_path)
        if "died" in result:
            problems.append(result["died"])
            continue
        assert result["calls"] > 0, export
        report.append(f"{export}: {result['calls']} calls, outcomes {result['outcomes']}")
        problems += [f"{export}{args}: {outcome}" for args, outcome in result["failures"][:5]]
        for what, grown in result["growth"].items():
            report.append(f"  {grown / 1024:+8.0f} kB  {what}")
            # PyPy grows its heap in larger steps (tests/test_memory.py).
            if grown >= (8 if sys.implementation.name == "pypy" else 3) * mb:
                problems.append(f"{export} leaks: RSS +{grown / mb:.1f} MB for {what}")
    print("\n".join(report))
    assert not problems, "\n".join(problems)
