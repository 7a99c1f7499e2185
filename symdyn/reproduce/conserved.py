"""Conserved quantities of each rule, and the limit point they predict.

``symdyn.conserved_quantities(ode)`` finds every quadratic ``Q(a, b, c)`` with
``grad Q . rhs = 0`` identically (a linear null-space problem). BPTT conserves the balance
``b^2 - c^2``; the other rules conserve different quadratics, so the balance itself is
broken. With one invariant, the limit on the optimal manifold (a curve) is the point where
the invariant keeps its initial value: ``symdyn.analysis.limit_candidates`` solves for it,
``symdyn.predict_limit`` picks the branch, and ``symdyn.integrate`` checks it.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .. import conserved_quantities, derive, integrate, predict_limit
from .. import symbols as S
from ..algebra import is_zero, rational_field, to_field
from ..analysis import limit_candidates
from ..analysis.evaluate import evaluate
from ..factoring import derivative
from ..latex import tex
from ..model import leak_text
from ..plots import LABELS
from ..pretty import strings
from .common import RULES, TEACHER, Section, align, analysed, md_math

LEAKS: tuple[object, ...] = (1, "alpha")
INITIAL = ({"a": 0.0, "b": 0.6, "c": 0.2}, {"a": -0.3, "b": 0.3, "c": 0.9},
           {"a": 0.2, "b": 1.2, "c": 0.5})
BALANCE = S.b**2 - S.c**2


def conserves(ode, quantity: sp.Expr) -> bool:
    """Whether ``d quantity / d tau = sum_s (d quantity / d s) rhs_s`` vanishes identically
    under ``ode``, decided in a field of rational functions (the sum built there from the
    converted right-hand sides, not as an expression tree; ``symdyn.algebra.is_zero`` of
    the expression for a field that is not rational)."""
    field = rational_field([*ode.rhs, quantity, *ode.state]).field
    try:
        q = to_field(field, quantity)
        rhs = [to_field(field, r) for r in ode.rhs]
    except ValueError:
        return is_zero(sum(sp.diff(quantity, s) * r
                           for s, r in zip(ode.state, ode.rhs, strict=True)))
    flow = field.zero
    for s, r in zip(ode.state, rhs, strict=True):
        slope = derivative(q, to_field(field, s))  # q.diff's element, by FLINT's gcd
        if slope:
            flow += slope * r
    return not flow


def limit_check(rule: str, tau_end: float) -> list[dict]:
    """Predicted limit vs the integrated ODE from each initial condition (leak 1)."""
    ode, report = analysed(rule, 1)
    params = dict(TEACHER, **({"beta": 1.0} if rule == "rflo" else {}))
    candidates = limit_candidates(ode, target=report["optimal"])
    out = []
    for initial in INITIAL:
        # Unverified on purpose: the integration below is the check, reported as is.
        prediction = predict_limit(ode, initial, params, candidates, verify=False)
        predicted = prediction.limit or {}
        path = integrate(ode, [initial[k] for k in "abc"], params, tau_end)
        if not (prediction.ok and path.completed):
            out.append({"initial": initial, "predicted": predicted, "status": path.status,
                        "error": prediction.reason or f"the integration {path.message}"})
            continue
        final = path.final[0]
        reached = dict(zip("abc", map(float, final), strict=True))
        gap = max(abs(reached[k] - predicted[k]) for k in "abc") if predicted else np.inf
        out.append({"initial": initial, "predicted": predicted, "integrated": reached,
                    "max_abs_error": float(gap)})
    return out, candidates


def _real_positive_branch(candidate: dict) -> bool:
    """Whether a candidate is real with ``b > 0`` at the first test case (so the branch
    printed is one a trajectory can reach); Cardano forms with ``I`` are skipped."""
    if any(v.has(sp.I) for v in candidate.values()):
        return False
    initial = dict(zip(sp.symbols("a_0 b_0 c_0", real=True), INITIAL[0].values(), strict=True))
    values = {**{S.PUBLIC[k]: v for k, v in TEACHER.items()}, S.beta: 1.0, **initial}
    (b,) = evaluate([candidate[S.b]], values)
    return abs(b.imag) < 1e-12 and b.real > 0


def limit_rows_for(rule: str, candidates: list[dict]) -> list[str]:
    """The equation the limit solves on the optimal manifold, and its closed-form root
    when that is real-radical (Cardano's formula for RFLO's cubic is left out)."""
    ode, report = analysed(rule, 1)
    optimal = report["optimal"]
    initial = dict(zip(S.STATE, sp.symbols("a_0 b_0 c_0", real=True), strict=True))
    rows = []
    for q in conserved_quantities(ode):
        # unevaluated: the equation is shown as it is, not first tested for truth
        equation = sp.Eq(sp.expand(q.subs(optimal.parametrization)), q.subs(initial),
                         evaluate=False)
        rows.append(rf"&\text{{{LABELS[rule]}}}:\ {tex(equation)}")
    for cand in [c for c in candidates if _real_positive_branch(c)][:1]:
        pars = r",\ ".join(f"{tex(k)} = {tex(v)}" for k, v in cand.items())
        if len(pars) < 250:  # longer closed forms overflow a line; they are in results.json
            rows.append(rf"&\qquad \text{{one branch: }} {pars}")
    return rows


def compute(quick: bool = False) -> Section:
    """Invariants per rule and leak; limit predictions of every rule checked by integration."""
    data: dict = {"conserved": {}, "balance_conserved": {}, "limits": {}, "candidates": {}}
    rows = []
    for leak in LEAKS:
        for rule in RULES:
            ode = derive(rule, leak)
            quantities = conserved_quantities(ode)
            key = leak_text(ode.leak)
            data["conserved"].setdefault(rule, {})[key] = [str(q) for q in quantities]
            data["balance_conserved"].setdefault(rule, {})[key] = conserves(ode, BALANCE)
            body = r",\ ".join(tex(sp.expand(q)) for q in quantities) or r"\text{none}"
            rows.append(rf"&\text{{{LABELS[rule]}, leak }} {tex(ode.leak)}:\ "
                        rf"\frac{{d}}{{d\tau}}\big({body}\big) = 0")
    limit_rows = []
    for rule in RULES:
        checks, candidates = limit_check(rule, 60.0 if quick else 200.0)
        data["limits"][rule] = checks
        # One printer for all of a rule's candidates: they share their radicands
        printed = iter(strings([v for c in candidates for v in c.values()]))
        data["candidates"][rule] = [{k.name: next(printed) for k in c} for c in candidates]
        limit_rows += limit_rows_for(rule, candidates)
    errors = [c.get("max_abs_error", np.inf) for v in data["limits"].values() for c in v]
    balance = data["balance_conserved"]
    checks = {
        "BPTT conserves b^2 - c^2 (leak 1 and alpha)": all(balance["bptt"].values()),
        "tBPTT and RFLO break b^2 - c^2": not any(balance[r]["1"] for r in ("tbptt", "rflo")),
        "predicted limits match integration (max error < 1e-4)": max(errors) < 1e-4,
    }
    broken = [LABELS[r] for r in RULES if not balance[r]["1"]]
    text = ("Quadratic invariants (a basis of all conserved quadratic polynomials):")
    text_limit = (r"Limit points on the optimal manifold, from the invariant's initial value "
                  r"($a_0, b_0, c_0$: initial state; $a = a^{*}$, $c = b^{*}c^{*}/b$ on the "
                  r"manifold):")
    table = "\n".join(
        f"| {LABELS[r]} | ({c['initial']['a']}, {c['initial']['b']}, {c['initial']['c']}) | "
        + ", ".join(f"{c['predicted'].get(k, float('nan')):.6f}" for k in "abc") + " | "
        + (", ".join(f"{c['integrated'][k]:.6f}" for k in "abc") if "integrated" in c
           else c.get("error", "")) + f" | {c.get('max_abs_error', float('nan')):.1e} |"
        for r in RULES for c in data["limits"][r])
    md_table = ("| rule | (a0, b0, c0) | predicted (a, b, c) | integrated (a, b, c) | error |\n"
                "|---|---|---|---|---|\n" + table)
    tex_rows = [r"\text{" + line.strip("| ").replace(" | ", "} & \\text{") + "}"
                for line in table.splitlines()]
    tex_table = ("\\begin{center}\\small\\begin{tabular}{lllll}\nrule & $(a_0,b_0,c_0)$ & "
                 "predicted & integrated & error\\\\\\hline\n"
                 + "\\\\\n".join(tex_rows) + "\n\\end{tabular}\\end{center}")
    after = (f"The balance $b^2 - c^2$ is broken by: {', '.join(broken) or 'none'}. "
             f"Teacher $a^{{*}} = {TEACHER['a_star']}$, $b^{{*}} = c^{{*}} = 1$, RFLO "
             f"$\\beta = 1$; the largest gap between prediction and integration is "
             f"{max(errors):.1e}.")
    latex_body = "\n\n".join([text, align(rows), text_limit, align(limit_rows), after,
                              tex_table])
    md_body = "\n\n".join([text, md_math(align(rows)), text_limit, md_math(align(limit_rows)),
                           after, md_table])
    return Section("invariants", "Conserved quantities and limit points", latex_body,
                   md_body, data, checks=checks)
