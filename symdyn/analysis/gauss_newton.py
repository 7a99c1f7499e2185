"""The Gauss-Newton matrix of one mode, and why BPTT's optimum is always stable.

``G = E[g g^T]`` with ``g = dy_t/d(a, b, c)`` is positive semidefinite. BPTT follows
``-grad L``, so its Jacobian is ``-Hess L``, and at a zero-loss point
``Hess L = G``: the non-zero eigenvalues of BPTT's Jacobian on the optimal manifold are
minus those of ``G``, hence negative (docs/theory.md, 'Analysis').
"""

from __future__ import annotations

import sympy as sp

from .. import symbols as S
from ..averaging import joint_state, stationary_covariance
from ..ode import LearningODE
from ..rules import bptt


def gauss_newton_matrix(ode: LearningODE) -> sp.Matrix:
    """``G(a, b, c)`` in public symbols for the leak of ``ode`` (rule-independent)."""
    return gauss_newton(ode.leak).applyfunc(ode.from_working)


def gauss_newton(alpha: sp.Expr) -> sp.Matrix:
    """The Gauss-Newton matrix ``E[g g^T]`` of one mode, in working variables.

    ``g = dy_t/d(a, b, c) = (c s^a_t, c s^b_t, h_t)`` with the exact (BPTT) traces, so it
    is read off the same stationary covariance as the expected updates
    (:mod:`symdyn.averaging`). At a zero-loss point the Hessian of the loss equals this
    matrix.
    """
    state = joint_state(bptt(), alpha)
    sigma = stationary_covariance(state.F, state.G).subs(S.kappa, S.lam)
    r = state.readouts
    rows = [S.c * r["sa"], S.c * r["sb"], r["h"]]
    return sp.Matrix(3, 3, lambda i, j: sp.factor(sp.cancel((rows[i] * sigma * rows[j].T)[0, 0])))
