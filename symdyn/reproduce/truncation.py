"""Truncation sweep: tBPTT with window k between one-step tBPTT (k = 1) and BPTT (leak 1).

tBPTT(k) keeps the first k terms of BPTT's eligibility trace,
``s_t = sum_{j<k} lam^j alpha h_{t-1-j}``, so the dropped tail is ``lam^k`` times a trace
of the past. For every ``k = 1..K`` the ODE is derived (``symdyn.derive("tbptt", 1,
truncation=k)``) and analysed like the paper's rules:

* fixed-point sets (``symdyn.fixed_points``): the optimal manifold ``{a = a*, b c = b* c*}``
  and the saddle manifold ``{b = c = 0}`` must persist for every k, with BPTT's equations;
* the convergence rate at points of the optimal manifold (``a = a*``, ``b = 1``,
  ``c = b* c*/b``) from numeric eigenvalues (``convergence_rate(ode).at``), checked against
  the closed form, and compared with BPTT's rate at the same points;
* the sup-norm distance between the tBPTT(k) and BPTT right-hand sides on grids of stable
  points with ``|a|, |a*| <= L``, against k on a log scale. The dropped tail ``lam^k s`` is
  correlated with the error through a second geometric factor (``lam`` or ``lam*``), so
  the distance is expected to shrink like ``(|lam| max(|lam|, |lam*|))^k``, i.e. ``L^{2k}``
  on the grid; the per-step ratio is fitted (least squares on ``log`` distance against k)
  and compared with ``L`` and ``L^2``.
"""

from __future__ import annotations

import numpy as np

from .. import convergence_rate, derive, fixed_points, rhs_function
from .. import symbols as S
from ..analysis import FixedPointReport
from ..analysis.evaluate import evaluate
from ..latex import tex
from ..ode import LearningODE
from .common import TEACHER, FigureData, Section, align, analysed, md_math

#: Points on the optimal manifold where rates are compared: a = a*, b = 1, c = b* c* / b.
A_STARS = (0.5, 0.8)
#: Half-widths L of the grids |a|, |a*| <= L on which the right-hand sides are compared.
GRID_L = (0.3, 0.5, 0.7)


def windows(quick: bool) -> list[int]:
    return list(range(1, 5 if quick else 7))


def manifold_point(a_star: float) -> dict:
    b = 1.0
    return {"a": a_star, "b": b, "c": TEACHER["b_star"] * TEACHER["c_star"] / b,
            **TEACHER, "a_star": a_star}


def analysed_k(k: int) -> tuple[LearningODE, FixedPointReport]:
    """The tBPTT(k) ODE at leak 1 and its fixed points (k = 1 shared with the other sections)."""
    if k == 1:
        return analysed("tbptt", 1)
    ode = derive("tbptt", 1, truncation=k)
    return ode, fixed_points(ode)


def set_summary(report: FixedPointReport) -> dict:
    """Name -> (equations, dimension, classification) of every fixed-point set."""
    return {s.name: {"equations": [str(e) for e in s.equations], "dimension": s.dimension,
                     "classification": s.classification} for s in report}


def rate_at(rate, point: dict) -> tuple[float, float]:
    """Numeric (eigenvalues) and closed-form rate at ``point``."""
    closed = evaluate([rate.rate], {S.PUBLIC[k]: v for k, v in point.items()})[0].real
    return rate.at(point), closed


def distance_grid(L: float, n: int, m: int) -> tuple[tuple, dict]:
    """Stable points with |a|, |a*| <= L (lam = a at leak 1) and b, c, b*, c* in [-1.5, 1.5]."""
    lam = np.linspace(-L, L, n)
    w = np.linspace(-1.5, 1.5, m)
    a, a_star, b, c, b_star, c_star = np.meshgrid(lam, lam, w, w, w, w, indexing="ij")
    return (a, b, c), {"a_star": a_star, "b_star": b_star, "c_star": c_star}


def sup_distances(odes: dict[int, LearningODE], bptt: LearningODE, quick: bool) -> dict:
    """max over the grid and components of |rhs_k - rhs_BPTT|, per L and k, with the fit."""
    f_bptt = rhs_function(bptt)
    f_k = {k: rhs_function(ode) for k, ode in odes.items()}
    ks = np.array(sorted(odes))
    out = {}
    for L in GRID_L:
        state, params = distance_grid(L, 7 if quick else 9, 5)
        reference = f_bptt(state, params)
        dist = np.array([float(np.max(np.abs(f_k[k](state, params) - reference))) for k in ks])
        fit = ks >= 2 if len(ks) > 2 else np.ones_like(ks, bool)  # k = 1 is pre-asymptotic
        slope, intercept = np.polyfit(ks[fit], np.log(dist[fit]), 1)
        out[L] = {"k": ks, "distance": dist, "fitted_ratio": float(np.exp(slope)),
                  "fitted_intercept": float(intercept),
                  "successive_ratios": dist[1:] / dist[:-1]}
    return out


def gap_ratio(gaps: np.ndarray, ks: np.ndarray) -> float:
    """Per-step ratio of the rate gap to BPTT, fitted on k >= 2 (log-linear)."""
    keep = (ks >= 2) & (gaps > 0)
    if keep.sum() < 2:
        keep = gaps > 0
    return float(np.exp(np.polyfit(ks[keep], np.log(gaps[keep]), 1)[0]))


def compute(quick: bool = False) -> Section:
    """Fixed points, rates and distance to BPTT of tBPTT(k) for k = 1..K."""
    ks = windows(quick)
    bptt, bptt_report = analysed("bptt", 1)
    bptt_rate = convergence_rate(bptt, bptt_report["optimal"])
    bptt_sets = set_summary(bptt_report)
    points = {a: manifold_point(a) for a in A_STARS}
    bptt_at = {a: bptt_rate.at(p) for a, p in points.items()}
    odes, sets, rates, closed_gap = {}, {}, {a: [] for a in A_STARS}, 0.0
    for k in ks:
        ode, report = analysed_k(k)
        odes[k] = ode
        sets[k] = set_summary(report)
        rate = convergence_rate(ode, report["optimal"])
        for a, p in points.items():
            numeric, closed = rate_at(rate, p)
            rates[a].append(numeric)
            closed_gap = max(closed_gap, abs(numeric - closed))
    distances = sup_distances(odes, bptt, quick)
    ks_arr = np.array(ks)
    gaps = {a: bptt_at[a] - np.array(rates[a]) for a in A_STARS}
    gap_ratios = {a: gap_ratio(gaps[a], ks_arr) for a in A_STARS}

    def same_set(k: int, name: str) -> bool:
        mine = sets[k].get(name)
        return mine is not None and mine["equations"] == bptt_sets[name]["equations"]

    optimal_all = all(same_set(k, "optimal manifold") for k in ks)
    saddle_all = all(any(n.startswith("saddle") and v["classification"] == "saddle"
                         for n, v in sets[k].items()) for k in ks)
    ratio_error = max(abs(d["fitted_ratio"] - L**2) / L**2 for L, d in distances.items())
    checks = {
        "the optimal manifold of every tBPTT(k) is BPTT's": optimal_all,
        "every tBPTT(k) has a saddle manifold b = c = 0": saddle_all,
        "closed-form rates of tBPTT(k) equal numeric eigenvalues": closed_gap < 1e-8,
        "the rate gap to BPTT shrinks monotonically with k":
            all(np.all(np.diff(np.abs(g)) < 0) for g in gaps.values()),
        "sup |rhs_k - rhs_BPTT| shrinks geometrically with ratio L^2 (within 2%)":
            ratio_error < 0.02,
    }
    data = {
        "k": ks, "leak": 1, "fixed_point_sets": {str(k): sets[k] for k in ks},
        "bptt_fixed_point_sets": bptt_sets,
        "has_optimal_manifold": {str(k): "optimal manifold" in sets[k] for k in ks},
        "has_saddle_manifold": {str(k): any(n.startswith("saddle") for n in sets[k])
                                for k in ks},
        "rates": {f"a_star={a}": {"point": points[a], "bptt": bptt_at[a],
                                  "tbptt": dict(zip(map(str, ks), rates[a], strict=True)),
                                  "gap_to_bptt": gaps[a], "gap_fitted_ratio": gap_ratios[a]}
                  for a in A_STARS},
        "max_closed_minus_numeric": closed_gap,
        "rhs_distance": {f"L={L}": {"distance": d["distance"], "fitted_ratio": d["fitted_ratio"],
                                    "L": L, "L_squared": L**2,
                                    "successive_ratios": d["successive_ratios"]}
                         for L, d in distances.items()},
    }
    figure = FigureData(
        "truncation_sweep", "truncation_sweep",
        {"k": ks_arr, "rates": {a: np.array(r) for a, r in rates.items()}, "bptt": bptt_at,
         "distances": distances},
        r"Truncation sweep of tBPTT($k$), leak 1. Left: convergence rate at $a = a^{*}$, "
        r"$b = 1$, $c = b^{*}c^{*}/b$ against the window $k$ (dashed: BPTT). Right: "
        r"$\sup |f_k - f_{\mathrm{BPTT}}|$ over grids $|a|, |a^{*}| \le L$ (log scale) with "
        r"the fitted geometric ratio per step.")
    return Section("truncation", r"Truncation sweep: tBPTT($k$) from $k = 1$ to BPTT",
                   *_bodies(ks, sets, rates, bptt_at, gaps, gap_ratios, distances),
                   data, [figure], checks)


def _bodies(ks, sets, rates, bptt_at, gaps, gap_ratios, distances) -> tuple[str, str]:
    """LaTeX and Markdown text: table of sets and rates, distance fit sentence."""
    intro = (r"tBPTT with window $k$ keeps the first $k$ terms of BPTT's eligibility trace, "
             r"$s_t = \sum_{j<k} \lambda^{j} \alpha h_{t-1-j}$; $k = 1$ is one-step tBPTT and "
             r"$k \to \infty$ is BPTT. Each ODE below is derived with "
             r'\verb|derive("tbptt", 1, truncation=k)| and analysed like the rules above.')
    names = sorted({n for k in ks for n in sets[k]})
    optimal = sets[ks[0]]["optimal manifold"]["equations"]
    eqs = r",\ ".join(f"{tex(S.sympify(e))} = 0" for e in optimal)
    fp = (f"For every $k = 1, \\dots, {ks[-1]}$ the fixed-point sets are: "
          + ", ".join(names) + f". The optimal manifold is $\\{{{eqs}\\}}$ for every $k$ "
          "(the same equations as BPTT's) and the saddle manifold $\\{b = 0,\\ c = 0\\}$ "
          "persists, classified as a saddle for every $k$.")
    head = ["$k$"] + [f"$r$ at $a^{{*}} = {a}$" for a in A_STARS] + \
        [f"$r_{{\\mathrm{{BPTT}}}} - r$ at $a^{{*}} = {a}$" for a in A_STARS]
    rows = [[str(k)] + [f"{rates[a][i]:.6f}" for a in A_STARS]
            + [f"{gaps[a][i]:.3e}" for a in A_STARS] for i, k in enumerate(ks)]
    rows.append(["BPTT"] + [f"{bptt_at[a]:.6f}" for a in A_STARS] + ["0"] * len(A_STARS))
    tex_table = ("\\begin{center}\\begin{tabular}{" + "r" * len(head) + "}\n"
                 + " & ".join(head) + "\\\\\\hline\n"
                 + "\\\\\n".join(" & ".join(r) for r in rows) + "\n\\end{tabular}\\end{center}")
    md_table = "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                         + ["| " + " | ".join(r) + " |" for r in rows])
    gap_text = ("The rate approaches BPTT's from below; the gap shrinks by a fitted factor "
                + ", ".join(f"{gap_ratios[a]:.3f} (at $a^{{*}} = {a}$, "
                            f"$\\lambda^{{*2}} = {a * a:.3g}$)" for a in A_STARS)
                + " per unit of $k$.")
    dist_rows = [rf"L = {L}:\ &\sup_{{|a|,|a^{{*}}| \le L}} |f_k - f_{{\mathrm{{BPTT}}}}| "
                 rf"\propto \rho^{{k}},\quad \rho_{{\text{{fit}}}} = {d['fitted_ratio']:.5f},"
                 rf"\quad L^{{2}} = {L * L:.5f},\quad L = {L}" for L, d in distances.items()]
    dist_intro = (r"Distance of the right-hand sides: the dropped tail of the trace is "
                  r"$\lambda^{k}$ times a trace of the past, and its correlation with the error "
                  r"decays by a further $\lambda$ or $\lambda^{*}$ per step, so the expected "
                  r"updates differ by $O\big((|\lambda| \max(|\lambda|, |\lambda^{*}|))^{k}\big)$:"
                  r" on a grid with $|a|, |a^{*}| \le L$, geometric with ratio $L^{2}$ rather "
                  r"than $L$. Fitted on $k \ge 2$ (least squares of $\log$ distance):")
    body = align(dist_rows)
    latex = "\n\n".join([intro, fp, tex_table, gap_text, dist_intro + "\n" + body])
    markdown = "\n\n".join([intro.replace(r'\verb|derive("tbptt", 1, truncation=k)|',
                                          '`derive("tbptt", 1, truncation=k)`'),
                            fp, md_table, gap_text, dist_intro + "\n\n" + md_math(body)])
    return latex, markdown
