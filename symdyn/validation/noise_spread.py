"""Check ``learning_curve_spread``: the spread across seeds of online-SGD learning curves
started at one point, against ``dS/dtau = J S + S J^T + eta D`` along the ODE path."""

from __future__ import annotations

import numpy as np

from ..analysis.fluctuations import trajectory_fluctuations
from .case import Case
from .noise_setup import TEACHER, noise_run
from .registry import register
from .report import Check, make_check

__all__ = ["check_learning_curve_spread"]

SIGMA, ETA = 0.5, 0.005
START = {"a": 0.0, "b": 0.5, "c": 0.4}
TAUS = (1.0, 2.0, 4.0, 8.0)


@register("learning_curve_spread", threshold=0.2)
def check_learning_curve_spread(case: Case) -> Check:
    """Largest relative error of the standard deviation of ``a, b, c`` across replicas
    (256 seeds, 512 in full mode) at four learning times, threshold 0.2 (the standard
    error of a standard deviation over 256 replicas is 4.4 %)."""
    batch = 256 if case.quick else 512
    point = {**TEACHER, **START}
    taus = np.array(TAUS) * case.horizon
    run = noise_run(case, point, sigma=SIGMA, eta=ETA, tau_end=float(taus[-1]), batch=batch,
                    n=1, salt=55, n_rec=int(TAUS[-1] / TAUS[0]))
    idx = [int(np.argmin(np.abs(run.tau - t))) for t in taus]
    measured = run.states[idx, :, 0, :].std(axis=1, ddof=1)            # (times, 3)
    pred = trajectory_fluctuations(case.ode, {**point, "alpha": case.leak}, SIGMA,
                                   ETA * case.eta_scale, run.tau[idx])
    errors = np.abs(measured / pred.std - 1)
    return make_check("learning_curve_spread", float(errors.max()), 0.2, errors=errors,
                      measured=measured, predicted=pred.std, tau=run.tau[idx],
                      mean_measured=run.states[idx, :, 0, :].mean(axis=1),
                      mean_predicted=pred.mean, replicas=batch)
