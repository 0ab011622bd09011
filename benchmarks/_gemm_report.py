"""Tables of bench_gemm.py: GFLOP/s per shape and candidate, GEMM time per workload
step, the kernels each library ran, and the machine."""
from __future__ import annotations

import os
import platform
import sys

import numpy as np

REFERENCE = "torch.mm"
MAX_ERROR = 1e-4  # relative to |op(A)|·|op(B)|: above it a product counts as wrong


def threadpools() -> list[dict]:
    """threadpoolctl's view of the process (every BLAS and OpenMP pool it finds)."""
    try:
        import threadpoolctl
    except ImportError:
        return []
    keep = ("internal_api", "prefix", "version", "num_threads", "architecture",
            "threading_layer", "filepath")
    return [{k: p.get(k) for k in keep} for p in threadpoolctl.threadpool_info()]


def machine() -> str:
    model, flags = "?", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    isa = " ".join(x for x in ("avx2", "fma", "avx512f") if x in flags)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{model}, {os.cpu_count()} CPUs, flags {isa or 'no avx2'}; Linux "
            f"{platform.release()}; Python {platform.python_version()}, NumPy "
            f"{np.__version__}; load average {load} (the machine is shared with other jobs)")


def _cell(rates: list[float], bold: bool) -> str:
    med = float(np.median(rates))
    text = f"{med:.1f} ({min(rates):.1f}–{max(rates):.1f})" if len(rates) > 1 else f"{med:.1f}"
    return f"**{text}**" if bold else text


def rate_field(block: dict) -> str:
    """1 thread: GFLOP/s by the process's CPU time (the periods other jobs held the CPU
    left out); more threads: by wall-clock time."""
    return "cpu_rates" if block["threads"] == 1 else "rates"


def _medians(block: dict, label: str, field: str = "") -> dict:
    by = block["results"][label]["by"]
    field = field or rate_field(block)
    return {k: float(np.median(v[field])) for k, v in by.items()
            if v["error"] <= MAX_ERROR}


def _best(meds: dict) -> tuple[str, float]:
    cands = {k: v for k, v in meds.items() if k != REFERENCE}
    key = max(cands, key=cands.get)
    rest = sorted((v for k, v in cands.items() if k != key), reverse=True)
    return key, (cands[key] / rest[0] - 1) * 100 if rest else float("nan")


def shape_table(block: dict) -> list[str]:
    keys = block["keys"]
    head = ["workload", "product", "M×N×K", "op", *keys, "best (lead over 2nd)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, res in block["results"].items():
        s, by = res["shape"], res["by"]
        meds = _medians(block, label)
        best, lead = _best(meds)
        cells = []
        for k in keys:
            if by[k]["error"] > MAX_ERROR:
                cells.append(f"wrong (err {by[k]['error']:.1e})")
            else:
                cells.append(_cell(by[k][rate_field(block)], k == best))
        calls = f" ×{s['calls']}" if s["calls"] > 1 else ""
        lines.append(f"| {s['workload']} | {s['role']}{calls} | {s['M']}×{s['N']}×{s['K']} | "
                     f"{s['op']} | " + " | ".join(cells) + f" | {best}"
                     + (f" (+{lead:.0f} %) |" if lead == lead else " |"))
    return lines


def step_table(block: dict, field: str = "") -> list[str]:
    """GEMM time of one training step (W2-W4) or one 10k-row predict (W5b) per
    candidate: Σ calls·flops / median rate; 'best per shape' takes the best of each."""
    keys = block["keys"]
    workloads: dict[str, list[str]] = {}
    for label, res in block["results"].items():
        if res["shape"]["workload"] != "peak":
            workloads.setdefault(res["shape"]["workload"], []).append(label)
    head = ["workload", "unit", *keys, "best per shape", "scipy → best per shape"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w, labels in workloads.items():
        times = {k: 0.0 for k in keys}
        mix = 0.0
        for label in labels:
            s = block["results"][label]["shape"]
            meds = _medians(block, label, field)
            for k in keys:
                times[k] += s["calls"] * s["flops"] / (meds[k] * 1e9) if k in meds else np.inf
            mix += s["calls"] * s["flops"] / (meds[_best(meds)[0]] * 1e9)
        unit, scale = ("ms", 1e3) if w in ("W4", "W5b") else ("µs", 1e6)
        what = "per 10k-row predict" if w == "W5b" else "per step"
        gain = (times.get("scipy", np.nan) / mix - 1) * 100
        lines.append(f"| {w} | {unit} {what} | " + " | ".join(
            f"{times[k] * scale:.1f}" for k in keys) + f" | {mix * scale:.1f} | "
            f"{gain:+.0f} % faster |")
    return lines


def disturbance(block: dict) -> str:
    shares = [x for r in block["results"].values() for v in r["by"].values()
              for x in v["cpu_share"]]
    low = sum(1 for x in shares if x < 0.9)
    return (f"{low} of {len(shares)} timed windows had less than 90 % of their wall time as "
            "process CPU time (time lost to other jobs or the host)" if block["threads"] == 1
            else "CPU share not judged at 2 threads (idle OpenBLAS workers spin)")


def print_all(blocks: list[dict], args, argv: list[str]) -> None:
    first = blocks[0]
    print(f"\nMachine: {machine()}")
    print("Environment of the timing processes: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE "
          "removed; each thread count in its own process pinned to that many CPUs.\n")
    print("Candidates:")
    for k in first["keys"]:
        if k == REFERENCE:
            print(f"  {k}: PyTorch from Python (torch.mm / addmm_), a reference that "
                  "includes one Python call per product; never marked best")
            continue
        print(f"  {k}: {first['titles'][k]} — {first['about'][k]}")
        for note in first["notes"][k]:
            print(f"      {note}")
    for k, why in first["missing"].items():
        print(f"  {k}: skipped — {why}")
    for block in blocks:
        t = block["threads"]
        clock = "process CPU time" if t == 1 else "wall-clock time"
        print(f"\n## {t} thread{'s' * (t > 1)} (CPUs {block['cpus']}), GFLOP/s = 2·M·N·K / "
              f"{clock}: median ({args.rounds} rounds) and min–max; best in bold")
        for k, why in block["missing"].items():
            if k not in first["missing"]:
                print(f"  {k}: skipped — {why}")
        print("\n" + "\n".join(shape_table(block)))
        print("\nGEMM time of each workload (from the medians above):\n")
        print("\n".join(step_table(block)))
        if t == 1:
            print("\nThe same from wall-clock time (includes the periods other jobs held "
                  "the CPU):\n")
            print("\n".join(step_table(block, "rates")))
        print(f"\nNoise: {disturbance(block)}.")
        errs = {k: max(r["by"][k]["error"] for r in block["results"].values())
                for k in block["keys"]}
        print("Largest error against float64 NumPy (relative to |op(A)|·|op(B)|): " +
              ", ".join(f"{k} {e:.1e}" for k, e in errs.items()))
        print("BLAS pools (threadpoolctl): " + "; ".join(
            f"{p['prefix']} {p['version']} {p['architecture'] or ''} "
            f"{p['num_threads']} thr" for p in block["pools"]))
    print("\nReproduce (from the repository root; the script removes OPENBLAS_CORETYPE "
          "and OPENBLAS_L2_SIZE for its timing processes itself):\n")
    print("    python benchmarks/bench_gemm.py " + " ".join(argv))
    sys.stdout.flush()
