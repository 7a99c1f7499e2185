"""Check ``saddle``: the learning plateau at ``b = c = 0`` where the analysis finds a
saddle there, or the immediate escape where ``b = c = 0`` is no fixed point."""

from __future__ import annotations

import math

import numpy as np

from ..codegen import jacobian_function, loss_function, rhs_function
from .case import Analysis, Case, ode_run, simulate_modes, subset
from .registry import register
from .report import Check, NotApplicable, make_check

__all__ = ["PLATEAU_DROP", "SADDLE_EPS", "check_saddle", "plateau_prediction",
           "saddle_modes"]

SADDLE_EPS = 1e-3   # initial |b| = |c|
PLATEAU_DROP = 0.1  # the plateau ends when the loss has fallen by 10 %


def saddle_modes(case: Case, n: int) -> dict:
    """``n`` identical modes at ``lam = lam* = 0.3``, ``b* = c* = 1``, ``beta = 1``,
    started at ``b = c = SADDLE_EPS``."""
    one = np.ones(n)
    return {"a": case.a_of(0.3 * one), "b": SADDLE_EPS * one, "c": SADDLE_EPS * one,
            "a_star": case.a_of(0.3 * one), "b_star": one, "c_star": one, "beta": one}


def plateau_prediction(case: Case, modes: dict) -> dict:
    """Plateau length from the linearisation at the saddle point ``(a, 0, 0)``.

    With unstable eigenvalue ``mu`` (right/left eigenvectors ``v``, ``w``, ``w.v = 1``)
    the start ``x0`` grows as ``(w.x0) v e^{mu tau}``, and the loss, stationary at the
    saddle, falls quadratically: ``L0 - L = kappa (w.x0)^2 e^{2 mu tau}`` with
    ``kappa = (L0 - L(s v)) / s^2``.  A drop by the fraction ``f`` takes
    ``tau_pred = ln(f L0 / (kappa (w.x0)^2)) / (2 mu)``.
    """
    a0 = float(modes["a"][0])
    params = {p.name: float(modes[p.name][0]) for p in case.ode.parameters}
    jac = jacobian_function(case.ode)([a0, 0.0, 0.0], params)
    values, right = np.linalg.eig(jac)
    lead = int(np.argmax(values.real))
    mu, v = float(values[lead].real), right[:, lead].real
    w = np.linalg.inv(right)[lead].real
    x0 = np.array([0.0, modes["b"][0], modes["c"][0]])
    loss = loss_function(case.ode)
    L0 = float(loss([a0, 0.0, 0.0], params))
    s = 1e-4
    kappa = (L0 - float(loss([a0 + s * v[0], s * v[1], s * v[2]], params))) / s**2
    amp = float(w @ x0)
    tau = math.log(PLATEAU_DROP * L0 / (kappa * amp**2)) / (2 * mu)
    return {"mu": mu, "eigenvalues": values, "kappa": kappa, "L0": L0, "tau_pred": tau}


def first_below(tau: np.ndarray, loss: np.ndarray, level: float) -> float:
    """First time after which ``loss`` stays below ``level``: the last crossing, so that
    window-to-window noise on the plateau cannot end it early."""
    above = np.flatnonzero(loss >= level)
    if not above.size:
        return float(tau[0])
    return float(tau[above[-1] + 1]) if above[-1] + 1 < len(tau) else float("inf")


@register("saddle", inputs=("analysis",), threshold=0.15)
def check_saddle(case: Case, analysis: Analysis) -> Check:
    """Where the fixed-point analysis has a saddle set through ``(a, 0, 0)``:
    ``|tau_sim / tau_pred - 1|`` for the plateau length (loss within 10 % of its initial
    value), threshold 0.15: the linear prediction misses only the O(1) nonlinear end of a
    plateau of ``ln(1/eps^2)/(2 mu)``, ~14 time units per mu.  Where ``b = c = 0`` is no
    fixed point (RFLO: its feedback ``beta`` does not vanish there):
    ``|db_sim / db_ode - 1|`` over the first 0.2 / alpha^2 of learning time, where
    ``db_ode`` is the derived velocity times that time, threshold 0.15.  A fixed point
    there that is no saddle makes the check not applicable.
    """
    modes = saddle_modes(case, 1)
    point = {k: float(v[0]) for k, v in modes.items()} | {"b": 0.0, "c": 0.0}
    if analysis.saddle_at(point) is not None:
        return _plateau(case)
    velocity = rhs_function(case.ode)([point["a"], 0.0, 0.0], case.params(point))
    if np.max(np.abs(velocity)) < 1e-12:
        raise NotApplicable("b = c = 0 is a fixed point but the analysis finds no saddle "
                            "there")
    return _escape(case)


def _plateau(case: Case) -> Check:
    """The plateau at the saddle (see :func:`check_saddle`)."""
    n, batch, eta = (4, 8, 2e-3) if case.quick else (8, 16, 1e-3)
    modes = saddle_modes(case, n)
    pred = plateau_prediction(case, modes)
    run = simulate_modes(case, modes, batch=batch, eta=eta * case.eta_scale,
                         tau_end=1.5 * pred["tau_pred"], n_rec=300, seed=case.seed + 31)
    level = (1 - PLATEAU_DROP) * run.loss[:5].mean()
    tau_sim = first_below(run.loss_tau, run.loss, level)
    ode = ode_run(case, subset(modes, [0]), run.tau)[:, 0]
    params = case.params({k: v[0] for k, v in modes.items()})
    ode_loss = loss_function(case.ode)(ode.T, params) * n  # the network loss sums its modes
    tau_ode = first_below(run.tau, ode_loss, (1 - PLATEAU_DROP) * ode_loss[0])
    return make_check("saddle", abs(tau_sim / pred["tau_pred"] - 1), 0.15, tau_sim=tau_sim,
                      tau_ode=tau_ode, **pred, tau=run.tau, loss_tau=run.loss_tau,
                      loss=run.loss, ode_loss=ode_loss,
                      b=run.states[..., 1].mean(axis=(1, 2)))


def _escape(case: Case) -> Check:
    """The immediate escape from ``b = c = 0`` (see :func:`check_saddle`)."""
    n, batch, eta = (4, 8, 1e-3) if case.quick else (8, 16, 5e-4)
    modes = saddle_modes(case, n)
    tau_end = 0.2 * case.horizon
    run = simulate_modes(case, modes, batch=batch, eta=eta * case.eta_scale,
                         tau_end=tau_end, n_rec=50, seed=case.seed + 33)
    ode = ode_run(case, subset(modes, [0]), run.tau)[:, 0]
    moved = run.states[-1, ..., 1].mean() - SADDLE_EPS
    expected = ode[-1, 1] - SADDLE_EPS
    return make_check("saddle", abs(moved / expected - 1), 0.15, moved=moved,
                      expected=expected, beta_bc_star=1.0, tau=run.tau,
                      b=run.states[..., 1].mean(axis=(1, 2)), ode_b=ode[:, 1])
