"""Convergence rates at the optimum: the slowest non-zero eigenvalue, per rule.

Near a stable point of the optimal manifold the distance to the manifold decays like
``exp(-r tau)`` with ``r = -max Re(lambda)`` over the non-zero eigenvalues. For a quadratic
reduced polynomial the slowest root is ``mid + sqrt(disc)`` (its real part is the larger
one whether ``disc`` is positive or not); for rational roots it is their maximum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..errors import CannotPredict
from ..ode import LearningODE
from .fixed_points import FixedPointSet, fixed_points
from .pointwise import slowest_rate
from .signs import lambdified


@dataclass(frozen=True)
class ConvergenceRate:
    """``rate`` (positive when the optimum attracts) as a closed form on the optimal set."""

    ode: LearningODE
    optimal: FixedPointSet
    slowest_eigenvalue: sp.Expr
    rate: sp.Expr

    def at(self, point: Mapping[str, float]) -> float:
        """The rate at a point of the optimal manifold, from numeric eigenvalues."""
        return slowest_rate(self.ode, point, n_zero=self.optimal.dimension)

    def __str__(self) -> str:
        return f"convergence rate of {self.ode.title} at the optimum: r = {self.rate}"

    def _repr_latex_(self) -> str:
        return f"$r = {sp.latex(self.rate)}$"


def convergence_rate(ode: LearningODE, optimal: FixedPointSet | None = None) -> ConvergenceRate:
    """The slowest non-zero eigenvalue of ``ode`` on its optimal manifold, in closed form."""
    optimal = optimal or fixed_points(ode)["optimal"]
    roots = optimal.roots[optimal.dimension:]
    if not roots:
        raise CannotPredict(f"no closed-form eigenvalues for {ode.title} (the reduced "
                            "characteristic polynomial has degree > 2); use "
                            "symdyn.analysis.slowest_rate(ode, point) for numbers")
    if all(r.disc == 0 for r in roots):
        slowest = sp.Max(*[r.mid for r in roots]) if len(roots) > 1 else roots[0].mid
    else:
        slowest = next(r.expr for r in roots if r.sign == 1)
    return ConvergenceRate(ode, optimal, slowest, -slowest)


def rate_function(rate: ConvergenceRate):
    """Vectorised NumPy callable ``r(**values)`` of the closed-form rate (real part)."""
    symbols, f = lambdified(rate.rate)

    def evaluate(**values):
        return np.real(f(*[values[s.name] for s in symbols]))

    evaluate.symbols = [s.name for s in symbols]
    return evaluate

