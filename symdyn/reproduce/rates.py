"""Convergence rates at the optimum, and where RFLO is the slower learner (leak 1).

The rate is ``r = -max Re(mu)`` over the non-zero Jacobian eigenvalues on the optimal
manifold (``symdyn.convergence_rate``). With ``a* = 0`` the spectra are
``{-b^2 c^2, -(b^2 + c^2)}`` (BPTT) and ``{-b^2 beta c, -(b^2 + beta c)}`` (RFLO). Where
RFLO is slower is derived, not assumed: each RFLO eigenvalue is paired with the BPTT
eigenvalue it equals at some beta, ``mu_rflo > mu_bptt`` is solved for beta
(:func:`positive_set`; c > 0 and c < 0 separately), and when every pair gives
the same set, ``max mu_rflo > max mu_bptt`` holds exactly there. For general ``a*`` the
region is mapped numerically in the ``(beta, b)`` plane.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from .. import convergence_rate, derive
from .. import symbols as S
from ..analysis import rate_function
from ..analysis.evaluate import evaluate
from ..latex import tex
from ..plots import LABELS
from .common import RULES, TEACHER, FigureData, Section, align, analysed, md_math
from .spectra import A_STARS, condition_values, numeric_rate

#: The point of the optimal manifold where rates are compared: a = a*, b = 1, c = b* c*/b.
POINT = {"a": TEACHER["a_star"], "b": 1.0, "c": 1.0, **TEACHER}


def point_for(rule: str, point: dict) -> dict:
    """``point`` without ``beta`` for the rules whose dynamics do not involve it."""
    names = {s.name for s in (*S.STATE, *derive(rule, 1).parameters)}
    return {k: v for k, v in point.items() if k in names}


def pair_eigenvalues(mine: list[sp.Expr], reference: list[sp.Expr]) -> list[tuple]:
    """Pair the two spectra so that they coincide at a common beta (found by solving for
    beta over every matching, so the pairing is derived rather than assumed)."""
    for order in itertools.permutations(reference):
        equations = [sp.numer(sp.together(mu - nu)) for mu, nu in zip(mine, order, strict=True)]
        if sp.solve(equations, S.beta, dict=True):
            return list(zip(mine, order, strict=True))
    raise ValueError("the spectra never coincide: no pairing by beta")


def slower_condition(sign: int) -> tuple[sp.Basic, list[sp.Basic]]:
    """The beta where RFLO's rate is below BPTT's at a* = 0, for c of the given sign.

    Returns the condition on beta (with RFLO's stability condition) and the per-pair ones.
    """
    positive = sp.Symbol("p", positive=True)
    bp = sp.Symbol("b", positive=True)
    values = {S.c: sign * positive, S.b: bp}
    _, rflo = analysed("rflo", 1, 0)
    _, bptt = analysed("bptt", 1, 0)
    optimal_r, optimal_b = rflo["optimal"], bptt["optimal"]
    pairs = pair_eigenvalues(optimal_r.eigenvalues[1:], optimal_b.eigenvalues[1:])
    sets = [positive_set((mu - nu).subs(values), S.beta) for mu, nu in pairs]
    stable = sp.Intersection(*[positive_set(g.subs(values), S.beta)
                               for g in optimal_r.conditions])
    common = sp.Intersection(*sets)
    if common != sp.Union(*sets):
        raise ValueError("the eigenvalue pairs disagree: rate order is not decided pairwise")
    back = {positive: sign * S.c}
    result = sp.Intersection(common, stable).as_relational(S.beta).subs(back)
    return result, [s.as_relational(S.beta).subs(back) for s in sets]


def positive_set(expr: sp.Expr, x: sp.Symbol) -> sp.Set:
    """The real ``x`` where ``expr > 0``.

    For ``expr = k x + m`` with the sign of ``k`` known from the symbols' assumptions the
    set is the open half-line beyond the root ``-m / k``; a constant ``expr`` of known
    sign gives all or nothing. Anything else goes to ``sp.solve_univariate_inequality``,
    which gives the same sets here but first asks whether ``expr`` is periodic in ``x``
    (a ``simplify``, and an import of ``sympy.physics`` the first time: 0.2-0.3 s a
    process for the six linear inequalities of this section).
    """
    poly = sp.Poly(expr, x) if expr.is_polynomial(x) else None
    if poly is not None and poly.degree() <= 1:
        k, m = poly.all_coeffs() if poly.degree() == 1 else (sp.S.Zero, poly.LC())
        if k.is_positive:
            return sp.Interval.open(sp.cancel(-m / k), sp.oo)
        if k.is_negative:
            return sp.Interval.open(-sp.oo, sp.cancel(-m / k))
        if k == 0 and m.is_positive is not None:
            return sp.S.Reals if m.is_positive else sp.S.EmptySet
    return sp.solve_univariate_inequality(expr > 0, x, relational=False)


#: The window of the (beta, b) plane the slower-region figure and percentages refer to.
WINDOW = {"beta": (-1.0, 3.0), "b": (0.25, 2.5)}


def slower_region(n: int, rates: dict | None = None) -> dict:
    """Where RFLO is stable but slower than BPTT, for each a*, in the ``(beta, b)`` window.

    ``stable``/``slower`` come from numeric eigenvalues (for the percentages); the
    boundaries drawn come from the derived closed forms: ``stability_margin`` is the
    smallest of RFLO's stability conditions ``g_i`` and ``slower_margin`` is
    ``r_BPTT - r_RFLO`` from the closed-form rates (``rates``), both continuous fields
    whose zero level sets are the boundaries (no jagged grid cells).
    """
    beta_axis = np.linspace(*WINDOW["beta"], n)
    b_axis = np.linspace(*WINDOW["b"], n)
    BETA, B = np.meshgrid(beta_axis, b_axis)
    conditions = analysed("rflo", 1)[1]["optimal"].conditions
    panels = []
    for a_star in A_STARS:
        r_rflo = numeric_rate(derive("rflo", 1), B, BETA, a_star)
        r_bptt = numeric_rate(derive("bptt", 1), B, np.zeros_like(B), a_star)
        c = TEACHER["b_star"] * TEACHER["c_star"] / B
        panel = {"a_star": a_star, "rflo": r_rflo, "bptt": r_bptt,
                 "slower": (r_rflo > 0) & (r_rflo < r_bptt),
                 "beta_below_c": (BETA > 0) & (BETA < c),
                 "stability_margin": np.min(condition_values(conditions, B, BETA, a_star),
                                            axis=0)}
        if rates is not None:
            values = {**TEACHER, "a_star": a_star, "b": B, "c": c}
            with np.errstate(invalid="ignore", divide="ignore"):
                panel["slower_margin"] = (rate_function(rates["bptt"])(**values)
                                          - rate_function(rates["rflo"])(**values,
                                                                         beta=BETA))
        panels.append(panel)
    return {"beta": beta_axis, "b": b_axis, "panels": panels, "window": WINDOW}


def rate_curve(rates: dict, n: int) -> dict:
    """RFLO's closed-form rate against beta at ``POINT``, numeric checks, BPTT/tBPTT lines."""
    beta = np.linspace(-0.5, 3.0, n)
    values = {k: v for k, v in POINT.items() if k not in ("a", "beta")}
    closed = rate_function(rates["rflo"])(**{**values, "beta": beta})
    marks = np.linspace(0.25, 2.75, 6)
    numeric = [rates["rflo"].at({**POINT, "beta": float(x)}) for x in marks]
    lines = {r: rates[r].at(point_for(r, POINT)) for r in ("bptt", "tbptt")}
    crossing = [float(x) for x in _crossings(beta, closed - lines["bptt"])]
    return {"beta": beta, "rflo": closed, "marks": marks, "rflo_numeric": np.array(numeric),
            "lines": lines, "crossings_bptt": crossing, "point": POINT}


def _crossings(x: np.ndarray, y: np.ndarray) -> list[float]:
    """Zeros of ``y(x)`` by linear interpolation between sign changes."""
    idx = np.flatnonzero(np.sign(y[:-1]) * np.sign(y[1:]) < 0)
    return [x[i] - y[i] * (x[i + 1] - x[i]) / (y[i + 1] - y[i]) for i in idx]


def compute(quick: bool = False) -> Section:
    """Rates of each rule (closed form and numbers), RFLO's slower region, rate vs beta."""
    rates, rates0, data = {}, {}, {"rates": {}, "rates_a_star_0": {}, "at_point": {}}
    for rule in RULES:
        ode, report = analysed(rule, 1)
        rates[rule] = convergence_rate(ode, report["optimal"])
        ode0, report0 = analysed(rule, 1, 0)
        rates0[rule] = convergence_rate(ode0, report0["optimal"])
        data["rates"][rule] = str(rates[rule].rate)
        data["rates_a_star_0"][rule] = str(rates0[rule].rate)
    curve = rate_curve(rates, 60 if quick else 200)
    point = {**POINT, "beta": 1.0}
    for rule in RULES:
        # mpmath from the exact binary inputs (substituting Floats into the tree and
        # evalf cost 0.1-0.3 s for the three rates)
        closed = evaluate([rates[rule].rate], {S.PUBLIC[k]: v for k, v in point.items()})[0]
        if closed.imag:  # a rate is real (float() of the former evalf raised here)
            raise ValueError(f"the closed-form rate of {rule} is not real at {point}")
        data["at_point"][rule] = {"numeric": rates[rule].at(point_for(rule, point)),
                                  "closed_form": closed.real}
    positive, pairs_pos = slower_condition(1)
    negative, _ = slower_condition(-1)
    data["rflo_slower_a_star_0"] = {"c > 0": str(positive), "c < 0": str(negative),
                                    "pairwise_c > 0": [str(s) for s in pairs_pos]}
    region = slower_region(31 if quick else 101, rates)
    data["rflo_slower_region"] = {
        f"a_star={p['a_star']}": {
            "fraction_of_grid_slower": float(np.mean(p["slower"])),
            "fraction_of_stable_slower": float(np.sum(p["slower"])
                                               / max(1, np.sum(p["rflo"] > 0))),
            "agreement_with_beta_below_c": float(np.mean(p["slower"] == p["beta_below_c"]))}
        for p in region["panels"]}
    data["rate_vs_beta"] = {"point": POINT, "crossings_with_bptt": curve["crossings_bptt"],
                            "bptt": curve["lines"]["bptt"], "tbptt": curve["lines"]["tbptt"]}
    closed_vs_numeric = float(np.max(np.abs(
        rate_function(rates["rflo"])(**{**{k: v for k, v in POINT.items() if k != "a"},
                                        "beta": curve["marks"]}) - curve["rflo_numeric"])))
    data["rate_vs_beta"]["max_closed_minus_numeric"] = closed_vs_numeric
    a_star0 = next(p for p in region["panels"] if p["a_star"] == 0.0)
    same = all(sp.cancel(r.subs(S.beta, S.c) - t) == 0 for r, t in
               zip(derive("rflo", 1).rhs, derive("tbptt", 1).rhs, strict=True))
    data["rflo_with_beta_c_is_tbptt_at_leak_1"] = same
    checks = {
        "closed-form rates equal numeric eigenvalues at the test point":
            all(abs(v["numeric"] - v["closed_form"]) < 1e-8 for v in data["at_point"].values()),
        "RFLO's closed-form rate matches numeric eigenvalues along beta":
            closed_vs_numeric < 1e-8,
        "at a* = 0 the derived condition matches the numeric slower region":
            float(np.mean(a_star0["slower"] == a_star0["beta_below_c"])) > 0.98,
    }
    rows = [rf"r_{{\text{{{LABELS[r]}}}}} &= {tex(rates0[r].rate)}" for r in RULES]
    rows += [r"&\text{RFLO slower than BPTT} \iff "
             + tex(positive) + r"\quad (c > 0), \qquad " + tex(negative)
             + r"\quad (c < 0)"]
    numbers = ", ".join(f"{LABELS[r]} {v['numeric']:.4g}" for r, v in data["at_point"].items())
    region_text = "; ".join(
        f"$a^{{*}} = {key.split('=')[1]}$: RFLO stable and slower on "
        f"{100 * value['fraction_of_stable_slower']:.0f}\\% of its stable region"
        for key, value in data["rflo_slower_region"].items())
    region_text += (f" (percentages of the window ${WINDOW['beta'][0]} \\le \\beta \\le "
                    f"{WINDOW['beta'][1]}$, ${WINDOW['b'][0]} \\le b \\le {WINDOW['b'][1]}$)")
    intro = (r"The rate is $r = -\max \operatorname{Re} \mu$ over the non-zero eigenvalues on "
             r"the optimal manifold (general $a^{*}$: $r = -(m + \sqrt{\Delta})$ with $m, "
             r"\Delta$ of the previous section). With $a^{*} = 0$, and the slower region "
             r"derived by solving $\mu_{\text{RFLO}} > \mu_{\text{BPTT}}$ pairwise for $\beta$:")
    after = (f"At $a = a^{{*}} = {POINT['a_star']}$, $b = c = 1$, $\\beta = 1$: rates "
             f"{numbers}. RFLO's rate crosses BPTT's at $\\beta \\approx "
             + ", ".join(f"{x:.4g}" for x in curve["crossings_bptt"])
             + "$. General $a^{*}$ (numeric, $b^{*} = c^{*} = 1$, $c = 1/b$): "
             + region_text + "."
             + (" At leak 1, RFLO's field with $\\beta = c$ is identical to one-step "
                "tBPTT's (both traces have decay 0), hence their equal rates at $\\beta = c$."
                if same else ""))
    figures = [
        FigureData("rate_vs_beta", "rate_vs_beta", curve,
                   f"Convergence rate at $a = a^{{*}} = {POINT['a_star']}$, $b = c = 1$: RFLO "
                   "against $\\beta$ (line: closed form, circles: numeric eigenvalues), "
                   "BPTT and tBPTT constant."),
        FigureData("rflo_slower_region", "slower_region", region,
                   "Where RFLO is stable but slower than BPTT in the window "
                   f"${WINDOW['beta'][0]} \\le \\beta \\le {WINDOW['beta'][1]}$, "
                   f"${WINDOW['b'][0]} \\le b \\le {WINDOW['b'][1]}$ (boundaries: derived "
                   "stability conditions and closed-form rates), with the $a^{*} = 0$ "
                   "boundary $\\beta = c = 1/b$."),
    ]
    body = align(rows)
    return Section("rates", "Convergence rates", f"{intro}\n{body}\n\n{after}",
                   f"{intro}\n\n{md_math(body)}\n\n{after}", data, figures, checks)
