"""Mixed precision, Keras's API: ``set_global_policy("mixed_bfloat16")`` or
``Dense(..., dtype="mixed_bfloat16")``.

Under ``"mixed_bfloat16"`` a Dense layer's matrix products (forward, and both
products of its backward pass) take their inputs rounded to bfloat16 (8
significant bits, round to nearest even) and sum the exact products in float32;
the variables (kernel and bias), the optimizer's slots, the bias addition, the
activations and their derivatives, and the loss stay float32 — Keras's
definition of the policy (compute dtype bfloat16, variable dtype float32).
fastnn keeps the product's result in float32 where Keras would round it to
bfloat16 again, so its outputs are, if anything, closer to float32's.

Kernels (csrc/fnn_gemm_bf16*.c): AVX512-BF16's vdpbf16ps where the CPU has it and
the "avx512" instruction set is in use (``fastnn.mixed_precision.kernel()``);
elsewhere a portable emulation that computes the same roundings and float32 sums
in the same order (the same bits on a CPU checked to have both) — slower than
float32, but the same model and results everywhere, where an error would make a
saved mixed model unusable on an older machine.  Products smaller than the
float32 loops' threshold (8192 multiply-adds) stay float32 on either.

Only float32 models mix: a float64 ``Sequential`` with a mixed layer is an error.
A layer takes the global policy in force when it is created, as in Keras.
"""
from __future__ import annotations

from typing import Any

from ._validation import fail

#: the policies fastnn runs; Keras's float16 ones have no fast path on a CPU here
POLICIES = ("float32", "mixed_bfloat16")
_KERAS_ONLY = ("float16", "mixed_float16", "bfloat16", "float64", "int8")


class Policy:
    """A dtype policy (Keras's ``DTypePolicy``): ``name``, ``compute_dtype`` (of the
    matrix products) and ``variable_dtype`` (of the weights)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = _check_name("Policy", "name", name)

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        return "bfloat16" if self._name == "mixed_bfloat16" else "float32"

    @property
    def variable_dtype(self) -> str:
        return "float32"

    @property
    def is_mixed(self) -> bool:
        return self._name == "mixed_bfloat16"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<Policy "{self._name}">'

    def get_config(self) -> dict[str, Any]:
        return {"name": self._name}


def _check_name(func: str, argument: str, name: object) -> str:
    if not isinstance(name, str):
        fail(func, f"invalid type for argument `{argument}`",
             f"a policy name ({' or '.join(map(repr, POLICIES))}) or a Policy", argument, name,
             error=TypeError)
    if name in POLICIES:
        return name
    why = (" (a Keras policy fastnn does not run; float64 is the model's dtype: "
           "Sequential(dtype='float64'))" if name in _KERAS_ONLY else "")
    fail(func, f"unknown dtype policy{why}", " or ".join(map(repr, POLICIES)), argument, name)


def get(policy: object, func: str = "get", argument: str = "policy") -> Policy:
    """A Policy from a name, a Policy, or None (the global policy)."""
    if policy is None:
        return _global
    if isinstance(policy, Policy):
        return policy
    return Policy(_check_name(func, argument, policy))


_global = Policy("float32")


def set_global_policy(policy: str | Policy | None) -> None:
    """The policy of the layers created from now on (None: back to "float32")."""
    global _global
    _global = Policy("float32") if policy is None else get(policy, "set_global_policy")


def global_policy() -> Policy:
    """The policy new layers take."""
    return _global


def kernel() -> str:
    """Where mixed_bfloat16 products run now: "avx512_bf16" (vdpbf16ps) or
    "emulated" (portable C, same results)."""
    from ._kernels import _core  # lazily: the policy objects need no compiled code
    return _core.bf16_kernel()


__all__ = ["Policy", "POLICIES", "set_global_policy", "global_policy", "get", "kernel"]


def __getattr__(name: str) -> Any:
    # Keras's loss scaling exists for float16; fastnn's one mixed policy is bfloat16,
    # which has float32's exponent range and needs none
    if name == "LossScaleOptimizer":
        raise ImportError(
            "fastnn.mixed_precision has no LossScaleOptimizer: fastnn mixes only "
            "'mixed_bfloat16', whose gradients keep float32's range and need no loss "
            "scaling. Pass the optimizer itself to compile().")
    raise AttributeError(f"module 'fastnn.mixed_precision' has no attribute {name!r}")
