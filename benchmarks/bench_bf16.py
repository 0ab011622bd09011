"""mixed_bfloat16 and int8 against float32 (issue 23, items 1-4): accuracy after the
same epochs and speed, fastnn beside PyTorch (float32 and CPU autocast(bfloat16))
and ONNX Runtime (float32, and quantize_dynamic's int8 model, per channel).

Accuracy: scikit-learn's digits (1,400 train / 397 test, 64-96-10... see NETS
below) and real MNIST (the 10,000 t10k digits of /work/shared/data/mnist: 8,000
train / 2,000 test, 784-256-128-10), the same initial weights and batch order
for both precisions; reported: test accuracy, the largest difference of the two
models' output probabilities, and of one model's outputs predicted in float32 and
in mixed_bfloat16 (the inference effect alone); int8: fastnn.quantize of the float32
model, its accuracy and largest output difference.

Speed, one thread each (threadpoolctl, fastnn.set_num_threads, torch.set_num_threads):
W3 = one epoch of the MNIST net on the 8,000 rows, batch 128, Adam; W4 = one epoch
of 1024-4096-4096-1024 on 1,024 generated rows, batch 256, SGD, MSE; W5b = predict
of the W3 net on 10,000 rows (fastnn float32, mixed_bfloat16, int8; torch float32 and
autocast; ORT float32 and int8), W5a = one-row predicts of it (median of 2,000 calls).  Each timing is repeated --repeats times,
the frameworks interleaved; medians (min-max).  The machine is shared: repeat runs
and compare ratios from the same run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_bf16.py \\
        [--repeats 5] [--skip-torch] [--skip-w4]

Not part of the test suite (it measures time).
"""
from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import time

import numpy as np

import fastnn
from fastnn.layers import Dense

DATA = os.environ.get("FASTNN_BENCH_DATA", "/work/shared/data")


def mnist_t10k():
    with gzip.open(os.path.join(DATA, "mnist", "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(os.path.join(DATA, "mnist", "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    X = (images / 255.0).astype(np.float32)
    return X[:8000], labels[:8000].astype(np.int64), X[8000:], labels[8000:].astype(np.int64)


def digits():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    return X[:1400], y[:1400], X[1400:], y[1400:]


def model(sizes, acts, policy, seed=0):
    layers = [fastnn.Input(shape=(sizes[0],))]
    layers += [Dense(n, activation=a, dtype=policy) for n, a in zip(sizes[1:], acts)]
    return fastnn.Sequential(layers, seed=seed)


def accuracy_rows():
    rows = []
    sets = [("digits", digits, (64, 256, 128, 10), 20), ("MNIST t10k", mnist_t10k,
                                                         (784, 256, 128, 10), 5)]
    for name, load, sizes, epochs in sets:
        Xtr, ytr, Xte, yte = load()
        out = {}
        for policy in ("float32", "mixed_bfloat16"):
            m = model(sizes, ("relu", "relu", "softmax"), policy)
            m.compile(fastnn.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                      ["accuracy"])
            m.fit(Xtr, ytr, epochs=epochs, batch_size=128, verbose=0)
            out[policy] = (m, m.predict(Xte), m.evaluate(Xte, yte, verbose=0)[1])
        m32 = out["float32"][0]
        same = model(sizes, ("relu", "relu", "softmax"), "mixed_bfloat16")
        same.build((None, sizes[0]))
        same.set_weights(m32.get_weights())
        q = fastnn.quantize(m32)
        p8 = q.predict(Xte)
        rows.append((name, epochs, out["float32"][2], out["mixed_bfloat16"][2],
                     np.abs(out["float32"][1] - out["mixed_bfloat16"][1]).max(),
                     np.abs(same.predict(Xte) - out["float32"][1]).max(),
                     (p8.argmax(1) == yte).mean(), np.abs(p8 - out["float32"][1]).max()))
    print("\n## accuracy after the same epochs (batch 128, Adam 1e-3, same start)")
    print("data | epochs | fp32 acc | bf16 acc | Δ pp | max |p32 − p16| trained apart | "
          "max |Δp| same weights | int8 acc | Δ pp | max |Δp| int8")
    for name, ep, a32, a16, dtrain, dsame, a8, d8 in rows:
        print(f"{name} | {ep} | {a32:.4f} | {a16:.4f} | {100 * (a16 - a32):+.2f} | "
              f"{dtrain:.3g} | {dsame:.3g} | {a8:.4f} | {100 * (a8 - a32):+.2f} | {d8:.3g}")


def torch_runner(sizes, acts, loss, lr, opt, X, y, batch, autocast):
    import torch
    from torch import nn
    mods = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        mods.append(nn.Linear(a, b))
        if acts[i] == "relu":
            mods.append(nn.ReLU())
    net = nn.Sequential(*mods)
    o = (torch.optim.Adam(net.parameters(), lr) if opt == "adam"
         else torch.optim.SGD(net.parameters(), lr))
    lossf = nn.CrossEntropyLoss() if loss == "ce" else nn.MSELoss()
    tX = torch.from_numpy(X)
    ty = torch.from_numpy(y)

    def epoch():
        perm = torch.randperm(len(tX))
        for s in range(0, len(tX), batch):
            idx = perm[s:s + batch]
            o.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                out = net(tX[idx])
            lossf(out.float(), ty[idx]).backward()
            o.step()

    def predict(Xp):
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16,
                                                    enabled=autocast):
            return net(torch.from_numpy(Xp)).float()
    return epoch, predict


def _ort_predictors(m32):
    """ONNX Runtime sessions (1 thread) of the float32 model and of its
    quantize_dynamic int8 copy (QInt8 weights per channel), or {} without ORT."""
    try:
        import onnxruntime as ort
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        return {}
    import tempfile
    d = tempfile.mkdtemp()
    f32, i8 = os.path.join(d, "m.onnx"), os.path.join(d, "m8.onnx")
    m32.export(f32, verbose=False)
    quantize_dynamic(f32, i8, weight_type=QuantType.QInt8, per_channel=True)
    out = {}
    for key, path in (("ORT float32", f32), ("ORT quantize_dynamic int8", i8)):
        so = ort.SessionOptions()
        so.intra_op_num_threads = so.inter_op_num_threads = 1
        s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        out[key] = (lambda X, s=s: s.run(None, {"input": X})[0])
    return out


def timed(fns, repeats):
    times = {k: [] for k in fns}
    names = list(fns)
    for f in fns.values():
        f()  # warm-up
    for r in range(repeats):
        for k in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            fns[k]()
            times[k].append(time.perf_counter() - t0)
    return times


def speed_rows(repeats, use_torch, w4):
    Xtr, ytr, Xte, _ = mnist_t10k()
    cases = [("W3 train epoch", (784, 256, 128, 10), ("relu", "relu", "softmax"), "ce",
              1e-3, "adam", Xtr, ytr, 128)]
    if w4:
        rng = np.random.default_rng(0)
        Xw = rng.standard_normal((1024, 1024), dtype=np.float32)
        Yw = rng.standard_normal((1024, 1024), dtype=np.float32)
        cases.append(("W4 train epoch", (1024, 4096, 4096, 1024), ("relu", "relu", "linear"),
                      "mse", 1e-3, "sgd", Xw, Yw, 256))
    Xp = np.concatenate([Xtr, Xte])
    print(f"\n## speed, 1 thread, {repeats} repeats: median seconds (min-max); ratio to "
          "fastnn float32")
    for label, sizes, acts, loss, lr, opt, X, y, batch in cases:
        fns, predictors, fns_models = {}, {}, {}
        for policy in ("float32", "mixed_bfloat16"):
            m = model(sizes, acts, policy)
            fns_models[policy] = m
            m.compile(fastnn.optimizers.Adam(lr) if opt == "adam" else fastnn.optimizers.SGD(lr),
                      "sparse_categorical_crossentropy" if loss == "ce" else "mse")
            fns[f"fastnn {policy}"] = (lambda m=m: m.fit(X, y, epochs=1, batch_size=batch,
                                                          verbose=0))
            predictors[f"fastnn {policy}"] = (lambda m=m: m.predict(Xp))
        if use_torch:
            for ac in (False, True):
                ep, pr = torch_runner(sizes, acts, loss, lr, opt, X, y, batch, ac)
                key = "torch autocast(bf16)" if ac else "torch float32"
                fns[key] = ep
                predictors[key] = lambda pr=pr: pr(Xp)
        _report(label, timed(fns, repeats))
        if label.startswith("W3"):
            m32 = fns_models["float32"]
            q = fastnn.quantize(m32)
            predictors["fastnn int8"] = lambda: q.predict(Xp)
            ort_runs = _ort_predictors(m32)
            for key, run in ort_runs.items():
                predictors[key] = (lambda run=run: run(Xp))
            _report("W5b predict 10k rows (W3 net)", timed(predictors, repeats * 3))
            one = Xp[:1]
            single = {"fastnn float32": lambda: m32.predict(one),
                      "fastnn mixed_bfloat16": lambda: fns_models["mixed_bfloat16"].predict(one),
                      "fastnn int8": lambda: q.predict(one)}
            for key, run in ort_runs.items():
                single[key] = (lambda run=run: run(one))
            _report("W5a one-row predict x2000 (W3 net)",
                    timed({k: (lambda f=f: [f() for _ in range(2000)]) for k, f in
                           single.items()}, repeats))


def _report(label, times):
    base = statistics.median(times["fastnn float32"])
    print(f"{label}:")
    for k, v in times.items():
        med = statistics.median(v)
        print(f"  {k:24s} {med:.4f} s ({min(v):.4f}-{max(v):.4f})  {base / med:.2f}x")
    sys.stdout.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--skip-w4", action="store_true")
    ap.add_argument("--skip-accuracy", action="store_true")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_info, threadpool_limits
    threadpool_limits(1)
    fastnn.set_num_threads(1)
    use_torch = not args.skip_torch
    if use_torch:
        try:
            import torch
            torch.set_num_threads(1)
            print(f"# torch {torch.__version__}")
        except ImportError:
            use_torch = False
    for lib in threadpool_info():
        print(f"# {lib.get('internal_api')} {lib.get('version')} {lib.get('architecture')} "
              f"threads={lib.get('num_threads')} {os.path.basename(lib.get('filepath', ''))}")
    print(f"# fastnn {fastnn.__version__}, bf16 kernel {fastnn.mixed_precision.kernel()}")
    if not args.skip_accuracy:
        accuracy_rows()
    speed_rows(args.repeats, use_torch, not args.skip_w4)


if __name__ == "__main__":
    main()
