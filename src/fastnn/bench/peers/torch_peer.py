"""PyTorch eager, written the way its tutorials teach: ``torch.nn.Sequential``,
a loss on logits (``BCEWithLogitsLoss`` / ``CrossEntropyLoss``), ``torch.optim``,
tensors converted once, batches indexed through ``torch.randperm``.

The bf16 cases: CPU automatic mixed precision as PyTorch's AMP documentation
writes it, float32 parameters and optimizer, forward and loss under
``torch.autocast("cpu", dtype=torch.bfloat16)``, ``backward`` and ``step``
outside it (no GradScaler: bfloat16 has float32's exponent range); predict under
``inference_mode`` + autocast, outputs cast back to float32.  Eager, as the
float32 cases (torch.compile not measured here)."""
from __future__ import annotations

import contextlib
import re

import numpy as np

NOTES = {"torch": "eager nn.Sequential; per batch: zero_grad(set_to_none), forward, loss on "
                  "logits, backward, optim.step; SGD(momentum) / Adam(eps=1e-7), fused=True; "
                  "predict = "
                  "model(from_numpy(x)) + sigmoid/softmax under inference_mode, .numpy(); "
                  "bf16 cases: forward + loss under torch.autocast('cpu', bfloat16), "
                  "predict under inference_mode + autocast, .float().numpy()"}

_ACT = {"tanh": "Tanh", "relu": "ReLU"}


def unsupported(peer, case):
    if case.kind in ("peak", "noop"):
        return "fastnn only" if case.kind == "noop" else "measured by the sgemm probe"
    if case.precision == "int8":
        return "int8: the peer is ONNX Runtime's quantize_dynamic model"
    return None


def _autocast(case):
    """The context a case's products run in: CPU autocast to bfloat16, or none."""
    import torch

    if case.precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def setup(peer, threads):
    import torch

    from ..machine import blas_pools

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set (cannot happen in a fresh child)
        pass
    cfg = torch.__config__.show()
    blas = re.findall(r"\b(BLAS_INFO=\w+|USE_MKLDNN=\w+)", cfg)
    info = blas_pools()
    info.append({"note": f"torch: {', '.join(blas) or 'BLAS unknown'}; mkl "
                         f"{torch.backends.mkl.is_available()}, mkldnn "
                         f"{torch.backends.mkldnn.is_available()}, "
                         f"{torch.get_num_threads()} intra-op threads, CPU capability "
                         f"{torch.backends.cpu.get_cpu_capability()}"})
    return {"versions": {"torch": torch.__version__}, "blas": info}


def _model(net, weights):
    """(training model ending in logits, inference model ending in the activation)."""
    import torch
    from torch import nn

    mods = []
    for k, act in enumerate(net.acts):
        lin = nn.Linear(net.sizes[k], net.sizes[k + 1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(weights[2 * k].T.copy()))
            lin.bias.copy_(torch.from_numpy(weights[2 * k + 1]))
        mods.append(lin)
        if k < len(net.acts) - 1:
            mods.append(getattr(nn, _ACT[act])())
    model = nn.Sequential(*mods)
    last = {"sigmoid": nn.Sigmoid(), "softmax": nn.Softmax(dim=1)}.get(net.acts[-1])
    infer = nn.Sequential(model, last) if last is not None else model
    return model, infer.eval()


class Trainer:
    def __init__(self, case, net, data, weights, seed):
        import torch
        from torch import nn

        self.torch = torch
        self.model, self.infer = _model(net, weights)
        self.X = torch.from_numpy(data["X"])
        y = data["y"]
        if net.loss == "binary_crossentropy":
            self.Y, self.loss_fn = torch.from_numpy(y.astype(np.float32)), nn.BCEWithLogitsLoss()
        elif net.loss == "sparse_categorical_crossentropy":
            self.Y, self.loss_fn = torch.from_numpy(y.astype(np.int64)), nn.CrossEntropyLoss()
        else:
            self.Y, self.loss_fn = torch.from_numpy(y), nn.MSELoss()
        params = self.model.parameters()
        # fused=True: one kernel per update instead of a loop over the parameter
        # tensors (the fastest implementation torch documents; same arithmetic)
        if net.optimizer[0] == "sgd":
            self.opt = torch.optim.SGD(params, lr=net.optimizer[1], momentum=net.optimizer[2],
                                       fused=True)
        else:
            self.opt = torch.optim.Adam(params, lr=net.optimizer[1], eps=1e-7, fused=True)
        self.batch = case.batch
        self.gen = torch.Generator().manual_seed(seed)
        self.case = case

    def train(self, epochs):
        torch, model, opt, loss_fn, X, Y, B = (self.torch, self.model, self.opt, self.loss_fn,
                                               self.X, self.Y, self.batch)
        model.train()
        n = len(X)
        for _ in range(epochs):
            perm = torch.randperm(n, generator=self.gen)
            for i in range(0, n, B):
                idx = perm[i:i + B]
                opt.zero_grad(set_to_none=True)
                with _autocast(self.case):
                    loss = loss_fn(model(X[idx]), Y[idx])
                loss.backward()
                opt.step()

    def predict(self, X):
        with self.torch.inference_mode(), _autocast(self.case):
            return self.infer(self.torch.from_numpy(X)).float().numpy()


def trainer(peer, case, net, data, weights, seed):
    return Trainer(case, net, data, weights, seed)


def predictor(peer, case, net, weights, x):
    import torch

    _, infer = _model(net, weights)

    if case.precision == "bf16":
        def call():
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
                return infer(torch.from_numpy(x)).float().numpy()
        return call

    def call():
        with torch.inference_mode():
            return infer(torch.from_numpy(x)).numpy()
    return call
