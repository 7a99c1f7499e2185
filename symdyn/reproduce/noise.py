"""Finite learning rate: critical step size, stationary fluctuations, diffusion on the manifold.

Three results of :mod:`symdyn.analysis.fluctuations` (theory in docs/theory.md, 'Finite
learning rate'): the critical learning rate ``eta_c = min 2 |Re mu| / |mu|^2`` of the mean
map on the optimal manifold against the feedback ``beta``; the stationary transverse
variance of online SGD with label noise against the linear-noise approximation (LNA); and
the first-order diffusion ``eta tau l^T D l`` along the manifold. The simulations are the
validation's own checks (:mod:`symdyn.validation.noise_stationary`, ``critical_rate``,
:mod:`symdyn.validation.noise_diffusion`), run here once: the paper's validation section
leaves them to this one (:data:`symdyn.reproduce.validation.IN_OTHER_SECTIONS`).
"""

from __future__ import annotations

import os

import numpy as np

from ..analysis.fluctuations import (
    critical_learning_rate,
    critical_rate_versus_beta,
    noise_induced_drift,
    optimal_point,
)
from ..plots import LABELS
from ..validation.case import Case
from ..validation.critical_rate import critical_rate_checks
from ..validation.noise_diffusion import check_manifold_diffusion
from ..validation.noise_setup import manifold_point
from ..validation.noise_stationary import (
    check_excess_loss,
    check_noise_stationary,
    stationary_runs,
)
from .common import RULES, FigureData, Section

#: Diffusion cases: the paper's three rules and tBPTT with a two-step window.
DIFFUSION = {"bptt": ("bptt", None), "tbptt": ("tbptt", 1), "rflo": ("rflo", None),
             "tbptt_k2": ("tbptt", 2)}
NAMES = LABELS
A_STARS = (0.0, 0.5)

INTRO = (r"Online learning takes steps $\theta \leftarrow \theta + \eta g_t$ with "
         r"$E[g_t] = f(\theta)$, the derived field, and long-run update covariance "
         r"$D(\theta)$ (label noise $\sigma$). Near the optimal manifold three things follow "
         r"(see docs/theory.md, 'Finite learning rate'): the mean map is stable for "
         r"$\eta < \eta_c = \min_i 2|\mathrm{Re}\,\mu_i|/|\mu_i|^2$ over the non-zero "
         r"eigenvalues of the Jacobian $J$; transverse to the manifold the weights fluctuate "
         r"with covariance $S$, $J S + S J^\top + \eta D = 0$ (linear-noise approximation); "
         r"along it, $\phi = l^\top \theta$ ($l$ the left null vector of $J$) has no "
         r"first-order drift and diffuses as $\mathrm{Var}\,\phi = \eta \tau\, l^\top D l$.")


def rate_curves(odes: list, quick: bool) -> dict:
    """``eta_c`` on the manifold at ``b = 1`` against ``beta``, for each ``a*`` (``odes``
    in the order of ``RULES``)."""
    betas = np.linspace(0.1, 3.0, 30 if quick else 80)
    out = {"beta": betas, "a_star": list(A_STARS)}
    for a_star in A_STARS:
        table = critical_rate_versus_beta(odes, betas, 1.0,
                                          {"a_star": a_star, "b_star": 1.0, "c_star": 1.0})
        out[a_star] = {rule: np.array(v) for rule, v in zip(RULES, table.values(), strict=True)}
    return out


def drifts(odes: dict) -> dict:
    """Second-order drift ``db/dtau`` along the manifold (sigma = 0.6, eta = 0.01), at
    ``b = 1`` and, to show BPTT's pull towards balance, at ``b = 1.5``."""
    out = {}
    for b in (1.0, 1.5):
        for rule in RULES:
            ode = odes[rule]
            point = optimal_point(ode, b, {"a_star": 0.3, "b_star": 1.0, "c_star": 1.0,
                                           "beta": 1.0})
            d = noise_induced_drift(ode, point, 0.6, 0.01)[0]
            out[f"{rule} b={b:g}"] = {"quantity": str(d.quantity), "dQ_dtau": d.rate,
                                      "db_dtau": d.db_dtau, "pathwise": d.pathwise}
    return out


def compute(quick: bool = False) -> Section:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    cases = {key: Case(rule, k, 1.0, 0, quick) for key, (rule, k) in DIFFUSION.items()}
    curves = rate_curves([cases[r].ode for r in RULES], quick)
    # the validation's large-batch runs at 0.8 and 1.25 eta_c (a* = 0, beta = 1), the
    # three rules' side by side (they share their inputs)
    large = dict(zip(RULES, critical_rate_checks([cases[r] for r in RULES]), strict=True))
    curves["large_batch"] = {r: {"eta_c": c.details["eta_c"],
                                 "converged": c.details["converged"]} for r, c in large.items()}
    runs = {r: stationary_runs(cases[r]) for r in RULES}
    stat = {r: check_noise_stationary(cases[r], runs[r]) for r in RULES}
    excess = {r: check_excess_loss(cases[r], runs[r]) for r in RULES}
    diff = {key: check_manifold_diffusion(c) for key, c in cases.items()}
    point = manifold_point(cases["bptt"])
    eta_c = {r: critical_learning_rate(cases[r].ode, point).eta_c for r in RULES}
    drift = drifts({r: cases[r].ode for r in RULES})
    i1 = int(np.argmin(np.abs(curves["beta"] - 1.0)))
    checks = {f"{NAMES[r]}: stationary transverse variance within 15 % of the LNA":
              stat[r].passed for r in RULES}
    checks.update({f"{NAMES[r]}: stationary excess loss within 15 % of 1/2 tr(H S)":
                   excess[r].passed for r in RULES})
    checks.update({f"{NAMES[r]}: large-batch SGD converges at 0.8 eta_c, not at 1.25 eta_c":
                   c.passed for r, c in large.items()})
    checks.update({f"{NAMES[k]}: diffusion along the manifold as predicted "
                   f"({'zero' if abs(d.details['predicted']) < 1e-12 else 'non-zero'})":
                   d.passed for k, d in diff.items()})
    checks["BPTT and RFLO: no first-order diffusion (l^T D l = 0); tBPTT k=2: l^T D l > 0"] = (
        abs(diff["bptt"].details["predicted"]) < 1e-12
        and abs(diff["rflo"].details["predicted"]) < 1e-12
        and diff["tbptt_k2"].details["predicted"] > 1e-6)
    data = {"eta_c_vs_beta": {str(a): {r: curves[a][r] for r in RULES} for a in A_STARS},
            "beta": curves["beta"], "eta_c_at_beta_1": {
                str(a): {r: float(curves[a][r][i1]) for r in RULES} for a in A_STARS},
            "eta_c_at_point": eta_c, "large_batch": curves["large_batch"], "point": point,
            "stationary": {r: _runs_data(s) for r, s in stat.items()},
            "excess_loss": {r: {"metric": e.metric, "threshold": e.threshold,
                                "measured": e.details["measured"],
                                "predicted": e.details["predicted"]}
                            for r, e in excess.items()},
            "diffusion": {k: {x: d.details[x] for x in ("measured", "predicted", "reference",
                                                        "eta")} | {"metric": d.metric}
                          for k, d in diff.items()},
            "drift": drift}
    figures = _figures(curves, stat, diff, point)
    body = "\n\n".join([INTRO, _rate_text(data), _stat_text(stat, eta_c),
                        _diff_text(diff), _drift_text(drift)])
    rows = _rows(data)
    md = ["| " + " | ".join(HEADER) + " |", "|---|---|---|---|---|"]
    md += ["| " + " | ".join(row) + " |" for row in rows]
    tex = ("\\begin{center}\\begin{tabular}{lrrrr}\n" + " & ".join(HEADER) + "\\\\\\hline\n"
           + "\\\\\n".join(" & ".join(row).replace("%", "\\%") for row in rows)
           + "\n\\end{tabular}\\end{center}")
    return Section("noise", "Finite learning rate", body + "\n\n" + tex,
                   body + "\n\n" + "\n".join(md), data, figures, checks)


def _runs_data(check) -> dict:
    runs = check.details["runs"]
    keys = ("eta", "sigma", "measured", "sem", "predicted")
    z = [np.abs(r["measured"] - r["predicted"]) / r["sem"] for r in runs]
    return {"runs": [{k: r[k] for k in keys} for r in runs], "max_error": check.metric,
            "max_z": float(np.max(z)), "slope_spread": check.details["slope_spread"]}


def _figures(curves, stat, diff, point) -> list[FigureData]:
    rates = FigureData("noise_critical_rate", "critical_rate_vs_beta", curves,
                       r"Critical learning rate $\eta_c$ of the mean map on the optimal "
                       r"manifold ($b = c = 1$, $b^* c^* = 1$, leak 1) against the feedback "
                       r"$\beta$, at $a^* = 0$ and $a^* = 0.5$. BPTT and tBPTT do not use "
                       r"$\beta$. Marks at $\beta = 1$: large-batch SGD at $0.8\,\eta_c$ "
                       r"(filled: converged) and $1.25\,\eta_c$ (cross: diverged).")
    variance = FigureData("noise_stationary_variance", "stationary_variance",
                          {r: s.details["runs"] for r, s in stat.items()},
                          r"Stationary variance of $a - a^*$ and $bc - b^*c^*$ against "
                          r"$\eta$ ($a^* = 0.3$, $\sigma = 0.3, 0.6$): LNA (lines) and online "
                          r"SGD (points, error bars: standard error over independent runs). At "
                          r"$\beta = 1$ tBPTT (k=1) and RFLO coincide.")
    spread = FigureData("noise_manifold_diffusion", "manifold_diffusion",
                        {k: {x: d.details[x] for x in ("tau", "phi_var", "paths", "predicted",
                                                       "eta", "reference")}
                         for k, d in diff.items()},
                        r"Diffusion along the optimal manifold ($a^* = 0.3$, $\sigma = 1$, "
                        r"$\eta = 0.0025$). Left: paths of $\phi = l^\top(\theta - \theta_0)$; "
                        r"right: $\mathrm{Var}\,\phi$ across runs (points) and "
                        r"$\eta\tau\, l^\top D l$ (lines): zero for BPTT, tBPTT (k=1) and "
                        r"RFLO, non-zero for tBPTT (k=2). RFLO's and tBPTT (k=1)'s paths move "
                        r"together: the second-order drift, not diffusion.")
    return [rates, variance, spread]


def _zero(x: float) -> float:
    """``x``, or 0 where it is zero to rounding (drifts are O(1e-3) here)."""
    return 0.0 if abs(x) < 1e-12 else x


def _coef(d: dict) -> str:
    """``l^T D l``, printed as 0 where it is zero to rounding (relative to the reference)."""
    return "0" if abs(d["predicted"]) < 1e-12 * d["reference"] else f"{d['predicted']:.3g}"


def _large_text(large: dict) -> str:
    ok = [NAMES[r] for r, v in large.items() if v["converged"][0.8] and not v["converged"][1.25]]
    return (", ".join(ok) if ok else "no rule") + f" ({len(ok)} of {len(large)})"


def _rate_text(data: dict) -> str:
    at1 = data["eta_c_at_beta_1"]
    parts = [f"$a^* = {float(a):g}$: "
             + ", ".join(f"{NAMES[r]} {v:.4g}" for r, v in at1[a].items()) for a in at1]
    return (r"Critical learning rate at $\beta = 1$ (manifold point $b = c = 1$): "
            + "; ".join(parts) + ". Large-batch SGD (the mean map estimated by simulation, "
            r"$a^* = 0$, $\beta = 1$) converges at $0.8\,\eta_c$ and diverges at "
            r"$1.25\,\eta_c$ for " + _large_text(data["large_batch"])
            + ". RFLO's $\\eta_c$ falls with $\\beta$ (at $a^* = 0$ it is "
            r"$\min(2/(b\beta),\, 2b/(b^3 + \beta))$); BPTT and tBPTT do not depend on it.")


def _stat_text(stat: dict, eta_c: dict) -> str:
    parts = []
    for r, s in stat.items():
        z = _runs_data(s)["max_z"]
        parts.append(f"{NAMES[r]} largest error {100 * s.metric:.1f}\\% ({z:.1f} standard "
                     f"errors), spread of variance$/\\eta$ over $\\eta$ "
                     f"{100 * s.details['slope_spread']:.1f}\\%")
    ratio = max(0.01 / v for v in eta_c.values())
    return ("Stationary transverse variance, online SGD (one mode, 128 runs quick / 256 "
            r"full, $\eta \in \{0.0025, 0.005, 0.01\}$, $a^* = 0.3$) against the LNA: "
            + "; ".join(parts) + f". At these rates ($\\eta/\\eta_c \\le {ratio:.3f}$) the "
            "LNA holds to the runs' statistical precision (12 variances per rule); the "
            "comparison does not reach rates where it fails.")


def _diff_text(diff: dict) -> str:
    parts = [f"{NAMES[k]} measured {d.details['measured']:.3g}, predicted "
             f"{_coef(d.details)}" for k, d in diff.items()]
    ref = diff["bptt"].details["reference"]
    return (r"Diffusion rate along the manifold, $\mathrm{Var}\,\phi/(\eta\tau)$ against "
            r"$l^\top D l$: " + "; ".join(parts) + f" (reference $|l|^2 \\lambda_{{max}}(D)$ "
            f"= {ref:.3g}). BPTT's noise is orthogonal to the manifold ($l = r$ and the "
            "output is constant along it); RFLO's and one-step tBPTT's is confined to the "
            "level sets of their conserved quantity, so neither diffuses at first order. "
            "tBPTT with $k = 2$ has no such identity and diffuses.")


def _drift_text(drift: dict) -> str:
    parts = [f"{NAMES[k.split()[0]]} at ${k.split()[1]}$: {_zero(v['db_dtau']):.2g}"
             for k, v in drift.items()]
    return (r"What moves the weights along the manifold is second order in $\eta$: the "
            r"drift of the conserved quantity, $\eta/2\,\mathrm{tr}(\mathrm{Hess}\,Q\, "
            r"E[g g^\top])$, gives $db/d\tau$ ($\sigma = 0.6$, $\eta = 0.01$) "
            + "; ".join(parts) + ". BPTT is pulled to balance $b = c$ (no drift at "
            "$b = 1$, back towards it from $b = 1.5$); RFLO's $b$ only grows, where $\\eta_c$ "
            "falls, so a fixed $\\eta$ eventually becomes unstable. The theory stops being "
            "accurate (i) when $\\eta$ nears $\\eta_c$, (ii) over times "
            r"$\tau \sim 1/(\eta \sigma^2)$, when the second-order drift has moved the point "
            "to where $D$ and $J$ differ (the stationary comparison predicts at the point "
            "reached), (iii) in networks of many modes, where off-mode weights add "
            r"$O(\eta N)$ error.")


HEADER = ("rule", r"$\eta_c$ ($a^*=0$, $\beta=1$)", r"$\eta_c$ ($a^*=0.5$, $\beta=1$)",
          r"$l^\top D l$", "LNA max error")


def _rows(data: dict) -> list[list[str]]:
    """The key numbers: eta_c, first-order diffusion coefficient, LNA accuracy."""
    rows = [[NAMES[r], f"{data['eta_c_at_beta_1']['0.0'][r]:.4g}",
             f"{data['eta_c_at_beta_1']['0.5'][r]:.4g}",
             _coef(data["diffusion"][r]),
             f"{100 * data['stationary'][r]['max_error']:.1f} %"] for r in RULES]
    return rows + [[NAMES["tbptt_k2"], "", "", _coef(data["diffusion"]["tbptt_k2"]),
                    ""]]
