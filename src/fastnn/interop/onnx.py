"""ONNX export: ``model.export(path, format="onnx")`` (Keras 3's name).

The graph, opset 17, one input ``"input"`` of shape ``(batch, n_features)`` (the
batch axis is dynamic) and one output ``"output"``, in the model's dtype
(float32 or float64; a float64 graph computes in float64 throughout).  Per Dense
layer: ``Gemm`` (``x·W + b``) or ``MatMul`` without bias, then the activation,
written as fastnn's C kernels compute it (csrc/fnn_activations.c), so that ONNX
Runtime reproduces ``predict`` on extreme values too — tails, |z| < 1e-6,
subnormals, ±inf and NaN (NaN in, NaN out):

=========  ==================================================================
linear     nothing
sigmoid    ``Where(z >= 0, 1/(1 + e), e/(1 + e))``, ``e = Exp(-Abs(z))`` (ORT's
           Sigmoid loses the tail: 5× off at z = -18 in float32, 0 below -40 in float64)
tanh       ``Tanh``; float32: ``z`` where ``|z| < 2⁻¹²`` (tanh z rounds to z there;
           ORT's float Tanh is 1e-5 off relative near the smallest normal)
relu       ``Relu`` (also relu_keras: the same function)
softmax    ``Softmax(axis=-1)``
step       ``Where(IsNaN(z), z, Cast(z >= 0))`` — 1 for z >= 0, else 0, NaN kept
sign       ``Where(IsNaN(z), z, Where(z >= 0, 1, -1))``
leaky_relu ``Where(z < 0, 0.2 z, z)``
elu, selu  ``λ Where(z > 0, z, α expm1(z))``, ``expm1(z) = (u - 1)·(z / Log(u))``,
           ``u = Exp(z)``, with ``z`` where ``u = 1`` and -1 where ``u - 1 = -1``
           (Kahan's form: exact to a few ulp at |z| < 1e-6, where ``u - 1`` cancels)
softplus   ``Where(z > 0, z, 0) + log1p(Exp(-Abs(z)))``, ``log1p(w) = Log(v)·(w/(v - 1))``,
           ``v = 1 + w``, with ``w`` where ``v = 1`` (so e^z, not 0, for z << 0)
gelu       ``(½ z)(1 + erf(z/√2))``, halved first as the kernel does (``z (1 + erf)``
           overflows at |z| > max/2); ``Erf`` in float32; in float64 (ORT has no double
           Erf) a polynomial of degree 17 on each unit interval of |t| < 6, picked with
           ``Gather``, and ±1 beyond: within 1.1e-16 of erf
swish      ``z · σ(z)``, σ as for sigmoid
=========  ==================================================================

The normalization layers, as ``predict`` runs them (moving statistics):

==================  =========================================================
BatchNormalization  ``BatchNormalization`` (inference; γ = 1, β = 0 when absent)
LayerNormalization  ``LayerNormalization(axis=-1)`` (γ = 1, β = 0 when absent)
Normalization       ``Mul(Sub(x, mean), 1/max(√variance, 1e-7))``, as the C kernel
UnitNormalization   ``Mul(x, 1/Sqrt(Max(ReduceSumSquare(x), 1e-24)))``
==================  =========================================================

Dropout and the noise layers are the identity at inference and are left out; an
Activation layer is the activation of the layer before it (fastnn folds it there).  A model whose samples
are not flat (``Flatten(input_shape=(28, 28))``) takes input ``(batch, 28, 28)``,
flattened by a ``Flatten`` node.  Needs ``onnx``
(the ``onnx`` extra); ONNX Runtime runs the result.
"""
from __future__ import annotations

import os
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import activations as A
from .._install_hints import install_hint
from ..layers import Dense, Layer

if TYPE_CHECKING:
    import onnx

    from ..models import Sequential

OPSET = 17
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848, 1.0507009873554804934  # as the C kernel


def _onnx() -> tuple[ModuleType, ModuleType, ModuleType]:
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError("exporting to ONNX needs the onnx package: "
                          + install_hint("onnx", "onnx")) from None
    return onnx, helper, numpy_helper


def to_onnx(model: Sequential) -> onnx.ModelProto:
    """The model as an ``onnx.ModelProto`` (weights copied, under the model's read lock)."""
    onnx, helper, numpy_helper = _onnx()
    with model.state_for_saving("export", need_weights=True) as state:
        dense = model.dense_layers
        stages, widths = state.stages, state.widths
        weights = [layer.get_weights() for layer in stages]
        values = [_buffer_values(layer, j, state.variables) for j, layer in enumerate(stages)]
        n_in, dtype, shape = model.input_dim, model.dtype, model.input_shape
        shape = shape[1:] if shape is not None and len(shape) > 2 else None  # not flat
    elem = onnx.TensorProto.DOUBLE if dtype == np.float64 else onnx.TensorProto.FLOAT
    g = _Graph(helper, numpy_helper, dtype, elem)
    x = "input"
    if shape is not None:  # samples of shape (28, 28): flattened in C order, as predict
        x = g.op("Flatten", x, axis=1)
    j = 0
    for layer, w, n, v in zip(stages, weights, widths, values):
        if not isinstance(layer, Dense):
            x = _activation(g, layer, _normalization(g, layer, n, v, x))
            continue
        g.prefix = f"dense{j}_"
        args = [g.weight(f"dense{j}_kernel", w[0])]
        if layer.use_bias:
            args.append(g.weight(f"dense{j}_bias", w[1]))
        x = _activation(g, layer, g.op("Gemm" if layer.use_bias else "MatMul", x, *args))
        j += 1
    g.nodes.append(helper.make_node("Identity", [x], ["output"]))
    graph = helper.make_graph(
        g.nodes, model.name, [helper.make_tensor_value_info(
            "input", elem, ["batch", *(shape if shape is not None else (n_in,))])],
        [helper.make_tensor_value_info("output", elem, ["batch", dense[-1].units])],
        initializer=g.inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="fastnn")
    proto.ir_version = 8  # ONNX Runtime reads IR 8 for opset 17 everywhere
    onnx.checker.check_model(proto)
    return proto


def onnx_float64() -> int:
    """The ONNX element type of float64 (TensorProto.DOUBLE), for callers that
    check a model's input type."""
    return _onnx()[0].TensorProto.DOUBLE


class _Graph:
    """The nodes and initializers being written; every node output gets a fresh name."""

    def __init__(self, helper: ModuleType, numpy_helper: ModuleType, dtype: Any,
                 elem: int) -> None:
        self.helper, self.numpy_helper, self.dtype = helper, numpy_helper, np.dtype(dtype)
        self.elem = elem  # the TensorProto element type of dtype
        self.nodes: list[Any] = []  # NodeProto
        self.inits: list[Any] = []  # TensorProto
        self.prefix = ""
        self._consts: dict[tuple[str, tuple[int, ...], bytes], str] = {}

    def weight(self, name: str, value: object) -> str:
        """An initializer called `name` holding `value` in the model's dtype."""
        self.inits.append(self.numpy_helper.from_array(np.asarray(value, self.dtype), name))
        return name

    def const(self, value: object) -> str:
        """An initializer holding `value` in the model's dtype (one per distinct value)."""
        arr = np.asarray(value, self.dtype)
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key not in self._consts:
            self._consts[key] = self.weight(f"const{len(self._consts)}", arr)
        return self._consts[key]

    def op(self, op_type: str, *inputs: str | float, **attrs: Any) -> str:
        """Append one node; a number among `inputs` becomes a constant."""
        out = f"{self.prefix}{op_type.lower()}{len(self.nodes)}"
        names = [i if isinstance(i, str) else self.const(i) for i in inputs]
        self.nodes.append(self.helper.make_node(op_type, names, [out], **attrs))
        return out


def _normalization(g: _Graph, layer: Layer, n: int, value: dict[str, np.ndarray],
                   x: str) -> str:
    """The output of a normalization layer (before its folded activation) on the
    tensor named `x` of width n, from its variables `value` (see the module
    docstring)."""
    g.prefix = f"{layer.name}_"
    get = value
    kind = type(layer).__name__
    if kind == "UnitNormalization":
        q = g.op("ReduceSumSquare", x, axes=[1], keepdims=1)
        return g.op("Mul", x, g.op("Div", 1.0, g.op("Sqrt", g.op("Max", q, 1e-24))))
    if kind == "Normalization":
        scale = 1.0 / np.maximum(np.sqrt(get["variance"].astype(np.float64)), 1e-7)
        return g.op("Mul", g.op("Sub", x, g.weight(f"{layer.name}_mean", get["mean"])),
                    g.weight(f"{layer.name}_scale", scale.astype(g.dtype)))
    gamma = value.get("gamma", np.ones(n))
    beta = value.get("beta", np.zeros(n))
    eps = float(layer.epsilon)  # type: ignore[attr-defined]
    args = [g.weight(f"{layer.name}_gamma", gamma), g.weight(f"{layer.name}_beta", beta)]
    if kind == "BatchNormalization":
        args += [g.weight(f"{layer.name}_moving_mean", value["moving_mean"]),
                 g.weight(f"{layer.name}_moving_variance", value["moving_variance"])]
        return g.op("BatchNormalization", x, *args, epsilon=eps)
    return g.op("LayerNormalization", x, *args, axis=-1, epsilon=eps)


def _buffer_values(layer: Layer, j: int, variables: dict[str, np.ndarray]
                   ) -> dict[str, np.ndarray]:
    """Copies of stage j's values in the flat buffer by name (a Normalization given its
    mean and variance shows no weights, but keeps them there)."""
    if isinstance(layer, Dense):
        return {}
    return {key.split("/", 1)[1]: arr for key, arr in variables.items()
            if key.split("/", 1)[0] == str(j)}


def _activation(g: _Graph, layer: Layer, z: str) -> str:
    """The output of `layer`'s activation applied to the tensor named `z`."""
    act, f64 = layer._act, g.dtype == np.float64  # with a folded Activation layer
    if act == A.LINEAR:
        return z
    if act == A.SIGMOID:
        return _sigmoid(g, z, fast=not f64)
    if act == A.TANH:
        a = g.op("Tanh", z)
        return a if f64 else g.op("Where", g.op("Less", g.op("Abs", z), 2.0**-12), z, a)
    if act in (A.RELU, A.RELU_KERAS):  # the same function; only training differs
        return g.op("Relu", z)
    if act == A.SOFTMAX:
        return g.op("Softmax", z, axis=-1)
    if act in (A.STEP, A.SIGN):
        ge = g.op("GreaterOrEqual", z, 0.0)
        val = g.op("Cast", ge, to=g.elem) if act == A.STEP else g.op("Where", ge, 1.0, -1.0)
        return g.op("Where", g.op("IsNaN", z), z, val)
    if act == A.LEAKY_RELU:  # Where/Mul, not LeakyRelu: its alpha is a float32 attribute
        return g.op("Where", g.op("Less", z, 0.0), g.op("Mul", z, 0.2), z)
    if act in (A.ELU, A.SELU):  # scale·(z > 0 ? z : alpha·expm1(z)), as the kernel
        low = _expm1(g, z)
        if act == A.ELU:
            return g.op("Where", g.op("Greater", z, 0.0), z, low)
        low = g.op("Mul", low, _SELU_ALPHA)
        return g.op("Mul", g.op("Where", g.op("Greater", z, 0.0), z, low), _SELU_SCALE)
    if act == A.GELU:  # (½ z)(1 + erf(z/√2)), in the kernel's order
        t = g.op("Mul", z, 0.70710678118654752440)
        erf = _erf64(g, t) if f64 else g.op("Erf", t)
        return g.op("Mul", g.op("Mul", z, 0.5), g.op("Add", erf, 1.0))
    if act == A.SOFTPLUS:  # (z > 0 ? z : 0) + log1p(e^{-|z|})
        w = g.op("Exp", g.op("Neg", g.op("Abs", z)))
        return g.op("Add", g.op("Where", g.op("Greater", z, 0.0), z, 0.0), _log1p(g, w))
    if act == A.SWISH:
        return g.op("Mul", z, _sigmoid(g, z, fast=False))
    # pragma: no cover - every activation fastnn has is listed above
    raise ValueError(f"export(): activation {A.NAMES[act]!r} of layer {layer.name!r} "
                     "has no ONNX translation.")



def _sigmoid(g: _Graph, z: str, fast: bool) -> str:
    """σ(z) = 1/(1 + e) for z >= 0, e/(1 + e) below, e = e^{-|z|} (no exp of a positive
    number, no overflow); `fast`: e·(1/(1 + e)), as the vectorised float32 kernel."""
    e = g.op("Exp", g.op("Neg", g.op("Abs", z)))
    d = g.op("Add", e, 1.0)
    inv = g.op("Div", 1.0, d)
    low = g.op("Mul", e, inv) if fast else g.op("Div", e, d)
    return g.op("Where", g.op("GreaterOrEqual", z, 0.0), inv, low)


def _expm1(g: _Graph, z: str) -> str:
    """e^z - 1 for z <= 0 (or NaN), to a few ulp: with u = e^z, (u - 1)·z/log(u) (its
    rounding errors cancel: Kahan), z where u rounds to 1, -1 where u - 1 rounds to -1."""
    u = g.op("Exp", z)
    um1 = g.op("Sub", u, 1.0)
    q = g.op("Mul", um1, g.op("Div", z, g.op("Log", u)))
    q = g.op("Where", g.op("Equal", um1, -1.0), um1, q)
    return g.op("Where", g.op("Equal", u, 1.0), z, q)


def _log1p(g: _Graph, w: str) -> str:
    """log(1 + w) for 0 <= w <= 1 (or NaN), to a few ulp: with v = 1 + w (v - 1 is exact),
    log(v)·w/(v - 1), and w where v rounds to 1."""
    v = g.op("Add", w, 1.0)
    r = g.op("Mul", g.op("Log", v), g.op("Div", w, g.op("Sub", v, 1.0)))
    return g.op("Where", g.op("Equal", v, 1.0), w, r)


def _erf64(g: _Graph, t: str) -> str:
    """erf(t) in float64 with the operators ONNX Runtime has for double (its Erf is
    float32 only): for a = |t| < 6 the polynomial Σ_i c_ik (a - k - ½)^i of the unit
    interval k = floor(a), coefficients gathered per element; 1 for a >= 6 (erfc(6) <
    ulp(1)/4); the sign of t.  Measured against a 60-digit erf: within 1.1e-16, ½ ulp(1)
    (absolute: near 0 it is no relative bound, but gelu only adds erf to 1)."""
    a = g.op("Abs", t)
    k = g.op("Floor", g.op("Where", g.op("Less", a, 6.0), a, 0.0))  # NaN, inf: row 0
    u = g.op("Sub", a, g.op("Add", k, 0.5))  # exact; NaN stays NaN
    idx = g.op("Cast", k, to=7)  # TensorProto.INT64: an index, not a value
    coef = np.array(_ERF_POLY).reshape(-1, 6)
    p = g.op("Gather", g.const(coef[-1]), idx)
    for row in coef[-2::-1]:
        p = g.op("Add", g.op("Mul", p, u), g.op("Gather", g.const(row), idx))
    e = g.op("Where", g.op("GreaterOrEqual", a, 6.0), 1.0, p)
    return g.op("Where", g.op("Less", t, 0.0), g.op("Neg", e), e)


# c_ik, i-major (6 intervals a row): the Chebyshev interpolant of erf of degree 17 on
# [k, k + 1], computed in 60-digit arithmetic, rewritten in powers of a - k - ½ and
# rounded to float64 (its truncation error is below 0.05 ulp(1))
_ERF_POLY = (
    0.5204998778130465, 0.9661051464753108, 0.999593047982555, 0.9999992569016276,
    0.9999999998033839, 0.9999999999999927, 0.8787825789354448, 0.11893028922362937,
    0.00217828423035271, 5.399426777384778e-06, 1.8113058959084979e-09, 8.223316045458922e-14,
    -0.4393912894677208, -0.17839543383544215, -0.005445710575881352, -1.889799372083588e-05,
    -8.150876532081662e-09, -4.5228237806083047e-13, -0.14646376315590992, 0.1387520040942334,
    0.008350089549685316, 4.2295509756183974e-05, 2.3848860962922207e-08,
    1.630957681040451e-12, 0.18307970394471393, -0.04459885845906473, -0.008622375078524626,
    -6.771781083419425e-05, -5.0942978269900585e-08, -4.334373304344201e-12,
    0.007323188158057037, -0.014866286152863747, 0.006117348213581381, 8.211628223905478e-05,
    8.454270267825672e-08, 9.046333061569053e-12, -0.05004178573793508, 0.019326172007209028,
    -0.002798490155194711, -7.774424634270121e-05, -1.1322926197463512e-07,
    -1.542909157123253e-11, 0.005405210296183784, -0.004743053204878897, 0.0005424100610182815,
    5.8192750633083246e-05, 1.2545126252816978e-07, 2.2091851415024877e-11,
    0.010047588370058359, -0.002362677793021706, 0.0002606701356729855, -3.425917641005278e-05,
    -1.1686921256833338e-07, -2.707046316709131e-11, -0.0021674116171795247,
    0.0017098196278538453, -0.0002502853799157958, 1.5330767979032568e-05,
    9.247594472621301e-08, 2.8790110795108656e-11, -0.0015694951083960497,
    -9.291229551299306e-05, 7.880177146743523e-05, -4.641006211840259e-06,
    -6.245211560784055e-08, -2.6851953370338744e-11, 0.0004973463442178198,
    -0.00025444927807681647, 5.136930251595918e-06, 4.447070078241626e-07,
    3.5964467626504925e-08, 2.21441301642051e-11, 0.00019634547995616878,
    7.767647032419676e-05, -1.4083027495560623e-05, 4.4369501964546565e-07,
    -1.750741777309597e-08, -1.626183630045334e-11, -8.522575902204075e-05,
    1.7961323135211212e-05, 4.691450500317399e-06, -3.0169187662967797e-07,
    7.05014252027927e-09, 1.0619639896787025e-11, -1.9759542427354337e-05,
    -1.4038638152371658e-05, 1.9335667519029052e-07, 9.26340452247386e-08,
    -2.2373769474311495e-09, -6.074787404306814e-12, 1.1804084078929693e-05,
    5.712902189436902e-07, -6.432920674396747e-07, -5.645051913652189e-09,
    4.6474950675509103e-10, 3.195223941295413e-12, 1.4723669618932748e-06,
    1.4171216409416466e-06, 1.533697992336162e-07, -8.970758367081026e-09,
    2.9076395664637604e-11, -1.7543579090373337e-12, -1.2492865212976732e-06,
    -2.8346118565278276e-07, 2.2545440370103313e-08, 3.857191005152605e-09,
    -5.847844439346223e-11, 6.878229795376623e-13)


def export(model: Sequential, filepath: str | os.PathLike[str], overwrite: bool = True) -> None:
    """Write the ONNX file atomically (as ``model.save`` does)."""
    from .._archive import atomic_write, check_path

    path = check_path("export", filepath)
    data = to_onnx(model).SerializeToString()
    atomic_write("export", path, lambda f: f.write(data), overwrite)


def to_onnx_int8(qmodel: Any) -> onnx.ModelProto:
    """A QuantizedModel (fastnn/quantization.py) as ONNX Runtime's dynamic quantization
    writes it: per Dense layer ``DynamicQuantizeLinear`` of the input (uint8, scale
    and zero point of the batch), ``MatMulInteger`` with the int8 kernel (zero point
    0), ``Cast`` to float, times ``x_scale · w_scale`` (one per column), plus the
    bias, then the activation as in the float graph."""
    onnx, helper, numpy_helper = _onnx()
    g = _Graph(helper, numpy_helper, np.float32, onnx.TensorProto.FLOAT)
    x = "input"
    shape = qmodel.sample_shape
    if shape is not None:
        x = g.op("Flatten", x, axis=1)
    for j, (layer, wq, ws, bias) in enumerate(qmodel.quantized_layers):
        g.prefix = f"dense{j}_"
        q, xs, zp = (f"dense{j}_xq", f"dense{j}_xscale", f"dense{j}_xzp")
        g.nodes.append(helper.make_node("DynamicQuantizeLinear", [x], [q, xs, zp]))
        g.inits.append(numpy_helper.from_array(np.ascontiguousarray(wq, np.int8),
                                               f"dense{j}_kernel_int8"))
        acc = g.op("MatMulInteger", q, f"dense{j}_kernel_int8", zp)
        scale = g.op("Mul", xs, g.weight(f"dense{j}_kernel_scale", ws))
        z = g.op("Mul", g.op("Cast", acc, to=onnx.TensorProto.FLOAT), scale)
        if bias is not None:
            z = g.op("Add", z, g.weight(f"dense{j}_bias", bias))
        x = _activation(g, layer, z)
    g.nodes.append(helper.make_node("Identity", [x], ["output"]))
    graph = helper.make_graph(
        g.nodes, f"{qmodel.name}_int8", [helper.make_tensor_value_info(
            "input", onnx.TensorProto.FLOAT,
            ["batch", *(shape if shape is not None else (qmodel.input_dim,))])],
        [helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT,
                                       ["batch", qmodel.units])],
        initializer=g.inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="fastnn")
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    return proto


def export_int8(qmodel: Any, filepath: str | os.PathLike[str], overwrite: bool = True) -> None:
    """Write a QuantizedModel's ONNX file atomically."""
    from .._archive import atomic_write, check_path

    path = check_path("export_onnx", filepath)
    data = to_onnx_int8(qmodel).SerializeToString()
    atomic_write("export_onnx", path, lambda f: f.write(data), overwrite)
