"""Check ``meanfield``: the matrix mean-field ODE (symdyn.meanfield) against online SGD on a
dense non-aligned network, where the per-mode ODE does not apply.

The matrix ODE is derived numerically from the rule's definition (Stein equations), the
SGD runs come from the simulator; the check asks whether the ODE stays inside the cloud
of ``batch`` SGD runs from the same start (see symdyn.meanfield.compare).
"""

from __future__ import annotations

from ..meanfield.compare import compare_with_simulation
from ..simulate import RULES as SIMULATED_RULES
from .case import Case
from .registry import register
from .report import Check, NotApplicable, make_check

__all__ = ["check_meanfield"]

#: N = 32, D = M = 4 as in the issue; quick runs learn for a quarter of the time (2000
#: steps: RTRL's batched (N x N) @ (N x N^2) product per step made BPTT's SGD runs 3.3 of
#: the section's 7.8 CPU s at tau_end = 2).  Calibrated over seeds 0-7: at tau_end = 1 the
#: same seeds pass as at 2 (all but RFLO's seed 1, whose SGD diverges at either length),
#: with worst distance <= 0.87 spreads (< 2.5) and loss within 22 % (< 25 %); flipping
#: RFLO's feedback sign in the matrix ODE fails every seed (worst 10-23 spreads).
#: N = 16 and 24 for all rules were tried: RFLO's dense random feedback drives rho(J) to 1
#: on 2-3 seeds.
#: tau_end = 0.75 was tried too: the loss criterion fails on seeds 3 (BPTT, 25.1 %) and 7
#: (RFLO, 27.0 %), SGD's O(eta) excess loss weighing more early on.
SIZES = {False: {"n_hidden": 32, "eta": 5e-4, "tau_end": 4.0},
         True: {"n_hidden": 32, "eta": 5e-4, "tau_end": 1.0}}
#: The quick run's BPTT at N = 16 and eta = 2.5e-4 (4000 steps to tau = 1): its RTRL costs
#: O(N^4) a step, and at N = 16 it runs compiled: the quick BPTT comparison took 1.7-1.8
#: CPU s (1.5 of them SGD) at N = 32, now ~0.3.  Calibrated over seeds 0-7: all pass, as at
#: N = 32 (worst <= 1.11 spreads against 0.48-0.71 at N = 32, loss within 21 % against
#: 22 %).  At eta = 5e-4, N = 16 failed two seeds (SGD diverges on seed 1; seed 4's loss
#: is off by 37 %).  Wrong BPTT fields still fail every seed: the feedback's sign flipped
#: (worst 7-20 spreads, or the ODE leaves the stable region), a window of one step
#: (worst 4.7-11, loss off by 57-87 %) and half the trace, kappa = J/2 (worst 2.7-6.8,
#: loss off by 33-79 %).
QUICK_BPTT = {"n_hidden": 16, "eta": 2.5e-4}


def sizes(rule: str, quick: bool) -> dict:
    """``n_hidden``, ``eta`` and ``tau_end`` of the check for ``rule`` (see SIZES)."""
    return {**SIZES[quick], **(QUICK_BPTT if quick and rule == "bptt" else {})}


@register("meanfield", threshold=2.5)
def check_meanfield(case: Case) -> Check:
    """``max_tau |mean SGD - ODE| / spread`` over the record times (< 2.5), with the ODE's
    window-mean loss within 25 % of SGD's (SGD's O(eta) excess loss is ~5-13 % here).

    The network is ``random_network(seed = case.seed + 2)`` (dense, radius 0.5, teacher
    0.8).  RFLO's dense random feedback can push rho(J) towards 1: with seed 0 the matrix
    ODE itself leaves the stable region within tau ~ 0.1 (and SGD diverges); on other
    seeds the ODE passes close to rho = 1 and SGD at this eta crosses it (``rho_max`` of
    the ODE in the details says how close).
    """
    if case.rule not in SIMULATED_RULES:
        raise NotApplicable(f"no matrix simulator for {case.rule!r}")
    r = compare_with_simulation(case.rule, case.leak, n_input=4, n_output=4, batch=4,
                                truncation=case.k, seed=case.seed + 2,
                                **sizes(case.rule, case.quick))
    if r["sim_status"] != "ok" or r["status"] != "ok":
        return make_check("meanfield", float("nan"), 2.5, "<",
                          require=(False, f"ODE {r['status']}, SGD {r['sim_status']}"), run=r)
    return make_check("meanfield", r["worst"], 2.5, "<",
                      require=(r["loss_rel"] < 0.25,
                               f"loss off by {r['loss_rel']:.0%} (> 25 %)"), run=r)
