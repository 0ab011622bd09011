"""Every C kernel _core exposes has a pure-NumPy twin in fastnn/_reference.py with the
same arguments (thinc's habit): the twin takes the kernel's inputs under the same
names, in the same order, and returns what the kernel writes into its output
arguments.  tests/test_kernels.py holds each pair equal in value; this file holds
the pairs themselves complete, so a new kernel cannot arrive without its twin.

The normalization kernels (csrc/fnn_norm.c) are not exposed one by one: they run
inside the network loops, and their twins in fastnn/_reference_norm.py are checked
through the whole network (tests/test_normalization_gradients.py)."""
from __future__ import annotations

import inspect

import pytest

from fastnn import _reference as ref
from fastnn._kernels import _core

# what the kernel writes (the twin returns it instead) ...
OUTPUTS = {
    "dense_forward_kernel": {"Z"},
    "dense_backward_kernel": {"dW", "db", "dX"},
    "act_forward_kernel": {"A"},
    "loss_kernel": {"delta"},
    "regularize_kernel": {"G"},
}
# ... and how it runs, not what it computes (the product's BLAS threshold, bfloat16
# inputs: the twin is the exact math both approximate)
OPTIONS = {"small_gemm", "mixed"}

# the deliberate exceptions, each with its reason
NO_TWIN = {
    "bf16_kernel": "reports which kernel mixed_bfloat16 runs on; computes nothing",
    "int8_kernel": "reports which kernel int8 products run on; computes nothing",
    "gemm_kernel": "a bare product: its twin is NumPy's matmul (tests/test_bf16.py)",
    "dropout_mask_kernel": "random bits: held to their distribution and reproducibility "
                           "(tests/test_kernels.py), not to a twin",
    "noise_draw_kernel": "random draws: held to their moments "
                         "(tests/test_normalization_layers.py), not to a twin",
    "optim_step_kernel": "the twin ref.optim_step takes Keras's optimizer name and "
                         "hyper-parameter dict, not the OptimizerSettings the kernel "
                         "reads, so that it shares no encoding with the C",
    "optim_finite_kernel": "a predicate over optim_step_kernel: its oracle is the step "
                           "itself (tests/test_nonfinite_step.py)",
}


def kernels():
    """The functions of _core that expose one C kernel each."""
    return sorted(name for name in dir(_core)
                  if name.endswith("_kernel") or name == "perceptron_epoch")


def names(func):
    return list(inspect.signature(func).parameters)


@pytest.mark.parametrize("name", [k for k in kernels() if k not in NO_TWIN])
def test_kernel_has_a_twin_with_its_arguments(name):
    twin = getattr(ref, name.removesuffix("_kernel"), None)
    assert twin is not None, f"fastnn/_reference.py has no twin of _core.{name}"
    skip = OUTPUTS.get(name, set()) | OPTIONS
    assert names(twin) == [a for a in names(getattr(_core, name)) if a not in skip]


def test_the_exception_lists_are_current():
    """Every exception and output list names a kernel that exists, and no exception
    hides a twin that exists."""
    found = set(kernels())
    assert set(NO_TWIN) <= found and set(OUTPUTS) <= found
    for name in OUTPUTS:
        assert OUTPUTS[name] <= set(names(getattr(_core, name)))
    for name in NO_TWIN:
        if name != "optim_step_kernel":  # its twin exists, with other arguments (above)
            assert not hasattr(ref, name.removesuffix("_kernel")), name
