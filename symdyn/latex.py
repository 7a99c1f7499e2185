"""LaTeX export: fragments for pasting, and standalone documents that compile.

Fragments are the bodies of ``align`` environments (one ``\\\\``-separated line per
equation); :func:`wrap` puts them in an environment and :func:`document` assembles a
standalone article. With a leak other than 1 the equations are written in
``lambda = 1 - alpha + alpha a``, which keeps them short; the definition is printed
alongside.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import sympy as sp

from . import symbols as S
from .pretty import theorist

SYMBOL_NAMES = {
    S.a_star: "a^{*}", S.b_star: "b^{*}", S.c_star: "c^{*}",
    S.lam: r"\lambda", S.lam_star: r"\lambda^{*}", S.alpha: r"\alpha", S.beta: r"\beta",
    S.tau: r"\tau",
}


def tex(expr: sp.Expr | sp.Basic, built: bool | None = None) -> str:
    """LaTeX of a SymPy expression with symdyn's symbol names (``a^{*}``, ``\\lambda``);
    an unevaluated (theorist) form keeps the order of terms it was built in."""
    built = _built(expr) if built is None else built
    return sp.latex(expr, symbol_names=SYMBOL_NAMES, order="none" if built else None)


def _built(expr: sp.Basic) -> bool:
    """Whether ``expr`` holds unevaluated sums or products (a :func:`theorist` form)."""
    return any(isinstance(e, (sp.Add, sp.Mul)) and e != e.func(*e.args)
               for e in sp.preorder_traversal(expr))


WIDTH = 300  # characters of LaTeX source per displayed line, before breaking


def rows_for(lhs: str, expr: sp.Expr, width: int = WIDTH) -> list[str]:
    r"""``lhs &= expr`` as one row, or several when long: the longest sum is split into
    chunks of terms, continued on ``&\quad + ...`` rows, with the other factors before it."""
    built = _built(expr)
    text = tex(expr, built)
    if len(text) <= width:
        return [f"{lhs} &= {text}"]
    prefix, terms = _split_longest_sum(expr)
    if not terms:
        return [f"{lhs} &= {text}"]
    rows, line = [], f"{lhs} &= {prefix}\\Big("
    for i, term in enumerate(terms):
        piece = tex(term, built)
        if i and not piece.startswith("-"):
            piece = "+ " + piece
        if len(line) + len(piece) > width and i:
            rows.append(line + (r"\notag" if rows else ""))
            line = r"&\qquad "
        line += piece + " "
    rows.append(line + r"\Big)" + (r"\notag" if rows else ""))
    return rows


def _split_longest_sum(expr: sp.Expr) -> tuple[str, list[sp.Expr]]:
    if expr.is_Add:
        return "", list(sp.Add.make_args(expr))
    if not expr.is_Mul:
        return "", []
    numerator, denominator = sp.fraction(expr)
    factors = sp.Mul.make_args(numerator)
    sums = [f for f in factors if f.is_Add]
    if not sums:
        return "", []
    longest = max(sums, key=lambda f: len(sp.Add.make_args(f)))
    rest = sp.Mul(*[f for f in factors if f is not longest]) / denominator
    prefix = "" if rest == 1 else ("-" if rest == -1 else tex(rest, _built(expr)) + r"\,")
    return prefix, list(sp.Add.make_args(longest))  # kept as built: no expansion


def wrap(body: str, environment: str = "align") -> str:
    """Put fragment ``body`` into ``environment`` (``align``, ``align*``, ``aligned``)."""
    return f"\\begin{{{environment}}}\n{body}\n\\end{{{environment}}}"


def _lines(rows: Iterable[str]) -> str:
    return " \\\\\n".join(rows)


def uses_lambda(ode) -> bool:
    """Whether equations of ``ode`` read better in ``lambda`` (leak other than 1)."""
    return ode.leak != 1


def lambda_definition(ode) -> str:
    """``where lambda = 1 - alpha + alpha a`` (and the teacher's) as one unnumbered row."""
    return _lambda_row(ode.model.lam, ode.model.lam_star)


@lru_cache(maxsize=16)
def _lambda_row(lam: sp.Expr, lam_star: sp.Expr) -> str:
    # One leak map for every rule at a leak: written once (theorist keeps its own results,
    # but tex would print them again for every rule)
    return (rf"&\text{{where }} \lambda = {tex(theorist(lam))}, \quad "
            rf"\lambda^{{*}} = {tex(theorist(lam_star))} \notag")


LHS = {"a": r"\frac{da}{d\tau}", "b": r"\frac{db}{d\tau}", "c": r"\frac{dc}{d\tau}",
       "loss": r"\mathcal{L}"}


def ode_rows(ode, form: str | None = None, equation: str | None = None) -> list[str]:
    """One ``d x / d tau &= ...`` row per state variable and the loss, as a theorist writes
    them (:meth:`~symdyn.ode.LearningODE.equations`); ``equation`` picks one of them, and
    ``form`` is ``"lambda"`` or ``"a"`` (default: ``lambda`` when the leak is not 1)."""
    from .ode import _pick

    form = form or ode.default_form()
    equations = _pick(ode.equations(form), equation)
    rows = [r for key, e in equations.items() for r in rows_for(LHS[key], e)]
    if form == "lambda" and any(e.has(S.lam, S.lam_star) for e in equations.values()):
        rows.append(lambda_definition(ode))
    return rows


def ode_latex(ode, environment: str | None = "align", form: str | None = None,
              equation: str | None = None) -> str:
    """The ODE system of ``ode`` (and its loss), or the one ``equation``, as LaTeX."""
    body = _lines(ode_rows(ode, form, equation))
    return wrap(body, environment) if environment else body


def jacobian_latex(ode, environment: str | None = "align") -> str:
    """The Jacobian matrix ``d rhs / d(a, b, c)``."""
    jac = ode.working_jacobian if uses_lambda(ode) else ode.jacobian
    label = r"J^{(\lambda, b, c)}" if uses_lambda(ode) else "J"
    rows = [r for i in range(3) for j in range(3)
            for r in rows_for(rf"{label}_{{{i + 1}{j + 1}}}", sp.factor(jac[i, j]))]
    if uses_lambda(ode):
        rows.append(lambda_definition(ode))
    body = _lines(rows)
    return wrap(body, environment) if environment else body


def _condition_tex(conditions: Sequence[sp.Expr]) -> str:
    return r",\quad ".join(f"{tex(theorist(g))} > 0" for g in conditions)


def fixed_point_set_rows(fp_set, working: bool = False) -> list[str]:
    """Rows for one set: its equations, parametrisation, eigenvalues and conditions.

    ``working=True`` writes the eigenvalues in ``lambda*`` (shorter for a symbolic leak).
    """
    equations = r",\ ".join(f"{tex(e)} = 0" for e in fp_set.equations)
    rows = [rf"&\text{{{fp_set.name} (dim {fp_set.dimension})}}:\ \{{{equations}\}} \notag"]
    if fp_set.parametrization:
        pars = r",\ ".join(f"{tex(k)} = {tex(v)}" for k, v in fp_set.parametrization.items())
        rows.append(rf"&\quad {pars} \notag")
    zeros = fp_set.roots[: len(fp_set.roots) - len(fp_set.spectrum.roots)]
    rows += _characteristic_rows(fp_set, working)
    rows += root_rows(zeros + fp_set.spectrum.roots if working else fp_set.roots)
    verdict = fp_set.classification
    if fp_set.conditions:
        conditions = _condition_tex(fp_set.working_conditions if working else fp_set.conditions)
        rows.append(rf"&\quad \text{{conditional: stable iff }} {conditions} \notag")
    else:
        rows.append(rf"&\quad \text{{{verdict}}} \notag")
    return rows


def _characteristic_rows(fp_set, working: bool) -> list[str]:
    """The reduced characteristic polynomial ``mu^n + p_{n-1} mu^{n-1} + ... + p_0``, whose
    coefficients are much shorter than its roots."""
    coefficients = fp_set.characteristic(working)
    n = len(coefficients)
    if n < 2:
        return []
    powers = [rf"p_{{{k}}}" + ("" if k == 0 else r" \mu" if k == 1 else rf" \mu^{{{k}}}")
              for k in reversed(range(n))]
    rows = [rf"0 &= \mu^{{{n}}} + " + " + ".join(powers)]
    for k in reversed(range(n)):
        rows += rows_for(f"p_{{{k}}}", theorist(coefficients[k]))
    return rows


def root_rows(roots, prefix: str = r"\mu") -> list[str]:
    """Eigenvalues; a pair ``m +- sqrt(D)`` is written once, with ``m`` and ``D`` below."""
    rows, done = [], set()
    for i, root in enumerate(roots):
        if root.disc == 0:
            rows += rows_for(rf"{prefix}_{{{i + 1}}}", theorist(root.expr))
        elif (root.mid, root.disc) not in done:
            done.add((root.mid, root.disc))
            rows.append(rf"{prefix}_{{{i + 1},{i + 2}}} &= m \pm \sqrt{{\Delta}}")
            rows += rows_for(r"m", theorist(root.mid)) + rows_for(r"\Delta", theorist(root.disc))
    return rows


def fixed_point_set_latex(fp_set, environment: str | None = "aligned") -> str:
    body = _lines(fixed_point_set_rows(fp_set))
    return wrap(body, environment) if environment else body


def fixed_points_latex(report, environment: str | None = "align") -> str:
    """Every fixed-point set of a report, with its spectrum and stability."""
    working = uses_lambda(report.ode)
    rows = [r for s in report.sets for r in fixed_point_set_rows(s, working)]
    if working:
        rows.append(lambda_definition(report.ode))
    body = _lines(rows)
    return wrap(body, environment) if environment else body


PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[margin=1.5cm,landscape]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{graphicx}
\allowdisplaybreaks
\title{%s}
\author{symdyn %s}
\date{}
\begin{document}
\maketitle
"""


def document(sections: Sequence[tuple[str, str]], title: str = "symdyn") -> str:
    """A standalone article: ``sections`` are (heading, LaTeX body) pairs."""
    from . import __version__

    parts = [PREAMBLE % (title, __version__)]
    for heading, body in sections:
        parts.append(f"\\section{{{heading}}}\n{body}\n")
    parts.append("\\end{document}\n")
    return "\n".join(parts)


def ode_document(ode, report=None) -> str:
    """Standalone document of one rule: ODE, Jacobian, fixed points and spectra."""
    sections = [("Learning dynamics", ode_latex(ode)), ("Jacobian", jacobian_latex(ode))]
    if report is not None:
        sections.append(("Fixed points and stability", fixed_points_latex(report)))
    return document(sections, title=f"Learning dynamics of {ode.title}")


def has_pdflatex() -> bool:
    return shutil.which("pdflatex") is not None


#: What LaTeX (and hyperref, rerunfilecheck) print when a second pass would change the
#: output: cross-references, labels or outlines read from the previous pass's files.
RERUN = re.compile(r"Rerun to get|Label\(s\) may have changed|Rerun LaTeX")


def compile_pdf(tex_source: str, out_pdf: Path, timeout: float = 120) -> Path:
    """Compile ``tex_source`` with pdflatex into ``out_pdf``; raise with the log on failure."""
    if not has_pdflatex():
        raise RuntimeError("pdflatex is not installed")
    out_pdf = Path(out_pdf)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "doc.tex"
        src.write_text(tex_source)
        for _ in range(3):  # again only while LaTeX asks for it (references, outlines)
            result = subprocess.run(
                ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", src.name],
                cwd=tmp, capture_output=True, text=True, timeout=timeout)
            if result.returncode != 0:
                raise RuntimeError("pdflatex failed:\n" + result.stdout[-3000:])
            if not RERUN.search(result.stdout):
                break
        out_pdf.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(tmp) / "doc.pdf", out_pdf)
        log = out_pdf.with_suffix(".log")
        log.unlink(missing_ok=True)
        text = (Path(tmp) / "doc.log").read_text(errors="replace")
        if any(log_problems(text).values()):  # kept only when there is something to read
            log.write_text(text)
    return out_pdf


def log_problems(log_text: str) -> dict[str, int]:
    """Counts of ``overfull`` and ``underfull`` boxes and other ``warnings`` in a pdflatex
    log (``Overfull \\hbox`` lines mean text runs into the margin)."""
    return {"overfull": len(re.findall(r"^Overfull \\[hv]box", log_text, re.M)),
            "underfull": len(re.findall(r"^Underfull \\[hv]box", log_text, re.M)),
            "warnings": len(re.findall(r"Warning:", log_text))}
