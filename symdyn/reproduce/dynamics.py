"""Phase portraits of each rule, and learning curves of the ODE against simulation.

Phase portrait: the ``(b, c)`` components of the derived field on the slice ``a = a*``,
with the optimal set ``b c = b* c*`` (a hyperbola), the saddle point ``b = c = 0`` where
the rule has the saddle manifold, and trajectories of the full 3-d ODE (projected on
``(b, c)``). Learning curves: online SGD of a
data-aligned network (``symdyn.simulate``, which never sees the derivation), its loss
against the sum of the modes' stationary losses along the integrated ODE, ``tau = eta t``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from .. import integrate, loss_function, rhs_function
from ..codegen import NO_DOCSTRING, bound_functions
from ..plots import LABELS
from ..validation import Case, simulate_modes
from .common import RULES, TEACHER, FigureData, Section, analysed

BETA = 1.0
STARTS = [(0.0, 0.1, 0.05), (0.0, -1.8, 0.4), (0.0, 1.9, -0.6), (0.0, -0.3, -1.8),
          (0.0, 0.5, 1.9), (0.0, -1.5, -1.6), (0.0, 1.6, 1.8), (0.0, -0.05, 0.15)]
#: Modes of the aligned network for the learning curves: one teacher a* per mode.
A_STARS = (0.5, 0.0, -0.3)
INIT = {"a": 0.0, "b": 0.2, "c": 0.15}


def params_for(rule: str, a_star: float | np.ndarray = TEACHER["a_star"]) -> dict:
    params = {**TEACHER, "a_star": a_star}
    return params | ({"beta": BETA} if rule == "rflo" else {})


def trajectory(ode, start, params: dict, tau_end: float, edge: float = 2.5) -> np.ndarray:
    """The ODE's path from ``start`` until ``tau_end`` or until it leaves the plot.

    ``symdyn.integrate`` has no exit event, and under RFLO trajectories near the unstable
    branch (``beta c < 0``) blow up in finite time, where a stiff solver stalls; so the
    lambdified field (``symdyn.codegen.bound_functions``) is integrated here with a
    terminal event at the plot's edge or near ``|a| = 1`` (the end of the stationary
    region).
    """
    rhs, jac = bound_functions(ode, params)  # parameters checked once, not per step

    def leave(_tau, y):
        return min(edge - max(abs(y[1]), abs(y[2])), 0.95 - abs(y[0]))

    leave.terminal = True
    solution = solve_ivp(lambda _t, y: rhs(y), (0.0, tau_end), np.asarray(start, float),
                         method="LSODA", jac=lambda _t, y: jac(y), events=leave,
                         t_eval=np.linspace(0.0, tau_end, 400), rtol=1e-8, atol=1e-10)
    return solution.y.T


def portrait(rule: str, n: int, tau_end: float) -> dict:
    """Flow on the slice ``a = a*``, fixed-point sets and trajectories of one rule."""
    ode, report = analysed(rule, 1)
    axis = np.linspace(-2.0, 2.0, n)
    B, C = np.meshgrid(axis, axis)
    params = params_for(rule)
    flow = rhs_function(ode)((np.full_like(B, TEACHER["a_star"]), B, C), params)
    trajectories = [trajectory(ode, start, params, tau_end) for start in STARTS]
    return {"rule": rule, "b": axis, "c": axis, "db": flow[1], "dc": flow[2],
            "trajectories": trajectories, "product": TEACHER["b_star"] * TEACHER["c_star"],
            "optimum": optimal_branches(report, params),
            "saddle": any(s.name.startswith("saddle") for s in report),
            "a_star": TEACHER["a_star"], "beta": BETA}


def optimal_branches(report, params: dict, edge: float = 2.0) -> list[dict]:
    """Both branches of the optimal hyperbola ``b c = b* c*`` on the slice ``a = a*``,
    each point marked stable when every derived condition ``g > 0`` of the optimal set
    holds there (an unconditionally stable set is stable everywhere)."""
    optimal = next(s for s in report if s.name.startswith("optimal"))
    product = params["b_star"] * params["c_star"]
    # each condition compiled once, for both branches
    conditions = []
    for g in optimal.conditions:
        names = sorted(g.free_symbols, key=lambda x: x.name)
        conditions.append((names, sp.lambdify(names, g, **NO_DOCSTRING)))
    branches = []
    for sign in (1, -1):
        b = sign * np.linspace(0.02, edge, 400)
        c = product / b
        keep = np.abs(c) <= edge
        point = {**params, "a": params["a_star"], "b": b[keep], "c": c[keep]}
        stable = np.ones(int(keep.sum()), bool)
        for names, condition in conditions:
            values = condition(*(point[x.name] for x in names))
            stable &= np.broadcast_to(np.asarray(values, float) > 0, stable.shape)
        branches.append({"b": b[keep], "c": c[keep], "stable": stable})
    return branches


def learning_curve(rule: str, quick: bool) -> dict:
    """Loss of online SGD (aligned network, 3 modes) vs the ODE prediction; the simulation
    is the validation's :func:`~symdyn.validation.simulate_modes`."""
    eta, tau_end, batch = (4e-3, 20.0, 2) if quick else (2e-3, 20.0, 4)
    n = len(A_STARS)
    ode, _ = analysed(rule, 1)
    modes = {"a": np.full(n, INIT["a"]), "b": np.full(n, INIT["b"]),
             "c": np.full(n, INIT["c"]), "a_star": np.array(A_STARS),
             "b_star": np.full(n, TEACHER["b_star"]), "c_star": np.full(n, TEACHER["c_star"]),
             "beta": np.full(n, BETA)}
    run = simulate_modes(Case(rule, leak=1.0, ode=ode), modes, batch=batch, eta=eta,
                         tau_end=tau_end, n_rec=100, seed=1)
    params = params_for(rule, np.array(A_STARS))
    initial = np.tile([INIT["a"], INIT["b"], INIT["c"]], (n, 1))
    path = integrate(ode, initial, params, tau_end, n_eval=201)
    loss = loss_function(ode)
    ode_loss = sum(loss(path.states[:, i, :].T, {k: (v[i] if isinstance(v, np.ndarray) else v)
                                                 for k, v in params.items()})
                   for i in range(n))
    states = run.states[1:]          # (n_rec, batch, n, 3), after each record window
    return {"rule": rule, "tau_sim": run.tau[1:], "loss_sim": run.loss,
            "tau_ode": path.tau, "loss_ode": np.asarray(ode_loss, float),
            "b_sim": states[..., 1].mean(axis=1), "c_sim": states[..., 2].mean(axis=1),
            "b_ode": path.states[:, :, 1], "c_ode": path.states[:, :, 2],
            "eta": eta, "batch": batch, "steps": run.steps, "a_stars": A_STARS,
            "ode_status": path.message}


def compute(quick: bool = False) -> Section:
    """Phase portraits and learning curves of the three rules."""
    portraits = [portrait(rule, 25 if quick else 41, 40.0) for rule in RULES]
    curves = [learning_curve(rule, quick) for rule in RULES]
    gaps = {}
    for curve in curves:
        # Parameters, not the loss: near the optimum a log-loss axis magnifies the O(eta)
        # parameter differences (loss ~ distance^2), so the loss gap says little there.
        # Only where both exist: the first simulation record is one window after tau = 0.
        inside = curve["tau_ode"] >= curve["tau_sim"][0]
        tau = curve["tau_ode"][inside]
        gaps[curve["rule"]] = float(max(
            np.max(np.abs(np.interp(tau, curve["tau_sim"], curve[f"{k}_sim"][:, i])
                          - curve[f"{k}_ode"][inside, i]))
            for k in ("b", "c") for i in range(len(A_STARS))))
    data = {"portraits": {p["rule"]: {"saddle_marked": p["saddle"],
                                      "trajectories": len(p["trajectories"]),
                                      "end_points": [t[-1].tolist() for t in p["trajectories"]]}
                          for p in portraits},
            "learning_curves": {c["rule"]: {"eta": c["eta"], "batch": c["batch"],
                                            "steps": c["steps"], "a_stars": list(A_STARS),
                                            "final_loss_sim": float(c["loss_sim"][-1]),
                                            "final_loss_ode": float(c["loss_ode"][-1]),
                                            "max_abs_parameter_gap": gaps[c["rule"]]}
                                for c in curves}}
    text = (f"Phase portraits on the slice $a = a^{{*}} = {TEACHER['a_star']}$ "
            f"($b^{{*}} = c^{{*}} = 1$, RFLO $\\beta = {BETA}$) and learning curves of a "
            f"data-aligned network with {len(A_STARS)} modes ($a^{{*}} = "
            f"{', '.join(map(str, A_STARS))}$), online SGD against the ODE. Largest gap of the "
            "mode parameters $b_i, c_i$ (simulation vs ODE) over the run: "
            + ", ".join(f"{LABELS[r]} {g:.2e}" for r, g in gaps.items()) + ".")
    figures = [FigureData("phase_portraits", "phase_portraits", {"panels": portraits},
                          "Flow of $(b, c)$ at $a = a^{*}$ for each rule, the optimal "
                          "hyperbola $b c = b^{*} c^{*}$, the saddle $b = c = 0$ (BPTT, "
                          "tBPTT) and ODE trajectories."),
               FigureData("learning_curves", "learning_curves", {"panels": curves},
                          "Loss of online SGD on an aligned network (dots) against the "
                          "integrated ODE (line), in learning time $\\tau = \\eta t$. At small "
                          "loss the log axis magnifies $O(\\eta)$ parameter differences.")]
    checks = {"simulated mode parameters follow the ODE (gap < 0.1)":
              max(gaps.values()) < 0.1}
    return Section("dynamics", "Phase portraits and learning curves", text, text, data,
                   figures, checks)
