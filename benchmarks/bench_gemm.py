"""GEMM by measurement (issue 17, item 2): every single-precision GEMM fastnn makes in
workloads W2-W5, timed with each candidate library, to choose one per shape.

Shapes, row-major as fastnn calls them (csrc/fnn_dense.c, fnn_gemm_rm), for a layer
with n_in inputs, n_out units and a batch of B rows:

    forward          Z(B×n_out)   = X(B×n_in)·W(n_in×n_out) + Z   (Z holds the bias)
    weight gradient  dW(n_in×n_out) = Xᵀ·δ                          (X stored B×n_in)
    input gradient   dX(B×n_in)   = δ·Wᵀ                           (not for layer 1)

for W2 (64-64-10, B 32), W3 (784-256-128-10, B 128), W4 (1024-4096-4096-1024,
B 256) and W5b (predict of the W3 net on 10,000 rows: forward only, in chunks of
1024 rows, the last one 784), plus a 4096³ product (the peak).

Candidates (benchmarks/_gemm_libraries.py): SciPy's OpenBLAS through
scipy.linalg.cython_blas (what fastnn calls), NumPy's OpenBLAS (ILP64),
scipy-openblas32, BLIS from cython-blis (as it picks its kernels, and with its
Zen 2 kernels forced), oneDNN's dnnl_sgemm, Intel MKL as linked into PyTorch's
CPU wheel; ``torch.mm`` from Python as a reference that includes a Python call;
on request (``--only ...,own-avx2``) the packed AVX2 prototype of gemm_own_kernel.c.

Method: gemm_harness.c (beside this file) is compiled with the system C compiler
into a temporary shared library; it calls a library's sgemm `reps` times between
two clock_gettime calls, so no Python runs inside a timed window.  Each thread
count runs in its own process, pinned to that many CPUs (oneDNN's TBB sizes its
pool from the affinity), with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed
(users do not set them) and every library set to that thread count.  Operands
hold realistic values (the data's rows, Glorot weights, ReLU activations, small
gradients), every candidate's product is checked against float64 NumPy first,
each (shape, candidate) is calibrated to windows of >= --window seconds, and
--rounds rounds interleave the candidates, their order rotated every round.
Reported: GFLOP/s = 2·M·N·K / time, median over rounds and min-max.

    python benchmarks/bench_gemm.py [--quick] [--only scipy,numpy] [--threads 1,2]
    python benchmarks/bench_gemm.py --install-cost   # install size and time per candidate

Not part of the test suite (it measures time).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _gemm_report as report  # noqa: E402
from _gemm_shapes import Shape, operands, shapes_for  # noqa: E402

REFERENCE = "torch.mm"  # timed from Python: a reference, never "best"
OWN = "own-avx2"  # the prototype of gemm_own_kernel.c


# ---------------------------------------------------------------- parent
def cpu_has_avx2_fma() -> bool:
    with open("/proc/cpuinfo") as f:
        flags = next((line.split() for line in f if line.startswith("flags")), [])
    return "avx2" in flags and "fma" in flags


def compile_harness(folder: str) -> str:
    """The harness, with the own-kernel prototype when this CPU can run it."""
    cc = os.environ.get("CC", "cc")
    out = os.path.join(folder, "gemm_harness.so")
    cmd = [cc, "-O2", "-shared", "-fPIC", "-o", out, os.path.join(HERE, "gemm_harness.c")]
    if cpu_has_avx2_fma():
        cmd += ["-DWITH_OWN_KERNEL", "-mavx2", "-mfma", os.path.join(HERE, "gemm_own_kernel.c")]
    subprocess.run(cmd, check=True)
    return out


def child_env(threads: int) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "BLIS_NUM_THREADS"):
        env[var] = str(threads)
    lib = os.path.join(sys.prefix, "lib")  # where the onednn wheel puts libdnnl.so
    if any(f.startswith("libdnnl.so") for f in os.listdir(lib)):
        env["LD_LIBRARY_PATH"] = ":".join(p for p in (lib, env.get("LD_LIBRARY_PATH")) if p)
    return env


def run_child(args, harness: str, threads: int, folder: str, only: str, rounds: int) -> dict:
    out = os.path.join(folder, f"threads{threads}.json")
    cmd = [sys.executable, os.path.abspath(__file__), "--child", str(threads),
           "--harness", harness, "--out", out, "--rounds", str(rounds),
           "--window", str(args.window), "--only", only]
    if args.quick:
        cmd.append("--quick")
    subprocess.run(cmd, check=True, env=child_env(threads))
    with open(out) as f:
        return json.load(f)


def run_block(args, harness: str, threads: int, folder: str) -> dict:
    """1 thread: one process, the candidates interleaved within each round.  More
    threads: one process per candidate and round (rounds outermost, the order rotated),
    because the idle workers of one library's pool (OpenBLAS, OpenMP, TBB) spin for a
    while after its call and would take the CPUs from the next library in the same
    process."""
    if threads == 1:
        return run_child(args, harness, threads, folder, args.only, args.rounds)
    unthreaded = {k: "cython-blis is built without threading (BLIS runs 1 thread)"
                  for k in args.only.split(",") if k.startswith("blis")}
    if OWN in args.only.split(","):
        unthreaded[OWN] = "the prototype is single-threaded"
    keys = [k for k in args.only.split(",") if k not in unthreaded]
    block: dict = {}
    for rnd in range(args.rounds):
        k = rnd % len(keys)
        for key in keys[k:] + keys[:k]:
            part = run_child(args, harness, threads, folder, key, 1)
            if not block:
                block = {**part, "keys": [], "about": {}, "titles": {}, "notes": {},
                         "missing": {}, "results": {
                             label: {"shape": res["shape"], "by": {}}
                             for label, res in part["results"].items()}}
            block["missing"].update(part["missing"])
            for name in ("about", "titles", "notes"):
                block[name].update(part[name])
            for key2 in part["keys"]:
                if key2 not in block["keys"]:
                    block["keys"].append(key2)
                for label, res in part["results"].items():
                    got = res["by"][key2]
                    have = block["results"][label]["by"].setdefault(
                        key2, {**got, "rates": [], "cpu_rates": [], "cpu_share": []})
                    for field in ("rates", "cpu_rates", "cpu_share"):
                        have[field] += got[field]
                    have["error"] = max(have["error"], got["error"])
    block["keys"] = [k for k in keys if k in block["keys"]]
    block["missing"].update(unthreaded)
    return block


def main_parent(args) -> None:
    print(f"# GEMM by measurement — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    with tempfile.TemporaryDirectory(prefix="fastnn-gemm-") as folder:
        harness = compile_harness(folder)
        blocks = [run_block(args, harness, t, folder)
                  for t in sorted({int(x) for x in args.threads.split(",")})]
    report.print_all(blocks, args, sys.argv[1:])


# ---------------------------------------------------------------- child
def pin(threads: int) -> list[int]:
    cpus = sorted(os.sched_getaffinity(0))[-threads:]
    os.sched_setaffinity(0, cpus)
    return cpus


def own_kernel(harness) -> object:
    """The prototype of gemm_own_kernel.c as a candidate (1 thread only)."""
    import ctypes

    import _gemm_libraries as libs

    if not hasattr(harness, "gemm_own_avx2"):
        raise libs.Unavailable("this CPU lacks AVX2+FMA (the prototype is not compiled)")
    return libs.Candidate(OWN, "fastnn-style prototype: packed 6x16 AVX2 micro-kernel "
                          "(benchmarks/gemm_own_kernel.c)", libs.OWN_KERNEL,
                          ctypes.cast(harness.gemm_own_avx2, ctypes.c_void_p).value or 0,
                          lambda n: None, lambda: 1,
                          lambda: "own code, gcc -O2 -mavx2 -mfma, 1 thread", "the harness")


def load_candidates(only: list[str], threads: int, harness=None):
    import _gemm_libraries as libs

    loaded, missing = [], {}
    for key in only:
        if key == REFERENCE:
            continue
        if key == OWN:
            try:
                loaded.append(own_kernel(harness))
            except libs.Unavailable as e:
                missing[key] = str(e)
            continue
        try:
            cand = libs.LOADERS[key]()
            cand.set_threads(threads)
            got = cand.get_threads()
            if got not in (-1, threads):
                cand.notes.append(f"reports {got} threads, not {threads}")
            loaded.append(cand)
        except libs.Unavailable as e:
            missing[key] = str(e)
    return loaded, missing


def torch_call(shape: Shape, A, B, C):
    """A call of torch on the same buffers (torch.from_numpy shares the memory)."""
    import torch

    a, b, c = torch.from_numpy(A), torch.from_numpy(B), torch.from_numpy(C)
    a, b = (a.t() if shape.tA else a), (b.t() if shape.tB else b)
    if shape.beta:
        return lambda: c.addmm_(a, b)
    return lambda: torch.mm(a, b, out=c)


class Timer:
    """Times one (shape, candidate): `reps` calls of the harness, or of torch."""

    def __init__(self, lib, shape: Shape, cand, A, B, C):
        import ctypes

        self.shape, self.cand, self.C = shape, cand, C
        self.cpu = ctypes.c_double()
        if cand is None:
            self.torch_fn = torch_call(shape, A, B, C)
            return
        ptr = lambda x: x.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
        lda, ldb, ldc = A.shape[1], B.shape[1], C.shape[1]
        self.args = (cand.interface, ctypes.c_void_p(cand.sgemm), ctypes.c_void_p(cand.context),
                     int(shape.tA), int(shape.tB), shape.M, shape.N, shape.K, ptr(A), lda,
                     ptr(B), ldb, ctypes.c_float(shape.beta), ptr(C), ldc)
        self.lib = lib

    def __call__(self, reps: int) -> tuple[float, float]:
        """(wall seconds, CPU seconds) of `reps` calls."""
        if self.cand is None:
            c0, t0 = time.process_time(), time.perf_counter()
            for _ in range(reps):
                self.torch_fn()
            return time.perf_counter() - t0, time.process_time() - c0
        import ctypes

        wall = self.lib.time_gemm(*self.args, reps, ctypes.byref(self.cpu))
        if wall < 0:
            raise RuntimeError(f"{self.cand.key}: the call failed on {self.shape.label}")
        return wall, self.cpu.value


def check(timer: Timer, shape: Shape, A, B, C0) -> float:
    """Relative error of one call on the first rows against float64 NumPy."""
    np.copyto(timer.C, C0)
    timer(1)
    r = min(shape.M, 64)
    opA = (A.T if shape.tA else A)[:r].astype(np.float64)
    opB = (B.T if shape.tB else B).astype(np.float64)
    ref = opA @ opB + shape.beta * C0[:r]
    scale = (np.abs(opA) @ np.abs(opB)).max() + shape.beta * np.abs(C0[:r]).max() + 1e-30
    return float(np.abs(timer.C[:r] - ref).max() / scale)


def main_child(args) -> None:
    import ctypes

    threads = args.child
    cpus = pin(threads)
    only = args.only.split(",")
    lib = ctypes.CDLL(args.harness)
    cands, missing = load_candidates(only, threads, lib)
    use_torch = REFERENCE in only
    if use_torch:
        try:
            import torch

            torch.set_num_threads(threads)
        except ImportError:
            missing[REFERENCE] = "torch is not installed"
            use_torch = False
    lib.time_gemm.restype = ctypes.c_double
    i64, vp = ctypes.c_int64, ctypes.c_void_p  # time_gemm's prototype (gemm_harness.c)
    lib.time_gemm.argtypes = [ctypes.c_int, vp, vp, ctypes.c_int, ctypes.c_int, i64, i64, i64,
                              vp, i64, vp, i64, ctypes.c_float, vp, i64, i64,
                              ctypes.POINTER(ctypes.c_double)]
    shapes = shapes_for(threads, args.quick)
    keys = [c.key for c in cands] + ([REFERENCE] if use_torch else [])
    by_key = {c.key: c for c in cands}
    rng = np.random.default_rng(17)
    results = {}
    for s_i, shape in enumerate(shapes):
        A, B, C0 = operands(shape, rng)
        C = C0.copy()
        timers, row = {}, {}
        for key in keys:
            timers[key] = Timer(lib, shape, by_key.get(key), A, B, C)
            err = check(timers[key], shape, A, B, C0)
            row[key] = {"error": err, "rates": [], "cpu_rates": [], "cpu_share": []}
            one, _ = timers[key](1)  # warm-up (OpenBLAS buffers, oneDNN's JIT)
            if one < args.window:  # else a second call would only cost time
                one, _ = timers[key](1)
            row[key]["reps"] = max(1, math.ceil(args.window / max(one, 1e-9)))
        results[shape.label] = {"shape": shape.as_dict(), "by": row}
        if threads > 1:
            time.sleep(0.3)  # let the workers of the float64 checks' pool stop spinning
        for rnd in range(args.rounds):
            k = (rnd + s_i) % len(keys)
            for key in keys[k:] + keys[:k]:
                np.copyto(C, C0)
                reps = row[key]["reps"]
                wall, cpu = timers[key](reps)
                row[key]["rates"].append(shape.flops * reps / wall / 1e9)
                row[key]["cpu_rates"].append(shape.flops * reps / cpu / 1e9)
                row[key]["cpu_share"].append(cpu / wall / threads)
        print(f"  [{threads} thread{'s' * (threads > 1)}] {shape.label}: " + ", ".join(
            f"{k} {np.median(row[k]['rates']):.1f}" for k in keys), file=sys.stderr, flush=True)
        del A, B, C0, C, timers
    info = {"threads": threads, "cpus": cpus, "keys": keys, "missing": missing,
            "about": {c.key: c.about() for c in cands},
            "titles": {c.key: c.title for c in cands},
            "notes": {c.key: c.notes for c in cands},
            "pools": report.threadpools(), "results": results}
    with open(args.out, "w") as f:
        json.dump(info, f)


def main() -> None:
    import _gemm_libraries as libs

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="2 rounds of >= 0.02 s windows, the peak on 2048³ instead of 4096³")
    p.add_argument("--rounds", type=int, default=None, help="rounds (default 5, quick 2)")
    p.add_argument("--window", type=float, default=None,
                   help="seconds per timed window (default 0.1, quick 0.02)")
    p.add_argument("--only", default=",".join([*libs.LOADERS, REFERENCE]),
                   help="candidates, comma-separated (default all but own-avx2): " +
                        ", ".join([*libs.LOADERS, REFERENCE, OWN]))
    p.add_argument("--threads", default="1,2", help="thread counts, each its own process")
    p.add_argument("--install-cost", action="store_true",
                   help="measure each candidate's install size and time instead")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    p.add_argument("--harness", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    unknown = set(args.only.split(",")) - {*libs.LOADERS, REFERENCE, OWN}
    if unknown:
        p.error(f"unknown candidate(s) {', '.join(sorted(unknown))}; expected some of "
                + ", ".join([*libs.LOADERS, REFERENCE]))
    if args.rounds is None:
        args.rounds = 2 if args.quick else 5
    if args.window is None:
        args.window = 0.02 if args.quick else 0.1
    if args.child:
        main_child(args)
    elif args.install_cost:
        import _gemm_install_cost

        _gemm_install_cost.main()
    else:
        main_parent(args)


if __name__ == "__main__":
    main()
