"""What the scripts in benchmarks/ share, now living in the package (fastnn.bench):
machine report, thread limits, timing helpers, data sets, table formatting.

Importing this module first puts this checkout's fastnn on sys.path when no
fastnn is importable otherwise (``python benchmarks/x.py`` on an in-place
build), unless PYTHONPATH already provides one (e.g. a frozen build of one
commit).  The suite itself is ``python -m fastnn bench``.
"""
from __future__ import annotations

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if importlib.util.find_spec("fastnn") is None:
    sys.path.insert(0, os.path.join(ROOT, "src"))

# isort: split
from fastnn.bench.harness import (calibrate, median, per_call, quiesce,  # noqa: E402,F401
                                  thread_limits, time_call)
from fastnn.bench.machine import (build_info, cpu_availability, cpu_model,  # noqa: E402,F401
                                  machine_report, threadpool_summary)
from fastnn.bench.report import fmt_table  # noqa: E402,F401
from fastnn.bench.workloads import (MNIST_PATH, circles, digits, mnist5k,  # noqa: E402,F401
                                    one_hot)
