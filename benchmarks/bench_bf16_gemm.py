"""bfloat16 GEMM by measurement (issue 23, item 1): the products of W2-W5b as fastnn
makes them (benchmarks/_gemm_shapes.py), float32 sgemm against fastnn's
bfloat16-input kernels (csrc/fnn_gemm_bf16*.c: vdpbf16ps, and the portable
emulation), and PyTorch's bf16 `a @ b` when torch is installed (a reference timed
from Python, oneDNN underneath).  OpenBLAS's sbgemm is no candidate: the
scipy-openblas32 wheel fastnn uses exports no sbgemm (nm -D libscipy_openblas.so).

Each (shape, kernel) is timed from Python in windows of >= --window seconds
(calls per window calibrated first), --rounds rounds interleaved; reported:
GFLOP/s = 2·M·N·K / time per call, median (min-max) over rounds.  One thread
(threadpoolctl limits the BLAS; fastnn's bf16 kernel is single-threaded).  The
bf16 time includes packing both operands, as a call on unpacked operands does;
"bf16 B packed" is the same kernel with op(B) packed once outside the timing, as a
mixed_bfloat16 layer reads its W and Wᵀ (packed once per step or predict call) and
a training step its δ (packed once per step, not timed here either).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c 1 \\
        python benchmarks/bench_bf16_gemm.py [--quick] [--rounds 5]

Not part of the test suite (it measures time).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _gemm_shapes import operands, shapes_for  # noqa: E402

from fastnn._kernels import _core  # noqa: E402


def _timer(fn, window):
    fn()
    n, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - t0
        if t >= window:
            return n
        n *= 2 if t < window / 4 else 1 + max(1, int(n * (window / max(t, 1e-9) - 1)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--window", type=float, default=0.1)
    ap.add_argument("--no-emulated", action="store_true", help="skip the portable kernel")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_info, threadpool_limits
    threadpool_limits(1)
    for lib in threadpool_info():
        print(f"# {lib.get('internal_api')} {lib.get('version')} {lib.get('architecture')} "
              f"threads={lib.get('num_threads')} {os.path.basename(lib.get('filepath', ''))}")
    print(f"# fastnn ISA {_core.get_isa()}, bf16 kernel {_core.bf16_kernel()}")
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    kernels = ["sgemm", "avx512_bf16" if _core.bf16_kernel() == "avx512_bf16" else None,
               None if args.no_emulated else "emulated"]
    kernels = [k for k in kernels if k]
    rng = np.random.default_rng(0)
    shapes = [s for s in shapes_for(1, args.quick) if s.workload in ("W3", "W4", "W5b")]
    head = (["shape", "op"] + kernels + ["bf16 B packed"] + (["torch bf16"] if torch else [])
            + ["bf16/sgemm", "packed/sgemm"])
    print(" | ".join(head))
    for s in shapes:
        A, B, C0 = operands(s, rng)
        C = C0.copy()
        fns = {k: (lambda k=k: _core.gemm_kernel(A, B, C, s.tA, s.tB, 1.0, s.beta, k))
               for k in kernels}
        native = "avx512_bf16" if "avx512_bf16" in kernels else "emulated"
        Bp = _core.pack_bf16(B, s.tB, native)
        fns["bf16 B packed"] = (lambda: _core.gemm_kernel(A, B, C, s.tA, s.tB, 1.0, s.beta,
                                                          native, packed=Bp))
        if torch is not None:
            ta = torch.from_numpy(A).bfloat16()
            tb = torch.from_numpy(B).bfloat16()
            ta = ta.t() if s.tA else ta
            tb = tb.t() if s.tB else tb
            fns["torch bf16"] = lambda: ta @ tb
        calls = {k: _timer(f, args.window) for k, f in fns.items()}
        times = {k: [] for k in fns}
        names = list(fns)
        for r in range(args.rounds):
            for k in names[r % len(names):] + names[:r % len(names)]:
                t0 = time.perf_counter()
                for _ in range(calls[k]):
                    fns[k]()
                times[k].append((time.perf_counter() - t0) / calls[k])
        gf = {k: [s.flops / t / 1e9 for t in v] for k, v in times.items()}
        cells = [s.label, s.op]
        for k in names:
            v = gf[k]
            cells.append(f"{statistics.median(v):.0f} ({min(v):.0f}-{max(v):.0f})")
        best_bf16 = "avx512_bf16" if "avx512_bf16" in gf else "emulated"
        cells.append(f"{statistics.median(gf[best_bf16]) / statistics.median(gf['sgemm']):.2f}x")
        cells.append(f"{statistics.median(gf['bf16 B packed']) / statistics.median(gf['sgemm']):.2f}x")
        print(" | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
