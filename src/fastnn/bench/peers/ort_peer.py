"""ONNX Runtime running fastnn's own ONNX export (``model.export``), for W5; the
int8 cases run that file after ``onnxruntime.quantization.quantize_dynamic``
(weights QInt8 per output channel, activations quantized per call: ORT's dynamic
quantization, what fastnn.quantize follows).

The session: CPU provider, ``intra_op_num_threads`` = the run's thread count,
one inter-op thread, all graph optimisations.  One sample goes through a
pre-bound IO binding (the input array and a preallocated output array bound
once, then ``run_with_iobinding`` per call), which is what an ORT user
chasing latency does; the 10k-row batch through a plain ``session.run``.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

NOTES = {"ort": "fastnn model.export(...) to ONNX; InferenceSession(intra_op_num_threads=n); "
                "1 sample: pre-bound IO binding + run_with_iobinding; 10k rows: session.run; "
                "int8 cases: the export after quantize_dynamic(weight_type=QInt8, "
                "per_channel=True)"}


def unsupported(peer, case):
    if case.kind not in ("latency", "batch"):
        return "inference only (W5)"
    if case.precision == "bf16":
        return "bf16: not measured (the ONNX Runtime rows here are float32 and int8)"
    return None


def setup(peer, threads):
    import onnx
    import onnxruntime as ort

    from ..machine import blas_pools

    info = blas_pools()
    info.append({"note": "onnxruntime: its own MLAS kernels, "
                         f"providers {ort.get_available_providers()}"})
    _THREADS[0] = threads
    return {"versions": {"onnxruntime": ort.__version__, "onnx": onnx.__version__}, "blas": info}


_THREADS = [1]  # the session's intra-op threads, set by setup


def _session(net, weights, precision="float32"):
    import onnxruntime as ort

    from .fastnn_peer import build

    folder = tempfile.mkdtemp(prefix="fastnn-bench-ort-")
    path = os.path.join(folder, f"{net.name}.onnx")
    build(net, weights).export(path, verbose=False)
    if precision == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        float_path, path = path, os.path.join(folder, f"{net.name}-int8.onnx")
        quantize_dynamic(float_path, path, weight_type=QuantType.QInt8, per_channel=True)
        os.remove(float_path)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = _THREADS[0]
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    os.remove(path)
    os.rmdir(folder)
    return sess


def predictor(peer, case, net, weights, x):
    sess = _session(net, weights, case.precision)
    name_in, name_out = sess.get_inputs()[0].name, sess.get_outputs()[0].name
    if case.kind == "batch":
        return lambda: sess.run([name_out], {name_in: x})[0]
    out = np.empty((len(x), net.sizes[-1]), np.float32)
    io = sess.io_binding()
    io.bind_cpu_input(name_in, x)
    io.bind_output(name_out, "cpu", 0, np.float32, list(out.shape), out.ctypes.data)
    run = sess.run_with_iobinding

    def call():
        run(io)
        return out
    return call


def trainer(peer, case, net, data, weights, seed):  # pragma: no cover - unsupported() refuses
    raise NotImplementedError
