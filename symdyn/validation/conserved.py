"""Check ``conserved``: the derived conserved quantities stay constant along simulated
learning, on a long run from unbalanced starts that it shares with ``limit``."""

from __future__ import annotations

import numpy as np
import sympy as sp

from .. import symbols as S
from ..analysis import limit_candidates, predict_limit, slowest_rate
from ..codegen import NO_DOCSTRING
from ..errors import SymdynError
from .case import Analysis, Case, simulate_modes
from .registry import provides, register
from .report import Check, NotApplicable, make_check

__all__ = ["check_conserved", "conserved_modes", "conserved_run", "predicted_limit"]


def conserved_modes(n: int, case: Case) -> dict:
    """Unbalanced starts (``b != c``), so that the conserved quantity picks a non-trivial
    point of the manifold: ``(b, c)`` alternates between (0.3, 0.9) and (0.9, 0.4).
    Teachers with memory (``lam*`` from 0.4 to 0.7) keep the recurrent direction fast at
    small leak."""
    i = np.arange(n)
    b = np.where(i % 2 == 0, 0.3, 0.9)
    c = np.where(i % 2 == 0, 0.9, 0.4)
    return {"a": case.a_of(np.full(n, 0.5)), "b": b, "c": c,
            "a_star": case.a_of(np.linspace(0.4, 0.7, n)), "b_star": np.ones(n),
            "c_star": np.linspace(0.8, 1.2, n), "beta": np.full(n, 1.5)}


def predicted_limit(case: Case, mode: dict, candidates: list[dict]) -> dict | str:
    """The limit point :func:`symdyn.predict_limit` derives for one mode (state names to
    floats), or the reason it cannot: an empty or partial point, or an error."""
    try:
        return predict_limit(case.ode, mode, case.params(mode), candidates).point
    except SymdynError as exc:   # CannotPredict carries the reason
        return str(exc)


@provides("conserved_run", needs=("analysis",))
def conserved_run(case: Case, analysis: Analysis) -> dict:
    """Long run from unbalanced starts, with the predicted limits (a reason instead where
    there is none) and the derived conserved quantities evaluated along it.

    Only the run length comes from the derivation: 6 e-foldings of the slowest rate at
    the predicted limits.  Not applicable when the analysis finds no conserved quantity,
    or no limit for any mode.
    """
    if not analysis.conserved:
        raise NotApplicable("the analysis finds no conserved quantity (polynomial of "
                            "degree <= 2)")
    n, batch, eta = (4, 4, 2e-3) if case.quick else (6, 8, 1e-3)
    modes = conserved_modes(n, case)
    candidates = limit_candidates(case.ode, analysis.conserved, analysis.optimal)
    limits = [predicted_limit(case, {k: float(v[i]) for k, v in modes.items()}, candidates)
              for i in range(n)]
    found = [i for i, lim in enumerate(limits) if isinstance(lim, dict)]
    if not found:
        raise NotApplicable(f"no predicted limit: {limits[0]}")
    params = case.params(modes)
    slowest = min(slowest_rate(case.ode, limits[i] | {k: float(v[i]) for k, v in
                                                       params.items()}) for i in found)
    run = simulate_modes(case, modes, batch=batch, eta=eta * case.eta_scale,
                         tau_end=6.0 / slowest, seed=case.seed + 41)
    args = (*S.STATE, *case.ode.parameters)
    extra = [modes[p.name] for p in case.ode.parameters]
    values = []
    for q in analysis.conserved:
        f = sp.lambdify(args, q, modules="numpy", **NO_DOCSTRING)
        values.append(np.broadcast_to(f(*np.moveaxis(run.states, -1, 0), *extra),
                                      run.states.shape[:-1]).mean(axis=1))  # (n_t, n)
    return {"modes": modes, "run": run, "limits": limits, "quantities": analysis.conserved,
            "values": values}


@register("conserved", inputs=("conserved_run",), threshold=0.05)
def check_conserved(case: Case, conserved_run: dict) -> Check:
    """Largest drift of a derived conserved quantity (replica mean, any mode, any time)
    relative to the largest change of ``b^2 + c^2`` along the same run; threshold 0.05.

    A quantity that is not conserved changes by an amount comparable to the motion
    itself (ratio ~ 1); SGD adds only an O(eta) Ito drift and O(sqrt(eta/replicas))
    noise.  Not applicable to a rule without a derived quadratic invariant.
    """
    data = conserved_run
    states = data["run"].states.mean(axis=1)
    motion = np.abs(states[..., 1] ** 2 + states[..., 2] ** 2
                    - (states[0, :, 1] ** 2 + states[0, :, 2] ** 2)).max()
    drift = max(float(np.abs(v - v[0]).max()) for v in data["values"])
    return make_check("conserved", drift / motion, 0.05, tau=data["run"].tau,
                      values=data["values"], quantities=[str(q) for q in data["quantities"]],
                      motion=float(motion))
