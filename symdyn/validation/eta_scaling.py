"""Check ``eta_scaling``: the gap between simulation and ODE shrinks with the learning
rate, on the runs of :func:`symdyn.validation.trajectory.trajectory_runs`."""

from __future__ import annotations

import numpy as np

from .case import Case
from .registry import register
from .report import Check, make_check

__all__ = ["check_eta_scaling"]


@register("eta_scaling", inputs=("trajectory_runs",), threshold=0.25)
def check_eta_scaling(case: Case, trajectory_runs: list[dict]) -> Check:
    """Least-squares slope of ``log(max error)`` vs ``log(eta)``; must exceed 0.25.

    Fluctuations of a single network give slope 1/2, a bias of the averaging limit slope
    1; an ODE that is wrong gives an error that does not shrink (slope ~ 0).
    """
    etas = np.array([r["eta"] for r in trajectory_runs])
    errors = np.array([r["max_error"] for r in trajectory_runs])
    slope = np.polyfit(np.log(etas), np.log(errors), 1)[0]
    return make_check("eta_scaling", slope, 0.25, ">", etas=etas, errors=errors)
