"""``symdyn paper``: every result of the BPTT / tBPTT / RFLO comparison, end to end.

``run_paper(out)`` runs each derivation of :mod:`symdyn.reproduce` (ODEs, fixed points,
stability, rates, truncation sweep, invariants, low rank, dynamics, beyond alignment,
finite learning rate) and the validation
against simulation (:func:`symdyn.validation.run_validation` for each rule), then writes
into ``out``:
``paper.tex`` (and ``paper.pdf`` where pdflatex exists), ``report.md``, ``results.json``
and ``figures/*.png|pdf``. Computed sections are pure data and are cached under
``out/.cache/KEY`` with ``KEY`` a hash of the symdyn version, every source file of the
package and the ``quick`` flag, so a second run only re-draws and re-writes.

The reusable logic lives in the package (:mod:`symdyn.reproduce`) because ``pip install .``
ships only the package. The notebooks in ``derivations/`` work through the same results on
the public API for a reader (docs/theory.md is their theory).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import pickle
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .latex import compile_pdf, document, has_pdflatex, log_problems
from .plots import LABELS
from .reproduce import SECTIONS
from .reproduce.common import (
    RULES,
    Section,
    jsonable,
    plain_text,
    tex_mixed,
    tex_text,
)

Progress = Callable[[str, float], None]
TITLE = ("Learning dynamics of BPTT, one-step truncated BPTT and RFLO in data-aligned "
         "linear RNNs")


@dataclass
class PaperResult:
    """What ``run_paper`` produced: paths, per-check verdicts, timings, errors."""

    out: Path
    ok: bool
    files: dict[str, Path]
    checks: dict[str, bool]
    seconds: dict[str, float]
    errors: dict[str, str] = field(default_factory=dict)
    cached: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # what was skipped, and why

    def summary(self) -> str:
        failed = [k for k, v in self.checks.items() if not v]
        lines = [f"symdyn paper: {'all checks passed' if self.ok else 'SOME CHECKS FAILED'} "
                 f"({sum(self.checks.values())}/{len(self.checks)}) in "
                 f"{self.seconds.get('total', 0):.1f} s"
                 + (f" ({len(self.cached)} steps from cache)" if self.cached else "")]
        lines += [f"  {name:<10} {path}" for name, path in self.files.items()]
        lines += [f"  NOTE: {note}" for note in self.notes]
        lines += [f"  FAILED: {k}" for k in failed]
        lines += [f"  ERROR in {k}: {v}" for k, v in self.errors.items()]
        return "\n".join(lines)


def source_key(quick: bool) -> str:
    """Hash of the version, every ``.py`` file of the package, and the run's size."""
    digest = hashlib.sha256(f"{__version__}|quick={quick}".encode())
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cached(cache: Path, name: str, compute: Callable[[], Section]) -> tuple[Section, bool]:
    """``compute()`` through a pickle at ``cache/name.pkl``; True if it came from there."""
    path = cache / f"{name}.pkl"
    if path.exists():
        try:
            return pickle.loads(path.read_bytes()), True
        except Exception:  # a stale or truncated cache entry is recomputed, not fatal
            path.unlink()
    section = compute()
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(section))
    return section, False


#: The leak below 1 at which the paper also validates the expected update: at leak 1 the
#: leak map ``lam = 1 - alpha + alpha a`` is the identity, so only a smaller leak tests it.
SMALL_LEAK = 0.3


def validation_section(quick: bool, progress: Progress | None = None) -> Section:
    """``run_validation`` for each rule at leak 1 (every check but ``low_rank``, which the
    section :mod:`symdyn.reproduce.low_rank` runs and reports, so it is trained once) and
    at :data:`SMALL_LEAK` (the expected update against Monte Carlo): every check's number,
    threshold and verdict."""
    from .validation import CHECKS, run_validation
    from .validation.registry import describe

    everything = [name for name in CHECKS if name != "low_rank"]
    runs = [(rule, 1.0, everything) for rule in RULES]
    runs += [(rule, SMALL_LEAK, ["expected_update"]) for rule in RULES]
    reports = {}
    for i, (rule, leak, checks) in enumerate(runs):
        def step(what: str, fraction: float, i: int = i, rule: str = rule) -> None:
            if progress is not None:
                progress(f"validation {rule}: {what}", (i + fraction) / len(runs))

        reports[rule, leak] = run_validation(rule, leak=leak, quick=quick, progress=step,
                                             checks=checks)
    rows = [(_row_label(rule, leak), c) for (rule, leak), report in reports.items()
            for c in report.checks]
    md = ["| rule | check | metric | threshold | verdict |", "|---|---|---|---|---|"]
    md += ["| {} | {} | {} | {} | {} |".format(r, *c.row()) for r, c in rows]
    tex_rows = [f"{r} & {tex_text(c.name)} & {c.row()[1]} & ${c.sense}$ {c.threshold:.4g} & "
                + _tex_verdict(c) for r, c in rows]
    tex_table = ("\\begin{center}\\begin{tabular}{llrrl}\nrule & check & metric & threshold & "
                 "verdict\\\\\\hline\n" + "\\\\\n".join(tex_rows)
                 + "\n\\end{tabular}\\end{center}")
    names = list(dict.fromkeys(c.name for _, c in rows))
    md.append("")
    md += [f"- `{name}`: {describe(name)}" for name in names]
    tex_table += ("\n\n\\begin{itemize}\n" + "\n".join(
        f"\\item \\texttt{{{tex_text(name)}}}: {_tex_description(describe(name))}"
        for name in names)
        + "\n\\end{itemize}")
    size = "quick (small simulations)" if quick else "full"
    text = (f"Each derived result against simulation of full networks "
            f"(\\texttt{{symdyn.validation}}, {size}) at leak 1, and the expected update "
            f"also at leak {SMALL_LEAK}; every number below is from this run.")
    data = {rule: report.to_dict() for (rule, leak), report in reports.items() if leak == 1}
    data[f"leak_{SMALL_LEAK}"] = {rule: report.to_dict() for (rule, leak), report
                                  in reports.items() if leak != 1}
    checks = {f"{_row_label(LABELS.get(rule, rule), leak)} passes every applicable "
              "validation check": report.passed for (rule, leak), report in reports.items()}
    return Section("validation", "Validation against simulation", text + "\n\n" + tex_table,
                   text.replace("\\texttt{symdyn.validation}", "`symdyn.validation`") + "\n\n"
                   + "\n".join(md), data, checks=checks)


def _tex_description(text: str) -> str:
    """A check's description for LaTeX: ````code```` spans verbatim, the rest escaped."""
    parts = text.split("``")
    return "".join(f"\\verb!{p}!" if i % 2 else tex_text(p).replace("^", r"\^{}")
                   for i, p in enumerate(parts))


def _row_label(rule: str, leak: float) -> str:
    return rule if leak == 1 else f"{rule} (leak {leak:g})"


def _tex_verdict(check) -> str:
    """pass, \\textbf{FAIL} or n/a (with the reason) for the LaTeX table."""
    if not check.applicable:
        return f"n/a ({tex_text(check.reason)})"
    return "pass" if check.passed else r"\textbf{FAIL}"


def _start_validation(cache: Path, quick: bool) -> tuple[list, Future] | None:
    """Run the validation in a worker process while the derivations run here (2 cores):
    the worker processes and the future of its section.

    The worker is spawned (a fresh interpreter); the simulator limits its own BLAS threads
    around its loops (:data:`symdyn.simulate.engine.BLAS_THREADS`).
    """
    if (cache / "validation.pkl").exists():
        return None
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    future = pool.submit(validation_section, quick)
    # The executor has no public way to stop a running task, and shutdown() drops its
    # table of workers: keep them (``_processes``, the same attribute since Python 3.8).
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False)
    return workers, future


def _stop_validation(background: tuple[list, Future] | None) -> None:
    """Terminate an unfinished background validation (the run was interrupted, e.g. by
    ``--timeout``): otherwise the interpreter would wait for it at exit."""
    if background is None or background[1].done():
        return
    workers, future = background
    future.cancel()
    for process in workers:
        process.terminate()


def _figure_tex(figure) -> str:
    return ("\\begin{figure}[h!]\\centering\n"
            f"\\includegraphics[width=0.95\\linewidth,height=0.38\\textheight,"
            f"keepaspectratio]{{{figure.name}.pdf}}\n"
            f"\\caption{{{tex_mixed(figure.caption)}}}\n\\end{{figure}}")


def paper_tex(sections: list[Section], figures_dir: str = "figures/") -> str:
    """A standalone article, one section per result, figures from ``figures_dir``."""
    parts = []
    for i, s in enumerate(sections):
        body = s.latex + "".join("\n\n" + _figure_tex(f) for f in s.figures)
        if i == 0:
            body = f"\\graphicspath{{{{{figures_dir}}}}}\n" + body
        parts.append((s.title, body + "\n\\clearpage"))
    return document(parts, title=TITLE)


def report_md(sections: list[Section], checks: dict[str, bool]) -> str:
    """The same results in Markdown: equations in ``$$``, figures inline, checks listed."""
    passed = sum(checks.values())
    lines = [f"# {TITLE}", "",
             f"Generated by `symdyn paper` (symdyn {__version__}). Checks passed: "
             f"{passed}/{len(checks)}.", ""]
    for s in sections:
        lines += [f"## {s.title}", "", s.markdown, ""]
        for f in s.figures:
            lines += [f"![{plain_text(f.caption)}](figures/{f.name}.png)", "", f"*{f.caption}*", ""]
    lines += ["## Checks", ""]
    lines += [f"- {'pass' if v else 'FAIL'}: {k}" for k, v in checks.items()]
    return "\n".join(lines) + "\n"


def run_paper(out: str | Path = "symdyn-paper", quick: bool = False,
              progress: Progress | None = None) -> PaperResult:
    """Run every derivation and the validation, and write the paper into ``out``."""
    from .plots import save_figure

    start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cache = out / ".cache" / source_key(quick)
    report = progress or (lambda _step, _fraction: None)
    steps = [*SECTIONS, ("validation", None)]
    sections: list[Section] = []
    seconds: dict[str, float] = {}
    errors: dict[str, str] = {}
    from_cache: list[str] = []
    background = _start_validation(cache, quick)
    try:
        for i, (name, module) in enumerate(steps):
            report(name if module else "validation (waiting for the background run)",
                   i / (len(steps) + 2))
            t0 = time.perf_counter()

            def compute(module=module):
                if module is None:
                    return background[1].result() if background else validation_section(quick)
                return module.compute(quick)

            try:
                section, hit = cached(cache, name, compute)
            except Exception as error:  # one failing step must not hide the others' results
                errors[name] = f"{type(error).__name__}: {error}"
                continue
            sections.append(section)
            if hit:
                from_cache.append(name)
            seconds[name] = time.perf_counter() - t0
    except BaseException:  # a time limit or Ctrl-C: the worker must not outlive us
        _stop_validation(background)
        raise
    report("figures", len(steps) / (len(steps) + 2))
    t0 = time.perf_counter()
    for section in sections:
        for figure in section.figures:
            save_figure(figure, out / "figures")
    seconds["figures"] = time.perf_counter() - t0
    checks = {f"{s.key}: {k}": v for s in sections for k, v in s.checks.items()}
    files = write_outputs(out, sections, checks, quick, errors)
    report("pdflatex", (len(steps) + 1) / (len(steps) + 2))
    t0 = time.perf_counter()
    notes = []
    # A paper.pdf from an earlier run would sit beside the new paper.tex as if current.
    (out / "paper.pdf").unlink(missing_ok=True)
    if has_pdflatex():
        try:
            source = paper_tex(sections, f"{out.resolve().as_posix()}/figures/")
            files["pdf"] = compile_pdf(source, out / "paper.pdf")
            notes += _latex_notes(out / "paper.log", files)
        except RuntimeError as error:
            errors["pdflatex"] = str(error)[-500:]
    else:
        notes.append("pdflatex is not installed, so paper.pdf was not written "
                     "(compile paper.tex with any LaTeX installation)")
        report(notes[-1], (len(steps) + 1) / (len(steps) + 2))
    seconds["pdflatex"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - start
    report("done", 1.0)
    ok = all(checks.values()) and not errors
    return PaperResult(out, ok, files, checks, seconds, errors, from_cache, notes)


def _latex_notes(log: Path, files: dict[str, Path]) -> list[str]:
    """One line on pdflatex's warnings when :func:`compile_pdf` kept the log."""
    if not log.exists():
        return []
    files["log"] = log
    counts = log_problems(log.read_text(errors="replace"))
    return [f"pdflatex: {counts['overfull']} overfull boxes, {counts['underfull']} underfull, "
            f"{counts['warnings']} warnings (see {log})"]


def write_outputs(out: Path, sections: list[Section], checks: dict[str, bool], quick: bool,
                  errors: dict[str, str]) -> dict[str, Path]:
    """``paper.tex``, ``report.md`` and ``results.json`` (every expression and number)."""
    files = {"tex": out / "paper.tex", "markdown": out / "report.md",
             "json": out / "results.json", "figures": out / "figures"}
    files["tex"].write_text(paper_tex(sections))
    files["markdown"].write_text(report_md(sections, checks))
    results = {"symdyn_version": __version__, "quick": quick,
               "ok": all(checks.values()) and not errors, "checks": checks, "errors": errors,
               "sections": {s.key: {"title": s.title, "data": s.data} for s in sections}}
    files["json"].write_text(json.dumps(jsonable(results), indent=1) + "\n")
    return files
