"""Analysis of a learning ODE: fixed-point sets, stability, rates, conserved quantities."""

from .conserved import conserved_quantities, limit_candidates, predict_limit
from .fixed_points import FixedPointReport, FixedPointSet, fixed_points
from .gauss_newton import gauss_newton_matrix
from .pointwise import PointStability, slowest_rate, slowest_rates, stability_at
from .rates import ConvergenceRate, convergence_rate, rate_function

__all__ = [
    "ConvergenceRate",
    "FixedPointReport",
    "FixedPointSet",
    "PointStability",
    "conserved_quantities",
    "convergence_rate",
    "fixed_points",
    "gauss_newton_matrix",
    "limit_candidates",
    "predict_limit",
    "rate_function",
    "slowest_rate",
    "slowest_rates",
    "stability_at",
]
