"""The benchmark suite: ``python -m fastnn bench [--quick] [--only W1,W3] [--peers numpy,jax]
[--threads 1,2] [--json [PATH]]``.

fastnn against a hand-written NumPy MLP and, when installed (``pip install
".[bench]"`` from a clone), PyTorch, JAX, scikit-learn's MLPClassifier and ONNX Runtime,
on five workloads (issue 12 §1), every framework in its own fresh process with
the same data, the same initial weights and the same thread limits.

Layout: ``cli`` (arguments, rounds of child processes), ``_child`` (one peer ×
workload × thread count), ``harness`` (thread environment, pinning, quiet
windows), ``workloads`` (nets, cases, data, initial weights), ``report``
(aggregation, table, JSON), ``machine`` (CPU, BLAS pools, build), ``numpy_mlp``
(the NumPy baseline), ``peers/`` (one module per framework, imported lazily).
"""
from __future__ import annotations


def main(argv=None) -> int:
    from .cli import main as _main

    return _main(argv)
