"""The training half of a Keras file fastnn writes (:mod:`fastnn.interop.keras_out`):
``compile_config`` (optimizer, loss, metrics and weighted metrics as Keras serializes
them) and the optimizer's state as Keras's optimizer variables — ``iteration``,
``learning_rate`` (absent with a schedule), then the slots of each trainable
variable in Keras's order: SGD (with momentum) ``momentum``; RMSprop every
``velocity`` then (with momentum) every ``momentum``; Adagrad ``accumulator``;
Adam, AdamW, Adamax, Nadam ``(momentum, velocity or norm)`` per variable, Nadam's
``u_product`` last.  fastnn's slots S1/S2 (csrc/fnn_optim.c) are these arrays
with the same update rules, so a model resumes exactly in either framework.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import optimizers as O

if TYPE_CHECKING:
    from ..metrics import Metric
    from ..models import Sequential
    from ..training import CompileSettings
    from .keras_out import Snapshot

OPTIMIZER_NAMES = {"SGD": "sgd", "RMSprop": "rmsprop", "Adam": "adam", "AdamW": "adamw",
                    "Adagrad": "adagrad", "Nadam": "nadam", "Adamax": "adamax"}
_LOSS_CLASSES = {"mse": "MeanSquaredError", "binary_crossentropy": "BinaryCrossentropy",
                 "categorical_crossentropy": "CategoricalCrossentropy",
                 "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
                 "mae": "MeanAbsoluteError", "huber": "Huber", "log_cosh": "LogCosh",
                 "poisson": "Poisson", "kl_divergence": "KLDivergence", "hinge": "Hinge",
                 "squared_hinge": "SquaredHinge"}


def keras_object(module: str, cls: str, config: dict[str, Any]) -> dict[str, Any]:
    """A serialized Keras object, as config.json holds it."""
    return {"module": module, "class_name": cls, "config": config, "registered_name": None}


def _loss(settings: CompileSettings) -> str | dict[str, Any]:
    if not settings.from_logits:
        return settings.loss
    cls = _LOSS_CLASSES[settings.loss]
    return keras_object("keras.losses", cls, {"name": settings.loss, "reduction": "sum_over_batch_size",
                                      "from_logits": True})


def _metric(metric: Metric) -> str | dict[str, Any]:
    from .. import metrics as M

    spec = M.serialize(metric)
    if spec == "rmse":  # a name Keras's compile does not resolve
        return keras_object("keras.metrics", "RootMeanSquaredError", {"name": "rmse",
                                                               "dtype": "float32"})
    if isinstance(spec, str):
        return spec
    return keras_object("keras.metrics", spec["class_name"], {**spec["config"], "dtype": "float32"})


def _schedule(opt: O.Optimizer) -> Any:
    rate = opt._rate_config()
    if isinstance(rate, dict):
        return keras_object("keras.optimizers.schedules", rate["class_name"],
                    {**rate["config"], "name": rate["class_name"]})
    return rate


def keras_compile_config(model: Sequential) -> dict[str, Any] | None:
    """Keras's compile_config for `model` (None when not compiled)."""
    settings = model.compile_settings
    if settings is None:
        return None
    opt = settings.optimizer
    cls = type(opt).__name__
    config = {"name": OPTIMIZER_NAMES[cls], "learning_rate": _schedule(opt),
              "weight_decay": None, "clipnorm": None, "global_clipnorm": None,
              "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
              "ema_overwrite_frequency": None, "loss_scale_factor": None,
              "gradient_accumulation_steps": None, **opt.get_config()}
    if cls == "RMSprop":
        config["centered"] = False
    if cls in ("Adam", "AdamW"):
        config["amsgrad"] = False
    config["learning_rate"] = _schedule(opt)  # over get_config's fastnn form
    metrics = [_metric(m) for m in settings.metrics]
    weighted = [_metric(m) for m in settings.weighted_metrics]
    return {"optimizer": keras_object("keras.optimizers", cls, config), "loss": _loss(settings),
            "loss_weights": None, "metrics": metrics or None,
            "weighted_metrics": weighted or None, "run_eagerly": False, "steps_per_execution": 1,
            "jit_compile": True}


def stage_layers(model: Sequential) -> list[Any]:
    """The layers with variables in the model's flat buffer, in order (Dense and the
    normalizations: the stages j of fastnn's member names weights/j/...)."""
    from ..layers import Dense
    from ..normalization import NormLayer

    return [l for l in model.layers if isinstance(l, (Dense, NormLayer))]


def trainable_ranges(stages: Sequence[Any], arrays: dict[str, Any]
                     ) -> list[tuple[int, tuple[int, ...]]]:
    """(offset in the flat parameter buffer, shape) of each trainable Keras variable,
    in order, for the stage layers `stages` (Dense and normalizations) whose variables
    (or their shapes) `arrays` holds under fastnn's member names weights/j/name.npy, in
    the buffer's order (docs/file-format.md).  Trainable: a Dense's kernel and bias, a
    normalization's gamma and beta, of a layer not frozen (frozen layers, moving
    statistics and a Normalization's values have no Keras slots)."""
    out, offset = [], 0
    for key, found in arrays.items():
        if not key.startswith("weights/"):
            continue
        j, name = key[len("weights/"):-len(".npy")].split("/")
        shape = tuple(found if isinstance(found, tuple) else found.shape)
        if stages[int(j)].trainable and name in ("kernel", "bias", "gamma", "beta"):
            out.append((offset, shape))
        offset += int(np.prod(shape))
    return out


def optimizer_vars(model: Sequential, snap: Snapshot) -> list[np.ndarray]:
    """Keras's optimizer variables: iteration, learning_rate (not with a schedule), the
    slots of each trainable variable in Keras's order (Nadam's u-product last)."""
    opt = model.optimizer
    assert opt is not None
    dtype = model.dtype
    its = int(opt.iterations)
    out = [np.array(its, np.int32 if its < 2**31 else np.int64)]
    if opt._schedule is None:
        out.append(np.array(opt.learning_rate, np.float32))
    n = model.count_params()
    s1, s2 = (snap.arrays[name] for name in ("optimizer/slot_1.npy", "optimizer/slot_2.npy")) \
        if "optimizer/slot_1.npy" in snap.arrays else opt._init_slots(n, dtype)
    ranges = trainable_ranges(stage_layers(model), snap.arrays)
    slots = (s1, s2)
    out += [slots[which - 1][ranges[i][0]:ranges[i][0] + int(np.prod(ranges[i][1]))]
            .reshape(ranges[i][1]).copy() for which, i in slot_layout(opt, len(ranges))]
    if type(opt).__name__ == "Nadam":
        out.append(np.array(O.nadam_u_product(its, opt.beta_1),  # type: ignore
                            dtype))
    return out


def slot_layout(opt: O.Optimizer, k: int) -> list[tuple[int, int]]:
    """[(slot 1 or 2, variable index)] of the Keras slot variables that follow the
    iteration count and learning rate, for `k` trainable variables (Nadam's u-product
    after them is not listed: fastnn derives it from the step count)."""
    kind = type(opt).__name__
    firsts = [(1, i) for i in range(k)]
    seconds = [(2, i) for i in range(k)]
    if kind == "SGD":
        return firsts if opt.momentum > 0 else []  # type: ignore[attr-defined]
    if kind == "RMSprop":
        return firsts + (seconds if opt.momentum > 0 else [])  # type: ignore[attr-defined]
    if kind == "Adagrad":
        return firsts
    return [pair for i in range(k) for pair in ((1, i), (2, i))]


def zero_frozen_slots(model: Sequential, snap: Snapshot) -> None:
    """Keras keeps no optimizer state for frozen layers: make fastnn's copy agree."""
    for name in ("optimizer/slot_1.npy", "optimizer/slot_2.npy"):
        slot = snap.arrays.get(name)
        if slot is None:
            continue
        kept = np.zeros(slot.size, bool)
        for o, s in trainable_ranges(stage_layers(model), snap.arrays):
            kept[o:o + int(np.prod(s))] = True
        fresh = model.optimizer._init_slots(slot.size, slot.dtype)  # type: ignore
        slot[~kept] = fresh[name.endswith("2.npy")][~kept]
