"""Per-mode learning ODEs of BPTT, one-step tBPTT and RFLO
(see docs/theory.md, 'Learning rules' and 'Averaging').

For each rule and leak (``1`` and symbolic ``alpha``) ``symdyn.derive`` averages the
online update over the stationary process, ``d(a, b, c)/dtau = E[update / eta]``. As a
check of the averaging, BPTT's field must be the gradient flow of the stationary loss,
``rhs = -grad L``, decided exactly in a field of rational functions (at leak 1 and at
symbolic alpha); random points are the fallback for a field that is not rational.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from .. import derive
from ..algebra import rational_field, to_field
from ..factoring import derivative
from ..latex import ode_latex
from ..model import leak_text
from ..ode import to_dicts
from ..plots import LABELS
from .common import RULES, Section, leak_heading, md_math

LEAKS: tuple[object, ...] = (1, "alpha")


def gradient_residual(leak: object, points: int = 20, seed: int = 0) -> float:
    """max |rhs + grad L| of BPTT: exactly zero when the field check proves it (at leak 1 and
    at symbolic alpha), else the largest value on random points."""
    ode = derive("bptt", leak)
    if _exact_gradient_flow(ode):
        return 0.0
    residual = [r + sp.diff(ode.loss, s) for r, s in zip(ode.rhs, ode.state, strict=True)]
    if ode.leak == 1:
        return float(max(abs(sp.cancel(e)) for e in residual))
    args = (*ode.state, *ode.parameters)
    f = sp.lambdify(args, residual, "numpy")
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(points):
        # Inside the stationary region: |a|, |a*| < 1 keeps |lam| < 1 for any alpha in (0, 1].
        values = {s.name: rng.uniform(-0.9, 0.9) if s.name.startswith("a") and s.name != "alpha"
                  else rng.uniform(0.2, 1.0) if s.name == "alpha" else rng.uniform(-1.5, 1.5)
                  for s in args}
        worst = max(worst, float(np.max(np.abs(f(*[values[s.name] for s in args])))))
    return worst


def _exact_gradient_flow(ode) -> bool:
    """Whether ``rhs + grad L`` vanishes identically, decided in a field of rational
    functions (:func:`symdyn.algebra.rational_field`): exact differentiation of cancelled
    fractions, far cheaper than ``sp.diff`` and ``sp.cancel`` on the expression trees."""
    field = rational_field([*ode.rhs, ode.loss]).field
    try:  # to_field: from_expr's elements, each sum of monomials converted in one pass
        loss = to_field(field, ode.loss)
        rhs = [to_field(field, r) for r in ode.rhs]
    except ValueError:  # not a rational function: the expression route decides
        return False
    return all(not (r + derivative(loss, to_field(field, s)))  # loss.diff's element
               for r, s in zip(rhs, ode.state, strict=True))


def compute(quick: bool = False) -> Section:
    """The ODE of every rule at leak 1 and symbolic alpha, as LaTeX, Markdown and text."""
    latex_parts = [
        r"Each data-aligned mode has student parameters $(a, b, c)$, teacher "
        r"$(a^{*}, b^{*}, c^{*})$ and RFLO feedback $\beta$. Averaging the online updates over "
        r"the stationary process gives, in learning time $\tau = \eta t$:"
    ]
    md_parts = [latex_parts[0]]
    data: dict = {}
    odes = [derive(rule, leak) for leak in LEAKS for rule in RULES]
    for ode, shape in zip(odes, to_dicts(odes), strict=True):
        heading = f"{LABELS[ode.rule.name]}, leak {leak_heading(ode.leak)}"
        body = ode_latex(ode)
        latex_parts.append(rf"\subsection*{{{heading}}}" + "\n" + body)
        md_parts.append(f"**{heading}**\n\n" + md_math(body))
        data.setdefault(ode.rule.name, {})[leak_text(ode.leak)] = shape
    residuals = {leak_text(derive("bptt", leak).leak): gradient_residual(leak) for leak in LEAKS}
    data["bptt_gradient_residual"] = residuals
    checks = {f"BPTT is the gradient flow of the loss at leak {k}": v < 1e-9
              for k, v in residuals.items()}
    sentence = (r"Check: BPTT's field equals $-\nabla\mathcal{L}$; the largest residual is "
                + ", ".join(f"{residuals[leak_text(ode.leak)]:.1e} (leak {leak_heading(ode.leak)})"
                           for ode in (derive("bptt", leak) for leak in LEAKS)) + ".")
    latex_parts.append(sentence)
    md_parts.append(sentence)
    return Section("odes", "Learning dynamics of each rule", "\n\n".join(latex_parts),
                   "\n\n".join(md_parts), data, checks=checks)

