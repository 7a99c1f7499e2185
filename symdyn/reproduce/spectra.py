"""Jacobian spectra on the fixed-point sets and RFLO's stability conditions (leak 1).

On the optimal manifold (dimension 1) the Jacobian has one zero eigenvalue; the other two
are the roots of the reduced characteristic polynomial ``x^2 + p_1 x + p_0``, stable iff
``p_1 > 0`` and ``p_0 > 0`` (Routh-Hurwitz). BPTT and tBPTT satisfy both everywhere; RFLO's
conditions depend on signs. With ``a* = 0`` (``ode.specialize({"a_star": 0})``) the
spectrum splits: ``-b^2 beta c`` and ``-(b^2 + beta c)``, so RFLO is stable iff
``beta c > 0``. The symbolic conditions are checked against numeric eigenvalues on a grid
of the ``(b, beta)`` plane at ``a = a*``, ``c = b* c*/b``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .. import derive
from .. import symbols as S
from ..analysis import slowest_rates
from ..analysis.signs import lambdified
from ..latex import root_rows, rows_for, tex
from ..plots import LABELS
from .common import RULES, TEACHER, FigureData, Section, align, analysed, md_math

A_STARS = (-0.5, 0.0, 0.5)
X = sp.Symbol("x")


def reduced_coefficients(ode, fp_set) -> list[sp.Expr]:
    """``p_1, p_0`` of the reduced characteristic polynomial, in public symbols: those the
    report keeps (``FixedPointSet.characteristic``, built with the eigenvalues by
    ``fixed_points(eigenvalues=True)`` and pickled with the report), not built again."""
    return fp_set.characteristic()[::-1]


def numeric_rate(ode, b: np.ndarray, beta: np.ndarray | float, a_star: float) -> np.ndarray:
    """Minus the largest real part of the non-zero Jacobian eigenvalues, per grid point
    (:func:`symdyn.analysis.slowest_rates`).

    The point is ``a = a*``, ``c = b* c*/b`` on the optimal manifold; the eigenvalue of
    smallest modulus is the manifold's tangent direction and is left out. Positive means
    stable, and then it is the convergence rate.
    """
    c = TEACHER["b_star"] * TEACHER["c_star"] / b
    params = {"a_star": a_star, "b_star": TEACHER["b_star"], "c_star": TEACHER["c_star"],
              "beta": beta}
    if "beta" not in {p.name for p in ode.parameters}:
        params.pop("beta")
    return slowest_rates(ode, (np.full_like(b, a_star), b, c), params)


def condition_values(conditions: list[sp.Expr], b: np.ndarray, beta: np.ndarray,
                     a_star: float) -> list[np.ndarray]:
    """Each condition ``g`` evaluated at the grid points (stable iff all ``g > 0``)."""
    values = {S.a_star: a_star, S.b_star: TEACHER["b_star"], S.c_star: TEACHER["c_star"],
              S.b: b, S.beta: beta, S.c: TEACHER["b_star"] * TEACHER["c_star"] / b,
              S.a: a_star}
    out = []
    for g in conditions:
        # compiled once per condition (signs.lambdified keeps it), not once per a*
        symbols, f = lambdified(g)
        out.append(np.broadcast_to(np.asarray(f(*[values[s] for s in symbols]), float), b.shape))
    return out


def region_grid(conditions: list[sp.Expr], n: int) -> dict:
    """Numeric and symbolic stability of RFLO on a ``(b, beta)`` grid for each ``a*``."""
    ode = derive("rflo", 1)
    b_axis = np.linspace(-2.5, 2.5, n)
    b_axis = b_axis[np.abs(b_axis) > 1e-9]
    beta_axis = np.linspace(-2.0, 2.0, n)
    B, BETA = np.meshgrid(b_axis, beta_axis)
    panels, agree, total = [], 0, 0
    for a_star in A_STARS:
        stable = numeric_rate(ode, B, BETA, a_star) > 0
        gs = condition_values(conditions, B, BETA, a_star)
        symbolic = np.all([g > 0 for g in gs], axis=0)
        # Points on a boundary (some |g| tiny) are decided by round-off: leave them out.
        clear = np.min([np.abs(g) for g in gs], axis=0) > 1e-6
        agree += int(np.sum((stable == symbolic) & clear))
        total += int(np.sum(clear))
        panels.append({"a_star": a_star, "stable": stable, "conditions": gs})
    return {"b": b_axis, "beta": beta_axis, "panels": panels,
            "condition_tex": [tex(g) for g in conditions],
            "agree": agree, "total": total}


def spectra_rows() -> tuple[list[str], dict]:
    """Rows and data for the spectra of every rule on the optimal manifold (general a*)."""
    rows, data = [], {}
    for rule in RULES:
        ode, report = analysed(rule, 1)
        optimal = report["optimal"]
        p1, p0 = reduced_coefficients(ode, optimal)
        rows.append(rf"&\text{{{LABELS[rule]}, optimal manifold: }} "
                    rf"\chi(x) = x\,(x^2 + p_1 x + p_0)")
        rows += rows_for("p_1", p1) + rows_for("p_0", p0)
        rows += root_rows(optimal.roots[1:], r"\mu")
        entry = {"p1": str(p1), "p0": str(p0),
                 "eigenvalues": optimal.eigenvalue_strings,
                 "classification": optimal.classification,
                 "conditions": [str(g) for g in optimal.conditions]}
        saddle = [s for s in report if s.name.startswith("saddle")]
        if saddle:
            rows.append(rf"&\text{{{LABELS[rule]}, saddle manifold }} b = c = 0:")
            rows += root_rows(saddle[0].roots, r"\nu")
            entry["saddle_eigenvalues"] = saddle[0].eigenvalue_strings
            entry["saddle_classification"] = saddle[0].classification
        data[rule] = entry
    return rows, data


def compute(quick: bool = False) -> Section:
    """Spectra, RFLO's Routh-Hurwitz conditions (general a* and a* = 0), numeric check."""
    rows, data = spectra_rows()
    _, rflo = analysed("rflo", 1)
    conditions = rflo["optimal"].conditions
    ode0, rflo0 = analysed("rflo", 1, 0)
    optimal0 = rflo0["optimal"]
    rows0 = [rf"&\text{{RFLO, }} a^{{*}} = 0:\ \mu_{{{i + 1}}} = {tex(e)}"
             for i, e in enumerate(optimal0.eigenvalues)]
    rows0.append(r"&\text{stable iff } "
                 + r",\ ".join(f"{tex(g)} > 0" for g in optimal0.conditions))
    grid = region_grid(conditions, 41 if quick else 161)
    data["rflo_conditions"] = [str(g) for g in conditions]
    data["rflo_a_star_0"] = {"eigenvalues": optimal0.eigenvalue_strings,
                             "conditions": [str(g) for g in optimal0.conditions]}
    data["numeric_check"] = {"agree": grid["agree"], "total": grid["total"],
                             "a_star": list(A_STARS)}
    beta_c = S.beta * S.c
    checks = {
        "BPTT and tBPTT are stable on the optimal manifold":
            all(data[r]["classification"] == "stable" for r in ("bptt", "tbptt")),
        "the saddle manifold of BPTT/tBPTT has eigenvalues of both signs":
            all(data[r].get("saddle_classification") == "saddle" for r in ("bptt", "tbptt")),
        "RFLO at a* = 0 is stable iff beta c > 0":
            [sp.expand(g - beta_c) for g in optimal0.conditions] == [0],
        "RFLO's conditions agree with numeric eigenvalues on the grid":
            grid["agree"] == grid["total"] > 0,
    }
    rh = align([rf"g_{{{i + 1}}} &= {tex(g)} > 0" for i, g in enumerate(conditions)])
    text_rh = (r"RFLO's optimal manifold is stable iff (Routh--Hurwitz on the reduced "
               r"polynomial, common factors of known sign removed; $c = b^{*}c^{*}/b$ on the "
               r"manifold):")
    text_num = (f"Numeric check: at {grid['total']} grid points of the $(b, \\beta)$ plane "
                f"(off the boundary) with $a = a^{{*}} \\in \\{{{', '.join(map(str, A_STARS))}"
                f"\\}}$, $b^{{*}} = c^{{*}} = 1$, the symbolic conditions agree with the signs "
                f"of the numeric eigenvalues at {grid['agree']} of them.")
    figure = FigureData("rflo_stability_region", "stability_region", grid,
                        "RFLO's stability on the optimal manifold in the $(b, \\beta)$ plane "
                        "(shading: numeric eigenvalues; lines: symbolic conditions $g_i = 0$).")
    specialize = r"\texttt{ode.specialize(\{'a\_star': 0\})}"
    parts = [("Spectra on the optimal manifold ($\\chi$: characteristic polynomial; "
              "leak 1, general $a^{*}$):", None, align(rows)),
             (text_rh, None, rh),
             (f"With $a^{{*}} = 0$ ({specialize}) the spectrum splits:",
              'With $a^{*} = 0$ (`ode.specialize({"a_star": 0})`) the spectrum splits:',
              align(rows0)),
             (text_num, None, "")]
    latex_body = "\n\n".join(t + ("\n" + e if e else "") for t, _, e in parts)
    md_body = "\n\n".join((m or t) + ("\n\n" + md_math(e) if e else "") for t, m, e in parts)
    return Section("stability", "Stability on the fixed-point sets", latex_body, md_body,
                   data, [figure], checks)
