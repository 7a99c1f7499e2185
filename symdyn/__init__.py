"""symdyn: derive, analyse and check the learning dynamics of learning rules in linear RNNs.

The flow is one way: a mode model and a rule (:mod:`symdyn.rules`) are averaged into a
:class:`~symdyn.ode.LearningODE` (:func:`derive`), which :mod:`symdyn.analysis` studies
and :mod:`symdyn.codegen`, :mod:`symdyn.latex` and :mod:`symdyn.plots` turn into numbers,
equations and figures. :mod:`symdyn.simulate` never imports any of it.
"""

from . import symbols
from .analysis import (
    conserved_quantities,
    convergence_rate,
    fixed_points,
    predict_limit,
    stability_at,
)
from .codegen import jacobian_function, loss_function, rhs_function
from .errors import SymdynError
from .integrate import integrate
from .ode import LearningODE, derive
from .rules import Rule, get_rule

__version__ = "0.1.0"

__all__ = [
    "LearningODE",
    "Rule",
    "SymdynError",
    "conserved_quantities",
    "convergence_rate",
    "derive",
    "fixed_points",
    "get_rule",
    "integrate",
    "jacobian_function",
    "loss_function",
    "predict_limit",
    "rhs_function",
    "stability_at",
    "symbols",
]
