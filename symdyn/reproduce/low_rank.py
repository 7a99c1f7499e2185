"""Low-rank structure of RFLO's weight changes, on full non-aligned networks.

RFLO updates ``Delta W = eta (B e_t) p_t^T`` and ``Delta U = eta (B e_t) q_t^T`` with a
fixed ``N x M`` feedback ``B``: every update is an outer product whose left factor lies in
``col(B)``. A sum of such matrices has its columns in ``col(B)`` as well, so
``rank(W_t - W_0) <= rank(B) <= M`` and likewise for ``U``, for every ``t``, whatever the
alignment. BPTT and tBPTT back-propagate through ``V^T`` and ``W``, which change, so no such
bound holds. Shown by simulation: singular values of ``W_T - W_0`` per rule.
"""

from __future__ import annotations

import numpy as np

from ..plots import LABELS
from ..simulate import random_network, train
from .common import RULES, FigureData, Section

N, D, M, LEAK, ETA = 16, 6, 2, 0.5, 5e-4
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


def spectra(quick: bool = False, seed: int = 0) -> dict:
    """Singular values of ``W_T - W_0`` and ``U_T - U_0`` after online training, per rule."""
    steps = 2000 if quick else 8000
    out: dict = {"N": N, "D": D, "M": M, "leak": LEAK, "eta": ETA, "steps": steps, "rules": {}}
    for rule in RULES:
        net, teacher = random_network(N, D, M, leak=LEAK, batch=1, seed=seed)
        result = train(net, teacher, rule=rule, eta=ETA, n_steps=steps, leak=LEAK, seed=seed,
                       record=("loss",), record_every=steps)
        dW = result.final.W[0] - result.initial.W[0]
        dU = result.final.U[0] - result.initial.U[0]
        out["rules"][rule] = {"W": np.linalg.svd(dW, compute_uv=False),
                              "U": np.linalg.svd(dU, compute_uv=False)}
    out["rank_B"] = int(np.linalg.matrix_rank(net.B_fb[0]))
    return out


def ratio(sv: np.ndarray, m: int) -> float:
    """``sigma_{m+1} / sigma_1``: zero up to round-off iff the rank is at most ``m``."""
    return float(sv[m] / sv[0])


def compute(quick: bool = False) -> Section:
    """The rank argument as text, and the simulated singular-value spectra."""
    sim = spectra(quick)
    ratios = {r: {k: ratio(sim["rules"][r][k], M) for k in ("W", "U")} for r in RULES}
    data = {k: v for k, v in sim.items() if k != "rules"}
    data["singular_values"] = {r: {k: v.tolist() for k, v in s.items()}
                               for r, s in sim["rules"].items()}
    data["sigma_M_plus_1_over_sigma_1"] = ratios
    checks = {
        "RFLO: rank(W_T - W_0) and rank(U_T - U_0) <= M (ratio < 1e-10)":
            max(ratios["rflo"].values()) < 1e-10,
        "BPTT and tBPTT exceed rank M (ratio > 1e-4)":
            min(ratios[r]["W"] for r in ("bptt", "tbptt")) > 1e-4,
    }
    numbers = ", ".join(f"{LABELS[r]} {ratios[r]['W']:.1e}" for r in RULES)
    result = (f"Simulation: dense random student and teacher ($N = {N}$, $D = {D}$, $M = {M}$, "
              f"leak {LEAK}, $\\eta = {ETA}$, {sim['steps']} steps, $\\operatorname{{rank}} B = "
              f"{sim['rank_B']}$). $\\sigma_{{M+1}}/\\sigma_1$ of $W_T - W_0$: {numbers}.")
    latex_body = "\n\n".join([ARGUMENT, r"\begin{align}" + "\n" + BOUND + "\n" + r"\end{align}",
                              NO_BOUND, result])
    md_body = "\n\n".join([ARGUMENT, f"$$\n{BOUND}\n$$", NO_BOUND, result])
    figure = FigureData("singular_values", "singular_values", sim,
                        f"Singular values of $W_T - W_0$ and $U_T - U_0$ on a dense network "
                        f"($M = {M}$): RFLO's drop to round-off after index $M$.")
    return Section("low_rank", "Low-rank structure of RFLO's solutions", latex_body, md_body,
                   data, [figure], checks)
