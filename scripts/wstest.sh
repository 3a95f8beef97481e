#!/usr/bin/env bash
# Provide wstest, the Autobahn|Testsuite's tool (autobahntestsuite 25.10.1),
# for compliance/run.py. Prints wstest's path as the LAST line of stdout;
# progress goes to stderr. Idempotent: a wstest that this script already
# provided, from the same compliance/wstest-requirements.txt, is reused.
# Fresh: ~35 s for CPython 2.7 (scripts/interpreter.sh 2.7), ~20 s for pip.
#
# wstest runs on CPython 2.7 only. scripts/interpreter.sh 2.7 provides it in
# $GOMASK_PYTHON_ROOT/2.7 (default /opt/gomask-python/2.7) from Debian
# bullseye's packages, checked as apt checks them, with pip 20.3.4. Then pip
# installs compliance/wstest-requirements.txt (every package pinned, with
# --no-deps: nothing is resolved anew) from PyPI into that interpreter's own
# site-packages ($PREFIX/usr/local/lib/python2.7/dist-packages); nothing is
# installed on the system.
#
# pip 20.3 predates parts of today's pip configuration: the system's and
# user's pip config files are not read (one that names an index that pip 20.3
# cannot read makes it fail), and it verifies TLS with the system's CA bundle
# (or $PIP_CERT) rather than its own old certifi. $PIP_INDEX_URL still applies.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=compliance/wstest-requirements.txt
python=$(bash scripts/interpreter.sh 2.7 | tail -n 1)
prefix=$(dirname "$(dirname "$(dirname "$python")")")  # .../2.7 of .../2.7/usr/bin/python2.7
wstest=$prefix/usr/local/bin/wstest
stamp=$prefix/.wstest
want=$(sha256sum "$requirements" | cut -d' ' -f1)

log() { printf 'wstest.sh: %s\n' "$*" >&2; }

provided() {
    [ -x "$wstest" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] &&
        "$wstest" --autobahnversion 2>/dev/null | grep -q 'AutobahnTestSuite 25.10.1'
}

if provided; then
    echo "$wstest"
    exit 0
fi
exec 9>"$prefix/.wstest.lock"
flock 9
if provided; then
    echo "$wstest"
    exit 0
fi

log "installing $requirements into $prefix"
rm -f "$stamp"
cert=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
cert_args=()
[ -f "$cert" ] && cert_args=(--cert "$cert")
PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS='' PIP_NO_PYTHON_VERSION_WARNING=1 \
    "$python" -m pip install -q --disable-pip-version-check --no-warn-script-location \
    --no-deps "${cert_args[@]}" -r "$requirements" >&2
"$wstest" --autobahnversion >&2 || { log "error: $wstest does not run"; exit 1; }
echo "$want" >"$stamp"
log "ok: $wstest"
echo "$wstest"
