"""symdyn: derive, analyse and check the learning dynamics of learning rules in linear RNNs.

The flow is one way: a mode model and a rule (:mod:`symdyn.rules`) are averaged into a
:class:`~symdyn.ode.LearningODE` (:func:`derive`), which :mod:`symdyn.analysis` studies
and :mod:`symdyn.codegen`, :mod:`symdyn.latex` and :mod:`symdyn.plots` turn into numbers,
equations and figures. :mod:`symdyn.simulate` never imports any of it.

The public names below are loaded on first use (PEP 562), so that ``import symdyn`` (and
with it ``symdyn --help``) does not pay for SymPy, SciPy and matplotlib until a name that
needs them is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS = {
    "LearningODE": "ode", "derive": "ode",
    "Rule": "rules", "get_rule": "rules",
    "SymdynError": "errors",
    "conserved_quantities": "analysis", "convergence_rate": "analysis",
    "fixed_points": "analysis", "predict_limit": "analysis", "stability_at": "analysis",
    "jacobian_function": "codegen", "loss_function": "codegen", "rhs_function": "codegen",
    "integrate": "integration",
    "noise": "update_noise",
    "critical_learning_rate": "analysis.fluctuations",
    "stationary_fluctuations": "analysis.fluctuations",
    "manifold_diffusion": "analysis.fluctuations",
    "noise_induced_drift": "analysis.fluctuations",
    "trajectory_fluctuations": "analysis.fluctuations",
}

__all__ = [
    "LearningODE", "Rule", "SymdynError", "conserved_quantities", "convergence_rate",
    "critical_learning_rate", "derive", "fixed_points", "get_rule", "integrate",
    "jacobian_function", "loss_function", "manifold_diffusion", "noise", "noise_induced_drift",
    "predict_limit",
    "rhs_function", "stability_at", "stationary_fluctuations", "symbols",
    "trajectory_fluctuations",
]


def __getattr__(name: str):
    if name == "symbols":
        return importlib.import_module(".symbols", __name__)
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'symdyn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:  # for type checkers and editors: the eager imports
    from . import symbols
    from .analysis import (
        conserved_quantities,
        convergence_rate,
        fixed_points,
        predict_limit,
        stability_at,
    )
    from .analysis.fluctuations import (
        critical_learning_rate,
        manifold_diffusion,
        noise_induced_drift,
        stationary_fluctuations,
        trajectory_fluctuations,
    )
    from .codegen import jacobian_function, loss_function, rhs_function
    from .errors import SymdynError
    from .integration import integrate
    from .ode import LearningODE, derive
    from .rules import Rule, get_rule
    from .update_noise import noise
