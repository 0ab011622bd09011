"""Where should fastnn's dense kernels switch from direct C loops to BLAS sgemm?

fastnn's dense forward and backward (csrc/fnn_dense.c) run direct loops when
B·n_in·n_out < small_gemm multiply-adds and SciPy's BLAS sgemm otherwise
(default DEFAULT_SMALL_GEMM = 64·64·32 = 131072 in fastnn/_kernels/_core.pyx).
This script times both paths of

    fastnn._kernels._core.dense_forward_kernel(X, W, b, Z, small_gemm)
    fastnn._kernels._core.dense_backward_kernel(X, delta, W, dW, db, dX, small_gemm)

(small_gemm = 2**62 forces the loops, 0 forces BLAS; float32, C order) on the
grid B ∈ {1, 8, 32, 128, 256} × n_in, n_out ∈ {2, 16, 64, 128, 256, 784},
checks that both paths give the same result, and prints per shape the median
time per call of each path and the winner.

Timing: per shape and path, the number of calls n in a block is calibrated to
about 2 ms; R rounds (R = 7, 5 with --quick) each time one block of the loops
and one of BLAS (in alternating order); the median over rounds of the time
per call is reported.

The crossover: for a threshold T (route B·n_in·n_out >= T to BLAS), the cost
of T over the grid is the geometric-mean slowdown against the per-shape
winner.  The script prints the best T for forward, backward and both together
(one small_gemm serves both), the cost of the current default, the mis-routed
shapes, and the same for the rule "loops when B < Bmin or MACs < T".

    python benchmarks/bench_dense_threshold.py [--quick] [--threads N]
"""
from __future__ import annotations

import argparse
import math
import time

import _common as C  # first: puts the repo root on sys.path if needed
import numpy as np

# isort: split
from fastnn._kernels import _core

BATCHES = [1, 8, 32, 128, 256]
WIDTHS = [2, 16, 64, 128, 256, 784]
LOOPS, BLAS = 2**62, 0
DEFAULT = getattr(_core, "DEFAULT_SMALL_GEMM", 64 * 64 * 32)


def shape_arrays(B, n_in, n_out, rng):
    f = np.float32
    return {"X": rng.standard_normal((B, n_in)).astype(f),
            "W": (rng.standard_normal((n_in, n_out)) / math.sqrt(n_in)).astype(f),
            "b": rng.standard_normal(n_out).astype(f),
            "Z": np.empty((B, n_out), f), "delta": rng.standard_normal((B, n_out)).astype(f),
            "dW": np.empty((n_in, n_out), f), "db": np.empty(n_out, f),
            "dX": np.empty((B, n_in), f)}


def kernel_calls(a):
    """The four calls timed for one shape: forward and backward, loops and BLAS."""
    X, W, b, Z, delta, dW, db, dX = (a[k] for k in ("X", "W", "b", "Z", "delta", "dW", "db", "dX"))
    fwd, bwd = _core.dense_forward_kernel, _core.dense_backward_kernel
    return (lambda: fwd(X, W, b, Z, LOOPS), lambda: fwd(X, W, b, Z, BLAS),
            lambda: bwd(X, delta, W, dW, db, dX, LOOPS),
            lambda: bwd(X, delta, W, dW, db, dX, BLAS))


def check_paths(a) -> float:
    """Largest relative difference between the loop and BLAS results (all outputs)."""
    outs = []
    for sg in (LOOPS, BLAS):
        _core.dense_forward_kernel(a["X"], a["W"], a["b"], a["Z"], sg)
        _core.dense_backward_kernel(a["X"], a["delta"], a["W"], a["dW"], a["db"], a["dX"], sg)
        outs.append([a[k].copy() for k in ("Z", "dW", "db", "dX")])
    worst = 0.0
    for u, v in zip(*outs):
        worst = max(worst, float(np.abs(u - v).max() / max(1.0, float(np.abs(v).max()))))
    return worst


def time_pair(f_loop, f_blas, rounds, target):
    n_l = C.calibrate(f_loop, target)
    n_b = C.calibrate(f_blas, target)
    tl, tb = [], []
    for r in range(rounds):
        pair = [(f_loop, n_l, tl), (f_blas, n_b, tb)]
        for fn, n, acc in (pair if r % 2 == 0 else pair[::-1]):
            acc += C.per_call(fn, n, 1)
    return C.median(tl), C.median(tb)


def cost(rows, rule):
    """Geometric-mean slowdown vs the per-shape winner when `rule(row)` picks BLAS,
    plus the list of mis-routed rows and the absolute time lost (seconds per
    call, summed over the grid)."""
    logs, wrong, lost = [], [], 0.0
    for r in rows:
        t = r["tb"] if rule(r) else r["tl"]
        best = min(r["tl"], r["tb"])
        logs.append(math.log(t / best))
        lost += t - best
        if t > best:
            wrong.append(r)
    return math.exp(sum(logs) / len(logs)), wrong, lost


def best_threshold(rows, bmin=1):
    """The threshold T among the grid's MAC counts (and 'never BLAS') with the
    lowest cost, for the rule BLAS iff B >= bmin and MACs >= T."""
    cands = sorted({r["macs"] for r in rows}) + [2**62]
    scored = []
    for T in cands:
        g, wrong, lost = cost(rows, lambda r, T=T: r["B"] >= bmin and r["macs"] >= T)
        scored.append((g, lost, T, wrong))
    g_best = min(s[0] for s in scored)
    # among (near-)ties, report the whole interval of equally good thresholds
    ties = [s for s in scored if s[0] <= g_best * (1 + 1e-9)]
    return min(ties, key=lambda s: (s[0], s[1])), ties


def fmt_macs(m):
    return "never" if m >= 2**62 else f"{m:,}"


def summarize(rows, key, label):
    """rows with tl/tb of one direction under the names tl, tb."""
    sub = [dict(r, tl=r[f"{key}_l"], tb=r[f"{key}_b"]) for r in rows]
    out = [f"== {label} =="]
    loops_win = [r for r in sub if r["tl"] <= r["tb"]]
    blas_win = [r for r in sub if r["tb"] < r["tl"]]
    if loops_win:
        r = max(loops_win, key=lambda r: r["macs"])
        out.append(f"largest shape where loops win : B={r['B']} {r['n_in']}x{r['n_out']} "
                   f"({r['macs']:,} MACs; loops {r['tl'] * 1e6:.1f} µs, BLAS {r['tb'] * 1e6:.1f} µs)")
    if blas_win:
        r = min(blas_win, key=lambda r: r["macs"])
        out.append(f"smallest shape where BLAS wins: B={r['B']} {r['n_in']}x{r['n_out']} "
                   f"({r['macs']:,} MACs; loops {r['tl'] * 1e6:.1f} µs, BLAS {r['tb'] * 1e6:.1f} µs)")
    for B in sorted({r["B"] for r in sub}):
        rb = [r for r in sub if r["B"] == B]
        wins = sorted(r["macs"] for r in rb if r["tb"] < r["tl"])
        lw = sorted(r["macs"] for r in rb if r["tl"] <= r["tb"])
        out.append(f"  B={B:>3}: BLAS wins {len(wins):>2}/{len(rb)} shapes"
                   + (f", from {wins[0]:,} MACs" if wins else "")
                   + (f"; loops win up to {lw[-1]:,} MACs" if lw else ""))
    g0, wrong0, lost0 = cost(sub, lambda r: r["macs"] >= DEFAULT)
    out.append(f"default small_gemm={DEFAULT:,}: geo-mean slowdown {g0:.3f}, "
               f"{len(wrong0)} mis-routed shapes, {lost0 * 1e6:.0f} µs lost over the grid")
    (g, lost, T, wrong), ties = best_threshold(sub)
    lo, hi = min(t[2] for t in ties), max(t[2] for t in ties)
    out.append(f"best single threshold T={fmt_macs(T)} (ties: {fmt_macs(lo)}..{fmt_macs(hi)}): "
               f"geo-mean slowdown {g:.3f}, {len(wrong)} mis-routed, {lost * 1e6:.0f} µs lost")
    for r in sorted(wrong, key=lambda r: r["macs"]):
        out.append(f"    mis-routed: B={r['B']} {r['n_in']}x{r['n_out']} ({r['macs']:,} MACs): "
                   f"loops {r['tl'] * 1e6:.1f} µs, BLAS {r['tb'] * 1e6:.1f} µs")
    for bmin in (2, 32):
        (g2, lost2, T2, wrong2), _ = best_threshold(sub, bmin)
        out.append(f"rule 'loops if B < {bmin} or MACs < T': best T={fmt_macs(T2)}: "
                   f"geo-mean slowdown {g2:.3f}, {len(wrong2)} mis-routed, {lost2 * 1e6:.0f} µs lost")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 rounds instead of 7, 1 ms blocks")
    ap.add_argument("--threads", type=int, default=None,
                    help="limit BLAS/OpenMP threads (threadpoolctl; nothing set without it)")
    args = ap.parse_args()
    rounds = 5 if args.quick else 7
    target = 1e-3 if args.quick else 2e-3
    ctx, note = C.thread_limits(args.threads)
    rng = np.random.default_rng(0)
    rows = []
    t_start = time.perf_counter()
    with ctx:
        print(C.machine_report(note))
        print(f"DEFAULT_SMALL_GEMM in the build: {DEFAULT:,}; instruction set: {_core.get_isa()} "
              "(FASTNN_ISA=baseline|avx2|avx512 to choose)")
        for B in BATCHES:
            for n_in in WIDTHS:
                for n_out in WIDTHS:
                    a = shape_arrays(B, n_in, n_out, rng)
                    diff = check_paths(a)
                    fl, fb, bl, bb = kernel_calls(a)
                    f_l, f_b = time_pair(fl, fb, rounds, target)
                    b_l, b_b = time_pair(bl, bb, rounds, target)
                    rows.append({"B": B, "n_in": n_in, "n_out": n_out,
                                 "macs": B * n_in * n_out, "fwd_l": f_l, "fwd_b": f_b,
                                 "bwd_l": b_l, "bwd_b": b_b, "diff": diff})
    elapsed = time.perf_counter() - t_start
    table = []
    for r in rows:
        table.append([str(r["B"]), str(r["n_in"]), str(r["n_out"]), f"{r['macs']:,}",
                      f"{r['fwd_l'] * 1e6:.2f}", f"{r['fwd_b'] * 1e6:.2f}",
                      "loops" if r["fwd_l"] <= r["fwd_b"] else "BLAS",
                      f"{r['fwd_l'] / r['fwd_b']:.2f}",
                      f"{r['bwd_l'] * 1e6:.2f}", f"{r['bwd_b'] * 1e6:.2f}",
                      "loops" if r["bwd_l"] <= r["bwd_b"] else "BLAS",
                      f"{r['bwd_l'] / r['bwd_b']:.2f}", f"{r['diff']:.1e}"])
    print(f"\nDense kernels, float32, median µs per call over {rounds} rounds "
          f"(loops/BLAS > 1: BLAS is faster); max rel. diff loops vs BLAS in the last column")
    print(C.fmt_table(["B", "n_in", "n_out", "MACs", "fwd loops", "fwd BLAS", "fwd win",
                       "fwd l/B", "bwd loops", "bwd BLAS", "bwd win", "bwd l/B", "diff"],
                      table))
    print()
    for line in summarize(rows, "fwd", "forward"):
        print(line)
    for line in summarize(rows, "bwd", "backward"):
        print(line)
    both = [dict(r, both_l=r["fwd_l"] + r["bwd_l"], both_b=r["fwd_b"] + r["bwd_b"]) for r in rows]
    for line in summarize(both, "both", "forward + backward (one small_gemm for both)"):
        print(line)
    stalled = [r for r in rows if r["macs"] >= 100_000
               and min(r["macs"] / r["fwd_b"], 2 * r["macs"] / r["bwd_b"]) < 1e9]
    if stalled:
        print(f"\nWARNING: {len(stalled)} shapes ran BLAS below 1 GMAC/s (e.g. B={stalled[0]['B']} "
              f"{stalled[0]['n_in']}x{stalled[0]['n_out']}: fwd {stalled[0]['fwd_b'] * 1e6:.0f} µs): "
              "multi-threaded OpenBLAS calls stalled (host CPU throttling, see the cpu probe "
              "line); compare with --threads 1")
    worst = max(r["diff"] for r in rows)
    print(f"\nlargest relative difference between the two paths over the grid: {worst:.2e}")
    print(f"elapsed {elapsed:.0f} s")


if __name__ == "__main__":
    main()
