"""The benchmark suite (python -m fastnn bench): a smoke run in a subprocess with
the smallest setting, and its pure helpers (quiet-window rule, /proc parsing,
aggregation, table)."""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from fastnn.bench import cli, harness, report, workloads
from fastnn.bench.harness import CpuReading, judge_window, parse_own_ticks, parse_proc_stat

pytestmark = pytest.mark.slow  # starts Python processes


# ---------------------------------------------------------------- smoke run
@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "out.json"
    cmd = [sys.executable, "-m", "fastnn", "bench", "--quick", "--only", "W1", "--peers", "numpy",
           "--windows", "2", "--window-seconds", "0.02", "--max-retries", "0", "--json", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(path) as f:
        return json.load(f), proc.stdout, cmd


def test_smoke_structure(smoke):
    doc, stdout, cmd = smoke
    assert doc["schema"] == "fastnn-bench/1"
    assert doc["command"].split()[1:] == cmd[1:]  # what to type to reproduce the run
    assert [e["case"] for e in doc["results"]] == ["W1-b1", "W1-b32", "W1-b256"]
    assert doc["machine"]["fastnn_isa"]["in_use"] in doc["machine"]["fastnn_isa"]["available"]
    assert doc["peers"]["numpy"]["status"] == "ran"
    assert doc["peers"]["fastnn"]["isa"] == doc["machine"]["fastnn_isa"]["in_use"]
    assert set(doc["peers"]) == {"fastnn", "numpy"}
    assert doc["settings"]["threads"] == [1] and doc["settings"]["quick"] is True
    assert "W1" in doc["data"]
    # the table went to stdout, with the command to reproduce and the ratio column
    assert "reproduce :" in stdout and "fastnn ×" in stdout and "W1 circle" in stdout


def test_smoke_figures_are_consistent(smoke):
    doc, _, _ = smoke
    for e in doc["results"]:
        assert e["unit"] == "samples/s" and e["higher_is_better"] is True
        assert set(e["peers"]) == {"fastnn", "numpy"}
        for name, p in e["peers"].items():
            assert p["status"] == "ok", (e["case"], name, p)
            vals = p["values"]
            assert len(vals) == p["n_windows"] == 2
            assert all(math.isfinite(v) and v > 0 for v in vals)
            assert p["min"] == min(vals) and p["max"] == max(vals)
            assert p["min"] <= p["median"] <= p["max"]
            assert math.isfinite(p["warmup_s"]) and p["warmup_s"] > 0
            assert 0 <= p["flagged"] <= p["n_windows"]
            # the case's whole time in its child covers at least its timed windows
            assert math.isfinite(p["case_seconds"]) and p["case_seconds"] > 0
        f, n = e["peers"]["fastnn"], e["peers"]["numpy"]
        assert e["speedup"]["numpy"] == pytest.approx(f["median"] / n["median"], rel=1e-12)
        # both loaded the suite's initial weights: same outputs before training
        assert n["check_max_diff"] <= report.CHECK_RTOL


# ---------------------------------------------------------------- /proc parsing
PROC_STAT = """cpu  100 0 50 1000 0 0 0 0 0 0
cpu0 60 0 30 500 0 0 0 5 0 0
cpu1 40 0 20 500 0 2 3 7 0 0
intr 12345
ctxt 999
"""


def test_parse_proc_stat():
    busy, steal = parse_proc_stat(PROC_STAT)
    assert busy == {0: 90, 1: 65}       # user + nice + system + irq + softirq
    assert steal == {0: 5, 1: 7}


def test_parse_own_ticks_with_odd_command_name():
    text = "4242 (my (weird) name) R 1 2 3 4 5 6 7 8 9 10 123 45 0 0 20 0 1 0"
    assert parse_own_ticks(text) == 123 + 45


def reading(busy, own, t, steal=None):
    return CpuReading(dict(busy), dict(steal or {c: 0 for c in busy}), own, t)


def test_quiet_window_is_not_disturbed():
    # 1 s window pinned to CPU 1: we used 100 ticks there, CPU 0 stayed idle
    v = judge_window(reading({0: 0, 1: 0}, 0, 0.0), reading({0: 1, 1: 101}, 100, 1.0), [1])
    assert not v.disturbed and v.foreign_ours_s == pytest.approx(0.01)


def test_foreign_work_on_our_cpu_is_disturbed():
    v = judge_window(reading({0: 0, 1: 0}, 0, 0.0), reading({0: 0, 1: 100}, 70, 1.0), [1])
    assert v.disturbed and "our CPUs" in v.reason and v.foreign_ours_s == pytest.approx(0.3)


def test_busy_other_cpu_is_disturbed_beyond_its_allowance():
    before = reading({0: 0, 1: 0}, 0, 0.0)
    assert not judge_window(before, reading({0: 20, 1: 100}, 100, 1.0), [1]).disturbed
    v = judge_window(before, reading({0: 60, 1: 100}, 100, 1.0), [1])
    assert v.disturbed and "other CPUs" in v.reason


def test_steal_is_disturbed():
    v = judge_window(reading({1: 0}, 0, 0.0, {1: 0}), reading({1: 90}, 90, 1.0, {1: 10}), [1])
    assert v.disturbed and "steal" in v.reason


def test_tick_slack_on_short_windows_and_clipping():
    # 0.1 s window: 2 stray ticks on our CPU are within the quantisation allowance
    before = reading({0: 0, 1: 0}, 0, 0.0)
    assert not judge_window(before, reading({0: 0, 1: 12}, 10, 0.1), [1]).disturbed
    # own time read later than /proc/stat can exceed the CPU's busy delta: clipped at 0
    v = judge_window(before, reading({0: 0, 1: 10}, 12, 0.1), [1])
    assert not v.disturbed and v.foreign_ours_s == 0.0


def test_both_cpus_ours_counts_all_their_work():
    v = judge_window(reading({0: 0, 1: 0}, 0, 0.0), reading({0: 100, 1: 100}, 120, 1.0), [0, 1])
    assert v.disturbed and v.foreign_ours_s == pytest.approx(0.8)


class FakeSampler:
    """Readings that make the first `bad` windows disturbed (foreign work on CPU 0)."""
    hz = 100

    def __init__(self, bad):
        self.bad, self.calls, self.t = bad, 0, 0.0

    def read(self):
        self.calls += 1
        self.t += 1.0
        window = (self.calls - 1) // 2
        foreign = 80 if self.calls % 2 == 0 and window < self.bad else 0
        return CpuReading({0: int(self.t) * 1000 + foreign}, {0: 0}, int(self.t) * 1000, self.t)


def test_run_windows_redoes_disturbed_windows():
    work = []
    wins = harness.run_windows(lambda: work.append(1), 2, 3, [0], FakeSampler(bad=2))
    assert len(work) == 4            # 2 disturbed attempts thrown away, then 2 kept
    assert [w["retries"] for w in wins] == [2, 0]
    assert not any(w["flagged"] for w in wins)


def test_run_windows_keeps_and_flags_after_max_retries():
    work = []
    wins = harness.run_windows(lambda: work.append(1), 1, 2, [0], FakeSampler(bad=99))
    assert len(work) == 3 and wins[0]["flagged"] and wins[0]["retries"] == 2
    assert "our CPUs" in wins[0]["reason"]


# ---------------------------------------------------------------- environment and CPUs
def test_child_env_sets_threads_and_drops_forced_blas_kernel():
    base = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512", "PATH": "/bin"}
    env = harness.child_env(base, 1, keep_blas_env=False)
    assert "OPENBLAS_CORETYPE" not in env and "OPENBLAS_L2_SIZE" not in env
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    assert "xla_cpu_multi_thread_eigen=false" in env["XLA_FLAGS"] and env["PATH"] == "/bin"
    kept = harness.child_env(base, 2, keep_blas_env=True)
    assert kept["OPENBLAS_CORETYPE"] == "Haswell" and kept["MKL_NUM_THREADS"] == "2"
    assert "OPENBLAS_CORETYPE" in base  # the parent's environment is untouched


def test_pick_cpus():
    assert harness.pick_cpus(1, [0, 1, 2, 3]) == [3]
    assert harness.pick_cpus(2, [3, 0, 1]) == [1, 3]
    with pytest.raises(ValueError, match="only 2 CPUs"):
        harness.pick_cpus(3, [0, 1])


# ---------------------------------------------------------------- arguments
@pytest.mark.parametrize("args", [["--only", "W9"], ["--only", ""], ["--peers", "tensorflow"],
                                  ["--threads", "0"], ["--threads", "a"], ["--rounds", "0"],
                                  ["--window-seconds", "-1"], ["--max-retries", "-1"]])
def test_bad_arguments_are_refused(args, capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(args)
    assert "invalid" in capsys.readouterr().err


def test_json_path_in_a_missing_folder_is_refused_before_the_run(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["--json", str(tmp_path / "nowhere" / "out.json")])
    assert "does not exist" in capsys.readouterr().err


def test_argument_lists_parse():
    a = cli.build_parser().parse_args(["--only", "W3,W1,W3", "--peers", "numpy,jax",
                                       "--threads", "2,1", "--json"])
    assert a.only == ["W3", "W1"] and a.peers == ["numpy", "jax"] and a.threads == [1, 2]
    assert a.json == "-"
    with pytest.raises(argparse.ArgumentTypeError):
        cli._threads("1,-2")


def test_plan_runs_tiny_nets_at_one_thread_and_skips_inapplicable_peers(monkeypatch):
    monkeypatch.setattr(cli, "missing", lambda p: ["torch"] if p == "torch" else [])
    args = cli.build_parser().parse_args(["--only", "W1,W5", "--peers", "numpy,ort,torch",
                                          "--threads", "1,2"])
    s = cli.settings_of(args, [0, 1])
    groups, plan, static = cli.plan_of(s)
    assert [(w, t) for w, t, _ in groups] == [("W1", 1), ("W5", 1), ("W5", 2)]
    assert groups[0][2] == ["fastnn", "numpy"]          # ort: inference only; torch: missing
    # the sgemm peak probe runs once per thread count, with the first arithmetic workload
    assert groups[1][2] == groups[2][2] == ["sgemm", "fastnn", "numpy", "ort"]
    assert ("W1-b1", "ort") not in static                # said once, below the table
    assert static[("W1-b1", "torch")]["status"] == "not installed"
    assert ("W5-noop", "torch") not in static            # probes list only who measured them
    # the no-op and the tiny net's one sample: at the smallest count only
    assert [c for c, t in plan if t == 2] == ["peak", "W5-lat-mnist", "W5-lat-int8",
                                              "W5-lat-dense", "W5-batch-mnist",
                                              "W5-batch-bf16", "W5-batch-int8"]
    # reduced precision: a peer without that path is not listed (ort has no bf16 row,
    # torch no int8 row); one that has it but is missing is
    assert ("W5-batch-bf16", "ort") not in static and ("W5-batch-int8", "numpy") not in static
    assert ("W5-batch-int8", "torch") not in static
    assert static[("W5-batch-bf16", "torch")]["status"] == "not installed"
    assert ("W5-lat-circle", 1) in plan and ("W5-noop", 1) in plan
    assert s["skipped"] == {}
    info = cli._peer_info([], s, {"torch": ["torch"]})
    assert info["ort"]["not_applicable"] == {"W1": "inference only (W5)"}
    # numpy has no int8/bf16 path, but runs W5's float32 cases: W5 is not "not run"
    assert info["numpy"]["not_applicable"] == {}
    # --quick: the reduced-precision cases at the smallest count only
    s["quick"] = True
    _, quick_plan, _ = cli.plan_of(s)
    assert [c for c, t in quick_plan if t == 2] == ["peak", "W5-lat-mnist", "W5-lat-dense",
                                                    "W5-batch-mnist"]
    assert {("W5-lat-int8", 1), ("W5-batch-bf16", 1), ("W5-batch-int8", 1)} <= set(quick_plan)
    assert not workloads.one_thread_only(workloads.CASE_BY_ID["W5-batch-int8"], False)
    assert info["torch"]["status"] == "not installed"


def test_a_quick_run_gives_a_peer_its_workloads_in_one_process_per_thread_count():
    groups = [("W1", 1, ["fastnn", "numpy"]), ("W3", 1, ["sgemm", "fastnn", "numpy"]),
              ("W3", 2, ["sgemm", "fastnn"]), ("W5", 1, ["fastnn", "ort"])]
    assert cli.children_of(groups, quick=True) == [
        ("fastnn", ["W1", "W3", "W5"], 1), ("numpy", ["W1", "W3"], 1), ("sgemm", ["W3"], 1),
        ("sgemm", ["W3"], 2), ("fastnn", ["W3"], 2), ("ort", ["W5"], 1)]
    full = cli.children_of(groups, quick=False)
    assert len(full) == 9 and all(len(ws) == 1 for _, ws, _ in full)
    from fastnn.bench import _child
    assert _child.parse(["numpy", "W1,W2", "1", "--folder", "x"]).workload == "W1,W2"
    with pytest.raises(SystemExit):
        _child.parse(["numpy", "W1,W9", "1", "--folder", "x"])


def test_a_child_with_two_workloads_prints_a_record_for_each(tmp_path):
    """The real child process, two workloads of the numpy peer at 1 thread (data made
    by the suite's own preparation, tiny windows)."""
    workloads.prepare(str(tmp_path), ["W1", "W2"], True, 0, None)
    done = subprocess.run([sys.executable, "-m", "fastnn.bench._child", "numpy", "W1,W2", "1",
                           "--folder", str(tmp_path), "--windows", "1", "--window-seconds",
                           "0.001", "--max-retries", "0", "--quick"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    records = [json.loads(ln) for ln in done.stdout.splitlines() if ln.startswith("{")]
    assert [r["workload"] for r in records] == ["W1", "W2"]
    assert all(r["results"] and all(x["status"] == "ok" for x in r["results"])
               for r in records)
    assert records[0]["pid"] == records[1]["pid"]


def test_workload_without_its_data_package_is_skipped(monkeypatch):
    monkeypatch.setattr(workloads, "unavailable",
                        lambda w: "scikit-learn is not installed" if w == "W2" else None)
    s = cli.settings_of(cli.build_parser().parse_args(["--only", "W1,W2"]), [0, 1])
    assert s["workloads"] == ["W1"] and "scikit-learn" in s["skipped"]["W2"]


# ---------------------------------------------------------------- aggregation and table
def _rec(peer, case, values, threads=1, **extra):
    r = {"case": case, "status": "ok", "values": values, "warmup_s": 0.01,
         "windows": [{"seconds": 0.1, "retries": 0, "flagged": False, "checked": True}
                     for _ in values], "work_per_window": "1 epoch", **extra}
    return {"peer": peer, "workload": workloads.CASE_BY_ID[case].workload, "threads": threads,
            "results": [r]}


def test_aggregate_ratios_peak_share_and_noop_multiple():
    recs = [_rec("fastnn", "W1-b1", [300.0, 100.0, 200.0], check=[[0.5]]),
            _rec("numpy", "W1-b1", [50.0, 50.0], check=[[0.5 + 1e-6]]),
            _rec("torch", "W1-b1", [400.0], check=[[0.7]]),
            _rec("fastnn", "W5-noop", [0.02]), _rec("fastnn", "W5-lat-mnist", [10.0]),
            _rec("numpy", "W5-lat-mnist", [30.0]),
            {"peer": "sgemm", "workload": "W3", "threads": 1, "results": [
                {**_rec("sgemm", "peak", [90.0, 110.0])["results"][0], "variant": "numpy"},
                {**_rec("sgemm", "peak", [80.0])["results"][0], "variant": "scipy"}]},
            _rec("fastnn", "W4", [500.0]), _rec("fastnn", "W3", [1e5]),
            _rec("fastnn", "W5-batch-mnist", [3e5]), _rec("fastnn", "W3-busy", [1.5, 1.1, 1.2])]
    plan = [("W1-b1", 1), ("peak", 1), ("W3", 1), ("W3-busy", 1), ("W4", 1), ("W5-noop", 1),
            ("W5-lat-mnist", 1), ("W5-batch-mnist", 1)]
    static = {("W1-b1", "jax"): {"status": "not installed", "reason": "not installed (jax)"}}
    res = {e["case"]: e for e in report.aggregate(recs, plan, ["fastnn", "numpy", "torch", "jax"],
                                                   static)}
    w1 = res["W1-b1"]
    assert w1["peers"]["fastnn"]["median"] == 200.0
    assert w1["speedup"] == {"numpy": 4.0, "torch": 0.5}
    assert w1["peers"]["jax"]["status"] == "not installed"
    assert w1["peers"]["numpy"]["check_max_diff"] < report.CHECK_RTOL
    assert w1["peers"]["torch"]["check_max_diff"] == pytest.approx(0.2)
    assert res["peak"]["peak_gflops"] == 100.0
    w4 = res["W4"]["peers"]["fastnn"]
    assert w4["gflops"] == pytest.approx(workloads.NETS["wide"].train_flops * 500 / 1e9)
    assert w4["fraction_of_peak"] == pytest.approx(w4["gflops"] / 100.0)
    w3 = res["W3"]["peers"]["fastnn"]  # every arithmetic cell gets its share of the peak
    # 784-256-128-10: 6·(784·256 + 256·128 + 128·10) − 2·784·256 flops per trained sample
    assert workloads.NETS["mnist"].train_flops == 6 * 234_752 - 2 * 200_704
    assert w3["fraction_of_peak"] == pytest.approx(workloads.NETS["mnist"].train_flops * 1e5
                                                   / 1e9 / 100.0)
    w5 = res["W5-batch-mnist"]["peers"]["fastnn"]
    assert w5["fraction_of_peak"] == pytest.approx(2 * 234_752 * 3e5 / 1e9 / 100.0)
    busy = res["W3-busy"]  # lower is better: the time at the default over 1 thread
    assert busy["peers"]["fastnn"]["median"] == 1.2 and not busy["higher_is_better"]
    assert list(busy["peers"]) == ["fastnn"]
    lat = res["W5-lat-mnist"]
    assert lat["speedup"]["numpy"] == 3.0  # µs: peer / fastnn
    assert lat["peers"]["fastnn"]["noop_multiple"] == pytest.approx(500.0)
    text = report.table(list(res.values()))
    assert "jax" not in text  # not installed: said once in the header, not on every case
    assert "OUTPUTS DIFFER" in text and "4.00×" in text
    assert "= 500× the no-op call" in text and "% of sgemm peak" in text


def test_failed_child_marks_its_cases():
    recs = [_rec("fastnn", "W1-b1", [1.0]),
            {"peer": "numpy", "workload": "W1", "threads": 1, "results": [],
             "error": "child exited with 1: boom"}]
    (e,) = report.aggregate(recs, [("W1-b1", 1)], ["fastnn", "numpy"], {})
    assert e["peers"]["numpy"] == {"status": "error", "reason": "child exited with 1: boom"}
    assert e["speedup"] == {}
    assert "child exited with 1: boom" in report.table([e])


def test_fmt_table_and_values():
    t = report.fmt_table(["name", "value"], [["a", "1"], ["longer", "22"]]).splitlines()
    assert t[0] == "name    value" and t[2] == "a           1" and t[3] == "longer     22"
    assert report.fmt_value(1234567.8, "samples/s") == "1,234,568"
    assert report.fmt_value(0.3812, "µs/call") == "0.381"
    assert report.fmt_ratio(93.44) == "93.4×" and report.fmt_ratio(2.216) == "2.22×"
    assert report.speedup(10.0, 5.0, True) == 2.0 and report.speedup(10.0, 5.0, False) == 0.5


# ---------------------------------------------------------------- data and weights
def test_initial_weights_are_deterministic_keras_layout():
    net = workloads.NETS["circle"]
    a, b = workloads.initial_weights(net, 0), workloads.initial_weights(net, 0)
    assert [w.shape for w in a] == [(2, 16), (16,), (16, 16), (16,), (16, 1), (1,)]
    assert all(w.dtype == np.float32 and np.array_equal(x, w) for x, w in zip(b, a))
    assert not np.array_equal(a[0], workloads.initial_weights(net, 1)[0])


def test_mnist_rows_fallback_and_shift(monkeypatch):
    monkeypatch.setattr(workloads, "mnist_path", lambda data_dir=None: None)
    X, y, desc = workloads.mnist_rows(100, 0)
    assert X.shape == (100, 784) and X.dtype == np.float32 and "generated" in desc
    img = np.zeros((1, 784), np.float32)
    img[0, 0] = 1.0
    assert workloads.shift_images(img, 1, 2).reshape(28, 28)[1, 2] == 1.0
    assert workloads.shift_images(img, -1, 0).sum() == 0.0  # moved out of the frame


def test_header_says_which_blas_env_was_removed_and_what_is_missing():
    doc = {"created": "now", "command": "python -m fastnn bench", "data": {"W1": "circle"},
           "settings": {"quick": True, "rounds": 1, "windows": 3, "window_seconds": 0.15,
                        "max_retries": 0, "cpus": {"1": [1]}, "keep_blas_env": False,
                        "skipped": {}},
           "machine": {"cpu_model": "cpu", "logical_cpus": 2, "cpu_flags": ["avx2"],
                       "platform": "linux", "python": "3.x", "fastnn_build": "here",
                       "fastnn_isa": {"in_use": "avx2", "available": ["baseline", "avx2"]},
                       "blas_env": {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": None}},
           "peers": {"fastnn": {"status": "ran", "versions": {"fastnn": "0.1"}, "isa": "avx2",
                                "blas": {"1": [{"lib": "openblas", "version": "0.3",
                                                "architecture": "SkylakeX", "threads": 1,
                                                "owner": "scipy", "file": "x.so"}]}},
                     "torch": {"status": "not installed", "missing": ["torch"]}}}
    text = report.header(doc)
    assert "OPENBLAS_CORETYPE=Haswell removed for every child" in text
    assert "scipy's openblas 0.3 SkylakeX ×1" in text and "ISA in use avx2" in text
    assert "torch: not installed (torch)" in text
    doc["settings"]["keep_blas_env"] = True
    assert "KEPT for every child" in report.header(doc)


# ---------------------------------------------------------------- reduced precision
def test_reduced_precision_cases_are_declared_beside_their_float32_case():
    reduced = [c for c in workloads.CASES if c.precision != "float32"]
    assert {c.id: c.precision for c in reduced} == {
        "W3-bf16": "bf16", "W4-bf16": "bf16", "W5-lat-int8": "int8", "W5-batch-bf16": "bf16",
        "W5-batch-int8": "int8"}
    for c in reduced:
        base = workloads.CASE_BY_ID[c.fp32]
        assert base.precision == "float32" and c.fp32 != c.id
        # the same work as the float32 case: workload, kind, net, rows, batch
        assert (c.workload, c.kind, c.net, c.data, c.batch) == (
            base.workload, base.kind, base.net, base.data, base.batch)
        assert c.id in workloads.TARGETS and c.precision in workloads.CHECK_RTOL
    assert set(workloads.TARGETS) == {c.id for c in reduced}
    # issue 23's targets, as speed-ups ("times faster")
    assert workloads.TARGETS["W3-bf16"] == {"float32": 2.0, "torch": 1.2}
    assert workloads.TARGETS["W5-batch-int8"] == {"float32": 3.0, "ort": 1.3}
    assert workloads.TARGETS["W5-lat-int8"] == {"float32": 2.0}  # ≤ 0.5× the time


def test_which_peer_runs_which_precision():
    from fastnn.bench.peers import unsupported

    case = workloads.CASE_BY_ID
    for peer in ("numpy", "jax", "jax-step", "sklearn"):
        for cid in ("W3-bf16", "W4-bf16", "W5-batch-bf16", "W5-batch-int8", "W5-lat-int8"):
            assert "float32 only" in unsupported(peer, case[cid])
    for cid in ("W3-bf16", "W4-bf16", "W5-batch-bf16", "W5-batch-int8", "W5-lat-int8"):
        assert unsupported("fastnn", case[cid]) is None
    assert unsupported("torch", case["W3-bf16"]) is None
    assert unsupported("torch", case["W5-batch-bf16"]) is None
    assert "ONNX Runtime" in unsupported("torch", case["W5-batch-int8"])
    assert unsupported("ort", case["W5-batch-int8"]) is None
    assert unsupported("ort", case["W5-lat-int8"]) is None
    assert "bf16" in unsupported("ort", case["W5-batch-bf16"])
    assert "inference only" in unsupported("ort", case["W3-bf16"])


def test_aggregate_reduced_precision_ratios_targets_and_tolerance():
    out = [[0.1, 0.9]]
    recs = [_rec("fastnn", "W3", [1e4], check=out),
            _rec("fastnn", "W3-bf16", [3e4, 2e4, 2.5e4], check=[[0.1 + 2e-3, 0.9 - 2e-3]]),
            _rec("torch", "W3-bf16", [1e4], check=[[0.1 + 1e-2, 0.9 - 1e-2]]),
            _rec("jax", "W3-bf16", [1.0])]
    recs[-1]["results"][0] = {"case": "W3-bf16", "status": "unsupported",
                              "reason": "float32 only here"}
    recs += [_rec("fastnn", "W5-lat-mnist", [40.0]), _rec("fastnn", "W5-lat-int8", [16.0]),
             _rec("ort", "W5-lat-int8", [20.0], check=[[0.5]]),
             _rec("fastnn", "W5-batch-mnist", [1e5], check=out),
             _rec("fastnn", "W5-batch-int8", [2e5], check=[[0.3, 0.7]]),
             _rec("ort", "W5-batch-int8", [2e5], check=[[0.1, 0.9]])]
    plan = [("W3", 1), ("W3-bf16", 1), ("W5-lat-mnist", 1), ("W5-lat-int8", 1),
            ("W5-batch-mnist", 1), ("W5-batch-int8", 1)]
    static = {("W3-bf16", "sklearn"): {"status": "unsupported", "reason": "float32 only"}}
    res = {e["case"]: e for e in report.aggregate(
        recs, plan, ["fastnn", "torch", "jax", "sklearn", "ort"], static)}
    bf = res["W3-bf16"]
    assert list(bf["peers"]) == ["fastnn", "torch"]  # peers without bf16 are not listed
    assert bf["speedup_vs_fp32"] == 2.5 and bf["speedup"]["torch"] == 2.5
    assert bf["peers"]["fastnn"]["fp32_max_diff"] == pytest.approx(2e-3)
    # autocast's bfloat16 outputs: within the bf16 tolerance, not flagged
    assert bf["peers"]["torch"]["check_max_diff"] == pytest.approx(8e-3)  # vs fastnn bf16
    assert res["W3"].get("speedup_vs_fp32") is None and "targets" not in res["W3"]
    lat = res["W5-lat-int8"]  # µs/call: the float32 time over the int8 time
    assert lat["speedup_vs_fp32"] == 2.5 and lat["speedup"]["ort"] == 1.25
    b8 = res["W5-batch-int8"]
    assert b8["speedup_vs_fp32"] == 2.0 and b8["speedup"]["ort"] == 1.0
    text = report.table(list(res.values()))
    assert "2.50× fastnn float32 (target ≥ 2×)" in text       # W3 bf16
    assert "2.00× fastnn float32 (target ≥ 3×)" in text       # W5b int8
    assert "target ≥ 1.2×" in text and "target ≥ 1.3×" in text  # the peers' rows
    assert "outputs within 0.002 of float32's" in text
    # 0.2 apart is beyond even int8's tolerance: said, not hidden
    assert text.count("OUTPUTS DIFFER") == 1 and "jax" not in text and "sklearn" not in text
    doc = {"results": list(res.values()), "peers": {}, "wall_seconds": 1.0, "children": 1}
    assert "precision : bf16" in report.footer(doc)


def _small_data(rows=256):
    rng = np.random.default_rng(0)
    return {"X": rng.random((rows, 784), dtype=np.float32), "y": rng.integers(0, 10, rows)}


def test_fastnn_peer_trains_and_predicts_in_reduced_precision():
    import fastnn
    from fastnn.bench.peers import fastnn_peer

    net, case = workloads.NETS["mnist"], workloads.CASE_BY_ID
    weights = workloads.initial_weights(net, 0)
    data = _small_data()
    tr = fastnn_peer.trainer("fastnn", case["W3-bf16"], net, data, weights, 0)
    assert [layer.dtype_policy.name for layer in tr.model.dense_layers] == ["mixed_bfloat16"] * 3
    before = tr.predict(data["X"][:8])
    fp32 = fastnn_peer.build(net, weights).predict(data["X"][:8])
    # the same initial weights: bfloat16 products move the probabilities a little
    assert np.abs(before - fp32).max() < workloads.CHECK_RTOL["bf16"]
    assert np.abs(before - fp32).max() > 0  # the products did run in bfloat16
    tr.train(1)
    assert not np.array_equal(tr.predict(data["X"][:8]), before)
    x = data["X"][:16]
    for cid in ("W5-batch-int8", "W5-lat-int8", "W5-batch-bf16"):
        call = fastnn_peer.predictor("fastnn", case[cid], net, weights, x)
        got = call()
        assert got.shape == (16, 10) and np.abs(got - fastnn_peer.build(net, weights)
                                                .predict(x)).max() < 3e-2
    q = fastnn.quantize(fastnn_peer.build(net, weights))
    int8 = fastnn_peer.predictor("fastnn", case["W5-batch-int8"], net, weights, x)
    assert np.array_equal(int8(), q.predict(x))  # the int8 path, not float32


def test_ort_peer_runs_the_quantize_dynamic_model():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxruntime.quantization")
    from fastnn.bench.peers import fastnn_peer, ort_peer

    ort_peer.setup("ort", 1)
    net, case = workloads.NETS["mnist"], workloads.CASE_BY_ID
    weights = workloads.initial_weights(net, 0)
    x = _small_data(16)["X"]
    fp32 = ort_peer.predictor("ort", case["W5-batch-mnist"], net, weights, x)()
    for cid in ("W5-batch-int8", "W5-lat-int8"):
        xi = x[:1] if case[cid].batch == 1 else x
        got = np.array(ort_peer.predictor("ort", case[cid], net, weights, xi)())
        ours = fastnn_peer.predictor("fastnn", case[cid], net, weights, xi)()
        assert np.abs(got - ours).max() < workloads.CHECK_RTOL["int8"]
        assert not np.array_equal(got, fp32[:len(xi)])  # int8 products, not float32


def test_torch_peer_autocast_cases():
    torch = pytest.importorskip("torch")  # a [bench] peer, not in CI's [test] extra
    from fastnn.bench.peers import fastnn_peer, torch_peer

    torch_peer.setup("torch", 1)
    net, case = workloads.NETS["mnist"], workloads.CASE_BY_ID
    weights = workloads.initial_weights(net, 0)
    data = _small_data()
    tr = torch_peer.trainer("torch", case["W3-bf16"], net, data, weights, 0)
    seen = []
    hook = tr.model[0].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    tr.train(1)
    hook.remove()
    assert seen and set(seen) == {torch.bfloat16}  # the products ran under autocast
    assert all(p.dtype == torch.float32 for p in tr.model.parameters())  # master weights
    x = data["X"][:16]
    got = torch_peer.predictor("torch", case["W5-batch-bf16"], net, weights, x)()
    assert got.dtype == np.float32
    ref = fastnn_peer.build(net, weights).predict(x)
    assert 0 < np.abs(got - ref).max() < workloads.CHECK_RTOL["bf16"]
