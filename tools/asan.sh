#!/usr/bin/env bash
# tools/asan.sh — run fastnn's test suite under AddressSanitizer + UndefinedBehaviorSanitizer.
#
# Builds the Cython extension (src/fastnn/_kernels/_core.pyx + csrc/*.c) with
# -fsanitize=address,undefined in a scratch copy of this checkout (the checkout
# itself is not touched: an ASan-linked _core*.so in the tree would fail to
# import without LD_PRELOAD), then runs the suite with the sanitizer runtimes
# preloaded into the (uninstrumented) Python interpreter, once per instruction-set
# level the CPU runs (FASTNN_ISA=baseline, avx2, avx512: each is its own compiled
# copy of the kernels, csrc/fnn_isa_*.c).
#
# Usage: tools/asan.sh [options] [-- extra pytest args]
#   --debug       FASTNN_DEBUG=1 build (Cython bounds/wraparound/None checks, -O0,
#                 -DFNN_DEBUG).  Adds -UNDEBUG: Python's own CFLAGS carry -DNDEBUG,
#                 which otherwise compiles FNN_ASSERT (= assert) out even in a debug build.
#   --both        the release (FASTNN_DEBUG=0) build and then the --debug build
#   --long        FASTNN_HYPOTHESIS=ci-long (400 Hypothesis examples instead of 40)
#   --isa LIST    comma-separated ISAs to run: "all" (every level this CPU runs), "default"
#                 (the one chosen at import), "baseline", "avx2", "avx512" (default: all)
#   --asan-only   no UBSan (fallback if preloading libubsan gives trouble)
#   --probe       after the suite, also run the reproducer of the one-row wide-model
#                 predict() stack-buffer-overflow found at 70548f0 (fixed in 01c8d26)
#   --in-place    build and test in this checkout instead of a scratch copy
#                 (leaves an ASan-linked _core*.so behind: rebuild normally afterwards)
#   --keep        keep the scratch copy (its path is printed)
# Environment: PYTHON (default: python), ASAN_WORKDIR (scratch parent, default: $TMPDIR or /tmp).
# Exit status: 0 if every run passed, 1 otherwise.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python}"
builds=(release) long=0 ubsan=1 probe=0 in_place=0 keep=0 isas="all"
pytest_extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
    --debug) builds=(debug) ;;
    --both) builds=(release debug) ;;
    --long) long=1 ;;
    --isa) isas="$2"; shift ;;
    --asan-only) ubsan=0 ;;
    --probe) probe=1 ;;
    --in-place) in_place=1 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    --) shift; pytest_extra=("$@"); break ;;
    *) echo "asan.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

command -v gcc >/dev/null || { echo "asan.sh: gcc is required" >&2; exit 2; }
libasan="$(gcc -print-file-name=libasan.so)"
libubsan="$(gcc -print-file-name=libubsan.so)"
[[ -f "$libasan" ]] || { echo "asan.sh: libasan.so not found (install gcc's libasan)" >&2; exit 2; }

if [[ $ubsan == 1 ]]; then
    [[ -f "$libubsan" ]] || { echo "asan.sh: libubsan.so not found; use --asan-only" >&2; exit 2; }
    san="address,undefined"
    # UBSan findings abort (no recovery), like ASan's halt_on_error
    san_cflags="-fsanitize=$san -fno-sanitize-recover=undefined"
    preload="$libasan $libubsan"   # libasan must come first
else
    san="address"
    san_cflags="-fsanitize=$san"
    preload="$libasan"
fi

# --- the scratch copy: tracked and untracked-but-not-ignored files, as in the working tree
if [[ $in_place == 1 ]]; then
    work="$repo"
else
    work="$(mktemp -d "${ASAN_WORKDIR:-${TMPDIR:-/tmp}}/fastnn-asan.XXXXXX")"
    if [[ $keep == 0 ]]; then trap 'rm -rf "$work"' EXIT; fi
    if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
        git -C "$repo" ls-files -z --cached --others --exclude-standard \
            | tar -C "$repo" --null --ignore-failed-read -T - -cf - 2>/dev/null \
            | tar -C "$work" -xf -
    else
        cp -a "$repo/." "$work/"
        rm -rf "$work/build" "$work"/src/fastnn/_kernels/_core*.so "$work/src/fastnn/_kernels/_core.c"
    fi
    echo "asan.sh: scratch copy of $repo in $work"
fi
cd "$work"
# the in-place build lands in src/fastnn/: import that one, not an installed fastnn
export PYTHONPATH="$work/src${PYTHONPATH:+:$PYTHONPATH}"

export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
[[ $long == 1 ]] && export FASTNN_HYPOTHESIS=ci-long

failures=0
summary=()
now() { date +%s; }

for build in "${builds[@]}"; do
    if [[ $build == debug ]]; then dbg=1 extra="-UNDEBUG"; else dbg=0 extra=""; fi
    cflags="-O1 -g -fno-omit-frame-pointer $san_cflags $extra"
    echo
    echo "=== build: $build (FASTNN_DEBUG=$dbg)"
    echo "+ CFLAGS=\"$cflags\" LDFLAGS=\"-fsanitize=$san\" FASTNN_DEBUG=$dbg $PY setup.py build_ext --inplace --force"
    t0=$(now)
    if ! CFLAGS="$cflags" LDFLAGS="-fsanitize=$san" FASTNN_DEBUG=$dbg \
            "$PY" setup.py build_ext --inplace --force > "build-asan-$build.log" 2>&1; then
        tail -40 "build-asan-$build.log"
        echo "asan.sh: the $build build FAILED (log: $work/build-asan-$build.log)" >&2
        exit 1
    fi
    echo "    built in $(( $(now) - t0 )) s"

    if [[ $isas == *all* ]]; then  # "all": the levels this CPU runs, asked of the fresh build
        avail="$(LD_PRELOAD="$preload" PYTHONMALLOC=malloc "$PY" -c \
            'from fastnn._kernels import _core; print(",".join(_core.available_isas()))')"
        isas_now="${isas//all/$avail}"
    else
        isas_now="$isas"
    fi
    IFS=',' read -r -a isa_list <<< "$isas_now"
    for isa in "${isa_list[@]}"; do
        if [[ $isa == default ]]; then isa_env=(env -u FASTNN_ISA); else isa_env=(env FASTNN_ISA="$isa"); fi
        echo
        echo "=== tests: build=$build isa=$isa hypothesis=${FASTNN_HYPOTHESIS:-default}"
        echo "+ ${isa_env[*]} LD_PRELOAD=\"$preload\" PYTHONMALLOC=malloc $PY -m pytest -x -s -p no:cacheprovider tests/ ${pytest_extra[*]:-}"
        "${isa_env[@]}" LD_PRELOAD="$preload" PYTHONMALLOC=malloc "$PY" -c \
            'from fastnn._kernels import _core; print("    instruction set in use:", _core.get_isa())'
        t0=$(now)
        rc=0
        "${isa_env[@]}" LD_PRELOAD="$preload" PYTHONMALLOC=malloc \
            "$PY" -m pytest -x -s -p no:cacheprovider tests/ "${pytest_extra[@]}" || rc=$?
        dt=$(( $(now) - t0 ))
        if [[ $rc == 0 ]]; then res=passed; else res="FAILED (exit $rc)"; failures=$((failures + 1)); fi
        summary+=("build=$build isa=$isa: $res in ${dt} s")
    done
done

if [[ $probe == 1 ]]; then
    # One-row predict() on a model whose ping-pong workspace (2 x widest layer)
    # exceeds _core.predict's 32 KiB stack buffer: stack-buffer-overflow before 01c8d26.
    echo
    echo "=== probe: one-row predict on a wide model"
    rc=0
    LD_PRELOAD="$preload" PYTHONMALLOC=malloc "$PY" - <<'EOF' || rc=$?
import numpy as np
import fastnn
from fastnn.layers import Dense
for dtype, widths in (("float64", [3000, 3000]), ("float32", [5000, 5000]), ("float64", [5000])):
    m = fastnn.Sequential([fastnn.Input(shape=(2,))] + [Dense(w, activation="relu") for w in widths]
                          + [Dense(1)], dtype=dtype, seed=0)
    print(dtype, widths, m.predict(np.ones((1, 2), dtype)).shape, flush=True)
EOF
    if [[ $rc == 0 ]]; then summary+=("probe predict-one-row-wide: passed")
    else summary+=("probe predict-one-row-wide: FAILED (exit $rc)"); failures=$((failures + 1)); fi
fi

echo
echo "=== summary (sanitizers: $san)"
printf '    %s\n' "${summary[@]}"
[[ $keep == 1 && $in_place == 0 ]] && echo "    scratch copy kept: $work"
[[ $failures == 0 ]]
