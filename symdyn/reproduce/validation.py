"""Every derived result against simulation: :func:`symdyn.validation.run_validation` for
each rule, as the paper's last section.

The work is split into independent parts (:func:`parts`: one per rule and leak) so that
``symdyn paper`` can run them side by side with the other sections; :func:`assemble`
turns their reports into the section, and :func:`compute` does both in one process.
"""

from __future__ import annotations

from collections.abc import Callable

from .common import RULES, Section, tex_text

#: The leak below 1 at which the paper also validates the expected update: at leak 1 the
#: leak map ``lam = 1 - alpha + alpha a`` is the identity, so only a smaller leak tests it.
SMALL_LEAK = 0.3

Progress = Callable[[str, float], None]


#: Checks that another section runs and reports (so each simulation runs once):
#: check -> the section's title.
IN_OTHER_SECTIONS = {"low_rank": "Low-rank structure of RFLO's solutions",
                     "meanfield": "Beyond alignment",
                     "noise_stationary": "Finite learning rate",
                     "excess_loss": "Finite learning rate",
                     "critical_rate": "Finite learning rate",
                     "manifold_diffusion": "Finite learning rate"}


def parts() -> list[tuple[str, float]]:
    """The independent runs, ``(rule, leak)``: at leak 1 every check but those of
    :data:`IN_OTHER_SECTIONS`, and the expected update against Monte Carlo at
    :data:`SMALL_LEAK`."""
    return [(rule, 1.0) for rule in RULES] + [(rule, SMALL_LEAK) for rule in RULES]


def run_part(rule: str, leak: float, quick: bool, progress: Progress | None = None):
    """The :class:`~symdyn.validation.ValidationReport` of one part of :func:`parts`."""
    from ..validation import CHECKS, run_validation

    checks = ([name for name in CHECKS if name not in IN_OTHER_SECTIONS] if leak == 1
              else ["expected_update"])
    return run_validation(rule, leak=leak, quick=quick, progress=progress, checks=checks)


def compute(quick: bool = False, progress: Progress | None = None) -> Section:
    """Every part in this process, then :func:`assemble`."""
    runs = parts()
    reports = {}
    for i, (rule, leak) in enumerate(runs):
        def step(what: str, fraction: float, i: int = i, rule: str = rule) -> None:
            if progress is not None:
                progress(f"validation {rule}: {what}", (i + fraction) / len(runs))

        reports[rule, leak] = run_part(rule, leak, quick, step)
    return assemble(reports, quick)


def assemble(reports: dict, quick: bool) -> Section:
    """The section from ``{(rule, leak): report}``: every check's number, threshold and
    verdict, in Markdown and LaTeX tables, and one pass/fail check per report."""
    from ..plots import LABELS  # here: matplotlib is not needed to list the parts
    from ..validation.registry import describe

    rows = [(_row_label(rule, leak), c) for (rule, leak), report in reports.items()
            for c in report.checks]
    names = list(dict.fromkeys(c.name for _, c in rows))
    md = ["| rule | check | metric | threshold | verdict |", "|---|---|---|---|---|"]
    md += ["| {} | {} | {} | {} | {} |".format(r, *c.row()) for r, c in rows]
    md += [""] + [f"- `{name}`: {describe(name)}" for name in names]
    data = {rule: report.to_dict() for (rule, leak), report in reports.items() if leak == 1}
    data[f"leak_{SMALL_LEAK}"] = {rule: report.to_dict() for (rule, leak), report
                                  in reports.items() if leak != 1}
    checks = {f"{_row_label(LABELS.get(rule, rule), leak)} passes every applicable "
              "validation check": report.passed for (rule, leak), report in reports.items()}
    return Section("validation", "Validation against simulation",
                   _intro(quick, True) + "\n\n" + _tex_table(rows, names),
                   _intro(quick, False) + "\n\n" + "\n".join(md), data, checks=checks)


def _intro(quick: bool, latex: bool) -> str:
    code = (lambda t: f"\\texttt{{{tex_text(t)}}}") if latex else (lambda t: f"`{t}`")
    quote = (lambda t: f"``{t}''") if latex else (lambda t: f'"{t}"')
    size = "quick (small simulations)" if quick else "full"
    titles = [quote(t) for t in dict.fromkeys(IN_OTHER_SECTIONS.values())]
    return (f"Each derived result against simulation of full networks "
            f"({code('symdyn.validation')}, {size}) at leak 1, and the expected update also "
            f"at leak {SMALL_LEAK}; every number below is from this run. The checks "
            + ", ".join(code(n) for n in IN_OTHER_SECTIONS)
            + " run once, in the sections that report them ("
            + ", ".join(titles[:-1]) + " and " + titles[-1] + ").")


def _tex_table(rows: list, names: list[str]) -> str:
    from ..validation.registry import describe

    # One table per rule and leak: all of them in one would run off the page.
    tables = []
    for label in dict.fromkeys(r for r, _ in rows):
        tex_rows = [f"{r} & {tex_text(c.name)} & {c.row()[1]} & ${c.sense}$ "
                    f"{c.threshold:.4g} & " + _tex_verdict(c) for r, c in rows if r == label]
        tables.append("\\begin{center}\\begin{tabular}{llrrl}\nrule & check & metric & "
                      "threshold & verdict\\\\\\hline\n" + "\\\\\n".join(tex_rows)
                      + "\n\\end{tabular}\\end{center}")
    table = "\n".join(tables)
    items = "\n".join(f"\\item \\texttt{{{tex_text(name)}}}: {_tex_description(describe(name))}"
                      for name in names)
    return table + "\n\n\\begin{itemize}\n" + items + "\n\\end{itemize}"


def _tex_description(text: str) -> str:
    """A check's description for LaTeX: ````code```` spans verbatim, the rest escaped."""
    parts_ = text.split("``")
    return "".join(f"\\verb!{p}!" if i % 2 else tex_text(p).replace("^", r"\^{}")
                   for i, p in enumerate(parts_))


def _row_label(rule: str, leak: float) -> str:
    return rule if leak == 1 else f"{rule} (leak {leak:g})"


def _tex_verdict(check) -> str:
    """pass, \\textbf{FAIL} or n/a (with the reason) for the LaTeX table."""
    if not check.applicable:
        return f"n/a ({tex_text(check.reason)})"
    return "pass" if check.passed else r"\textbf{FAIL}"
