#!/usr/bin/env bash
# tools/check_wheel.sh — build the wheel and check that it stands alone:
#   1. `python -m build --wheel` of this checkout (in a scratch venv that has `build`);
#   2. its files: the compiled core, py.typed, capi.pxd, the .pyx/.pxd; no C source;
#   3. portability: no function of the baseline level (everything but *_avx2 and
#      *_avx512) touches a ymm/zmm register (no -march=native), and no FMA anywhere;
#   4. a fresh venv with no C compiler on PATH (and CC=/bin/false): pip installs the
#      wheel with the `test` extra's dependencies, binary wheels only;
#   5. fastnn.get_include(), `python -m fastnn info`, then the test suite, copied to a
#      folder with no checkout around it (the tests that read README.md, csrc/ or
#      examples/ skip; the skip reasons are printed).
# Takes 3-5 minutes on 2 cores (most of it the dependencies and the suite).
#
# Usage: tools/check_wheel.sh [--keep] [-- extra pytest args]
# Environment: PYTHON (default python3), CHECK_WHEEL_DIR (scratch parent, default $TMPDIR or /tmp).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --keep) keep=1; shift ;;
        --) shift; break ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
work="$(mktemp -d "${CHECK_WHEEL_DIR:-${TMPDIR:-/tmp}}/fastnn-check-wheel.XXXXXX")"
[ "$keep" = 1 ] && echo "scratch: $work" || trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
quiet_pip() {  # pip -q still warns about each index folder this machine's config lists but lacks
    "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
    return "${PIPESTATUS[0]}"
}

echo "== 1. python -m build --wheel"
"$PY" -m venv "$work/build-venv"
quiet_pip "$work/build-venv/bin/python" -m pip install -q build
start=$(date +%s)
"$work/build-venv/bin/python" -m build --wheel --outdir "$work/dist" "$repo" > "$work/build.log" 2>&1 \
    || { tail -40 "$work/build.log"; fail "the wheel did not build"; }
wheel="$(ls "$work"/dist/*.whl)"
echo "$(basename "$wheel"): built in $(( $(date +%s) - start )) s, $(du -k "$wheel" | cut -f1) kB"
grep -E "^fastnn: " "$work/build.log" || true
grep -q -- "-march=native" "$work/build.log" && fail "compiled with -march=native"

echo "== 2. files"
"$PY" - "$wheel" <<'EOF'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = ["fastnn/py.typed", "fastnn/capi.pxd", "fastnn/_kernels/_core.pyx", "fastnn/_kernels/csrc.pxd"]
so = sorted(n for n in names if n.startswith("fastnn/_kernels/_core.") and n.endswith((".so", ".pyd")))
missing = [n for n in need if n not in names] + ([] if so else ["fastnn/_kernels/_core.*.so"])
extra = sorted(n for n in names if n.endswith((".c", ".h", ".o")))
print(f"{len(names)} files; {', '.join(need + so)}: present" if not missing else "")
if missing or extra:
    sys.exit(f"FAIL: missing {missing}, unexpected {extra}")
EOF

echo "== 3. portability of the compiled core"
mkdir "$work/unzipped"
(cd "$work/unzipped" && "$PY" -m zipfile -e "$wheel" .)
so="$(ls "$work"/unzipped/fastnn/_kernels/_core.*.so)"
if command -v objdump > /dev/null; then
    cat > "$work/isa.py" <<'EOF'
import re, sys
regs, cur = {}, None
for line in sys.stdin:
    m = re.match(r"[0-9a-f]+ <(.+)>:", line)
    if m:
        cur = m.group(1)
        regs[cur] = set()
    elif cur:
        regs[cur] |= set(re.findall(r"%([xyz]mm)\d", line))
        if re.search(r"\tvfn?m(add|sub)", line):
            regs[cur].add("fma")
def level(f):
    return "avx512" if "_avx512" in f else "avx2" if "_avx2" in f else "baseline"
wide = sorted(f for f, r in regs.items() if level(f) == "baseline" and r & {"ymm", "zmm"})
fma = sorted(f for f, r in regs.items() if "fma" in r)
count = {lv: sum(1 for f, r in regs.items() if level(f) == lv and r & {"ymm", "zmm"})
         for lv in ("avx2", "avx512")}
print(f"{len(regs)} functions; baseline ones using ymm/zmm: {len(wide)}; using ymm/zmm: "
      f"{count['avx2']} avx2, {count['avx512']} avx512; with an FMA instruction: {len(fma)}")
if wide or fma:
    sys.exit(f"FAIL: wide registers in {wide[:10]}, FMA in {fma[:10]}")
EOF
    objdump -d --no-show-raw-insn "$so" | "$PY" "$work/isa.py"
else
    echo "(objdump not found: skipped)"
fi

echo "== 4. install in a fresh venv with no compiler on PATH"
"$PY" -m venv "$work/venv"
mkdir "$work/bin"   # every tool of the usual folders but compilers, assemblers, linkers
for dir in /usr/local/bin /usr/bin /bin; do
    [ -d "$dir" ] || continue
    for f in "$dir"/*; do
        b="$(basename "$f")"
        case "$b" in
            gcc*|g++*|cc|c++|c89*|c99*|cpp*|clang*|*-gcc*|*-g++*|*-cc|tcc|icx|icc|as|ld|ld.*|*-ld|*-as) continue ;;
        esac
        [ -e "$work/bin/$b" ] || ln -s "$f" "$work/bin/$b"
    done
done
nocc() { env PATH="$work/venv/bin:$work/bin" CC=/bin/false CXX=/bin/false "$@"; }
nocc bash -c 'for c in gcc cc clang c99; do command -v "$c" && exit 1; done; exit 0' \
    || fail "a compiler is still on PATH"
start=$(date +%s)
quiet_pip nocc "$work/venv/bin/python" -m pip install -q --only-binary :all: "$wheel[test]" \
    || fail "pip install of the wheel with its test extra"
echo "pip install <wheel>[test]: $(( $(date +%s) - start )) s"

echo "== 5. the installed package and the test suite"
mkdir "$work/suite"
cp -r "$repo/tests" "$repo/pyproject.toml" "$work/suite/"   # pyproject.toml: pytest's settings
find "$work/suite" -name __pycache__ -prune -exec rm -rf {} +
cd "$work/suite"
nocc python -c '
import os, fastnn
from fastnn._kernels import _core
inc = fastnn.get_include()
assert os.path.isfile(os.path.join(inc, "fastnn", "capi.pxd")), inc
assert "site-packages" in _core.__file__, _core.__file__
print("fastnn from", os.path.dirname(fastnn.__file__), "; get_include():", inc)'
nocc python -m fastnn info
nocc python -m pytest -q -rs -p no:cacheprovider -W "ignore::DeprecationWarning" \
    --deselect tests/test_interrupt.py "$@"
