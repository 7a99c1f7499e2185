"""The Gauss-Newton matrix of one mode, and why BPTT's optimum is always stable.

``G = E[g g^T]`` with ``g = dy_t/d(a, b, c)`` is positive semidefinite. BPTT follows
``-grad L``, so its Jacobian is ``-Hess L``, and at a zero-loss point
``Hess L = G``: the non-zero eigenvalues of BPTT's Jacobian on the optimal manifold are
minus those of ``G``, hence negative (docs/theory.md, 'Analysis').
"""

from __future__ import annotations

import sympy as sp

from ..averaging import gauss_newton
from ..ode import LearningODE


def gauss_newton_matrix(ode: LearningODE) -> sp.Matrix:
    """``G(a, b, c)`` in public symbols for the leak of ``ode`` (rule-independent)."""
    return gauss_newton(ode.leak).applyfunc(ode.from_working)
