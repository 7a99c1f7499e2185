"""Check ``discrimination``: the trajectory run is closer to its own rule's ODE than to
any other rule's, by a clear factor (a check that passes for the right field must fail
for the wrong ones)."""

from __future__ import annotations

import math

from ..errors import SymdynError
from ..integration import integrate
from ..ode import derive
from ..rules import COMPARED
from .case import Case, initial
from .registry import register
from .report import Check, make_check
from .trajectory import relative_error

__all__ = ["RIVALS", "check_discrimination", "rival_errors", "rivals"]

RIVALS = COMPARED


def rivals(case: Case) -> list[tuple[str, int | None]]:
    """The rules of :data:`RIVALS` (the paper's three) that the case is compared with:
    all but its own.  tBPTT with ``k > 1`` is compared with one-step tBPTT and RFLO but
    not with BPTT, its ``k -> infinity`` limit: their fields differ by the tail
    ``lam^k`` of the trace, which at ``k >= 3`` is below the SGD noise of this setup at
    leak 1 (BPTT's ODE 0.036 and 0.027 from the k = 3 and k = 5 runs, against 0.023 and
    0.026 for their own), so a failure would say nothing about the derivation."""
    name, k = case.ode.rule.name, case.ode.rule.truncation
    out = [r for r in RIVALS if r != (name, k if name == "tbptt" else None)]
    if name == "tbptt" and k > 1:
        out = [r for r in out if r[0] != "bptt"]
    return out


def rival_errors(case: Case, run: dict) -> dict:
    """The main trajectory run ``run`` (smallest eta) against the ODE of every rule in
    :func:`rivals`, derived with :func:`symdyn.derive` and integrated from the same
    start on the same grid: no further simulation.  All errors are relative to the
    distance the case's own ODE travels (as in ``trajectory``), so they compare
    distances in one unit.  A rival ODE that leaves its region (or fails to integrate)
    has error ``inf``.

    Returns ``{"own": label, "errors": {label: max error}, "curves": {label: error per
    time}, "odes": {label: states}}``, the own rule's label included.
    """
    own = case.ode.rule.name
    own_label = own + (f" k={case.ode.rule.truncation}" if own == "tbptt" else "")
    errors, curves, odes = ({own_label: run["max_error"]}, {own_label: run["error"]},
                            {own_label: run["ode"]})
    start, tau = initial(run["modes"]), run["tau"]
    for rule, k in rivals(case):
        label = rule + (f" k={k}" if k else "")
        ode = derive(rule, leak=case.leak, truncation=k)
        params = {p.name: run["modes"][p.name] for p in ode.parameters}
        try:
            states = integrate(ode, start, params, float(tau[-1]),
                               n_eval=len(tau)).require_completed().states
        except SymdynError:
            errors[label], curves[label], odes[label] = math.inf, None, None
            continue
        curve = relative_error(run["sim"], states, run["scale"])
        errors[label], curves[label], odes[label] = float(curve.max()), curve, states
    return {"own": own_label, "errors": errors, "curves": curves, "odes": odes}


@register("discrimination", inputs=("trajectory_runs",), threshold=0.5)
def check_discrimination(case: Case, trajectory_runs: list[dict]) -> Check:
    """``(error against the own ODE) / (smallest error against another rule's ODE)`` on
    the main trajectory run (:func:`rival_errors`); threshold 0.5.

    This asks that the simulation be closer to its own ODE than to every other rule's by
    a clear factor.  Below 0.5 the rival field is off the simulated path by at least the
    own gap again (triangle inequality), i.e. the run resolves the difference between the
    rules; a rival that the run cannot tell apart gives ~1.  On the trajectory setup
    (:func:`~symdyn.validation.trajectory.trajectory_modes`: teachers and student with
    memory) the measured ratio is <= 0.12 at leak 1 and 0.3, quick and full, seeds 0-7;
    the nearest rival is BPTT for tBPTT and vice versa at leak 1 (errors >= 0.24 against
    own errors <= 0.03).  With the earlier setup (``lam* <= 0.6``, student at 0.2) BPTT
    gave 0.55: within a factor 2 of tBPTT's ODE.
    """
    run = trajectory_runs[0]
    data = rival_errors(case, run)
    own = data["errors"][data["own"]]
    others = {k: v for k, v in data["errors"].items() if k != data["own"]}
    nearest = min(others, key=others.get)
    return make_check("discrimination", own / others[nearest], 0.5, nearest=nearest,
                      tau=run["tau"], **data)
