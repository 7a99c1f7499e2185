"""Check ``local_rate``: the exponential approach to the optimal manifold against the
slowest non-zero eigenvalue of the Jacobian there."""

from __future__ import annotations

import numpy as np

from ..analysis import slowest_rate
from .case import Case, ode_run, simulate_modes
from .registry import register
from .report import Check, make_check

__all__ = ["check_local_rate", "fit_rate", "manifold_distance", "optimum_modes"]


def optimum_modes(case: Case, n: int, beta: float = 1.0, kick: float = 0.15) -> dict:
    """``n`` identical modes near the optimum of the teacher ``a* = 0, b* = c* = 1``:
    ``a = a* + kick``, ``b = 1``, ``c = 1 - kick`` (off the manifold ``bc = b* c*``)."""
    full = np.ones(n)
    return {"a": full * kick, "b": full, "c": full * (1 - kick), "a_star": 0 * full,
            "b_star": full, "c_star": full, "beta": full * beta}


def manifold_distance(states: np.ndarray, modes: dict) -> np.ndarray:
    """Distance of the replica- and mode-mean state to the optimal manifold,
    ``sqrt((a - a*)^2 + (bc - b* c*)^2)`` (identical modes), per time."""
    a, b, c = (states[..., i] for i in range(3))
    da = (a - modes["a_star"]).mean(axis=(1, 2))
    dbc = (b * c - modes["b_star"] * modes["c_star"]).mean(axis=(1, 2))
    return np.hypot(da, dbc)


def fit_rate(tau: np.ndarray, dist: np.ndarray, hi: float = 0.3, lo: float = 0.03
             ) -> tuple[float, np.ndarray]:
    """Exponential rate of ``dist`` fitted on the window where it falls from ``hi`` to
    ``lo`` times its initial value (late enough for faster modes to have died out, early
    enough to stay above the SGD noise floor).  Returns (rate, mask of the window)."""
    rel = dist / dist[0]
    start = int(np.argmax(rel < hi))
    below = np.flatnonzero(rel[start:] < lo)
    stop = start + (int(below[0]) if below.size else len(rel) - start)
    mask = np.zeros(len(tau), bool)
    mask[start:stop] = True
    if mask.sum() < 3:
        return float("nan"), mask
    return float(-np.polyfit(tau[mask], np.log(dist[mask]), 1)[0]), mask


def rate_setup(case: Case) -> tuple[int, int, float]:
    """(modes, batch, eta): many replicas, because the fit needs the mean state to fall
    tenfold below the kick while staying above the noise floor sqrt(eta / replicas)."""
    return (4, 16, 2e-3) if case.quick else (8, 32, 1e-3)


@register("local_rate", threshold=0.1)
def check_local_rate(case: Case) -> Check:
    """Relative error of the fitted approach rate vs the slowest non-zero eigenvalue at
    the point of the manifold reached; threshold 0.1 (the fit window starts at 30 % of a
    15 % kick, where the quadratic terms still shift the rate by a few per cent)."""
    n, batch, eta = rate_setup(case)
    modes = optimum_modes(case, n)
    point = {k: 0.0 for k in ("a", "a_star")} | {"b": 1.0, "c": 1.0, "b_star": 1.0,
                                                 "c_star": 1.0}
    point |= {p.name: modes[p.name][0] for p in case.ode.parameters}
    guess = slowest_rate(case.ode, point)  # only sets the horizon: 5 e-foldings
    run = simulate_modes(case, modes, batch=batch, eta=eta * case.eta_scale,
                         tau_end=5.0 / guess, seed=case.seed + 11)
    b_end = float(run.states[-1, ..., 1].mean())
    point |= {"b": b_end, "c": 1.0 / b_end}
    predicted = slowest_rate(case.ode, point)
    dist = manifold_distance(run.states, modes)
    rate, mask = fit_rate(run.tau, dist)
    ode_dist = manifold_distance(ode_run(case, modes, run.tau)[:, None], modes)
    ode_rate, _ = fit_rate(run.tau, ode_dist)
    return make_check("local_rate", abs(rate / predicted - 1), 0.1, rate=rate,
                      predicted=predicted, ode_fit_rate=ode_rate, tau=run.tau,
                      distance=dist, ode_distance=ode_dist, window=mask, point=point)
