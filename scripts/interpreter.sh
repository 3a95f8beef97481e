#!/usr/bin/env bash
# Provide, on Debian 12, a Python interpreter that Debian 12 does not ship,
# for the test runs of .ci/run. Prints the interpreter's path as the LAST
# line of stdout; progress goes to stderr. Idempotent: an interpreter that
# this script already provided and that still passes its check is reused
# (in well under a second); a half-finished one is provided again. It is not
# updated when the suite moves on: remove $GOMASK_PYTHON_ROOT/NAME for that.
# Fresh, on 2 cores: ~10 s for each of the binary ones, ~2.5 min for 3.13t.
#
# Usage: scripts/interpreter.sh NAME
#
#   NAME      interpreter                  from
#   3.14      CPython 3.14                 Debian sid's binary packages (python3.14)
#   3.15      CPython 3.15                 Debian sid's binary packages (python3.15)
#   3.13      CPython 3.13                 Debian trixie's binary packages (python3.13)
#   pypy3.11  PyPy 3.11                    Debian trixie's binary packages (pypy3)
#   3.13t     CPython 3.13, free-threaded  built with --disable-gil from the upstream
#                                          tarball of Debian's python3.13 source
#                                          package (sid, else trixie); ~2.5 min on 2 cores
#   3.14t     CPython 3.14, free-threaded  the same, from python3.14's (sid): fails today,
#   3.15t     CPython 3.15, free-threaded  and 3.15t from python3.15's: see the quirks
#   2.7       CPython 2.7, with pip 20.3   Debian bullseye's binary packages (python2.7,
#                                          python-pip-whl, python-setuptools): only for
#                                          the WebSocket conformance suite's wstest
#                                          (compliance/); not a Python gomask supports
#
# Environment:
#   GOMASK_PYTHON_ROOT    install root, default /opt/gomask-python: NAME is
#                         provided in $GOMASK_PYTHON_ROOT/NAME
#   GOMASK_DEBIAN_MIRROR  Debian mirror, default the first URIs: of
#                         /etc/apt/sources.list.d/debian.sources (else
#                         http://deb.debian.org/debian)
#
# Needs curl, gpgv, xz, dpkg and debian-archive-keyring (every Debian 12 has
# them), and root for apt-get: what is missing of patchelf (binary packages)
# or of the build dependencies (3.13t) is installed with apt-get. Nothing
# else is installed on the system: the interpreter lives in its directory.
#
# Integrity, as apt checks it: the suite's InRelease must carry a good
# signature of a key of debian-archive-keyring (gpgv), the index (Packages.xz,
# Sources.xz) must have the SHA256 that the signed InRelease gives, and each
# .deb or tarball the SHA256 that the index gives.
#
# Binary packages (3.14, 3.15, pypy3.11) are unpacked with dpkg -x into
# $PREFIX, never installed. They need a newer glibc, OpenSSL, ... than Debian
# 12's, so their runtime libraries (the lib* packages, and zlib1g, of their
# Depends and Pre-Depends, recursively, from the same suite) are unpacked into
# $PREFIX/sysroot, and the interpreter's executable alone is pointed at them
# with patchelf: its ELF interpreter (the sysroot's ld.so) and its DT_RPATH
# (an RPATH, not a RUNPATH: the executable's DT_RPATH also serves the
# libraries that extension modules, and ctypes, dlopen later). Nothing else
# uses the sysroot: child processes (gcc, go) run on the system's libraries.
# After unpacking, the check imports every extension module of the
# interpreter and fails if any library was loaded from outside $PREFIX.
#
# pip: Debian's ensurepip takes pip's wheel from WHEEL_PKG_DIR,
# /usr/share/python-wheels: the system's, Debian 12's old pip (or none). The
# suite's python3-pip-whl (and python3-setuptools-whl) are unpacked with the
# interpreter, and WHEEL_PKG_DIR in the interpreter's _sysconfigdata is
# pointed at $PREFIX/usr/share/python-wheels, so that `python -m venv DIR` gives a venv
# with that pip, as on any installed Python; the check makes one.
#
# Quirks of these interpreters, for their users:
#  - PyPy 3.11 and 3.13t: hypothesis >= 6.156 builds a Rust extension where
#    it has no wheel (both), and hypothesis 6.170.17's PyPy wheel fails to
#    import (undefined symbol PyPyModule_FromDefAndSpec2); 6.155.7 works.
#  - 3.13t: its own bytearray is not thread-safe (resizing a bytearray in one
#    thread while another writes through an export can crash the
#    interpreter, CPython issue 129107, fixed in 3.14): tests that do that on
#    purpose skip on 3.13t.
#  - 3.13t is the free-threaded one that runs because it is the only CPython
#    whose source this mirror serves: on 2026-12-01 and again on 2026-12-07
#    the orig tarballs of python3.14 (3.14.10 and 3.14.9 in sid's Sources,
#    3.14.8 in forky's) and python3.15 (3.15.2 in sid's, 3.15.0 in forky's),
#    and their .dsc and .debian.tar.xz, answered 404, while the binary
#    packages of the same versions (python3.14_3.14.10-1_amd64.deb, ...) and
#    python3.13 3.13.15's orig tarball and .dsc downloaded (python3.13
#    3.13.18's tarball answered 404). 3.14t and 3.15t therefore stop with
#    "none of the python3.14 tarballs downloads": they are built, exactly as
#    3.13t, once the mirror serves one. The newest tarball that downloads is
#    taken. No suite ships a free-threaded binary package (no *-nogil).
#  - Debian's CPython installs into /usr/local when not in a venv: use venvs.
set -euo pipefail

NAME=${1:-}
ROOT=${GOMASK_PYTHON_ROOT:-/opt/gomask-python}
PREFIX=$ROOT/$NAME
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
case "$NAME" in
    3.14 | 3.15) PY=$PREFIX/usr/bin/python$NAME ;;
    3.13) PY=$PREFIX/usr/bin/python3.13 ;;
    pypy3.11) PY=$PREFIX/usr/bin/pypy3.11 ;;
    3.13t | 3.14t | 3.15t) PY=$PREFIX/bin/python$NAME ;;
    2.7) PY=$PREFIX/usr/bin/python2.7 ;;
    *)
        echo "usage: $0 3.13|3.14|3.15|3.13t|3.14t|3.15t|pypy3.11|2.7   (env: GOMASK_PYTHON_ROOT=/opt/gomask-python)" >&2
        exit 2
        ;;
esac

log() { printf '%s: %s\n' "interpreter.sh $NAME" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

check() {  # the interpreter runs, is NAME, and has what a pip build of gomask needs
    [ "$NAME" != 2.7 ] || { check_python27; return; }
    "$PY" - "$NAME" <<'EOF'
import sys, sysconfig
name = sys.argv[1]
version = tuple(map(int, name.removeprefix("pypy").removesuffix("t").split(".")))
assert sys.version_info[:2] == version, sys.version
assert (sys.implementation.name == "pypy") == name.startswith("pypy"), sys.implementation
assert bool(sysconfig.get_config_var("Py_GIL_DISABLED")) == name.endswith("t"), "GIL"
import bz2, ctypes, decimal, ensurepip, hashlib, json, lzma, socket, sqlite3, ssl, uuid, venv, zlib
ctypes.CDLL(None)
EOF
}

check_python27() {  # it runs, is 2.7, has what Twisted and wstest use, and has pip
    "$PY" - <<'EOF' && "$PY" -m pip --version >/dev/null
import sys
assert sys.version_info[:2] == (2, 7), sys.version
import bz2, ctypes, hashlib, json, socket, sqlite3, ssl, zlib, setuptools
ctypes.CDLL(None)
EOF
}

if [ -x "$PY" ] && [ -f "$PREFIX/.provided" ] && check 2>/dev/null; then
    echo "$PY"
    exit 0
fi

# One provider at a time per NAME (other checkouts may run .ci/run too).
mkdir -p "$ROOT"
exec 9>"$ROOT/.$NAME.lock"
flock 9
if [ -x "$PY" ] && [ -f "$PREFIX/.provided" ] && check 2>/dev/null; then
    echo "$PY"
    exit 0
fi

MIRROR=${GOMASK_DEBIAN_MIRROR:-$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
MIRROR=${MIRROR%/}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gomask-python-$NAME.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export DEBIAN_FRONTEND=noninteractive

fetch() {  # PATH-ON-MIRROR FILE
    curl -fsS --retry 3 -o "$2" "$MIRROR/$1"
}

sha256_ok() {  # SHA256 FILE
    echo "$1  $2" | sha256sum -c --quiet - >/dev/null 2>&1
}

apt_install() {  # PACKAGE...: install those not installed yet
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "apt-get install ${missing[*]}"
    # --no-upgrade: leave the machine's installed packages as they are.
    apt-get install -y -qq --no-upgrade "${missing[@]}" >&2 ||
        { apt-get update -qq >&2 && apt-get install -y -qq --no-upgrade "${missing[@]}" >&2; } ||
        die "cannot apt-get install ${missing[*]}"
}

index() {  # SUITE PATH (main/binary-amd64/Packages.xz, ...): the index's text, verified
    local suite=$1 path=$2 release sum
    release=$WORK/$suite.Release
    if [ ! -f "$release" ]; then
        fetch "dists/$suite/InRelease" "$WORK/$suite.InRelease" || die "cannot download $suite's InRelease"
        # Only the signed text is written to $release, and only if a key of
        # the keyring made a good signature.
        gpgv --keyring "$KEYRING" --output "$release" "$WORK/$suite.InRelease" 2>"$WORK/gpgv.log" ||
            { cat "$WORK/gpgv.log" >&2; die "no good signature on $suite's InRelease"; }
    fi
    sum=$(awk -v p="$path" '/^[^ ]/ {f = ($1 == "SHA256:")} f && $3 == p {print $1; exit}' "$release")
    [ -n "$sum" ] || die "$suite's InRelease lists no $path"
    fetch "dists/$suite/$path" "$WORK/index.xz" || die "cannot download $suite's $path"
    sha256_ok "$sum" "$WORK/index.xz" || die "$suite's $path does not have the SHA256 of the InRelease"
    xz -dc "$WORK/index.xz"
}

# --- binary packages -------------------------------------------------------

from_debs() {  # SUITE PACKAGE...: unpack them into $PREFIX, their lib* dependencies into the sysroot
    local suite=$1
    shift
    local table=$WORK/$suite.packages
    # One line per package: name version sha256 pool-path deps (comma-separated,
    # versions dropped, first of alternatives).
    index "$suite" main/binary-amd64/Packages.xz | awk '
        BEGIN { RS = ""; FS = "\n" }
        {
            name = version = sha = file = deps = ""
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^Package: /) name = substr($i, 10)
                else if ($i ~ /^Version: /) version = substr($i, 10)
                else if ($i ~ /^SHA256: /) sha = substr($i, 9)
                else if ($i ~ /^Filename: /) file = substr($i, 11)
                else if ($i ~ /^(Pre-)?Depends: /) { d = $i; sub(/^[^:]*: /, "", d); deps = deps "," d }
            }
            gsub(/\([^)]*\)/, "", deps); gsub(/\|[^,]*/, "", deps); gsub(/:any/, "", deps); gsub(/ /, "", deps)
            sub(/^,/, "", deps)
            print name, version, sha, file, (deps == "" ? "-" : deps)
        }' >"$table"

    # The packages asked for, and recursively the libraries they depend on.
    local -A wanted=() seen=()
    local queue=("$@") p line d
    for p in "$@"; do wanted[$p]=1; done
    : >"$WORK/debs"
    while [ ${#queue[@]} -gt 0 ]; do
        p=${queue[0]}
        queue=("${queue[@]:1}")
        [ -z "${seen[$p]:-}" ] || continue
        seen[$p]=1
        line=$(awk -v p="$p" '$1 == p {print; exit}' "$table")
        [ -n "$line" ] || die "$suite has no package $p"
        echo "$line" >>"$WORK/debs"
        for d in $(echo "$line" | awk '{print $5}' | tr ',' ' '); do
            case $d in lib* | zlib1g) queue+=("$d") ;; esac
        done
    done

    local name version sha file deb
    rm -rf "$PREFIX"
    mkdir -p "$PREFIX/sysroot"
    while read -r name version sha file _; do
        deb=$WORK/$(basename "$file")
        fetch "$file" "$deb" || die "cannot download $file"
        sha256_ok "$sha" "$deb" || die "$file does not have the SHA256 of $suite's index"
        if [ -n "${wanted[$name]:-}" ]; then
            log "$suite: $name $version (sha256 ok)"
            dpkg -x "$deb" "$PREFIX"
        else
            log "$suite: $name $version (sha256 ok) -> sysroot"
            dpkg -x "$deb" "$PREFIX/sysroot"
        fi
        rm -f "$deb"
    done <"$WORK/debs"

    apt_install patchelf
    local ld rpath="" dir exe
    ld=$(find "$PREFIX/sysroot" -name ld-linux-x86-64.so.2 -path '*/x86_64-linux-gnu/*' | head -n 1)
    [ -n "$ld" ] || die "no ld-linux-x86-64.so.2 in the sysroot"
    for dir in "$PREFIX/usr/lib/x86_64-linux-gnu" "$PREFIX/sysroot/usr/lib/x86_64-linux-gnu" \
        "$PREFIX/sysroot/lib/x86_64-linux-gnu"; do
        [ -d "$dir" ] && [ ! -L "$dir" ] && rpath=$rpath${rpath:+:}$dir
    done
    exe=$(readlink -f "$PY")
    patchelf --set-interpreter "$ld" --force-rpath --set-rpath "$rpath" "$exe"
}

wheels_here() {  # point ensurepip's WHEEL_PKG_DIR (in _sysconfigdata) at $PREFIX's wheels
    local files
    files=$(grep -rl --include='_sysconfigdata_*.py' "'/usr/share/python-wheels/\?'" "$PREFIX/usr/lib") ||
        die "no WHEEL_PKG_DIR /usr/share/python-wheels in $PREFIX/usr/lib/*/_sysconfigdata_*.py"
    # shellcheck disable=SC2086  # file names without spaces, from Debian's packages
    sed -i "s|'/usr/share/python-wheels/\?'|'$PREFIX/usr/share/python-wheels/'|" $files
}

from_sid() {  # CPython 3.X from sid
    local v=$NAME
    from_debs sid "python$v" "python$v-minimal" "libpython$v-minimal" "libpython$v-stdlib" \
        "python$v-venv" python3-pip-whl python3-setuptools-whl
    wheels_here
}

from_trixie_cpython() {  # CPython 3.13 (with the GIL) from trixie
    from_debs trixie python3.13 python3.13-minimal libpython3.13-minimal libpython3.13-stdlib \
        python3.13-venv python3-pip-whl python3-setuptools-whl
    wheels_here
}

from_trixie() {  # PyPy 3.11 from trixie
    from_debs trixie pypy3 pypy3-lib pypy3-venv pypy3-dev python3-pip-whl python3-setuptools-whl
    wheels_here
}

# --- CPython 2.7, for wstest only ------------------------------------------

python27() {  # CPython 2.7 and pip from bullseye, checked; then exits
    from_debs bullseye python2.7 python2.7-minimal libpython2.7-minimal libpython2.7-stdlib \
        python-pip-whl python-setuptools python-pkg-resources
    # pip 20.3 (the last for 2.7), from the wheel bullseye ships, into the
    # interpreter's own site-packages ($PREFIX/usr/local/lib/python2.7/dist-packages:
    # Debian's 2.7 installs into sys.prefix/local).
    local wheel
    wheel=$(find "$PREFIX/usr/share/python-wheels" -name 'pip-*.whl' | head -n 1)
    [ -n "$wheel" ] || die "python-pip-whl has no pip wheel"
    "$PY" "$wheel/pip" install -q --no-index --find-links "$PREFIX/usr/share/python-wheels" pip >&2 ||
        die "cannot install pip from $wheel"
    check_python27 >&2 || die "$PY does not pass the check"
    # Every extension module of the standard library imports, on no library
    # from outside $PREFIX.
    "$PY" - "$PREFIX" >&2 <<'EOF' || die "extension modules do not load on $PREFIX's libraries"
import importlib, os, sys
prefix = sys.argv[1]
failed = []
for entry in sys.path:
    if not entry.startswith(prefix + "/") or not entry.endswith("lib-dynload"):
        continue
    for name in sorted(os.listdir(entry)):
        if name.endswith(".so"):
            try:
                importlib.import_module(name.split(".")[0])
            except Exception as error:
                failed.append("%s: %s" % (name, error))
maps = (line.split() for line in open("/proc/self/maps"))
outside = sorted(set(f[-1] for f in maps if len(f) == 6 and ".so" in f[-1] and not f[-1].startswith(prefix + "/")))
for problem in failed + ["loaded from outside: " + lib for lib in outside]:
    print(problem)
sys.exit(bool(failed or outside))
EOF
    "$PY" -c 'import sys; print(sys.version.replace("\n", " "))' >"$PREFIX/.provided"
    log "ok: $(cat "$PREFIX/.provided")"
    echo "$PY"
    exit 0
}

# --- from source -------------------------------------------------------------

freethreaded() {  # CPython 3.X (NAME 3.Xt), built with --disable-gil
    local v=${NAME%t}
    # version sha256 path of each python3.X orig tarball in sid's and
    # trixie's Sources, newest first.
    local suite
    for suite in sid trixie; do
        index "$suite" main/source/Sources.xz | awk -v package="python$v" '
            BEGIN { RS = ""; FS = "\n" }
            $1 == "Package: " package {
                dir = version = ""
                sums = 0
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^Directory: /) dir = substr($i, 12)
                    else if ($i ~ /^Version: /) version = substr($i, 10)
                    else if ($i ~ /^Checksums-Sha256:/) sums = 1
                    else if ($i !~ /^ /) sums = 0
                    else if (sums && $i ~ /\.orig\.tar\.xz$/) { split($i, f, " "); sha[f[3]] = f[1] }
                }
                for (t in sha) { v = t; sub(/^[^_]*_/, "", v); sub(/\.orig\.tar\.xz$/, "", v); print v, sha[t], dir "/" t }
                delete sha
            }'
    done | sort -u | sort -k1,1Vr >"$WORK/tarballs"
    [ -s "$WORK/tarballs" ] || die "no python$v source package in sid or trixie"

    local version sha path tarball=""
    while read -r version sha path; do
        if fetch "$path" "$WORK/python.tar.xz" 2>/dev/null; then
            sha256_ok "$sha" "$WORK/python.tar.xz" || die "$path does not have the SHA256 of the index"
            tarball=$WORK/python.tar.xz
            log "source: $path (sha256 ok)"
            break
        fi
        log "source: $path does not download, trying an older one"
    done <"$WORK/tarballs"
    [ -n "$tarball" ] || die "none of the python$v tarballs downloads: $(awk '{print $1}' "$WORK/tarballs" | xargs)"

    apt_install build-essential pkg-config libssl-dev zlib1g-dev libffi-dev libbz2-dev \
        libreadline-dev libsqlite3-dev liblzma-dev uuid-dev libncurses-dev
    tar -C "$WORK" -xf "$tarball"
    rm -rf "$PREFIX"
    (
        cd "$WORK/Python-$version"
        log "building $version with --disable-gil (~2.5 min on 2 cores; logs in $WORK until the end)"
        # ensurepip's bundled pip serves `python3.Xt -m venv`.
        ./configure --disable-gil --prefix="$PREFIX" --with-ensurepip=no >"$WORK/configure.log" 2>&1 &&
            make -j"$(nproc)" >"$WORK/make.log" 2>&1 &&
            make install >"$WORK/install.log" 2>&1
    ) || {
        tail -n 40 "$WORK"/*.log >&2
        die "the build of $version failed"
    }
}

# --- provide and check -------------------------------------------------------

log "providing it in $PREFIX (from $MIRROR)"
rm -f "$PREFIX/.provided"
case "$NAME" in
    3.14 | 3.15) from_sid ;;
    3.13) from_trixie_cpython ;;
    pypy3.11) from_trixie ;;
    3.13t | 3.14t | 3.15t) freethreaded ;;
    2.7) python27 ;;
esac

check >&2 || die "$PY does not pass the check"
# Every extension module imports and, for the binary packages, on no library
# from outside $PREFIX (the source build uses the system's, as built).
sysroot=no
[ -d "$PREFIX/sysroot" ] && sysroot=yes
"$PY" - "$PREFIX" "$sysroot" >&2 <<'EOF' || die "extension modules do not load on $PREFIX's libraries"
import importlib, os, sys
prefix, sysroot = sys.argv[1], sys.argv[2] == "yes"
failed = []
for entry in sys.path:
    if not entry.startswith(prefix + "/") or not os.path.isdir(entry) or "site-packages" in entry:
        continue
    for file in sorted(os.listdir(entry)):
        module = file.split(".")[0]
        if file.endswith(".so") and module not in sys.builtin_module_names:
            try:
                importlib.import_module(module)
            except Exception as error:  # noqa: BLE001
                failed.append(f"{module}: {error}")
maps = (line.split() for line in open("/proc/self/maps"))
outside = sorted({f[-1] for f in maps if len(f) == 6 and ".so" in f[-1] and not f[-1].startswith(prefix + "/")})
outside = outside if sysroot else []
for problem in failed + [f"loaded from outside: {lib}" for lib in outside]:
    print(problem)
sys.exit(bool(failed or outside))
EOF
{ "$PY" -m venv "$WORK/venv" && "$WORK/venv/bin/python" -m pip --version; } >&2 ||
    die "python -m venv gives no working pip"
"$PY" -c 'import sys; print(sys.version.replace("\n", " "))' >"$PREFIX/.provided"
log "ok: $(cat "$PREFIX/.provided")"
echo "$PY"
