#!/usr/bin/env bash
# tools/time_install.sh — time the README's two install commands the way a user
# runs them: a fresh clone of this checkout's HEAD, a fresh virtual environment,
#   1. pip install -e ".[demo,plot]"   (then python -m fastnn demo)
#   2. pip install -e ".[test]"        (in the same environment, right after)
# Prints the wall time of each install and where it went (pip -v, time-stamped):
# build environment (pip installing setuptools, Cython, numpy into a temporary
# folder), Cython, metadata, resolving, compiling, installing the dependencies.
#
# Usage: tools/time_install.sh [--upgrade-pip] [--keep]
#   --upgrade-pip  run `python -m pip install --upgrade pip` in the new environment first
#   --keep         keep the scratch folder (its path is printed)
# Environment: PYTHON (default python3), TIME_INSTALL_DIR (scratch parent, default $TMPDIR or /tmp).
# pip's own caches are used as they are on this machine.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
upgrade=0 keep=0
for arg in "$@"; do
    case "$arg" in
        --upgrade-pip) upgrade=1 ;;
        --keep) keep=1 ;;
        *) echo "unknown option $arg" >&2; exit 2 ;;
    esac
done
work="$(mktemp -d "${TIME_INSTALL_DIR:-${TMPDIR:-/tmp}}/fastnn-time-install.XXXXXX")"
[ "$keep" = 1 ] && echo "scratch: $work" || trap 'rm -rf "$work"' EXIT

git clone -q "$repo" "$work/clone"
"$PY" -m venv "$work/venv"
. "$work/venv/bin/activate"
[ "$upgrade" = 1 ] && python -m pip install -q --upgrade pip
echo "$(python -m pip --version | cut -d' ' -f1-2), $(python --version), commit $(git -C "$work/clone" rev-parse --short HEAD), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

stamp() {  # prefix each line with the seconds since the start
    python -c 'import sys, time
t0 = time.monotonic()
for line in sys.stdin:
    sys.stdout.write(f"{time.monotonic() - t0:8.2f} {line}")'
}

phases() {  # where the time went, from a time-stamped pip -v log
    python - "$1" <<'EOF'
import re, sys
t = {}
for line in open(sys.argv[1]):
    m = re.match(r"\s*([\d.]+) (.*)", line)
    if not m:
        continue
    s, text = float(m.group(1)), m.group(2)
    for key, pat in [("env0", "Installing build dependencies: started"),
                     ("env1", "Installing build dependencies: finished"),
                     ("req0", "Getting requirements to build editable: started"),
                     ("req1", "Getting requirements to build editable: finished"),
                     ("meta0", "Preparing editable metadata .*: started"),
                     ("meta1", "Preparing editable metadata .*: finished"),
                     ("build0", "Building editable for fastnn .*: started"),
                     ("cy0", "Cythonizing|fastnn: .*_core.c from build/objcache"),
                     ("cc0", "building 'fastnn._kernels._core' extension"),
                     ("link0", r"(gcc|cc) .*-shared"),
                     ("build1", "Building editable for fastnn .*: finished"),
                     ("inst0", "Installing collected packages"),
                     ("inst1", "Successfully installed"),
                     ("end", "Elapsed .wall clock")]:
        # the build environment's own "Installing collected packages" comes first
        if (key not in t or key.startswith("inst")) and re.search(pat, text):
            t[key] = s
def span(a, b):
    return f"{t[b] - t[a]:5.1f}" if a in t and b in t else "    ?"
print(f"  build environment (setuptools, Cython, numpy)  {span('env0', 'env1')} s")
print(f"  setup.py: get requirements                     {span('req0', 'req1')} s")
print(f"  setup.py: metadata                             {span('meta0', 'meta1')} s")
print(f"  resolving and downloading the dependencies     {span('meta1', 'build0')} s")
print(f"  building fastnn (Cython, compiling, linking)   {span('build0', 'build1')} s"
      f"   (compile+link {span('cc0', 'build1')} s)")
print(f"  installing the dependencies                    {span('inst0', 'inst1')} s")
print(f"  total                                          {t.get('end', 0):5.1f} s")
EOF
}

cd "$work/clone"
for extras in "demo,plot" "test"; do
    log="$work/install-$extras.log"
    { /usr/bin/time -f "Elapsed (wall clock) %e s" pip install -v -e ".[$extras]" 2>&1 || true; } \
        | stamp > "$log"
    grep -q "Successfully installed" "$log" || { tail -40 "$log"; exit 1; }
    echo "pip install -e \".[$extras]\": $(grep -o 'Elapsed (wall clock) [0-9.]* s' "$log" | cut -d' ' -f4) s"
    phases "$log"
    if [ "$extras" = "demo,plot" ]; then
        /usr/bin/time -f "python -m fastnn demo: %e s" python -m fastnn demo > "$work/demo.log" 2>"$work/demo.err" \
            || { cat "$work/demo.err"; exit 1; }
        tail -1 "$work/demo.err"
    fi
done
