"""The Sequential model: Keras's API over one flat parameter buffer and C loops.

Memory of a built model:

* ``_params``: every Dense layer's kernel W (n_in, n_out) and bias b, back to back;
  ``_grads`` the same layout for gradients; the optimizer's two state slots.
* a ``Net`` (fastnn._kernels._core): the C plan — layer sizes, activation ids,
  offsets, regularization and dropout rates, loss id.

(About 920 lines on purpose: the flat buffer's layout — every Dense and
normalization layer's variables —, building, growing and shrinking it (add, pop),
the input shape, the inference path that reads it — predict, model(x), the weight
views —, LayerHost, what a layer may ask of it, and the config (get_config, to_json)
belong together.  The rules of a layer
chain are in fastnn/_shaping.py, data streams in fastnn/_sources.py.)

Split along Keras's lines: this module holds the structure (``add``, ``build``),
inference (``predict``), weights and config; :mod:`fastnn.training` the training
loop (``compile``, ``fit``, ``evaluate``); :mod:`fastnn._model_file` the model file;
:mod:`fastnn.summary` the printed summary; :mod:`fastnn._model_io` the files and
handles (save, export, c_handle); :mod:`fastnn._state` the readers/writer rule.
"""
from __future__ import annotations

import contextlib
import copy
import math
import secrets
import time
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
from numpy.typing import ArrayLike

from . import losses as L
from . import metrics as M
from . import optimizers as O
from ._kernels import _core
from ._validation import NotFittedError, as_float_array, check_int, check_seed, fail
from .layers import Dense, Dropout, InputLayer, Layer, check_supported
from ._shaping import Activation, trace
from ._config import layers_from_config
from ._sparse import is_sparse
from ._state import ReadersWriter
from .utils import next_model_seed
from ._model_io import ModelIO
from .threads import SPLIT_PREDICT_ABOVE, predict_thread_policy

_core.set_split_predict_above(SPLIT_PREDICT_ABOVE)  # larger predicts: predict_thread_policy
from ._progress import check_verbose, report as _report
from ._sources import check_steps, source_kind
from .training import STREAM_DROPOUT, STREAM_INIT, STREAM_SHUFFLE, Trainer

if TYPE_CHECKING:
    # fastnn.models.load_model (keras.models.load_model's place) is fastnn.saving's,
    # set by fastnn/__init__.py: saving builds Sequentials, so it imports this module
    from .saving import load_model as load_model

_DTYPES: dict[str, np.dtype[Any]] = {"float32": np.dtype(np.float32),
                                     "float64": np.dtype(np.float64)}



def _check_dtype(func: str, dtype: object) -> np.dtype:
    if dtype is None or isinstance(dtype, bool):
        fail(func, "unsupported dtype", "'float32' or 'float64'", "dtype", dtype, error=TypeError)
    if not isinstance(dtype, (str, type, np.dtype)):
        fail(func, "unsupported dtype", "'float32' or 'float64'", "dtype", dtype, error=TypeError)
    try:
        key = np.dtype(dtype).name
    except (TypeError, ValueError, SyntaxError):  # np.dtype(",") parses with literal_eval
        fail(func, "unsupported dtype", "'float32' or 'float64'", "dtype", dtype,
             error=ValueError if isinstance(dtype, str) else TypeError)
    if key not in _DTYPES:
        fail(func, "unsupported dtype", "'float32' or 'float64'", "dtype", dtype)
    return _DTYPES[key]


class Sequential(Trainer, ModelIO, ReadersWriter):
    """A linear stack of layers, trained with backpropagation in C.

    Parameters
    ----------
    layers : list of layers, optional
        ``Input``, ``Dense``, ``Dropout``, ``Activation``, ``Flatten`` and ``Reshape``
        layers, in order (see fastnn/_shaping.py for what may follow what).
    name : str
    dtype : "float32" (default) or "float64"
        Type of weights, activations and arithmetic.
    seed : int >= 0 or None
        Seeds the initializers, the shuffling and the dropout masks (separate
        streams of one C generator).  The same seed gives bitwise-identical
        training runs.  None draws a fresh seed from the operating system.
    """

    def __init__(self, layers: Sequence[Layer] | None = None, name: str = "sequential", *,
                 dtype: str | type | np.dtype = "float32", seed: int | None = None) -> None:
        if not isinstance(name, str):
            fail("Sequential", "invalid type for argument `name`", "a str", "name", name,
                 error=TypeError)
        super().__init__()  # Trainer: not compiled; ReadersWriter: the lock
        self.name = name
        self.dtype = _check_dtype("Sequential", dtype)
        given = check_seed("Sequential", seed)
        self._seed_given = given
        if given is None:  # from set_random_seed's sequence, else from the OS
            given = next_model_seed()
        self.seed = given if given is not None else secrets.randbits(63)
        self._layers: list[Layer] = []
        self._layer_host = LayerHost(self)  # what the layers may ask of the model
        self._input_dim: int | None = None  # features per sample, flattened
        self._input_shape: tuple[int, ...] | None = None  # one sample's shape, if not flat
        self._params = self._grads = self._slots = None
        self._dense_inputs: dict[Layer, int] = {}  # each stage's n_in
        self._net = self._fit_net = None  # the inference and training plans
        self._rng = {}
        for stream in (STREAM_INIT, STREAM_SHUFFLE, STREAM_DROPOUT):
            state = np.zeros(4, np.uint64)
            _core.rng_seed(state, self.seed, stream)
            self._rng[stream] = state
        if layers is not None:
            if not isinstance(layers, (list, tuple)):
                fail("Sequential", "invalid type for argument `layers`", "a list of layers",
                     "layers", layers, error=TypeError)
            try:
                for layer in layers:
                    self.add(layer)
            except Exception:
                for layer in self._layers:  # give the layers back: they stay usable
                    layer._host = None
                raise

    # ------------------------------------------------------------------ structure
    @property
    def layers(self) -> list[Layer]:
        """The layers, without the Input layer (as Keras)."""
        return [l for l in self._layers if not isinstance(l, InputLayer)]

    @property
    def input_layer(self) -> InputLayer | None:
        """The ``Input`` layer the model was given (``fastnn.Input(...)`` first in its
        layers), if any; ``layers`` leaves it out, as Keras's does."""
        return next((l for l in self._layers if isinstance(l, InputLayer)), None)

    @property
    def _dense(self) -> list[Dense]:
        return [l for l in self._layers if isinstance(l, Dense)]

    @property
    def _stages(self) -> list[Layer]:
        """The layers the C loop runs, in order: Dense and the normalizations (each
        with its variables in the flat buffer, ``_dense_inputs`` holding its n_in)."""
        return [l for l in self._layers if l._is_stage]

    @property
    def built(self) -> bool:
        """Whether the weights exist (the input size is known)."""
        return self._params is not None

    @property
    def input_dim(self) -> int | None:
        """Features per input sample, flattened; None until the model knows its input
        (an Input layer or ``input_shape=``, ``build``, or the first ``fit``)."""
        return self._input_dim

    @property
    def input_shape(self) -> tuple[int | None, ...] | None:
        """Keras's ``model.input_shape``: ``(None, *one sample's shape)``, e.g.
        ``(None, 28, 28)``; None while the input is unknown (Keras raises there)."""
        shape = self._in_shape()
        return None if shape is None else (None, *shape)

    @property
    def dense_layers(self) -> list[Dense]:
        """The Dense layers, in order (what plots, summaries and exports walk)."""
        return self._dense

    def add(self, layer: Layer) -> None:
        """Append a layer.  An Input (or ``input_shape=``) may only come first.

        On a built model the weights of the existing layers are kept; on a
        compiled one the loss pairing is checked again and the optimizer state
        restarts (the parameter vector changed).  A failed call changes nothing."""
        with self._writing():
            self._add(layer)

    def _in_shape(self) -> tuple[int, ...] | None:
        """The shape of one input sample, if known."""
        if self._input_shape is not None:
            return self._input_shape
        return None if self._input_dim is None else (self._input_dim,)

    def _set_input_shape(self, shape: tuple[int, ...] | None) -> None:
        self._input_shape = shape if shape is not None and len(shape) > 1 else None
        self._input_dim = None if shape is None else math.prod(shape)

    def _refold(self) -> None:
        """Give every Dense its effective activation (an Activation layer after it folds
        in; fastnn/_shaping.py)."""
        for dense, act in trace(self._layers, self._in_shape())[1].items():
            dense._act = act

    def _add(self, layer: Layer) -> None:
        check_supported("add", layer)
        if layer._alone:
            fail("add", "this layer was run on data by itself (layer(x)), which gave it a "
                 "model of its own holding its weights", "a new layer instance", "layer",
                 layer)
        if layer._model is not None or any(layer is l for l in self._layers):
            fail("add", "this layer already belongs to a model", "a new layer instance",
                 "layer", layer)
        first = not self._layers
        shape = self._in_shape()
        declared = layer._declared_shape
        if declared is not None:
            if not first:
                fail("add", "an input shape can only be given to the first layer",
                     "Input(...) or input_shape= on the first layer only", "layer", layer)
            shape = declared
        if layer.name is not None and layer.name in {l.name for l in self._layers}:
            fail("add", "layer names must be unique", "a new name", "layer.name", layer.name)
        _, acts = trace([*self._layers, layer], shape)  # raises for a chain fastnn can't run
        compiled = None
        last_stage = list(acts)[-1] if acts else None
        if (isinstance(layer, (Dense, Activation)) and self.optimizer is not None
                and isinstance(last_stage, Dense)):
            assert self._loss_id is not None  # set by compile with the optimizer
            last = last_stage
            compiled = self._compile_settings("add", self._loss_id, self._metric_objs, last,
                                              self._from_logits, acts[last],
                                              self._metric_weighted)
        # every check passed: change the model
        if layer.name is None:
            taken = {l.name for l in self._layers}
            k, name = 0, layer._base_name
            while name in taken:
                k += 1
                name = f"{layer._base_name}_{k}"
            layer.name = name
        saved = {l: l.get_weights() for l in self._stages} if self.built else None
        layer._host = self._layer_host
        self._layers.append(layer)
        if declared is not None:
            self._set_input_shape(declared)
        for dense, act in acts.items():
            dense._act = act
        if compiled is not None and not isinstance(layer, Dense):  # an Activation folded in
            self._acc_kind, self._want_err = compiled[0], compiled[1]
        if saved is None or not layer._is_stage:
            self._net = self._fit_net = None  # the plan is rebuilt when next needed
            return
        assert self._input_dim is not None  # the model is built
        try:  # grow the buffer, keeping the weights it has
            self._build(self._input_dim, stacking=True)
        except BaseException:
            self._layers.pop()
            layer._host = None
            self._refold()
            raise
        self._restore_weights(saved, compiled)
        if compiled is not None:
            self._make_net()

    def _restore_weights(self, saved: dict[Layer, list[np.ndarray]],
                         compiled: tuple[int, bool, list[M.Metric]] | None) -> None:
        """After a rebuild of the buffer: put back the saved weights of the layers
        that remain, and apply the re-checked compile settings (the optimizer
        restarts: the parameter vector changed)."""
        params = self._params
        assert params is not None  # just rebuilt
        for layer, weights in saved.items():
            if layer._model is not self or len(weights) != len(self._offsets_of(layer)):
                continue
            for off, w in zip(self._offsets_of(layer), weights):
                params[off:off + w.size] = w.ravel()
        if compiled is not None:
            assert self.optimizer is not None  # compiled
            self._acc_kind, self._want_err = compiled[0], compiled[1]
            self.optimizer.iterations = 0

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by index into ``model.layers`` (Keras)."""
        if (name is None) == (index is None):
            raise ValueError("get_layer(): give exactly one of `name` or `index`.")
        layers = self.layers
        if index is not None:
            index = check_int("get_layer", "index", index)
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer(): index {index} is out of range for a model "
                                 f"of {len(layers)} layers.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        fail("get_layer", f"no layer named {name!r}", f"one of {[l.name for l in layers]}",
             "name", name)

    def pop(self) -> Layer:
        """Remove and return the last layer (Keras).  The other layers keep their
        weights; on a compiled model the loss pairing is checked again and the
        optimizer state restarts.  A failed call changes nothing."""
        with self._writing():
            return self._pop()

    def _pop(self) -> Layer:
        if not self.layers:
            raise TypeError("pop(): there are no layers in the model.")
        last = self._layers[-1]
        rest = self._layers[:-1]
        dense = [l for l in rest if isinstance(l, Dense)]
        if self.built and dense and _after_last_dense(rest):
            raise ValueError("pop(): that would leave a Dropout layer last (or a noise or "
                             "normalization layer after the last Dense layer), which fastnn "
                             "does not allow in a built model; pop it as well.")
        _, acts = trace(rest, self._in_shape() if rest else None)
        compiled = None
        if self.optimizer is not None and dense and isinstance(last, (Dense, Activation)):
            assert self._loss_id is not None  # set by compile with the optimizer
            compiled = self._compile_settings("pop", self._loss_id, self._metric_objs,
                                              dense[-1], self._from_logits, acts[dense[-1]],
                                              self._metric_weighted)
        saved = {l: l.get_weights() for l in rest if l._is_stage} if self.built else None
        self._layers.pop()
        last._host = None
        if last._is_stage:
            last._act = getattr(last, "activation", int(_core.ActivationId.LINEAR))
        for d, act in acts.items():
            d._act = act
        if compiled is not None and not isinstance(last, Dense):
            self._acc_kind, self._want_err = compiled[0], compiled[1]
        if not dense or saved is None:
            self._params = self._grads = self._slots = None
            self._net = self._fit_net = None
            if not dense:
                self._dense_inputs = {}
            return last
        if last._is_stage:
            assert self._input_dim is not None  # the model is built
            self._build(self._input_dim)
            self._restore_weights(saved, compiled)
        self._make_net()
        return last

    def _check_structure(self) -> None:
        if not self._dense:
            raise ValueError("The model has no Dense layer; add one, e.g. "
                             "model.add(fastnn.layers.Dense(1)).")
        if self.dtype == np.float64:
            for layer in self._dense:
                if layer.dtype_policy.is_mixed:
                    fail("Sequential", f"layer {layer.name!r} has dtype policy "
                         "'mixed_bfloat16', which computes in float32",
                         "dtype='float32' for a mixed model (or float32 layers)", "dtype",
                         "float64")
        after = _after_last_dense(self._layers)
        if after is not None:
            raise ValueError(f"{type(after).__name__} cannot be the last layer (nor follow "
                             "the last Dense layer): fastnn's output layer is a Dense layer "
                             f"(with its activation). Put the {type(after).__name__} between "
                             "Dense layers.")

    def _build(self, input_dim: int, stacking: bool = False) -> None:
        """Allocate and initialise the flat parameter buffer for `input_dim` features:
        each stage's variables (``_variables``: Dense kernel and bias, a normalization's
        gamma, beta and statistics) back to back, in layer order.  ``stacking``: from
        ``add``, where a normalization may be last until the next Dense comes."""
        if not (stacking and self._dense):
            self._check_structure()
        stages = self._stages  # (the layers after the last Dense are checked by _plan)
        n_in, offset = input_dim, 0
        inputs: dict[Layer, int] = {}
        layout: list[dict[str, int]] = []
        for layer in stages:
            inputs[layer] = n_in
            offsets = {}
            for name, shape, _ in layer._variables(n_in):
                offsets[name] = offset
                offset += math.prod(shape)
            layout.append(offsets)
            n_in = layer.units if isinstance(layer, Dense) else n_in
        if offset >= 2**31:
            raise ValueError(f"The model would have {offset} parameters; fastnn supports "
                             f"fewer than 2**31.")
        params = np.zeros(offset, self.dtype)
        from . import initializers

        rng = self._rng[STREAM_INIT]
        values: list[tuple[Layer, dict[str, int]]] = list(zip(stages, layout))
        for layer, offsets in values:  # checks (e.g. a Normalization's size) before changes
            if not isinstance(layer, Dense):
                n = inputs[layer]
                for name, _, _ in layer._variables(n):
                    layer._initial(name, params[offsets[name]:offsets[name] + n], n, rng)
        for layer, offsets in values:
            if isinstance(layer, Dense):
                layer._w_off, layer._b_off = offsets["kernel"], offsets.get("bias", -1)
                n = inputs[layer]
                w = params[layer._w_off:layer._w_off + n * layer.units]
                initializers.fill(layer.kernel_initializer, w, n, layer.units, rng)
                if layer.use_bias:
                    b = params[layer._b_off:layer._b_off + layer.units]
                    initializers.fill(layer.bias_initializer, b, n, layer.units, rng)
            else:
                layer._offsets = offsets  # type: ignore[attr-defined]  # a NormLayer
        self._input_dim = input_dim
        self._dense_inputs = inputs
        self._params = params
        self._grads = np.zeros_like(params)
        self._slots = None
        if _after_last_dense(self._layers) is None:
            self._make_net()
        else:  # a model still being stacked (add() after a normalization): no plan yet
            self._net = self._fit_net = None

    @staticmethod
    def _offsets_of(layer: Layer) -> list[int]:
        """The offsets of the layer's variables in the flat buffer, in Keras's order."""
        if isinstance(layer, Dense):
            return [layer._w_off] + ([layer._b_off] if layer.use_bias else [])
        return list(getattr(layer, "_offsets", {}).values())

    def build(self, input_shape: int | Sequence[int | None] | None = None) -> None:
        """Create the weights for inputs of shape ``(None, n_features)`` (or
        ``(None, 28, 28)`` for a model that starts with Flatten)."""
        if input_shape is not None:
            self._declare_input_shape("build", input_shape)
        if self._input_dim is None:
            raise ValueError("build(): the number of input features is unknown. Pass "
                             "input_shape=(None, n_features), start the model with "
                             "fastnn.Input(shape=(n_features,)), or call fit().")
        if not self.built:
            self._build(self._input_dim)
        self._refold()

    def _declare_input_shape(self, func: str, input_shape: Any) -> None:
        """Take `input_shape` ((None, n) or one sample's shape) as the model's input
        without creating weights (as an Input layer does)."""
        shape: Any = (tuple(input_shape) if isinstance(input_shape, (tuple, list))
                      else input_shape)
        if isinstance(shape, tuple) and len(shape) >= 2 and shape[0] is None:
            shape = shape[1:]
        from ._shaping import check_shape, show

        dims = check_shape(func, "shape", shape)
        known = self._in_shape()
        if known is not None and dims != known:
            fail(func, "input shape differs from the declared one",
                 show(known), "input_shape", input_shape)
        trace(self._layers, dims)  # the layers accept it
        self._set_input_shape(dims)

    def _ensure_built(self, func: str) -> None:
        """Create the weights and the plan if they are missing (a write).  Never call
        it inside a read section: the write would wait for that read."""
        if self.built and self._net is not None:
            return
        with self._writing():
            self._ensure_built_locked(func)

    def _ensure_built_locked(self, func: str) -> None:
        if self.built:
            if self._net is None:
                self._make_net()
            return
        if self._input_dim is not None:
            self._build(self._input_dim)
        else:
            raise NotFittedError(
                f"{func}(): the model has no weights yet. Give it an input shape "
                f"(fastnn.Input(shape=(n_features,)) or input_shape= on the first "
                f"layer) or call fit() first.")

    def _noise_chains(self) -> tuple[list[tuple[int, float]], list[list[tuple[int, float]]]]:
        """(noise on the input, noise on each stage's output) as (kind, rate) chains for
        the C plan (csrc/fnn_norm.h); consecutive Dropout layers combine into one:
        keep = Π (1 − rate), so a chain of them draws one mask as before."""
        chain: list[tuple[int, float]] = []
        chains: list[list[tuple[int, float]]] = []
        first: list[tuple[int, float]] | None = None
        for layer in self._layers:
            if layer._is_stage:
                if first is None:
                    first = chain
                else:
                    chains.append(chain)
                chain = []
                continue
            noise = layer._noise
            if noise is None:
                continue
            dropout = _core.NoiseKind.DROPOUT
            if noise[0] == dropout and chain and chain[-1][0] == dropout:
                chain[-1] = (chain[-1][0], 1.0 - (1.0 - chain[-1][1]) * (1.0 - noise[1]))
            else:
                chain.append(noise)
            if len(chain) > _core.MAX_NOISE:
                raise ValueError("fastnn applies at most 4 noise layers (Dropout, "
                                 "GaussianNoise, GaussianDropout, AlphaDropout) in a row; "
                                 f"remove some before {layer.name!r}.")
        chains.append(chain)
        return first or [], chains

    def _make_net(self) -> None:
        """Build the C plan from the layers, loss and metrics."""
        net = self._plan()
        self._fit_net = self._plan(training=True) if self._from_logits else net
        self._net = net  # one attribute: readers get a plan with its own buffer

    def _plan_specs(self) -> list[_core.LayerSpec]:
        """Each stage's LayerSpec for the C plan (fastnn._kernels._core.Net): sizes,
        activation, offsets, regularization, noise chain, frozen flag and, for a
        normalization, its kind, statistics offset, epsilon and momentum."""
        drops = self._noise_chains()[1]
        specs: list[_core.LayerSpec] = []
        for layer, drop in zip(self._stages, drops):
            n = self._dense_inputs[layer]
            if isinstance(layer, Dense):
                kr, br = layer.kernel_regularizer, layer.bias_regularizer
                specs.append(_core.LayerSpec(
                    n_in=n, n_out=layer.units, act=layer._act, w_off=layer._w_off,
                    b_off=layer._b_off, kernel_l1=kr.l1 if kr else 0.0,
                    kernel_l2=kr.l2 if kr else 0.0, bias_l1=br.l1 if br else 0.0,
                    bias_l2=br.l2 if br else 0.0, noise=drop, frozen=not layer.trainable,
                    kind=layer._kind, bf16=layer.dtype_policy.is_mixed))
            else:
                w_off, b_off, s_off, eps, mom, kl1, kl2, bl1, bl2 = layer._stage(n)
                s_len = sum(math.prod(shape) for name, shape, trained in layer._variables(n)
                            if not trained)  # the untrained values, after s_off
                specs.append(_core.LayerSpec(
                    n_in=n, n_out=n, act=layer._act, w_off=w_off, b_off=b_off, kernel_l1=kl1,
                    kernel_l2=kl2, bias_l1=bl1, bias_l2=bl2, noise=drop,
                    frozen=not layer.trainable, kind=layer._kind, s_off=s_off, epsilon=eps,
                    momentum=mom, s_len=s_len))
        return specs

    def _plan(self, weighted: bool = False, training: bool = False) -> _core.Net:
        """A C plan for the current layers, loss and metrics; ``weighted``: the targets
        carry a last column of sample weights; ``training`` with a from_logits loss: the
        plan applies the loss's sigmoid/softmax to the logits (fused with the loss), as
        the loss would, while the inference plan outputs the logits."""
        self._check_structure()
        dense = self._dense
        in_drop = self._noise_chains()[0]
        specs = self._plan_specs()
        loss = self._loss_id if self._loss_id is not None else L.MSE
        last = dense[-1]
        last_act = last._act
        if training and self._from_logits:
            last_act = L.LOGIT_ACTIVATION[loss]
            specs[-1] = specs[-1]._replace(act=last_act)
        y_cols = (1 if loss == L.SPARSE_CCE else last.units) + weighted
        assert self._params is not None  # a plan is made for a built model
        net = _core.Net(specs, in_drop, loss=loss, fused=(last_act, loss) in L.FUSED_PAIRS,
                        acc=self._acc_kind, want_err=self._want_err, y_cols=y_cols,
                        n_params=self._params.size, is64=self.dtype == np.float64,
                        weighted=weighted)
        net.params, net.guard = self._params, self._guard
        return net

    def predict(self, x: ArrayLike, batch_size: int | None = None,
                verbose: Literal["auto"] | int = 0, steps: int | None = None) -> np.ndarray:
        """Network output for the samples in `x`, shape (n_samples, n_outputs).

        `x` must be 2-D; one sample is ``x.reshape(1, -1)``.  0 samples give a
        (0, n_outputs) array.  Thread-safe: concurrent calls on one model are
        allowed (each uses its own workspace).  While ``fit`` runs in another
        thread, ``predict`` raises RuntimeError instead of reading weights that
        are being updated (from ``fit``'s own thread, e.g. in a callback, it works).
        `x` may be a generator or dataset of batches (``x`` or ``(x, ...)`` each;
        ``steps`` of them, or all); the outputs are concatenated.
        """
        net = self._net
        # batch_size changes nothing in how fastnn predicts (rows go through C in
        # chunks of its own); a valid one keeps the fast path (Keras code passes it)
        if net is not None and verbose == 0 and (
                batch_size is None or (type(batch_size) is int and batch_size >= 1)):
            flat: Any = x
            if self._input_shape is not None:  # images: (n, 28, 28) -> (n, 784), no copy
                flat = x.reshape(len(x), -1) if (type(x) is np.ndarray and x.ndim > 1 and
                                                 x.shape[1:] == self._input_shape) else None
            # fast path: input already C-contiguous, finite, of the model dtype, and no
            # writer at work (all checked in C); the read is counted while it runs
            out = _core.predict_fast(net, flat)
            if out is not None:
                return out
        self._check_not_training("predict")
        kind = source_kind("predict", "x", x)
        steps = check_steps("predict", "steps", steps)
        if kind is not None:
            return self._predict_source(x, kind, steps)
        if steps is not None:
            raise ValueError("predict(): `steps` applies when x is a generator or dataset.")
        if batch_size is not None:
            check_int("predict", "batch_size", batch_size, low=1)
        verbose = check_verbose("predict", verbose)
        self._ensure_built("predict")
        t0 = time.perf_counter()
        with self._reading("predict"):
            net = self._net
            assert net is not None  # _ensure_built made it
            X = self._inputs("predict", x, allow_empty=True)
            with predict_thread_policy(len(X), net.n_params) as threads:
                out = (_core.predict_threads(net, net.params, X, threads) if threads
                       else _core.predict(net, net.params, X))  # 0: too small to split
        # one C call, so one line: the bar's final state; a step is a chunk of 1024 rows
        _report(math.ceil(len(X) / 1024), time.perf_counter() - t0, {}, verbose)
        return out

    def get_layer_outputs(self, x: ArrayLike) -> list[np.ndarray]:
        """The activations a[l] of every Dense layer for the samples in `x` — a look
        inside the "black box" (no dropout)."""
        self._ensure_built("get_layer_outputs")
        if is_sparse(x):
            raise TypeError("get_layer_outputs(): x must be a dense array (a look inside "
                            "for a few samples); pass x[:n].toarray().")
        if len(self._stages) != len(self._dense):
            raise ValueError("get_layer_outputs(): fastnn reads the outputs of Dense layers "
                             "only, and this model has normalization layers between them. "
                             "Build a model that ends at the layer you want instead.")
        with self._reading("get_layer_outputs"):
            X = self._inputs("get_layer_outputs", x)
            assert isinstance(X, np.ndarray)  # not sparse: refused above
            outs, a = [], X
            for layer in self._dense:
                z = np.empty((len(a), layer.units), self.dtype)
                kernel, bias = layer._view("kernel"), layer._view("bias")
                _core.dense_forward_kernel(a, np.ascontiguousarray(kernel),
                                           None if bias is None else
                                           np.ascontiguousarray(bias), z,
                                           mixed=layer.dtype_policy.is_mixed)
                _core.act_forward_kernel(layer._act, z, z)
                outs.append(z)
                a = z
        return outs

    def __call__(self, x: ArrayLike, training: bool = False) -> np.ndarray:
        """``model(x)``: the predictions for `x` as an array (``predict`` without a
        progress bar).  A model that does not know its input shape yet builds for
        ``x.shape[1:]`` first, as Keras's Sequential does on its first call."""
        if training is not False:
            raise ValueError("model(x, training=True): fastnn applies dropout inside fit() "
                             "only; model(x) is inference. Received: training="
                             f"{training!r}")
        if not self.built and self._in_shape() is None:
            arr = (np.empty((0, cast(Any, x).shape[1])) if is_sparse(x)  # its rows' width
                   else np.asarray(x))
            if arr.ndim < 2:
                raise ValueError(f"model(x): x must hold a batch, shape (n_samples, ...). "
                                 f"Received: x.shape={arr.shape}")
            self.build((None, *arr.shape[1:]))
        return self.predict(x, verbose=0)

    # ------------------------------------------------------------------ weights
    @property
    def weights(self) -> list[Any]:
        """Every Dense layer's kernel and bias as read-only views with ``assign``
        (Keras's ``model.weights``); empty while the input size is unknown."""
        if not self.built and self._input_dim is not None:
            self._ensure_built("weights")
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[Any]:
        """The weights of the trainable layers."""
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[Any]:
        """The weights of the frozen (``trainable=False``) layers."""
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, layer by layer in Keras's order: a Dense layer's kernel
        (n_in, units) then bias; a BatchNormalization's gamma, beta, moving_mean,
        moving_variance; ..."""
        self._ensure_built("get_weights")
        with self._reading("get_weights"):
            return [w for layer in self._stages for w in layer.get_weights()]

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Replace all weights (same list layout as ``get_weights``).  Every array is
        checked (count, shape, finiteness) before any is written."""
        with self._writing():
            self._ensure_built_locked("set_weights")
            self._set_dense_weights(weights)

    def _set_dense_weights(self, weights: Sequence[ArrayLike]) -> None:
        func = "set_weights"
        if not isinstance(weights, (list, tuple)):
            fail(func, "invalid type for argument `weights`", "a list of arrays", "weights",
                 weights, error=TypeError)
        shapes: list[tuple[Layer, str, tuple[int, ...], int]] = []
        for layer in self._stages:
            n = self._dense_inputs[layer]
            layout = {name: (shape, off) for (name, shape, _), off in
                      zip(layer._variables(n), self._offsets_of(layer))}
            for name in layer._weight_names(n):
                shapes.append((layer, name, *layout[name]))
        if len(weights) != len(shapes):
            raise ValueError(f"{func}(): expected a list of {len(shapes)} arrays "
                             f"({', '.join(f'{l.name}/{k}' for l, k, _, _ in shapes)}), "
                             f"received {len(weights)}.")
        converted = []
        for i, (w, (layer, kind, shape, off)) in enumerate(zip(weights, shapes)):
            arr = as_float_array(func, f"weights[{i}]", w, self.dtype, ndim=len(shape),
                                 allow_empty=True)
            if arr.shape != shape:
                raise ValueError(f"{func}(): weights[{i}] ({layer.name} {kind}) has shape "
                                 f"{arr.shape}; expected {shape}.")
            if kind in ("moving_variance", "variance") and arr.size and arr.min() < 0:
                raise ValueError(f"{func}(): weights[{i}] ({layer.name} {kind}) holds a "
                                 f"negative variance ({float(arr.min())}).")
            converted.append((off, arr))
        params = self._params
        assert params is not None  # _ensure_built_locked ran
        for off, arr in converted:
            params[off:off + arr.size] = arr.ravel()

    def count_params(self) -> int:
        """Number of weights and biases (0 before the model is built)."""
        self._ensure_built("count_params")
        assert self._params is not None
        return int(self._params.size)

    def summary(self, line_length: int | None = None, positions: Sequence[float] | None = None,
                print_fn: Callable[[str], object] | None = None,
                show_trainable: bool = False) -> None:
        """Print the layers, their output shapes and parameter counts in Keras 3's table,
        then the total, trainable, non-trainable (``trainable=False``) and, after
        ``fit``, optimizer-state counts with their size in memory.

        ``print_fn`` gets one line per call (default ``print``); ``line_length``
        (default 88, capped by the terminal), ``positions`` (column ends as fractions,
        default ``[0.45, 0.80, 1.0]``) and ``show_trainable`` as in Keras 3.  See
        :func:`fastnn.summary.print_summary`.
        """
        from .summary import print_summary

        print_summary(self, line_length, positions, print_fn, show_trainable)

    def quantize(self, mode: str = "int8", **kwargs: Any) -> None:
        """Keras 3's in-place quantization is refused: fastnn keeps this float32 model
        and makes an int8 copy for inference, ``fastnn.quantize(model, "int8")``."""
        raise TypeError(f"model.quantize({mode!r}): fastnn does not quantize a model in "
                        "place (its training keeps float32 weights); "
                        "fastnn.quantize(model, 'int8') returns an int8 copy for "
                        "inference.")

    # ------------------------------------------------------------------ config
    def to_json(self, **kwargs: Any) -> str:
        """The architecture as JSON (Keras's ``to_json``): ``{"class_name":
        "Sequential", "config": get_config()}``, no weights;
        :func:`model_from_json` reads it back.  Keyword arguments go to json.dumps."""
        import json

        return json.dumps({"class_name": "Sequential", "config": self.get_config()},
                          **kwargs)

    def get_config(self) -> dict[str, Any]:
        """Name, dtype, seed and every layer's config; :meth:`from_config` rebuilds
        the model (without weights)."""
        layers = [{"class_name": type(l).__name__, "config": l.get_config()}
                  for l in self._layers]
        shape = self._in_shape()
        if shape is not None and not any(l._declared_shape for l in self._layers):
            taken = {l.name for l in self._layers}
            name, k = "input_layer", 0
            while name in taken:
                k += 1
                name = f"input_layer_{k}"
            layers.insert(0, {"class_name": "InputLayer",
                              "config": {"shape": list(shape), "name": name}})
        return {"name": self.name, "dtype": self.dtype.name, "seed": self._seed_given,
                "layers": layers}

    @classmethod
    def _file_class(cls) -> type[Sequential]:
        """The class a model file is read into (copies, pickles, load_weights):
        fastnn.Sequential, whatever the subclass (the mixins cannot import it)."""
        return Sequential

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """The model `get_config` describes (unbuilt: no weights).  A damaged config
        raises ValueError or TypeError saying which entry is wrong.  An optional
        ``"build_input_shape"`` entry, ``[None, n_features]`` (Keras's key), gives the
        input size of a model whose layers do not declare it; no weights are made."""
        model = cls(layers_from_config(config), name=config.get("name", "sequential"),
                    dtype=config.get("dtype", "float32"), seed=config.get("seed"))
        shape = config.get("build_input_shape")
        if shape is not None:
            model._declare_input_shape("Sequential.from_config", shape)
        return model


class LayerHost:
    """What a layer may ask of the model it belongs to; each layer of a model holds
    its model's host (``Layer._host``), the host holds the model weakly (the model
    owns its layers, not the other way round).  The layer's variables live in the
    model's flat buffer: ``variables`` gives views of them, valid inside
    ``reading``/``writing`` (fastnn/_state.py's readers-writer rule)."""

    __slots__ = ("_ref",)

    def __init__(self, model: Sequential) -> None:
        self._ref = weakref.ref(model)

    @property
    def model(self) -> Sequential | None:
        """The model; None once it is freed."""
        return self._ref()

    def _live(self) -> Sequential:
        model = self._ref()
        if model is None:
            raise ValueError("the layer's model no longer exists; its weights are gone.")
        return model

    def reading(self, func: str) -> contextlib.AbstractContextManager[None]:
        """The model's read section (predicts may run alongside)."""
        return self._live()._reading(func)

    def writing(self) -> contextlib.AbstractContextManager[None]:
        """The model's write section (alone)."""
        return self._live()._writing()

    def ensure_built(self, func: str, locked: bool = False) -> None:
        """Create the weights and the plan if missing; ``locked``: inside ``writing``."""
        model = self._live()
        if locked:
            model._ensure_built_locked(func)
        else:
            model._ensure_built(func)

    def replan(self) -> None:
        """Rebuild the C plan after a layer's setting changed (inside ``writing``)."""
        self._live()._make_net()

    def width(self, layer: Layer) -> int | None:
        """The number of inputs `layer` receives; None while the model has no weights."""
        model = self._live()
        return None if model._params is None else model._dense_inputs.get(layer)

    def variables(self, layer: Layer, writable: bool = False) -> dict[str, np.ndarray]:
        """{name: view of the flat buffer} of `layer`'s variables in Keras's order ({}
        while the model has no weights): read-only views (a read-only buffer's, which
        cannot be made writable again) unless ``writable`` (inside ``writing``)."""
        model = self._live()
        params, n = model._params, self.width(layer)
        if params is None or n is None:
            return {}
        if not writable:
            params = np.frombuffer(params.data.toreadonly(), dtype=params.dtype)
        return {name: params[off:off + math.prod(shape)].reshape(shape)
                for (name, shape, _), off in zip(layer._variables(n),
                                                 model._offsets_of(layer))}

    def stages(self) -> list[Layer]:
        """The layers the C loop runs (Dense and the normalizations), in order."""
        return self._live()._stages

    def set_stage_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Every stage's weights, in ``get_weights``'s order, checked (inside ``writing``)."""
        self._live()._set_dense_weights(weights)


def model_from_json(json_string: str) -> Sequential:
    """The model :meth:`Sequential.to_json` describes (unbuilt: no weights), as
    Keras's ``keras.models.model_from_json``.  A damaged string raises ValueError."""
    import json

    if not isinstance(json_string, str):
        fail("model_from_json", "invalid type for argument `json_string`", "a str",
             "json_string", json_string, error=TypeError)
    try:
        spec = json.loads(json_string)
    except ValueError as exc:
        raise ValueError(f"model_from_json(): not JSON: {exc}") from None
    if not isinstance(spec, dict) or spec.get("class_name") != "Sequential" \
            or not isinstance(spec.get("config"), dict):
        raise ValueError("model_from_json(): expected the JSON of Sequential.to_json(), "
                         "{\"class_name\": \"Sequential\", \"config\": {...}}; fastnn "
                         "reads Sequential models only.")
    return Sequential.from_config(spec["config"])


def _after_last_dense(layers: Sequence[Layer]) -> Layer | None:
    """A Dropout, noise or normalization layer after the last Dense layer (the output
    layer), if any."""
    if not any(isinstance(l, Dense) for l in layers):
        return None
    for layer in reversed(layers):
        if isinstance(layer, Dense):
            return None
        if isinstance(layer, Dropout) or hasattr(layer, "_noise_kind") or layer._is_stage:
            return layer
    return None


def clone_model(model: Sequential) -> Sequential:
    """A fresh copy of `model`: same layers, dtype and seed, newly initialised
    weights, compiled with a fresh optimizer of the same configuration."""
    if not isinstance(model, Sequential):
        fail("clone_model", "invalid model", "a fastnn.Sequential", "model", model,
             error=TypeError)
    clone = Sequential.from_config(copy.deepcopy(model.get_config()))
    if model.optimizer is not None:
        assert model.loss is not None  # set by compile with the optimizer
        lists = _metric_lists(model)
        clone.compile(optimizer=O.get(O.serialize(model.optimizer)),
                      loss=L.make(model.loss, model._from_logits),
                      metrics=lists["metrics"], weighted_metrics=lists["weighted_metrics"])
    return clone

def _metric_lists(model: Sequential) -> dict[str, list[M.Metric]]:
    """compile's metrics and weighted_metrics of `model`, as fresh objects."""
    out: dict[str, list[M.Metric]] = {"metrics": [], "weighted_metrics": []}
    for m, weighted in zip(model._metric_objs, model._metric_weighted):
        out["weighted_metrics" if weighted else "metrics"].append(
            M.deserialize(M.serialize(m)))
    return out

