"""ONNX export: ``model.export(path, format="onnx")`` (Keras 3's name).

The graph, opset 17, one input ``"input"`` of shape ``(batch, n_features)`` (the
batch axis is dynamic) and one output ``"output"``, in the model's dtype
(float32 or float64).  Per Dense layer: ``Gemm`` (``x·W + b``) or ``MatMul``
without bias, then the activation:

=========  ==================================================================
linear     nothing
sigmoid    ``Sigmoid``
tanh       ``Tanh``
relu       ``Relu``
softmax    ``Softmax(axis=-1)``
step       ``Where(IsNaN(z), z, Cast(z >= 0))`` — 1 for z >= 0, else 0, NaN kept
sign       ``Where(IsNaN(z), z, Where(z >= 0, 1, -1))``
leaky_relu ``Where(z < 0, 0.2 z, z)``; elu, selu ``λ Where(z < 0, α (Exp(z) - 1), z)``
softplus   ``Relu(z) + Log(1 + Exp(-Abs(z)))`` (exact in float64, unlike ORT's ops)
gelu       ``½ z (1 + Erf(z/√2))`` (the Gelu op needs opset 20)
swish      ``z · Sigmoid(z)``
=========  ==================================================================

Dropout is the identity at inference and is left out.  Needs ``onnx``
(the ``onnx`` extra); ONNX Runtime runs the result.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import activations as A
from .._extras import install_hint
from ..layers import Dense

if TYPE_CHECKING:
    import onnx

    from ..models import Sequential

OPSET = 17


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
    model._ensure_built("export")
    with model._reading("export"):
        dense = model._dense
        weights = [layer.get_weights() for layer in dense]
        n_in, dtype = model._input_dim, model.dtype
    elem = onnx.TensorProto.DOUBLE if dtype == np.float64 else onnx.TensorProto.FLOAT
    nodes: list[Any] = []  # NodeProto
    inits: list[Any] = []  # TensorProto

    def const(name: str, value: object) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    x = "input"
    for j, (layer, w) in enumerate(zip(dense, weights)):
        z = f"dense{j}_z"
        if layer.use_bias:
            nodes.append(helper.make_node("Gemm", [x, const(f"dense{j}_kernel", w[0]),
                                                   const(f"dense{j}_bias", w[1])], [z]))
        else:
            nodes.append(helper.make_node("MatMul", [x, const(f"dense{j}_kernel", w[0])], [z]))
        x = _activation(helper, nodes, const, layer, j, z, elem)
    nodes.append(helper.make_node("Identity", [x], ["output"]))
    graph = helper.make_graph(
        nodes, model.name, [helper.make_tensor_value_info("input", elem, ["batch", n_in])],
        [helper.make_tensor_value_info("output", elem, ["batch", dense[-1].units])],
        initializer=inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="fastnn")
    proto.ir_version = 8  # ONNX Runtime reads IR 8 for opset 17 everywhere
    onnx.checker.check_model(proto)
    return proto


def onnx_float64() -> int:
    """The ONNX element type of float64 (TensorProto.DOUBLE), for callers that
    check a model's input type."""
    return _onnx()[0].TensorProto.DOUBLE


def _activation(helper: ModuleType, nodes: list[Any], const: Callable[[str, object], str],
                layer: Dense, j: int, z: str, elem: int) -> str:
    act, out = layer.activation, f"dense{j}_a"
    ops = {A.SIGMOID: "Sigmoid", A.TANH: "Tanh", A.RELU: "Relu"}
    if act == A.LINEAR:
        return z
    if act in ops:
        nodes.append(helper.make_node(ops[act], [z], [out]))
    elif act == A.SOFTMAX:
        nodes.append(helper.make_node("Softmax", [z], [out], axis=-1))
    elif act in (A.LEAKY_RELU, A.ELU, A.SELU):  # Where/Exp: exact in float64 too (ORT's
        # LeakyRelu/Elu/Selu take float32 attributes and computed float64 to ~1e-6)
        neg, low = f"dense{j}_neg", f"dense{j}_low"
        nodes.append(helper.make_node("Less", [z, const(f"dense{j}_zero", 0)], [neg]))
        if act == A.LEAKY_RELU:
            nodes.append(helper.make_node("Mul", [z, const(f"dense{j}_slope", 0.2)], [low]))
            nodes.append(helper.make_node("Where", [neg, low, z], [out]))
        else:
            alpha, scale = (1.0, 1.0) if act == A.ELU else (1.6732632423543772,
                                                             1.0507009873554805)
            e, em1 = f"dense{j}_exp", f"dense{j}_expm1"
            nodes.append(helper.make_node("Exp", [z], [e]))
            nodes.append(helper.make_node("Sub", [e, const(f"dense{j}_one", 1)], [em1]))
            nodes.append(helper.make_node("Mul", [em1, const(f"dense{j}_alpha", alpha)], [low]))
            nodes.append(helper.make_node("Where", [neg, low, z], [f"dense{j}_elu"]))
            nodes.append(helper.make_node("Mul", [f"dense{j}_elu", const(f"dense{j}_scale",
                                                                          scale)], [out]))
    elif act == A.GELU:  # ½ z (1 + erf(z/√2)): Gelu is an op only from opset 20
        t, e, p = f"dense{j}_scaled", f"dense{j}_erf", f"dense{j}_half"
        nodes.append(helper.make_node("Mul", [z, const(f"dense{j}_inv_sqrt2",
                                                        0.7071067811865476)], [t]))
        if elem == onnx_float64():  # ONNX Runtime has no float64 Erf: compute it in float32
            nodes.append(helper.make_node("Cast", [t], [f"{t}_f32"], to=1))
            nodes.append(helper.make_node("Erf", [f"{t}_f32"], [f"{e}_f32"]))
            nodes.append(helper.make_node("Cast", [f"{e}_f32"], [e], to=elem))
        else:
            nodes.append(helper.make_node("Erf", [t], [e]))
        nodes.append(helper.make_node("Add", [e, const(f"dense{j}_one", 1)], [p]))
        nodes.append(helper.make_node("Mul", [z, p], [f"dense{j}_zp"]))
        nodes.append(helper.make_node("Mul", [f"dense{j}_zp", const(f"dense{j}_0.5", 0.5)],
                                      [out]))
    elif act == A.SOFTPLUS:  # max(z, 0) + log(1 + e^{-|z|}), stable in both dtypes
        names = [f"dense{j}_{k}" for k in ("relu", "abs", "negabs", "exp", "one_plus", "log")]
        nodes.append(helper.make_node("Relu", [z], [names[0]]))
        nodes.append(helper.make_node("Abs", [z], [names[1]]))
        nodes.append(helper.make_node("Neg", [names[1]], [names[2]]))
        nodes.append(helper.make_node("Exp", [names[2]], [names[3]]))
        nodes.append(helper.make_node("Add", [names[3], const(f"dense{j}_one", 1)], [names[4]]))
        nodes.append(helper.make_node("Log", [names[4]], [names[5]]))
        nodes.append(helper.make_node("Add", [names[0], names[5]], [out]))
    elif act == A.SWISH:
        nodes.append(helper.make_node("Sigmoid", [z], [f"dense{j}_sigmoid"]))
        nodes.append(helper.make_node("Mul", [z, f"dense{j}_sigmoid"], [out]))
    elif act in (A.STEP, A.SIGN):
        ge, nan, val = f"dense{j}_ge", f"dense{j}_isnan", f"dense{j}_val"
        nodes.append(helper.make_node("GreaterOrEqual", [z, const(f"dense{j}_zero", 0)], [ge]))
        nodes.append(helper.make_node("IsNaN", [z], [nan]))
        if act == A.STEP:
            nodes.append(helper.make_node("Cast", [ge], [val], to=elem))
        else:
            nodes.append(helper.make_node("Where", [ge, const(f"dense{j}_one", 1),
                                                    const(f"dense{j}_minus_one", -1)], [val]))
        nodes.append(helper.make_node("Where", [nan, z, val], [out]))
    else:  # pragma: no cover - every activation fastnn has is listed above
        raise ValueError(f"export(): activation {A.NAMES[act]!r} of layer {layer.name!r} "
                         "has no ONNX translation.")
    return out


def export(model: Sequential, filepath: str | os.PathLike[str], overwrite: bool = True) -> None:
    """Write the ONNX file atomically (as ``model.save`` does)."""
    from ..saving import _check_path, atomic_write

    path = _check_path("export", filepath)
    data = to_onnx(model).SerializeToString()
    atomic_write("export", path, lambda f: f.write(data), overwrite)
