"""Validation studies beyond the quick checks: every check of every compared rule at leak
1 and at a leak below it, with the figures of :mod:`symdyn.plots.validation` and one
Markdown report per leak.

Each rule is validated once per leak (:func:`symdyn.validation.run_validation`, every
check, the runs they share computed once); the figures are drawn from the checks'
``details``, so nothing is simulated twice.  The full study (``quick=False``) runs the
longer simulations of ``symdyn validate`` at both leaks; CI writes the figures and
reports of its quick validation runs with :func:`write` (``tests/test_validate.py``)::

    python validation/studies.py [--quick] [--out DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

from symdyn.plots import save
from symdyn.plots.validation import DRAW, STUDIES
from symdyn.rules import COMPARED
from symdyn.validation import ValidationReport, run_validation

LEAKS = (1.0, 0.3)
DEFAULT_OUT = Path(__file__).resolve().parent / "output"


def label(report: ValidationReport) -> str:
    return report.rule + (f" k={report.truncation}" if report.rule == "tbptt" else "")


def study(leak: float, out: Path, quick: bool = False, seed: int = 0,
          rules=COMPARED) -> list[ValidationReport]:
    """Validate every rule at ``leak``; write ``<figure>_leak<L>.png|pdf`` and
    ``report_leak<L>.md`` into ``out``; return the reports."""
    reports = [run_validation(rule, k, leak, seed, quick) for rule, k in rules]
    write(reports, out, leak)
    return reports


def write(reports: list[ValidationReport], out: Path, leak: float) -> list[Path]:
    """The figures of every study and the Markdown report of ``reports`` (one leak)."""
    cases = [(label(r), {c.name: c for c in r.checks}) for r in reports]
    paths = []
    for name in STUDIES:
        paths += save(DRAW[name](cases), out, f"{name}_leak{leak:g}", dpi=150)
    paths.append(out / f"report_leak{leak:g}.md")
    paths[-1].write_text("\n\n".join(r.markdown() for r in reports) + "\n")
    return paths


def run(out: Path = DEFAULT_OUT, quick: bool = False, leaks=LEAKS, seed: int = 0,
        rules=COMPARED) -> bool:
    """Every study at every leak; True when no check failed."""
    out.mkdir(parents=True, exist_ok=True)
    ok = True
    for leak in leaks:
        for report in study(leak, out, quick, seed, rules):
            print(report.table(), flush=True)
            ok = ok and report.passed
    return ok


if __name__ == "__main__":
    args = sys.argv[1:]
    target = Path(args[args.index("--out") + 1]) if "--out" in args else DEFAULT_OUT
    sys.exit(0 if run(target, quick="--quick" in args) else 1)
