"""Check ``stability``: the optimal manifold attracts (or repels) the simulation as the
linearisation predicts, for each sign of a parameter the stability conditions involve."""

from __future__ import annotations

import numpy as np

from ..codegen import jacobian_function
from .case import STATE_NAMES, Analysis, Case, simulate_modes, subset
from .local_rate import manifold_distance
from .registry import register
from .report import Check, make_check

__all__ = ["check_stability", "stability_modes", "stability_run"]


def leading_direction(case: Case, modes: dict, i: int) -> tuple[float, np.ndarray]:
    """At the manifold point of mode i: the largest real part among the eigenvalues of the
    Jacobian (tangent zero eigenvalue excluded; < 0 attracts, > 0 repels) and the unit
    eigenvector (real part) that carries it."""
    b = float(modes["b"][i])
    state = [float(modes["a_star"][i]), b, float(modes["b_star"][i] * modes["c_star"][i]) / b]
    params = {p.name: float(modes[p.name][i]) for p in case.ode.parameters}
    values, vectors = np.linalg.eig(jacobian_function(case.ode)(state, params))
    keep = np.argsort(np.abs(values))[1:]
    lead = keep[np.argmax(values[keep].real)]
    v = vectors[:, lead].real
    return float(values[lead].real), v / np.linalg.norm(v)


def stability_modes(case: Case, beta_sign: float, kick: float = 0.05) -> dict:
    """Modes at a* = 0, b* = c* = 1 on three points of the manifold (b = 0.7, 1, 1.4),
    ``beta = 1.5 * beta_sign`` (rflo's sign condition: stable iff beta c > 0 at a* = 0),
    each kicked off the manifold by ``kick`` along its leading eigenvector (the slowest
    decaying or fastest growing direction), so that it decays or grows at one rate.
    Also returns the predicted ``growth`` (largest non-tangent real part) per mode."""
    b = np.array([0.7, 1.0, 1.4])
    one = np.ones_like(b)
    modes = {"a": 0 * one, "b": b, "c": 1.0 / b, "a_star": 0 * one, "b_star": one,
             "c_star": one, "beta": 1.5 * beta_sign * one}
    growth = np.zeros(3)
    for i in range(3):
        growth[i], v = leading_direction(case, modes, i)
        for j, name in enumerate(STATE_NAMES):
            modes[name] = modes[name] + kick * v[j] * (np.arange(3) == i)
    return modes | {"growth": growth}


def stability_run(case: Case, beta_sign: float) -> dict:
    """Simulate the kicked modes; mode i is judged at ``tau_i`` = 3 e-foldings of its
    predicted slowest decay (or 2 of its fastest growth).  Growing modes run one at a
    time, each only to its own ``tau_i``, so that none is driven out of the stable
    region."""
    modes = stability_modes(case, beta_sign, 0.05 if beta_sign > 0 else 0.02)
    growth = modes.pop("growth")
    horizon = np.where(growth > 0, 2.0, 3.0) / np.abs(growth)
    groups = [[0, 1, 2]] if (growth < 0).all() else [[i] for i in range(3)]
    batch, eta = (8, 2e-3) if case.quick else (16, 1e-3)
    ratio, curves = np.zeros(3), []
    for j, idx in enumerate(groups):
        sub = subset(modes, idx)
        run = simulate_modes(case, sub, batch=batch, eta=eta * case.eta_scale,
                             tau_end=float(horizon[idx].max()),
                             seed=case.seed + 21 + 2 * j + int(beta_sign > 0))
        for k, i in enumerate(idx):
            dist = manifold_distance(run.states[:, :, k:k + 1], subset(sub, [k]))
            at = int(np.argmin(np.abs(run.tau - horizon[i])))
            ratio[i] = dist[at] / dist[0]
            curves.append((i, run.tau, dist))
    score = np.where(growth > 0, 1.0 / ratio, ratio)  # < 1: behaved as predicted
    curves.sort(key=lambda c: c[0])
    return {"curves": [(t, d) for _, t, d in curves], "growth": growth, "ratio": ratio,
            "horizon": horizon, "score": score, "b": modes["b"], "beta": modes["beta"]}


@register("stability", inputs=("analysis",), threshold=0.3)
def check_stability(case: Case, analysis: Analysis) -> Check:
    """Worst agreement between predicted and simulated stability; threshold 0.3.

    For each kicked mode: ``d(T)/d(0)`` (distance to the optimal manifold) where the
    linearisation predicts attraction, ``d(0)/d(T)`` where it predicts repulsion, at
    ``T`` = 3 e-foldings of the predicted decay (2 of a growth, beyond which RFLO with the
    wrong sign of beta runs away) along the kicked eigenvector, so agreement gives
    e^-3 = 0.05 (e^-2 = 0.14); the wrong sign of the rate gives 20 (7.4).  When the
    optimal set's stability conditions involve the feedback ``beta`` (RFLO's do), both
    signs of beta are run.
    """
    signs = (1.0, -1.0) if analysis.stability_depends_on("beta") else (1.0,)
    runs = {s: stability_run(case, s) for s in signs}
    worst = max(float(r["score"].max()) for r in runs.values())
    return make_check("stability", worst, 0.3,
                      runs={("beta>0" if s > 0 else "beta<0"): r for s, r in runs.items()})
