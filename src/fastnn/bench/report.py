"""Turning the children's JSON lines into the suite's results, table and JSON.

Figures: training and batch predict in samples/s (higher is better), single
calls in µs per call (lower is better), the GEMM probe in GFLOP/s.  Every peer
gets the median over all its kept windows (all rounds) and the spread
min–max.  ``fastnn ×`` is how many times faster fastnn is than the peer on the
medians: fastnn/peer for samples/s, peer/fastnn for µs — above 1 means fastnn
is faster.

W4's executed rate is ``GFLOP/s = 6 · params · samples/s / 1e9``: per sample
and weight, 2 flops forward (multiply-add) and 4 backward (weight gradient
and input gradient).  It counts the first layer's input gradient, which no
framework computes (it is 1/6 of that layer's 6 flops/weight: the figure is
~5.6 % above the work done) and ignores biases and activations (< 0.1 %).
"""
from __future__ import annotations

import math
import statistics

from .workloads import CASE_BY_ID, FLOPS_PER_SAMPLE, NETS, TARGETS
from .workloads import CHECK_RTOL as CHECK_RTOL_OF

#: outputs before training, relative to max(1, |fastnn's|): float32 sums (the
#: reduced-precision cases: workloads.CHECK_RTOL)
CHECK_RTOL = CHECK_RTOL_OF["float32"]


def fmt_table(header: list[str], rows: list[list[str]]) -> str:
    """Plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip(),
           "  ".join("-" * w for w in widths)]
    for r in rows:
        out.append("  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                             for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    return "\n".join(out)


def fmt_value(v: float, unit: str) -> str:
    if unit == "samples/s":
        return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"
    if unit == "GFLOP/s":
        return f"{v:.1f}"
    return f"{v:.3g}" if v < 1000 else f"{v:,.0f}"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "—"
    return f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return ""
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def speedup(fastnn: float, peer: float, higher_is_better: bool) -> float:
    """How many times faster fastnn is than the peer (> 1: fastnn faster)."""
    return fastnn / peer if higher_is_better else peer / fastnn


# ---------------------------------------------------------------- aggregation
def _slot():
    return {"values": [], "windows": [], "warmups": [], "checks": [], "accuracy": [],
            "work": None, "status": None, "reason": None, "accuracy_epochs": None,
            "case_s": 0.0}


def aggregate(records: list[dict], plan: list[tuple], peers: list[str],
              static: dict) -> list[dict]:
    """One entry per (case, threads) of `plan`, with every peer's figures.

    records: the children's outputs (parsed JSON lines); plan: (case id,
    threads) in display order; peers: the peers asked for (fastnn first);
    static: {(case id, peer): {"status", "reason"}} for peers that were not
    run on a case (not installed, or unable to do it)."""
    slots: dict = {}
    for rec in records:
        for r in rec.get("results", []):
            key = rec["peer"] + (f"/{r['variant']}" if r.get("variant") else "")
            s = slots.setdefault((r["case"], rec["threads"]), {}).setdefault(key, _slot())
            if r["status"] != "ok":
                s["status"] = s["status"] or r["status"]
                s["reason"] = s["reason"] or r.get("reason") or r.get("error")
                continue
            s["status"] = "ok" if s["status"] in (None, "ok") else s["status"]
            s["values"] += r["values"]
            s["windows"] += r["windows"]
            s["warmups"].append(r["warmup_s"])
            s["case_s"] += r.get("case_s", 0.0)
            s["work"] = r.get("work_per_window")
            if r.get("check") is not None:
                s["checks"].append(r["check"])
            if r.get("test_accuracy") is not None:
                s["accuracy"].append(r["test_accuracy"])
                s["accuracy_epochs"] = r.get("accuracy_epochs")
        if rec.get("error"):  # the child failed before producing its cases
            for cid, t in plan:
                if CASE_BY_ID[cid].workload == rec["workload"] and t == rec["threads"]:
                    s = slots.setdefault((cid, t), {}).setdefault(rec["peer"], _slot())
                    s["status"], s["reason"] = "error", rec["error"]
    entries = []
    for cid, t in plan:
        case = CASE_BY_ID[cid]
        got = slots.get((cid, t), {})
        if case.kind in ("noop", "peak", "contended"):  # probes: only who measured them
            names = [k for k in got if got[k]["status"] != "unsupported"]
        elif case.precision != "float32":  # only the peers with such a path
            names = [p for p in peers if (p in got and got[p]["status"] != "unsupported")
                     or (cid, p) in static and static[(cid, p)]["status"] != "unsupported"]
        else:
            names = [p for p in peers if p in got or (cid, p) in static]
        entry = {"case": cid, "label": case.label, "workload": case.workload, "threads": t,
                 "unit": case.unit, "higher_is_better": case.higher_is_better, "peers": {},
                 "speedup": {}, "precision": case.precision}
        if case.fp32:
            entry["fp32_case"] = case.fp32
        if cid in TARGETS:
            entry["targets"] = dict(TARGETS[cid])
        for name in names:
            entry["peers"][name] = (_peer_entry(got[name]) if name in got
                                    else dict(static[(cid, name)]))
        entries.append(entry)
    _finish(entries)
    return entries


def _peer_entry(s):
    if s["status"] != "ok" or not s["values"]:
        return {"status": s["status"] or "error", "reason": s["reason"] or "no result"}
    v = s["values"]
    return {"status": "ok", "median": float(statistics.median(v)), "min": float(min(v)),
            "max": float(max(v)), "values": v, "n_windows": len(v),
            "flagged": sum(bool(w.get("flagged")) for w in s["windows"]),
            "retries": sum(w.get("retries", 0) for w in s["windows"]),
            "checked": all(w.get("checked", False) for w in s["windows"]),
            "warmup_s": float(statistics.median(s["warmups"])), "work_per_window": s["work"],
            "check": s["checks"][0] if s["checks"] else None,
            "test_accuracy": (float(statistics.median(s["accuracy"])) if s["accuracy"] else None),
            "accuracy_epochs": s["accuracy_epochs"],
            "case_seconds": s["case_s"]}  # wall time in its children, all rounds


def _finish(entries):
    """Speed-ups, the output check, W4's share of the GEMM peak, W5's no-op multiple."""
    peak = {e["threads"]: max((p["median"] for p in e["peers"].values() if p["status"] == "ok"),
                              default=None)
            for e in entries if e["case"] == "peak"}
    noop = {e["threads"]: e["peers"].get("fastnn", {}).get("median")
            for e in entries if e["case"] == "W5-noop"}
    by_case = {(e["case"], e["threads"]): e for e in entries}
    for e in entries:
        f = e["peers"].get("fastnn")
        ok_f = f is not None and f["status"] == "ok"
        rtol = CHECK_RTOL_OF[e.get("precision", "float32")]
        base = by_case.get((e.get("fp32_case"), e["threads"]), {}).get("peers", {}).get("fastnn")
        if ok_f and base is not None and base["status"] == "ok":
            # fastnn in reduced precision against fastnn float32, same run and threads
            e["speedup_vs_fp32"] = speedup(f["median"], base["median"], e["higher_is_better"])
            if f.get("check") is not None and base.get("check") is not None:
                f["fp32_max_diff"] = _check_diff(base["check"], f["check"])
        for name, p in e["peers"].items():
            if p["status"] != "ok":
                continue
            if ok_f and name != "fastnn":
                e["speedup"][name] = speedup(f["median"], p["median"], e["higher_is_better"])
                if f.get("check") is not None and p.get("check") is not None:
                    p["check_max_diff"] = _check_diff(f["check"], p["check"])
                    p["check_rtol"] = rtol
            if e["case"] in FLOPS_PER_SAMPLE:
                net, kind = FLOPS_PER_SAMPLE[e["case"]]
                flops = getattr(NETS[net], f"{kind}_flops")
                p["gflops"] = flops * p["median"] / 1e9
                if peak.get(e["threads"]):
                    p["fraction_of_peak"] = p["gflops"] / peak[e["threads"]]
            if e["case"] in ("W5-lat-circle", "W5-lat-mnist", "W5-lat-dense") and \
                    name == "fastnn" and noop.get(e["threads"]):
                p["noop_multiple"] = p["median"] / noop[e["threads"]]
        if e["case"] == "peak" and peak.get(e["threads"]):
            e["peak_gflops"] = peak[e["threads"]]


def _check_diff(a, b) -> float:
    """Largest |a − b| over the check rows, relative to max(1, |a|)."""
    fa = [x for row in a for x in (row if isinstance(row, list) else [row])]
    fb = [x for row in b for x in (row if isinstance(row, list) else [row])]
    if len(fa) != len(fb):
        return math.inf
    scale = max([1.0] + [abs(x) for x in fa])
    return max((abs(x - y) for x, y in zip(fa, fb)), default=0.0) / scale


# ---------------------------------------------------------------- the table
def _target(e: dict, against: str) -> str:
    want = e.get("targets", {}).get(against)
    return f" (target ≥ {want:g}×)" if want is not None else ""


def note_of(name: str, p: dict, e: dict | None = None) -> str:
    bits = []
    if e is not None and name == "fastnn" and e.get("speedup_vs_fp32") is not None:
        bits.append(f"{fmt_ratio(e['speedup_vs_fp32'])} fastnn float32{_target(e, 'float32')}")
    if e is not None and name == "fastnn" and p.get("fp32_max_diff") is not None:
        bits.append(f"outputs within {p['fp32_max_diff']:.2g} of float32's")
    if e is not None and name != "fastnn" and name in e.get("targets", {}):
        bits.append(f"target ≥ {e['targets'][name]:g}×")
    if p.get("test_accuracy") is not None:
        bits.append(f"test acc {p['test_accuracy']:.1%} after {p['accuracy_epochs']} epochs")
    if p.get("gflops") is not None:
        frac = p.get("fraction_of_peak")
        bits.append(f"{p['gflops']:.1f} GFLOP/s" + (f" = {frac:.0%} of sgemm peak"
                                                     if frac is not None else ""))
    if p.get("noop_multiple") is not None:
        bits.append(f"= {p['noop_multiple']:.0f}× the no-op call")
    d = p.get("check_max_diff")
    if d is not None and d > p.get("check_rtol", CHECK_RTOL):
        bits.append(f"OUTPUTS DIFFER from fastnn's before training (max rel. {d:.2g})")
    if not p.get("checked", True):
        bits.append("quiet check unavailable")
    return "; ".join(bits)


def table(entries: list[dict]) -> str:
    header = ["peer", "median", "unit", "min – max", "fastnn ×", "warm-up", "flagged", "notes"]
    blocks, all_rows = [], []
    for e in entries:
        rows = []
        for name, p in e["peers"].items():
            if p["status"] == "not installed":  # listed once, in the header's "peers" line
                continue
            if p["status"] != "ok":
                rows.append([name, p["status"], "", "", "", "", "", p.get("reason") or ""])
                continue
            u = e["unit"]
            rows.append([name, fmt_value(p["median"], u), u,
                         f"{fmt_value(p['min'], u)} – {fmt_value(p['max'], u)}",
                         fmt_ratio(e["speedup"].get(name)) if name != "fastnn" else "",
                         fmt_seconds(p["warmup_s"]),
                         f"{p['flagged']}/{p['n_windows']}", note_of(name, p, e)])
        title = f"{e['label']} — {e['threads']} thread{'s' if e['threads'] > 1 else ''}"
        if e.get("peak_gflops"):
            title += f" — peak {e['peak_gflops']:.1f} GFLOP/s"
        blocks.append((title, rows))
        all_rows += rows
    widths = [max(len(str(r[i])) for r in [header, *all_rows]) for i in range(len(header) - 1)]
    out = []

    def line(r):
        cells = [str(c).ljust(w) if i in (0, 2) else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        return ("  " + "  ".join(cells) + "  " + str(r[-1])).rstrip()
    out.append(line(header))
    out.append("  " + "  ".join("-" * w for w in widths) + "  " + "-" * 5)
    for title, rows in blocks:
        out.append(title)
        out += [line(r) for r in rows]
    return "\n".join(out)


# ---------------------------------------------------------------- header and footer
def _pools(blas_by_threads: dict | None) -> str:
    """The BLAS / OpenMP pools of one peer's processes, thread counts per run."""
    if not blas_by_threads:
        return "?"
    seen: dict = {}
    for t, pools in sorted(blas_by_threads.items(), key=lambda kv: int(kv[0])):
        for p in pools or []:
            if "note" in p:
                seen.setdefault(p["note"], [])
                continue
            arch = f" {p['architecture']}" if p.get("architecture") else ""
            ver = f" {p['version']}" if p.get("version") else ""
            key = f"{p.get('owner', '?')}'s {p['lib']}{ver}{arch}"
            seen.setdefault(key, []).append(f"{p['threads']}")
    return "; ".join(k + (f" ×{'/'.join(v)}" if v else "") for k, v in seen.items())


def header(doc: dict) -> str:
    m, s, peers = doc["machine"], doc["settings"], doc["peers"]
    isa = peers.get("fastnn", {}).get("isa") or m["fastnn_isa"]["in_use"]
    env = {k: v for k, v in m["blas_env"].items() if v is not None}
    if not env:
        blas_env = "OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE not set in this environment"
    elif s["keep_blas_env"]:
        blas_env = (", ".join(f"{k}={v}" for k, v in env.items())
                    + " KEPT for every child (--keep-blas-env): kernels forced")
    else:
        blas_env = (", ".join(f"{k}={v}" for k, v in env.items())
                    + " removed for every child (default; --keep-blas-env keeps them)")
    mode = ("quick" if s["quick"] else "full") + (
        f" run: {s['rounds']} round(s) × {s['windows']} window(s) of ≥ {s['window_seconds']} s "
        f"per peer, ≤ {s['max_retries']} re-run(s) of a disturbed window")
    lines = [f"fastnn bench — {doc['created']} — {mode}",
             f"reproduce : {doc['command']}",
             f"machine   : {m['cpu_model']}, {m['logical_cpus']} logical CPUs, flags "
             f"{' '.join(m['cpu_flags']) or '?'}; {m['platform']}, Python {m['python']}",
             "pinning   : " + "; ".join(f"{t} thread(s) → CPU {','.join(map(str, c))}"
                                        for t, c in s["cpus"].items()),
             f"fastnn    : ISA in use {isa} (available: "
             f"{', '.join(m['fastnn_isa']['available'])}); products by "
             f"{m['fastnn_isa'].get('blas', '?')}; {m['fastnn_build']}",
             f"BLAS env  : {blas_env}"]
    blas = [f"{name}: {_pools(d.get('blas'))}" for name, d in peers.items() if d.get("versions")]
    lines += [("BLAS      : " if i == 0 else " " * 12) + b for i, b in enumerate(blas)]
    versions: dict = {}
    for d in peers.values():
        versions.update(d.get("versions") or {})
    lines.append("versions  : " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    ran = [n for n, d in peers.items() if d["status"] == "ran"]
    lines.append(f"peers     : {', '.join(ran)}" + "".join(
        f"; {n}: {d['status']}" + (f" ({', '.join(d['missing'])})" if d.get("missing") else "")
        for n, d in peers.items() if d["status"] != "ran"))
    for key, desc in doc["data"].items():
        lines.append(f"data {key:<5}: {desc}")
    for w, why in s.get("skipped", {}).items():
        lines.append(f"skipped {w}: {why}")
    return "\n".join(lines)


def footer(doc: dict) -> str:
    res = doc["results"]
    oks = [p for e in res for p in e["peers"].values() if p["status"] == "ok"]
    n_win = sum(p["n_windows"] for p in oks)
    flagged = sum(p["flagged"] for p in oks)
    retries = sum(p["retries"] for p in oks)
    lines = ["fastnn × = how many times faster fastnn is (fastnn/peer for samples/s and GFLOP/s, "
             "peer/fastnn for µs/call), on the medians; min – max over all windows; "
             "warm-up = first epoch / first call of a fresh model (compilation included), "
             "median over rounds; flagged = windows kept although other processes used the "
             "CPUs (harness docstring).",
             f"quiet     : {n_win} windows kept, {flagged} flagged as disturbed, {retries} "
             "disturbed windows re-run"]
    if any(e["case"] in FLOPS_PER_SAMPLE for e in res):
        lines.append(
            "GFLOP/s   : flops of the matrix products per sample · samples/s / 1e9: "
            "trained 6·n_in·n_out per layer (forward, weight and input gradients; no input "
            "gradient for the first layer), predicted 2·n_in·n_out: W3 "
            f"{NETS['mnist'].train_flops:,} / {NETS['mnist'].predict_flops:,}, W4 "
            f"{NETS['wide'].train_flops:,} per trained sample; % of peak = over the "
            "sgemm peak (the faster of NumPy matmul and SciPy sgemm on a square float32 "
            "product) at the same threads and CPUs, in the same run")
    if any(e.get("precision", "float32") != "float32" for e in res):
        lines.append(
            "precision : bf16 = fastnn's mixed_bfloat16 policy (bfloat16 products, float32 "
            "sums, weights and optimizer) beside torch's CPU autocast(bfloat16); int8 = "
            "fastnn.quantize beside ONNX Runtime's quantize_dynamic (QInt8 per channel). "
            "'× fastnn float32' = how many times faster than fastnn's float32 case of the "
            "same run and threads (W5a int8's target ≥ 2× = ≤ 0.5× the time); targets: "
            "issue 23, for an idle machine; 'outputs within' = largest output difference "
            "from float32's on the check rows before training")
    if any(e["case"] == "W3-busy" for e in res):
        lines.append(
            "W3-busy   : one child process spins on the same CPUs while fastnn fits and "
            "predicts; the figure is the time at the run's thread count over the time at "
            "1 thread, alternately measured (1.0: the default loses nothing to the busy CPU)")
    na = []
    for name, d in doc["peers"].items():
        by_reason: dict = {}
        for w, why in (d.get("not_applicable") or {}).items():
            by_reason.setdefault(why, []).append(w)
        na += [f"{name} on {', '.join(ws)} ({why})" for why, ws in by_reason.items()]
    if na:
        lines.append("not run   : " + "; ".join(na))
    lines.append("timed     :")
    for name, d in doc["peers"].items():
        if d.get("note"):
            lines.append(f"  {name:<9}: {d['note']}")
    lines.append(f"wall time : {doc['wall_seconds']:.0f} s, {doc['children']} child processes")
    return "\n".join(lines)
