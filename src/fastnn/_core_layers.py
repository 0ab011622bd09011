"""The layers every model is made of: the ``Layer`` base class (what the model asks of
every layer: its variables, noise and plan fields), ``Input``/``InputLayer``,
``Dense`` and ``Dropout`` (Keras names and defaults), and the shape checks they
share.  The public namespace is :mod:`fastnn.layers`, which re-exports these with
the weightless layers (fastnn/_shaping.py), the normalizations
(fastnn/normalization.py, fastnn/_adapt.py) and the noise layers (fastnn/noise.py),
all of which import this module (never the reverse).

A layer holds its configuration.  Its weights live in the model's one flat
parameter buffer; ``Dense.kernel`` and ``Dense.bias`` are read-only views of it
(with Keras's ``assign``, see fastnn/_variables.py) and ``get_weights()`` returns
copies.

(About 520 lines: Dense's views into the flat buffer and its ``assign`` belong with
it, and the base class declares what the model asks of every layer — its variables,
noise and plan fields — and what calling a layer does (Keras's functional chain,
``KerasTensor``); the weightless layers and the chain rules are in
fastnn/_shaping.py, ``Model`` in fastnn/functional.py.)

Ownership is one-directional: the model owns its layers, and a layer reaches its
model through a weak reference (``Layer._model``), so a model and its layers form
no reference cycle and are freed by reference counting as soon as the last
reference to the model goes (issue 18).  A layer that outlives its model is
detached, as a popped layer is: it has no weights and may join another model.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from . import activations, initializers, mixed_precision, regularizers
from ._kernels._core import NoiseKind, StageKind
from ._validation import as_float_array, check_bool, check_float, check_int, fail
from ._variables import WeightView

if TYPE_CHECKING:
    from typing_extensions import Self

    from .initializers import Initializer
    from .models import LayerHost, Sequential
    from .regularizers import Regularizer

Shape = tuple[Any, ...]  # dims are ints, or None where unknown until fit sees x


class Layer:
    """Base class of fastnn layers."""

    _base_name = "layer"
    _declared_shape: tuple[int, ...] | None = None  # input_shape= on a first layer
    _is_stage = False   # the C loop runs it as a layer of the plan (Dense, normalizations)
    _act = activations.LINEAR   # a stage's effective activation (an Activation folds in)
    _kind = int(StageKind.DENSE)  # a stage's kind for the plan (csrc/fnn_net.h FNN_STAGE_*)

    def __init__(self, name: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            fail(type(self).__name__, "invalid type for argument `name`", "a str or None",
                 "name", name, error=TypeError)
        self.name = name
        self._host: LayerHost | None = None  # set by the model's add, cleared by pop

    @property
    def _model(self) -> Sequential | None:
        """The model this layer belongs to; None before ``add``, after ``pop`` and once
        the model is freed (its host holds it weakly: the model owns the layer, not the
        other way round)."""
        host = self._host
        return None if host is None else host.model

    def __getstate__(self) -> dict[str, Any]:
        # a copy or a pickle of a layer is detached (a weak reference is not copied)
        state = self.__dict__.copy()
        state["_host"] = None
        state.pop("_keep_alive", None)  # a copy of a layer run alone is a fresh layer
        state.pop("_alone", None)
        return state

    @property
    def trainable(self) -> bool:
        """False freezes the layer's weights: the C loop still backpropagates through it
        but puts its weights and optimizer state back after every update (Keras)."""
        return getattr(self, "_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = check_bool(f"{type(self).__name__}.trainable", "trainable", value)
        model, host = self._model, self._host
        if model is None or host is None or not model.built:
            self._trainable = value
            return
        with host.writing():  # the plan carries the frozen flags
            self._trainable = value
            host.replan()

    def get_config(self) -> dict[str, Any]:
        """The layer's constructor arguments, as Keras's ``get_config``."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """A new layer from :meth:`get_config`'s dict."""
        return cls(**config)

    def _weight_views(self) -> list[WeightView]:
        """The variables Keras shows, as views into the model's buffer (none here)."""
        return []

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the layer's weights in Keras's order (a Dense layer's [kernel,
        bias]; none for a layer without weights); a model that knows its input size
        creates its weights now if it has none yet (Keras builds at once).  A read of
        the model (see fastnn/_state.py)."""
        model, host = self._model, self._host
        if model is None or host is None or not self._is_stage:
            return []
        if not model.built and model.input_dim is not None:
            host.ensure_built("get_weights")
        with host.reading("get_weights"):
            return [np.array(w) for w in self._weight_views()]

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Replace this layer's weights, in ``get_weights``'s order (checked as
        ``model.set_weights``)."""
        host = self._host
        if host is None or host.model is None:
            raise ValueError(f"{self.name}.set_weights(): the layer belongs to no model yet; "
                             "add it to a Sequential first.")
        if not isinstance(weights, (list, tuple)):
            fail(f"{self.name}.set_weights", "invalid type for argument `weights`",
                 "a list of arrays", "weights", weights, error=TypeError)
        with host.writing():  # the other layers' weights and the write, one moment
            host.ensure_built("set_weights", locked=True)
            others = [w for layer in host.stages() for w in
                      (weights if layer is self else layer.get_weights())]
            host.set_stage_weights(others)

    @property
    def weights(self) -> list[WeightView]:
        """The layer's weight arrays (Keras's ``layer.weights``): none for this layer."""
        return []

    @property
    def trainable_weights(self) -> list[WeightView]:
        """``weights`` when the layer is trainable, else none (Keras)."""
        return self.weights if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[WeightView]:
        """``weights`` when the layer is frozen (``trainable=False``), else none."""
        return [] if self.trainable else self.weights

    @property
    def _noise(self) -> tuple[int, float] | None:
        """(kind, rate) of the dropout or noise it applies in fit (csrc/fnn_norm.h)."""
        return None

    def _variables(self, n_in: int) -> list[tuple[str, tuple[int, ...], bool]]:
        """(name, shape, trained by fit) of each value the layer keeps in the model's
        flat buffer, in Keras's order: what a model file holds."""
        return []

    def _initial(self, name: str, out: np.ndarray, n: int, rng: np.ndarray) -> None:
        """Fill `out` with variable `name`'s initial value (a normalization's)."""
        out.fill(0.0)

    def _stage(self, n: int) -> tuple[Any, ...]:
        """A normalization's fields of the C plan (fastnn/normalization.py)."""
        raise NotImplementedError

    def _assign(self, which: str, value: ArrayLike) -> None:
        """Write `value` over variable `which` (``WeightView.assign``), checked: shape,
        numbers, finite, a variance >= 0."""
        model, host = self._model, self._host
        if model is None or host is None:
            raise ValueError(f"{self.name}.{which}.assign(): the layer belongs to no model "
                             "any more; its weights are gone.")
        with host.writing():
            host.ensure_built("assign", locked=True)
            target = host.variables(self, writable=True)[which]
            shape = target.shape
            func = f"{self.name}.{which}.assign"
            arr = as_float_array(func, "value", value, model.dtype, ndim=None,
                                 allow_empty=True)
            if arr.shape != shape:
                raise ValueError(f"{func}(): expected a value of shape {shape}. Received: "
                                 f"value.shape={arr.shape}")
            if which in ("moving_variance", "variance") and arr.size and arr.min() < 0:
                raise ValueError(f"{func}(): a variance cannot be negative. Received: min "
                                 f"{float(arr.min())}")
            target[...] = arr

    def _weight_names(self, n_in: int) -> list[str]:
        """The variables Keras shows (``weights``, ``get_weights``, summary counts)."""
        return [name for name, _, _ in self._variables(n_in)]

    def _trained(self, which: str) -> bool:
        """Whether fit updates variable `which` (when the layer is trainable)."""
        return True

    _alone = False  # True in the model layer(x) on data made for it (fastnn.models)

    def __call__(self, inputs: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Keras's functional API for a linear chain: ``x = Dense(8)(inputs)`` on a
        ``fastnn.Input(...)`` or on another layer's output records the chain, which
        ``fastnn.Model(inputs, outputs)`` turns into a Sequential.  On data (a layer
        in no model): the layer's output, its weights created on the first call from
        the data's shape (Keras's ``layer(x)``; a model of its own holds them).
        Several inputs and a layer used twice are refused."""
        what = f"{type(self).__name__}(...)(inputs)"
        if isinstance(inputs, (list, tuple)) and any(
                isinstance(v, (InputLayer, KerasTensor)) for v in inputs):
            raise TypeError(f"{what}: a layer of several inputs (Concatenate, Add, ...); "
                            "fastnn's models are linear chains with one input and one "
                            "output.")
        if set(kwargs) - {"training", "mask"} or args:
            raise TypeError(f"{what}: unexpected arguments {list(args) + sorted(kwargs)}; "
                            "fastnn's layers take their input only.")
        if isinstance(inputs, InputLayer):
            chain: tuple[Layer, ...] = (inputs,)
        elif isinstance(inputs, KerasTensor):
            chain = inputs.layers
        elif _RUN_ALONE is not None and (self._model is None or self._alone):
            # data: the layer by itself (Keras's layer(x), which creates its weights)
            return _RUN_ALONE(self, inputs, bool(kwargs.get("training", False)))
        else:
            raise TypeError(
                f"{what}: this layer belongs to a model; fastnn runs it inside the model "
                "(model(x), model.predict(x), or each layer's outputs with "
                "model.get_layer_outputs(x)).")
        if any(layer is self for layer in chain) or self._model is not None:
            raise ValueError(f"{what}: the layer {self.name or type(self).__name__!r} is "
                             "used already; fastnn has no shared layers (use a new "
                             "instance).")
        return KerasTensor((*chain, self))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


# layer(x) on data: the layer in a model of its own (set by fastnn.models, which this
# module cannot import: models import layers)
_RUN_ALONE: Callable[[Layer, Any, bool], Any] | None = None


def set_run_alone(runner: Callable[[Layer, Any, bool], Any]) -> None:
    """Install what ``layer(x)`` on data runs (fastnn.models does at import)."""
    global _RUN_ALONE
    _RUN_ALONE = runner


class KerasTensor:
    """What calling a layer on ``fastnn.Input(...)`` gives (Keras's functional API for
    a linear chain): the chain's layers from the Input on.  ``fastnn.Model(inputs,
    outputs)`` makes them a Sequential; calling a layer on it extends the chain."""

    __slots__ = ("layers",)

    def __init__(self, layers: Sequence[Layer]) -> None:
        self.layers = tuple(layers)

    def __repr__(self) -> str:
        names = " -> ".join(l.name or type(l).__name__ for l in self.layers)
        return f"<KerasTensor of {names}>"


def check_flat_shape(func: str, shape: Any) -> int:
    """(n,) or n -> n, the number of input features."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or len(shape) != 1:
        fail(func, "invalid input shape; Dense layers take flat feature vectors (for "
             "images, start with Flatten(input_shape=...) or Input(shape=...) then "
             "Flatten())", "a tuple (n_features,)", "shape", shape,
             error=TypeError if not isinstance(shape, (tuple, list)) else ValueError)
    return check_int(func, "shape[0]", shape[0], low=1, high=2**31 - 1)


def check_shape(func: str, name: str, shape: Any, allow_minus_one: bool = False) -> Shape:
    """A shape argument (an int or a tuple of ints >= 1; one -1 if allowed) as a tuple."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    what = "invalid input shape" if name.endswith("shape") else f"invalid argument `{name}`"
    if not isinstance(shape, (tuple, list)) or not shape:
        fail(func, what, "a non-empty tuple of ints", name, shape,
             error=TypeError if not isinstance(shape, (tuple, list)) else ValueError)
    out = []
    for i, d in enumerate(shape):
        if allow_minus_one and isinstance(d, (int, np.integer)) and d == -1:
            out.append(-1)
            continue
        out.append(check_int(func, f"{name}[{i}]", d, low=1, high=2**31 - 1))
    if out.count(-1) > 1:
        fail(func, what, "at most one -1", name, shape)
    if math.prod(d for d in out if d != -1) >= 2**31:
        fail(func, what, "fewer than 2**31 values per sample",
             name, shape)
    return tuple(out)


class InputLayer(Layer):
    """Declares the input: ``Input(shape=(n_features,))``, or the shape of one sample,
    e.g. ``Input(shape=(28, 28))`` followed by ``Flatten()``."""

    _base_name = "input_layer"

    def __init__(self, shape: int | Sequence[int], name: str | None = None) -> None:
        super().__init__(name)
        self.shape = check_shape("Input", "shape", shape)
        self.units = math.prod(self.shape)
        self._declared_shape = self.shape

    def get_config(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "name": self.name}


def Input(shape: int | Sequence[int],  # noqa: N802 (Keras's name)
          name: str | None = None) -> InputLayer:
    """The input of a Sequential model: ``fastnn.Input(shape=(n_features,))``."""
    return InputLayer(shape, name=name)


class Dense(Layer):
    """Fully connected layer: ``z = x·W + b``, ``a = activation(z)``.

    In the guide's vector form one neuron row computes ``z = W·x + b``; here the
    kernel is stored as (n_in, units), Keras's layout, and a batch of rows X
    gives ``Z = X·W + b``.

    Parameters
    ----------
    units : int >= 1
        Number of neurons (outputs).
    activation : str or None
        One of ``fastnn.activations.ALL_OBJECTS_DICT`` (None = linear).
    use_bias : bool
    kernel_initializer, bias_initializer : str, initializer object or None
        Names from ``fastnn.initializers`` or objects such as ``Constant(0.1)``
        (defaults glorot_uniform, zeros; None means glorot_uniform, as in Keras 3).
    kernel_regularizer, bias_regularizer : Regularizer, name or None
        ``fastnn.regularizers.l1(λ)``, ``l2(λ)``, ``l1_l2(l1, l2)``.
    input_shape : tuple (n_features,), optional
        On the first layer, instead of an ``Input``; ``input_dim=n_features`` is the
        same (Keras 3 accepts both).
    dtype : "float32", "mixed_bfloat16", a ``fastnn.mixed_precision.Policy`` or None
        The dtype policy (None: the global one, ``mixed_precision.global_policy()``);
        under "mixed_bfloat16" the layer's products take bfloat16 inputs with float32
        sums, its weights stay float32 (see :mod:`fastnn.mixed_precision`).
    """

    _base_name = "dense"
    _is_stage = True

    def __init__(self, units: int,
                 activation: str | Callable[[ArrayLike], np.ndarray] | None = None,
                 use_bias: bool = True,
                 kernel_initializer: str | Initializer = "glorot_uniform",
                 bias_initializer: str | Initializer = "zeros",
                 kernel_regularizer: str | Regularizer | dict[str, Any] | None = None,
                 bias_regularizer: str | Regularizer | dict[str, Any] | None = None,
                 input_shape: int | Sequence[int] | None = None,
                 name: str | None = None, trainable: bool = True,
                 input_dim: int | None = None,
                 dtype: str | mixed_precision.Policy | None = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None,
                 activity_regularizer: Any = None, lora_rank: int | None = None) -> None:
        super().__init__(name)
        if lora_rank is not None:
            fail("Dense", "fastnn trains every weight of a Dense layer (no LoRA "
                 "low-rank adapters); freeze a layer with trainable=False instead",
                 "lora_rank=None", "lora_rank", lora_rank)
        for key, value in (("kernel_constraint", kernel_constraint),
                           ("bias_constraint", bias_constraint),
                           ("activity_regularizer", activity_regularizer)):
            if value is not None:  # Keras's arguments, with the only value fastnn runs
                why = ("its C loop updates the weights without projecting them"
                       if key.endswith("constraint") else "it penalizes weights only "
                       "(kernel_regularizer, bias_regularizer), not layer outputs")
                what = "constraints" if key.endswith("constraint") else "activity regularizers"
                fail("Dense", f"fastnn has no {what} (`{key}`): {why}",
                     f"{key}=None", key, value)
        self._trainable = check_bool("Dense", "trainable", trainable)
        self._policy = mixed_precision.get(dtype, "Dense", "dtype")
        self.units = check_int("Dense", "units", units, low=1, high=2**31 - 1)
        self.activation = activations.get(activation, caller="Dense", argument="activation")
        self._act = self.activation  # with a folded Activation layer: set by the model
        if not isinstance(use_bias, (bool, np.bool_)):
            fail("Dense", "invalid type for argument `use_bias`", "a bool", "use_bias",
                 use_bias, error=TypeError)
        self.use_bias = bool(use_bias)
        # None is Keras 3's default rule for a float weight: glorot_uniform (also for
        # the bias: Keras's add_weight(initializer=None))
        self.kernel_initializer = initializers.get(
            "glorot_uniform" if kernel_initializer is None else kernel_initializer)
        self.bias_initializer = initializers.get(
            "glorot_uniform" if bias_initializer is None else bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        if input_dim is not None:  # Keras 3: input_dim=n is input_shape=(n,)
            if input_shape is not None:
                raise ValueError("Dense(): give input_shape or input_dim, not both. "
                                 f"Received: input_shape={input_shape!r}, "
                                 f"input_dim={input_dim!r}")
            input_shape = (check_int("Dense", "input_dim", input_dim, low=1,
                                     high=2**31 - 1),)
        self.input_dim = None if input_shape is None else check_flat_shape("Dense", input_shape)
        if self.input_dim is not None:
            self._declared_shape = (self.input_dim,)
        self._w_off = self._b_off = -1

    def _variables(self, n_in: int) -> list[tuple[str, tuple[int, ...], bool]]:
        """(name, shape, trained by fit) of each weight, in Keras's order."""
        return [("kernel", (n_in, self.units), True)] + (
            [("bias", (self.units,), True)] if self.use_bias else [])

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "name": self.name,
        }
        if not self.trainable:
            config["trainable"] = False
        if self.input_dim is not None:
            config["input_shape"] = [self.input_dim]
        if self._policy.is_mixed:  # only then: float32 configs and files stay as before
            config["dtype"] = self._policy.name
        return config

    @property
    def dtype_policy(self) -> mixed_precision.Policy:
        """The layer's dtype policy (Keras's ``layer.dtype_policy``)."""
        return self._policy

    @property
    def compute_dtype(self) -> str:
        """The dtype of the layer's products' inputs: "float32" or "bfloat16"."""
        return self._policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of the layer's weights as the policy states it ("float32"; a
        float64 model holds float64)."""
        return self._policy.variable_dtype

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        config = dict(config)
        for key in ("kernel_initializer", "bias_initializer"):
            if isinstance(config.get(key), dict):  # an initializer with arguments
                config[key] = initializers.deserialize(config[key])
        return cls(**config)

    # weights: views into the model's flat buffer
    def _view(self, which: str) -> WeightView | None:
        host = self._host
        if host is None or host.model is None:
            return None
        view = host.variables(self).get(which)  # read-only: cannot be made writable again
        return None if view is None else WeightView.of(view, self, which)

    def _built_model(self) -> None:
        """Create the model's weights now if it knows its input size (Keras builds a
        Sequential with an input at once)."""
        model, host = self._model, self._host
        if model is not None and host is not None and not model.built \
                and model.input_dim is not None:
            host.ensure_built("weights")

    @property
    def kernel(self) -> WeightView | None:
        """Read-only view of the kernel W, shape (n_in, units); None while the model
        does not know its input size.  ``kernel.assign(values)`` replaces it (Keras's
        Variable.assign)."""
        self._built_model()
        return self._view("kernel")

    @property
    def bias(self) -> WeightView | None:
        """Read-only view of the bias b, shape (units,); None without bias or while the
        model does not know its input size.  ``bias.assign(values)`` replaces it."""
        self._built_model()
        return self._view("bias")

    @property
    def weights(self) -> list[WeightView]:
        """[kernel, bias] as views (Keras's ``layer.weights``); empty before the model
        has weights.  A model that knows its input size creates them now."""
        self._built_model()
        return self._weight_views()

    def _weight_views(self) -> list[WeightView]:
        return [w for w in (self._view("kernel"), self._view("bias")) if w is not None]



class Dropout(Layer):
    """Inverted dropout: during ``fit`` each unit of the previous layer's output
    is zeroed with probability ``rate`` and the survivors are scaled by
    ``1/(1 − rate)``; ``predict`` and ``evaluate`` use every unit unchanged.
    Masks come from the model's seeded C PRNG (one mask per batch, shared by the
    forward and backward pass): Keras's per-layer ``seed`` is accepted and checked,
    the model's ``seed`` decides; ``noise_shape`` only as None."""

    _base_name = "dropout"

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None,
                 name: str | None = None):
        super().__init__(name)
        self.rate = check_float("Dropout", "rate", rate, low=0.0, high=1.0, high_open=True)
        if noise_shape is not None:
            fail("Dropout", "fastnn draws one mask value per unit of each sample (no mask "
                 "shared along an axis)", "noise_shape=None", "noise_shape", noise_shape)
        if seed is not None:  # Keras's per-layer seed: fastnn's masks come from the model's
            check_int("Dropout", "seed", seed, low=0)

    @property
    def _noise(self) -> tuple[int, float] | None:
        return (int(NoiseKind.DROPOUT), self.rate) if self.rate > 0 else None

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "name": self.name}
