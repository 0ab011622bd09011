"""How to install an optional extra, in one sentence for every ImportError.

fastnn's distribution name is ``fastnn-mlp`` (the name ``fastnn`` on PyPI belongs
to an unrelated project, so ``pip install "fastnn[plot]"`` would install that
one).  fastnn is installed from a clone of its repository, so the hint names the
packages to install directly and the extra to install from the clone.
"""
from __future__ import annotations

DISTRIBUTION = "fastnn-mlp"


def install_hint(extra: str, packages: str) -> str:
    """``pip install <packages>`` (or the extra, from a clone of fastnn)."""
    return (f'pip install {packages} (the "{extra}" extra of {DISTRIBUTION}; '
            f'from a clone of fastnn: pip install -e ".[{extra}]")')
