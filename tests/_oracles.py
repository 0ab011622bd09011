"""Tolerances used across the tests, each with its reason.

Comparisons use numpy semantics: |actual − expected| <= atol + rtol·|expected|.
"""
import numpy as np

# T1 — analytic gradient (compiled kernels, float64) vs central differences.
# Step eps = 1e-6·max(1, |θ|): truncation error O(eps²·f''') ~ 1e-12 and
# round-off O(1e-16/eps) ~ 1e-10, so the measured error stays <= ~2e-10.
# rtol=1e-5 leaves 50x margin yet catches a dropped λ=1e-2 penalty or a wrong 1/B.
FD_EPS = 1e-6
FD_RTOL = 1e-5
FD_ATOL = 1e-8

# T4 — matmul-based kernels vs NumPy in the same dtype: only the order of the
# additions differs, error <= K·ε·Σ|terms|.  float64: K <= 1000 gives ~1e-13.
# float32: ε = 6e-8 and K up to ~100 terms of size ~1 give ~1e-5 relative.
TOL = {
    np.float64: dict(rtol=1e-9, atol=1e-12),
    np.float32: dict(rtol=1e-4, atol=1e-5),
}
# T5 — elementwise kernels (activations, losses, optimizer steps) vs NumPy:
# libm's exp/tanh and NumPy's differ by a few ulp; where the formula cancels
# (1 − tanh², Adam's m/(√v+ε)) the relative error grows, hence the atol.
ELEMENTWISE = {
    np.float64: dict(rtol=1e-12, atol=1e-14),
    np.float32: dict(rtol=1e-5, atol=1e-6),
}


def tol(dtype, table=TOL):
    return table[np.dtype(dtype).type]
