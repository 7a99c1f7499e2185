"""Low-rank structure of RFLO's weight changes, on full non-aligned networks.

RFLO updates ``Delta W = eta (B e_t) p_t^T`` and ``Delta U = eta (B e_t) q_t^T`` with a
fixed ``N x M`` feedback ``B``: every update is an outer product whose left factor lies in
``col(B)``. A sum of such matrices has its columns in ``col(B)`` as well, so
``rank(W_t - W_0) <= rank(B) <= M`` and likewise for ``U``, for every ``t``, whatever the
alignment. BPTT and tBPTT back-propagate through ``V^T`` and ``W``, which change, so no such
bound holds. Shown by simulation: singular values of ``W_T - W_0`` per rule.
"""

from __future__ import annotations

from ..plots import LABELS
from ..validation import make_case, run_checks
from ..validation.low_rank import LOW_RANK_SIZES
from .common import RULES, FigureData, Section

ARGUMENT = (
    r"RFLO's updates are $\Delta W = \eta\,(B e_t)\,p_t^{\top}$ and "
    r"$\Delta U = \eta\,(B e_t)\,q_t^{\top}$ with the fixed feedback $B \in "
    r"\mathbb{R}^{N\times M}$. Each is an outer product whose left factor lies in the column "
    r"space of $B$, and so does every column of their sum. Hence, for every $t$ and any "
    r"(not necessarily aligned) network,"
)
BOUND = (r"\operatorname{rank}(W_t - W_0) \le \operatorname{rank} B \le M, \qquad "
         r"\operatorname{rank}(U_t - U_0) \le M.")
NO_BOUND = (r"BPTT and tBPTT propagate the error through $V^{\top}$ and $W$, which change "
            r"during learning, so their updates span growing subspaces: no such bound.")


def low_rank_checks(quick: bool, seed: int = 0) -> dict:
    """The validation's ``low_rank`` check of every rule at leak 1: one implementation of
    the experiment (:mod:`symdyn.validation.low_rank`, its sizes and thresholds), trained
    once per rule in this process.  ``symdyn paper`` leaves the check out of its
    validation section and reports it here."""
    return {rule: run_checks(make_case(rule, None, 1, seed, quick), ["low_rank"])[0]
            for rule in RULES}


def compute(quick: bool = False) -> Section:
    """The rank argument as text, and the simulated singular-value spectra."""
    checks_by_rule = low_rank_checks(quick)
    runs = next(iter(checks_by_rule.values())).details["runs"]
    sizes = LOW_RANK_SIZES[quick]
    M = sizes["n_output"]
    sim = {"N": sizes["n_hidden"], "D": sizes["n_input"], "M": M,
           "leak": 1.0, "steps": int(runs["bptt"]["steps"][-1]),
           "rules": {r: runs[r]["sv"] for r in RULES}}
    ratios = {r: runs[r]["ratio"] for r in RULES}
    data = {k: v for k, v in sim.items() if k != "rules"}
    data["singular_values"] = {r: {k: v.tolist() for k, v in s.items()}
                               for r, s in sim["rules"].items()}
    data["sigma_M_plus_1_over_sigma_1"] = ratios
    data["loss_reduction"] = {r: runs[r]["reduction"] for r in RULES}
    data["checks"] = {r: c.to_dict() for r, c in checks_by_rule.items()}
    checks = {f"{LABELS[r]}: {_sentence(c)}": c.passed for r, c in checks_by_rule.items()}
    numbers = ", ".join(f"{LABELS[r]} {ratios[r]['W']:.1e}" for r in RULES)
    result = (f"Simulation: dense random student and teacher ($N = {sim['N']}$, "
              f"$D = {sim['D']}$, $M = {M}$, leak 1, {sim['steps']} steps of online learning; "
              f"the validation's low-rank check). $\\sigma_{{M+1}}/\\sigma_1$ "
              f"of $W_T - W_0$: {numbers}.")
    latex_body = "\n\n".join([ARGUMENT, r"\begin{align}" + "\n" + BOUND + "\n" + r"\end{align}",
                              NO_BOUND, result])
    md_body = "\n\n".join([ARGUMENT, f"$$\n{BOUND}\n$$", NO_BOUND, result])
    figure = FigureData("singular_values", "singular_values", sim,
                        f"Singular values of $W_T - W_0$ and $U_T - U_0$ on a dense network "
                        f"($M = {M}$): RFLO's drop to round-off after index $M$.")
    return Section("low_rank", "Low-rank structure of RFLO's solutions", latex_body, md_body,
                   data, [figure], checks)


def _sentence(check) -> str:
    """What the low-rank check asserted, in words."""
    bound = "<" if check.sense == "<" else ">"
    return f"sigma_(M+1) / sigma_1 {bound} {check.threshold:g} (and BPTT cut its loss by 90 %)"
