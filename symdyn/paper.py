"""``symdyn paper``: every result of the BPTT / tBPTT / RFLO comparison, end to end.

``run_paper(out)`` runs each derivation of :mod:`symdyn.reproduce` (ODEs, fixed points,
stability, rates, truncation sweep, invariants, low rank, dynamics, beyond alignment,
finite learning rate) and the validation
against simulation (:mod:`symdyn.reproduce.validation`), then writes into ``out``:
``paper.tex`` (and ``paper.pdf`` where pdflatex exists), ``report.md``, ``results.json``
and ``figures/*.png|pdf``. Computed sections are pure data and are cached under
``out/.cache/KEY`` with ``KEY`` a hash of the symdyn version, every source file of the
package and the ``quick`` flag, so a second run only re-writes (a figure is drawn again
only if its data, symdyn's code or its files changed). The steps
are independent and run side by side on one worker process per core.

The reusable logic lives in the package (:mod:`symdyn.reproduce`) because ``pip install .``
ships only the package. The notebooks in ``derivations/`` work through the same results on
the public API for a reader (docs/theory.md is their theory).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from . import __version__
from . import cache as disk
from .collector import collector_paused
from .latex import compile_pdf, document, has_pdflatex, log_problems
from .reproduce import SECTION_MODULES, validation
from .reproduce.common import RULES, Section, analysed, jsonable, plain_text, tex_mixed

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
        steps = sorted(((s, k) for k, s in self.seconds.items()
                        if k not in PHASES and s > 0), reverse=True)
        if steps:
            lines.append("  slowest steps: " + ", ".join(f"{k} {s:.1f} s" for s, k in steps[:3])
                         + " (run side by side; each step's own time)")
        lines += [f"  {name:<10} {path}" for name, path in self.files.items()]
        lines += [f"  NOTE: {note}" for note in self.notes]
        lines += [f"  FAILED: {k}" for k in failed]
        lines += [f"  ERROR in {k}: {v}" for k, v in self.errors.items()]
        return "\n".join(lines)


#: The entries of ``PaperResult.seconds`` that are phases of the run, not steps: loading
#: what the workers share before the fork, the steps side by side (wall), pdflatex, all.
PHASES = ("preload", "pool", "pdflatex", "total")


def source_key(quick: bool) -> str:
    """Hash of the version, every ``.py`` file of the package, and the run's size."""
    digest = hashlib.sha256(f"{__version__}|quick={quick}".encode())
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


#: Seconds of each step of a cold run, quick and full, measured (a run traced step by step
#: on this 2-core machine, scaled to a quiet minute): the pool starts the longest first so
#: that the cores finish together. Unlisted steps count 1 s.
COST = {True: {"beyond": 1.6, "truncation": 1.6, "noise": 1.4, "dynamics": 1.0,
               "validation bptt": 0.9, "validation tbptt": 0.7, "rates": 0.6,
               "invariants": 0.5, "stability": 0.4, "validation rflo": 0.4, "odes": 0.3,
               "low_rank": 0.3, "fixed_points": 0.1, **dict.fromkeys(
                   ("validation bptt (leak 0.3)", "validation tbptt (leak 0.3)",
                    "validation rflo (leak 0.3)"), 0.1)},
        False: {"beyond": 2.3, "noise": 3.2, "validation bptt": 3.2, "validation rflo": 1.8,
                "validation tbptt": 1.8, "truncation": 1.5, "dynamics": 1.1, "low_rank": 0.5,
                "rates": 0.7, "stability": 0.6, "invariants": 0.5, "odes": 0.3,
                "fixed_points": 0.1, "validation bptt (leak 0.3)": 0.6, **dict.fromkeys(
                    ("validation tbptt (leak 0.3)", "validation rflo (leak 0.3)"), 0.4)}}


def _part_name(rule: str, leak: float) -> str:
    return f"validation {rule}" + ("" if leak == 1 else f" (leak {leak:g})")


def steps() -> dict[str, Callable[[bool], object]]:
    """Every independent step of the paper, ``name -> compute(quick)``, in the paper's
    order (:func:`step_names`): each section of :data:`~symdyn.reproduce.SECTIONS`, then
    each part of the validation (:func:`symdyn.reproduce.validation.parts`)."""
    from .reproduce import SECTIONS

    out: dict[str, Callable[[bool], object]] = {name: module.compute
                                                for name, module in SECTIONS}
    for rule, leak in validation.parts():
        out[_part_name(rule, leak)] = partial(validation.run_part, rule, leak)
    return out


def step_names() -> list[str]:
    """The names of :func:`steps`, without importing the steps' modules."""
    return ([name for name, _ in SECTION_MODULES]
            + [_part_name(rule, leak) for rule, leak in validation.parts()])


#: The figures' formats: PNG for report.md and PDF for the paper; a quick run includes the
#: PNG in the paper instead, since writing the PDF took two fifths of drawing a figure.
FORMATS = {False: ("png", "pdf"), True: ("png",)}


def _included(quick: bool) -> str:
    """The figure format the paper includes: PDF (vector) where it is written, else PNG."""
    return "pdf" if "pdf" in FORMATS[quick] else "png"


def _run_step(name: str, quick: bool, figures: Path | None) -> tuple[object, float]:
    """Compute the step ``name`` and draw its figures into ``figures``: the unit of work
    of a pool worker. Returns the result and the seconds it took."""
    start = time.perf_counter()
    result = steps()[name](quick)
    if figures is not None and isinstance(result, Section):
        _draw(result, figures, quick)
    return result, time.perf_counter() - start


def _draw(section: Section, figures: Path, quick: bool) -> None:
    """Draw each figure of ``section`` into ``figures``, unless the files there are the ones
    an earlier run drew from the same data with the same code (:func:`_figure_key`)."""
    from .plots import save_figure

    code = source_key(quick)
    for figure in section.figures:
        key = _figure_key(figure, quick, code)
        if _drawn(figures, figure.name) != key:
            paths = save_figure(figure, figures, FORMATS[quick])
            _mark_drawn(figures, figure.name, key, paths)


def _figure_key(figure, quick: bool, code: str) -> str:
    """Hash of what a figure's files depend on: symdyn's code (``code``, the
    :func:`source_key`), the formats, and the figure's data and caption."""
    content = pickle.dumps((figure.kind, figure.data, figure.caption, FORMATS[quick]))
    return hashlib.sha256(code.encode() + content).hexdigest()[:24]


def _stamp_path(figures: Path, name: str) -> Path:
    return figures / ".drawn" / f"{name}.json"


def _files_state(paths: list[Path]) -> dict[str, list[int]]:
    return {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in paths}


def _mark_drawn(figures: Path, name: str, key: str, paths: list[Path]) -> None:
    """Record that ``paths`` were drawn for ``key``, with their sizes and times, so that a
    file overwritten since (by a run of the other size, say) is drawn again."""
    stamp = _stamp_path(figures, name)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({"key": key, "files": _files_state(paths)}))


def _drawn(figures: Path, name: str) -> str | None:
    """The key a figure's files were drawn for, if they are still those files."""
    try:
        stamp = json.loads(_stamp_path(figures, name).read_text())
        paths = [figures / file for file in stamp["files"]]
        return stamp["key"] if _files_state(paths) == stamp["files"] else None
    except (OSError, ValueError, KeyError, TypeError):  # no stamp, or a file is gone
        return None


#: The ODEs most steps analyse, ``(rule, leak, a_star)``: analysed first, once, so that the
#: steps read them from symdyn's on-disk cache instead of each worker deriving them again.
SHARED = ([(rule, 1, None) for rule in RULES] + [(rule, 1, 0) for rule in RULES]
          + [(rule, "alpha", None) for rule in RULES])


#: One flag per job of :data:`SHARED`, set by the process that takes it: shared memory
#: made before any fork (:func:`_shared_analyses_early`), so that the early process and the
#: pool's workers, which work through SHARED from opposite ends, never analyse the same ODE
#: twice.
_CLAIMS = None


def _warm(rule: str, leak: object, a_star: float | None) -> None:
    """Derive and analyse one shared ODE into the on-disk cache (:mod:`symdyn.cache`)."""
    analysed(rule, leak, a_star)


def _take(index: int) -> None:
    """:func:`_warm` of ``SHARED[index]``, unless another process has taken it."""
    if _CLAIMS is not None:
        with _CLAIMS.get_lock():
            if _CLAIMS[index]:
                return
            _CLAIMS[index] = 1
    _warm(*SHARED[index])


def _warm_early() -> None:
    """The early process: :data:`SHARED` from the first job on, while the parent is still
    loading what the steps need (:func:`_preload`, 1.6 to 2.4 s measured, when the second
    core had nothing to do)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it
    _start_worker()
    for index in range(len(SHARED)):
        try:
            _take(index)
        except Exception:  # as in the pool: the step that needs it shows the error again
            continue


@contextmanager
def _shared_analyses_early(context: multiprocessing.context.BaseContext,
                           wanted: bool) -> Iterator[None]:
    """:func:`_warm_early` in a process forked now, with only the symbolic engine
    imported, for the block; none where the shared analyses would not be read back (no
    on-disk cache), cannot be forked, or are not ``wanted``. The block's end stops it: a
    step that needed an analysis has it by then."""
    global _CLAIMS
    if not wanted or context.get_start_method() != "fork" or not disk.enabled():
        yield
        return
    _CLAIMS = context.Array("b", len(SHARED))
    process = context.Process(target=_warm_early, name="symdyn-shared", daemon=True)
    process.start()
    try:
        yield
    finally:
        process.terminate()
        process.join()
        _CLAIMS = None


def _lazy_sympy_modules() -> None:
    """Import, before any fork, the modules SymPy imports on first use inside a function:
    ``sympy.tensor.tensor`` (with ``sympy.combinatorics``) from the first ``Add`` of a
    derivation, ``sympy.codegen.ast`` from the first ``lambdify``. Each process that
    derives or lambdifies (the early one and every worker) paid them itself: 0.03-0.05
    and 0.01-0.015 CPU s, measured."""
    import sympy.codegen.ast  # noqa: F401
    import sympy.tensor.tensor  # noqa: F401


def _start_worker() -> None:
    """Each worker computes on one core: one BLAS thread (threadpoolctl), for the life of
    the process, so that the workers do not oversubscribe the machine.

    The objects the worker starts with (the modules symdyn, SymPy, NumPy and matplotlib
    loaded before the fork) live as long as it does: ``gc.freeze`` moves them out of the
    cyclic collector's sight, so its full collections no longer walk them each time the
    symbolic work has made enough new objects (measured on the quick run's symbolic
    steps: 0.77 s of full collections became 0.10 s)."""
    import gc

    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    gc.freeze()


def default_workers() -> int:
    """One worker per core this process may use, at most four."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def _figure_tex(figure, extension: str = "pdf") -> str:
    return ("\\begin{figure}[h!]\\centering\n"
            f"\\includegraphics[width=0.95\\linewidth,height=0.38\\textheight,"
            f"keepaspectratio]{{{figure.name}.{extension}}}\n"
            f"\\caption{{{tex_mixed(figure.caption)}}}\n\\end{{figure}}")


def paper_tex(sections: list[Section], figures_dir: str = "figures/",
              extension: str = "pdf") -> str:
    """A standalone article, one section per result, figures ``NAME.extension`` from
    ``figures_dir``."""
    parts = []
    for i, s in enumerate(sections):
        body = s.latex + "".join("\n\n" + _figure_tex(f, extension) for f in s.figures)
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
              progress: Progress | None = None, workers: int | None = None) -> PaperResult:
    """Run every derivation and the validation, and write the paper into ``out``.

    The steps (:func:`steps`) are independent: they run side by side on ``workers``
    processes (default :func:`default_workers`; ``1`` runs them in this process), the
    longest first, each drawing its own figures. A step found in the cache
    (``out/.cache/KEY/NAME.pkl``) is only drawn again where its figures changed
    (:func:`_draw`).
    """
    start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cache, figures = out / ".cache" / source_key(quick), out / "figures"
    report = progress or (lambda _step, _fraction: None)
    names = step_names()
    results, from_cache = _from_cache(cache, names)
    seconds = dict.fromkeys(from_cache, 0.0)
    errors: dict[str, str] = {}
    workers = default_workers() if workers is None else workers
    run = _run_in_pool if workers > 1 else _run_here
    phases: dict[str, float] = {}
    for name, value, taken in run([n for n in names if n not in results], results, quick,
                                  figures, workers, report, errors, phases):
        results[name], seconds[name] = value, taken
        disk.write(cache / f"{name}.pkl", value)
    seconds |= phases
    sections = _sections(results, names, quick)
    report("writing", 0.95)
    checks = {f"{s.key}: {k}": v for s in sections for k, v in s.checks.items()}
    # The PDF first, so that results.json carries its errors and the times of every step.
    t0, pdf_files = time.perf_counter(), {}
    notes = _pdf(out, sections, pdf_files, errors, report, _included(quick))
    seconds["pdflatex"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - start
    files = write_outputs(out, sections, checks, quick, errors, seconds) | pdf_files
    report("done", 1.0)
    ok = all(checks.values()) and not errors
    return PaperResult(out, ok, files, checks, seconds, errors, from_cache, notes)


def _from_cache(cache: Path, names: list[str]) -> tuple[dict[str, object], list[str]]:
    """The steps already computed for this source key; a stale or truncated entry counts
    as missing (it is recomputed and overwritten), never fatal."""
    found = {name: value for name in names
             if (value := disk.read(cache / f"{name}.pkl")) is not None}
    return found, list(found)


def _run_here(pending, cached, quick, figures, workers, report, errors, phases):
    """Every step in this process, in the paper's order (``workers == 1``)."""
    start = time.perf_counter()
    for value in cached.values():
        if isinstance(value, Section):
            _draw(value, figures, quick)
    for i, name in enumerate(pending):
        report(name, i / (len(pending) + 1))
        try:
            yield (name, *_run_step(name, quick, figures))
        except Exception as error:  # one failing step must not hide the others' results
            errors[name] = f"{type(error).__name__}: {error}"
    phases["pool"] = time.perf_counter() - start


def _run_in_pool(pending, cached, quick, figures, workers, report, errors, phases):
    """The steps on ``workers`` processes, longest first (:data:`COST`); cached sections
    are only drawn there (where their figures changed). Yields each result as it
    completes. ``phases`` gets the seconds of the preload and of the pool.

    The shared analyses start first, in an early process forked before the steps' modules
    are imported (:func:`_start_early`); the pool's workers take them from the other end."""
    context, start = _context(), time.perf_counter()
    if pending:
        _lazy_sympy_modules()
    with _shared_analyses_early(context, bool(pending)):
        yield from _pool(pending, cached, quick, figures, workers, report, errors, phases,
                         context, start)


def _pool(pending, cached, quick, figures, workers, report, errors, phases, context, start):
    if context.get_start_method() == "fork":
        _preload(quick, computing=bool(pending))
    phases["preload"], start = time.perf_counter() - start, time.perf_counter()
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker)
    try:
        # The pool starts tasks in the order submitted: the shared analyses first (only
        # useful when the on-disk cache carries them from one worker to the others). Their
        # results are not awaited: a failure there shows again in the step that needs it.
        if pending and disk.enabled():
            for index in reversed(range(len(SHARED))):
                pool.submit(_take, index)
        longest_first = sorted(pending, key=lambda n: COST[quick].get(n, 1.0), reverse=True)
        futures = {pool.submit(_run_step, name, quick, figures): name
                   for name in longest_first}
        futures.update({pool.submit(_draw, value, figures, quick): f"figures of {name}"
                        for name, value in cached.items() if isinstance(value, Section)})
        done = 0
        for future in as_completed(futures):
            name, done = futures[future], done + 1
            report(name, done / (len(futures) + 1))
            try:
                value = future.result()
            except Exception as error:  # one failing step must not hide the others
                errors[name] = f"{type(error).__name__}: {error}"
                continue
            if name in pending:
                yield (name, *value)
    except BaseException:  # a time limit or Ctrl-C: the workers must not outlive us
        _terminate(pool)
        raise
    pool.shutdown(wait=True)
    phases["pool"] = time.perf_counter() - start


def _preload(quick: bool, computing: bool) -> None:
    """Load here, once, what every forked worker would otherwise load for itself when
    steps are to run (none is loaded when every step comes from the cache): the steps'
    modules (:func:`steps`), mathtext's grammar (:func:`symdyn.plots.warm_up`), the
    simulator's compiled loops (compiled when numba's cache is empty), and matplotlib's
    PDF backend and PDFium when the run writes PDFs (0.3 s a worker)."""
    if not computing:
        return
    with collector_paused():  # long-lived objects: the workers freeze them after the fork
        from .plots import warm_up as build_mathtext
        from .simulate import warm_up

        steps()
        build_mathtext()
        warm_up()
        if "pdf" in FORMATS[quick]:
            import matplotlib.backends.backend_pdf  # noqa: F401

            with suppress(Exception):  # PDFium renders the PNGs beside PDFs (optional; a broken
                # install leaves them to Agg, see plots.base._pdf_rasterizer)
                import pypdfium2  # noqa: F401


def _context() -> multiprocessing.context.BaseContext:
    """``fork`` where the platform has it and this process runs one thread: the workers
    start at once with symdyn, SymPy and NumPy already imported (the pool forks them all
    before it starts its own thread). ``spawn`` otherwise: forking a process with other
    threads (a notebook kernel, pytest-xdist) can copy a lock that one of them holds."""
    fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    return multiprocessing.get_context("fork" if fork else "spawn")


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's workers now (the executor has no public way to stop running tasks;
    ``_processes`` is its table of workers, the same attribute since Python 3.8)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()


def _sections(results: dict[str, object], names: list[str], quick: bool) -> list[Section]:
    """The sections in the paper's order, the validation parts assembled into one."""
    sections = [results[n] for n in names if isinstance(results.get(n), Section)]
    reports = {(rule, leak): results[_part_name(rule, leak)]
               for rule, leak in validation.parts() if _part_name(rule, leak) in results}
    if reports:
        sections.append(validation.assemble(reports, quick))
    return sections


def _pdf(out: Path, sections: list[Section], files: dict[str, Path], errors: dict[str, str],
         report: Progress, extension: str = "pdf") -> list[str]:
    """Compile ``paper.pdf`` where pdflatex exists; the notes to show the user."""
    report("pdflatex", 0.97)
    # A paper.pdf from an earlier run would sit beside the new paper.tex as if current.
    (out / "paper.pdf").unlink(missing_ok=True)
    if not has_pdflatex():
        return ["pdflatex is not installed, so paper.pdf was not written "
                "(compile paper.tex with any LaTeX installation)"]
    try:
        source = paper_tex(sections, f"{out.resolve().as_posix()}/figures/", extension)
        files["pdf"] = compile_pdf(source, out / "paper.pdf")
    except RuntimeError as error:
        errors["pdflatex"] = str(error)[-500:]
        return []
    return _latex_notes(out / "paper.log", files)


def _latex_notes(log: Path, files: dict[str, Path]) -> list[str]:
    """One line on pdflatex's warnings when :func:`compile_pdf` kept the log."""
    if not log.exists():
        return []
    files["log"] = log
    counts = log_problems(log.read_text(errors="replace"))
    return [f"pdflatex: {counts['overfull']} overfull boxes, {counts['underfull']} underfull, "
            f"{counts['warnings']} warnings (see {log})"]


def write_outputs(out: Path, sections: list[Section], checks: dict[str, bool], quick: bool,
                  errors: dict[str, str], seconds: dict[str, float] | None = None,
                  ) -> dict[str, Path]:
    """``paper.tex``, ``report.md`` and ``results.json`` (every expression and number)."""
    files = {"tex": out / "paper.tex", "markdown": out / "report.md",
             "json": out / "results.json", "figures": out / "figures"}
    files["tex"].write_text(paper_tex(sections, extension=_included(quick)))
    files["markdown"].write_text(report_md(sections, checks))
    results = {"symdyn_version": __version__, "quick": quick,
               "ok": all(checks.values()) and not errors, "checks": checks, "errors": errors,
               "seconds": {k: round(v, 3) for k, v in (seconds or {}).items()},
               "sections": {s.key: {"title": s.title, "data": s.data} for s in sections}}
    files["json"].write_text(json.dumps(jsonable(results), indent=1) + "\n")
    return files
