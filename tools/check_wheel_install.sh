#!/usr/bin/env bash
# Install a built wheel (not editable) into a fresh venv, make the installed package read-only,
# run `mxlite demo` twice, and check that the second run reuses the compiled-kernel cache from a
# user cache directory, writes nothing into the package, and prints no warning.
#
#   tools/check_wheel_install.sh dist/mxlite-*.whl        (PYTHON: the interpreter, default python3)
set -euo pipefail

wheel=$(realpath "${1:?usage: $0 path/to/mxlite-*.whl}")
python=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

fail() { echo "check_wheel_install: FAILED: $*" >&2; exit 1; }

"$python" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check "mxlite[demo] @ file://$wheel"
pkg=$("$tmp/venv/bin/python" -c "import os, mxlite; print(os.path.dirname(mxlite.__file__))")
case "$pkg" in "$tmp/venv/"*) ;; *) fail "mxlite imported from $pkg, not from the fresh venv";; esac
chmod -R a-w "$pkg"

# a clean environment: no inherited cache settings, a private user cache directory
cache="$tmp/xdg-cache/mxlite/numba"
run_demo() {
    (cd "$tmp" && env -u NUMBA_CACHE_DIR -u PYTHONPATH XDG_CACHE_HOME="$tmp/xdg-cache" \
        "$tmp/venv/bin/mxlite" demo >"$tmp/out$1.txt" 2>"$tmp/err$1.txt") \
        || { cat "$tmp/out$1.txt" "$tmp/err$1.txt" >&2; fail "mxlite demo (run $1) failed"; }
    if grep -qi 'warn' "$tmp/out$1.txt" "$tmp/err$1.txt"; then
        grep -i 'warn' "$tmp/out$1.txt" "$tmp/err$1.txt" >&2
        fail "run $1 printed a warning"
    fi
}
version=$("$tmp/venv/bin/mxlite" --version)
expected="mxlite $("$tmp/venv/bin/python" -c "import importlib.metadata as m; print(m.version('mxlite'))")"
[ "$version" = "$expected" ] || fail "mxlite --version says '$version', the metadata '$expected'"
chosen=$(cd "$tmp" && env -u NUMBA_CACHE_DIR -u PYTHONPATH XDG_CACHE_HOME="$tmp/xdg-cache" \
    "$tmp/venv/bin/python" -c "from mxlite.kernels import _cache; print(_cache.cache_dir())")
[ "$chosen" = "$cache" ] || fail "the read-only install chose the cache directory '$chosen'"

inventory() { (cd "$cache" && find . -type f -printf '%P %s %T@\n' | sort); }

start=$(date +%s%N)
run_demo 1
first=$(( ($(date +%s%N) - start) / 1000000 ))
[ -d "$cache" ] || fail "no user cache directory $cache after the first run"
index_files=$(find "$cache" -name '*.nbi' | wc -l)
[ "$index_files" -gt 0 ] || fail "the first run cached no kernels in $cache"
! find "$pkg" -name '*.nb[ic]' | grep -q . || fail "kernels were cached inside the read-only package"
before=$(inventory)

start=$(date +%s%N)
run_demo 2
second=$(( ($(date +%s%N) - start) / 1000000 ))
after=$(inventory)
# a run that compiles anything rewrites an index file; a run served from the cache touches nothing
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") >&2 || true;
                              fail "the second run changed the kernel cache (it compiled)"; }
! find "$pkg" -name '*.nb[ic]' | grep -q . || fail "kernels were cached inside the read-only package"

echo "check_wheel_install: ok: $version; $index_files cached kernel indexes in a user cache directory," \
     "reused unchanged by the second run (demo runs: ${first} ms, ${second} ms), no warnings"
