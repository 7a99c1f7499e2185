"""Equations as a theorist writes them (symdyn.pretty, LearningODE.equations/text, latex).

The printed forms are read back from their text and compared with the derived ODE at
random points; the lambda form is mapped back through lam = 1 - alpha + alpha a written
here by hand, so a wrong leak map in the printer would fail.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

import symdyn as sd
from symdyn import latex
from symdyn import symbols as S
from symdyn.errors import SymdynError
from symdyn.pretty import text, theorist

CASES = [("rflo", "alpha", None), ("bptt", "1", None), ("tbptt", "0.5", 2)]


def read_back(printed: str, leak: sp.Expr) -> sp.Expr:
    """Parse printed text; lambda and lambda_star (a Python keyword) are mapped back to
    ``1 - alpha + alpha a`` by hand."""
    printed = re.sub(r"\blambda_star\b", "LS", re.sub(r"\blambda\b(?!_)", "L", printed))
    expr = S.sympify(printed.replace("LS", "(1 - alpha + alpha*a_star)")
                     .replace("L", "(1 - alpha + alpha*a)"))
    return expr.subs(S.alpha, leak)


def close_at_random_points(lhs: sp.Expr, rhs: sp.Expr, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    symbols = sorted(lhs.free_symbols | rhs.free_symbols, key=str)
    f = sp.lambdify(symbols, lhs - rhs)
    g = sp.lambdify(symbols, rhs)
    for _ in range(5):
        values = {s: rng.uniform(0.2, 0.8) for s in symbols}  # inside |lambda| < 1
        args = [values[s] for s in symbols]
        assert abs(f(*args)) <= 1e-9 * (1 + abs(g(*args))), values


@pytest.mark.parametrize("rule,leak,k", CASES)
@pytest.mark.parametrize("form", ["lambda", "a"])
def test_printed_equations_equal_the_ode(rule, leak, k, form):
    ode = sd.derive(rule, leak, k)
    equations = ode.equations(form)
    derived = dict(zip("abc", ode.rhs, strict=True)) | {"loss": ode.loss}
    for key, expr in equations.items():
        printed = text(expr)
        assert "- -" not in printed and "+ -" not in printed, printed
        close_at_random_points(read_back(printed, ode.leak), derived[key])


def test_rflo_symbolic_leak_is_short_and_keeps_factors():
    ode = sd.derive("rflo", "alpha")
    da = text(ode.equations("lambda")["a"])
    assert len(da) < 300 < len(str(ode.rhs[0]))  # 1,642 characters expanded
    assert "(1 - lambda**2)" in da and "(1 - lambda*lambda_star)" in da
    assert "(lambda - 1)" not in da and "(a - 1)" not in text(ode.equations("a")["a"])
    printed = ode.text()
    assert printed.count("where lambda = 1 - alpha + alpha*a") == 1


def test_one_equation_and_bad_names():
    ode = sd.derive("rflo", "alpha")
    one = ode.text(equation="b")
    assert "db/dtau" in one and "da/dtau" not in one and "loss" not in one
    with pytest.raises(SymdynError, match="equation must be one of"):
        ode.text(equation="x")
    with pytest.raises(SymdynError, match="form must be"):
        ode.equations("mu")


def test_latex_numbers_only_equations():
    ode = sd.derive("rflo", "alpha")
    body = latex.ode_latex(ode, environment=None)
    rows = body.split("\\\\\n")
    numbered = [r for r in rows if "\\notag" not in r]
    assert len(numbered) == 4  # da, db, dc, loss; the 'where' row and continuations not
    assert body.count("\\text{where }") == 1
    single = latex.ode_latex(ode, equation="c", form="a")
    assert "\\frac{dc}{d\\tau}" in single and "where" not in single


def test_theorist_factors_a_hand_written_denominator():
    x = S.a
    expr = 1 / ((x - 1) * (x + 1))
    assert text(theorist(expr)) == "-1/(1 - a**2)"


@pytest.mark.skipif(not latex.has_pdflatex(), reason="pdflatex not installed")
def test_theorist_latex_compiles(tmp_path):
    ode = sd.derive("rflo", "alpha")
    source = latex.document([("ODE", latex.ode_latex(ode)),
                             ("ODE in a", latex.ode_latex(ode, form="a"))])
    assert latex.compile_pdf(source, tmp_path / "ode.pdf").exists()


def test_fixed_point_report_text_reads_back():
    """RFLO at a* = 0: the printed eigenvalues on the optimum are the hand-derived
    -b^2 beta c and -(b^2 + beta c) (on bc = b*c*), and the condition is beta c > 0."""
    ode = sd.derive("rflo").specialize({"a_star": 0})
    report = sd.fixed_points(ode)
    printed = str(report)
    assert "stable iff beta*c > 0" in printed
    eigen = [S.sympify(line.split(": ", 1)[1]) for line in printed.splitlines()
             if line.strip().startswith("eigenvalue:")]
    b, c, beta = S.b, S.c, S.beta
    hand = [sp.Integer(0), -b**2 * beta * c, -(b**2 + beta * c)]
    assert len(eigen) == 3
    assert all(any(sp.expand(e - h) == 0 for e in eigen) for h in hand), eigen


def test_pdflatex_log_problems_are_counted():
    log = ("Overfull \\hbox (12.0pt too wide) in paragraph at lines 3--4\n"
           "LaTeX Warning: Reference `x' on page 1 undefined\n"
           "Underfull \\vbox (badness 10000) has occurred\nOverfull \\vbox (1pt too high)\n")
    assert latex.log_problems(log) == {"overfull": 2, "underfull": 1, "warnings": 1}
    assert not any(latex.log_problems("Output written on doc.pdf").values())


def test_every_validation_metric_has_a_one_line_explanation():
    from symdyn.validation.registry import CHECKS, describe

    for name in CHECKS:
        line = describe(name)
        assert "\n" not in line and line.endswith(".") and 20 < len(line) < 260, line
