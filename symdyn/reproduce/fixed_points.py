"""Fixed-point sets of each rule (see docs/theory.md, 'Analysis').

``symdyn.fixed_points(ode)`` solves ``rhs = 0`` by factoring the numerators, discards
roots where a denominator vanishes (no stationary process there) and keeps components
meeting ``|lam| < 1``. Expected: the optimal manifold ``{a = a*, b c = b* c*}`` for every
rule; the saddle manifold ``{b = c = 0}`` for BPTT and tBPTT only, since under RFLO
``db/dtau = beta b* c* (...) != 0`` at ``b = c = 0``.
"""

from __future__ import annotations

from ..latex import tex
from ..model import leak_text
from ..plots import LABELS
from .common import RULES, Section, align, analysed, leak_heading, md_math

LEAKS: tuple[object, ...] = (1, "alpha")


def set_rows(label: str, fp_set) -> list[str]:
    """``label: {equations}`` with its parametrisation and classification, one row each."""
    equations = r",\ ".join(f"{tex(e)} = 0" for e in fp_set.equations)
    pars = r",\ ".join(f"{tex(k)} = {tex(v)}" for k, v in fp_set.parametrization.items())
    return [rf"&\text{{{label}: {fp_set.name} (dim {fp_set.dimension}, "
            rf"{fp_set.classification})}}:\ \{{{equations}\}}",
            rf"&\qquad \text{{parametrised by }} {tex(fp_set.free[0])}:\ {pars}"]


def compute(quick: bool = False) -> Section:
    """Every fixed-point set of every rule, at leak 1 and symbolic alpha."""
    data: dict = {}
    checks: dict[str, bool] = {}
    latex_parts, md_parts = [], []
    for leak in LEAKS:
        rows = []
        for rule in RULES:
            ode, report = analysed(rule, leak)
            names = [s.name for s in report]
            saddle = any(n.startswith("saddle") for n in names)
            data.setdefault(rule, {})[leak_text(ode.leak)] = {
                **report.to_dict(), "has_saddle_manifold": saddle,
                "has_optimal_manifold": "optimal manifold" in names}
            expected = rule != "rflo"
            leak_name = leak_text(ode.leak)
            checks[f"{rule} (leak {leak_name}) has the optimal manifold"] = \
                "optimal manifold" in names
            # A sentence that reads true when the check passes, whichever is expected.
            saddle_sentence = "has a saddle manifold" if expected else "has no saddle manifold"
            checks[f"{rule} (leak {leak_name}) {saddle_sentence}"] = \
                saddle == expected
            for fp_set in report:
                rows += set_rows(LABELS[rule], fp_set)
        heading = f"Leak {leak_heading(analysed('bptt', leak)[0].leak)}"
        body = align(rows)
        latex_parts.append(rf"\subsection*{{{heading}}}" + "\n" + body)
        md_parts.append(f"**{heading}**\n\n" + md_math(body))
    summary = ("The saddle manifold $b = c = 0$ is a fixed-point set of "
               + ", ".join(LABELS[r] for r in RULES if data[r]["1"]["has_saddle_manifold"])
               + "; under RFLO it is not: "
               + ("confirmed." if not data["rflo"]["1"]["has_saddle_manifold"]
                  else "NOT confirmed."))
    intro = ("Fixed points inside the stationary region $|\\lambda| < 1$; roots where a "
             "denominator vanishes are discarded. " + summary)
    return Section("fixed_points", "Fixed-point sets", "\n\n".join([intro, *latex_parts]),
                   "\n\n".join([intro, *md_parts]), data, checks=checks)
