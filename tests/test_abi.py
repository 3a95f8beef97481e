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
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

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
def header(
    go: tuple[list[str], dict[str, str]],
    setup_py: ModuleType,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
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
    return out.with_suffix(".h").read_text()


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
