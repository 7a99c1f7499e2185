"""CPU seconds of drawing the figures of ``symdyn paper`` (issue #12), quick or full.

Computes the paper's sections once (every section of :data:`symdyn.reproduce.SECTIONS`;
the validation has no figures), then draws each figure as the paper does
(:func:`symdyn.plots.save_figure`), in each format of that run (quick: PNG; full: PNG and
PDF, see ``symdyn.paper.FORMATS``), and prints per figure the CPU seconds
(``time.process_time``) of building it (the plotting code, layout included) and of
writing its files (all formats in one call, as the paper writes them: with PDFium
installed, a PNG beside a PDF is the PDF rendered), best of ``--repeat``, and the totals.

One figure is drawn and thrown away first: the one-off cost of a process's first figure
(fonts, mathtext parser; printed as "first figure") is not charged to whichever figure
comes first.  Every worker of ``symdyn paper`` pays that cost once, less what
:func:`symdyn.plots.warm_up` paid before the fork: where ``os.fork`` exists, the first
figure is also drawn in a process forked before and one forked after ``warm_up`` (each
best of three; printed with what ``warm_up`` cost).  Matplotlib's cache
of parsed mathtext is emptied before each draw, as if the figure were drawn for the first
time (the paper draws each figure once).

``--forked`` draws instead each section's figures in a process forked after ``symdyn
paper``'s preload, as the paper's workers draw them (:func:`in_workers`).

``--sections FILE`` keeps the computed sections in a pickle (written when missing, read
when present), so that a change to the plotting code is measured without recomputing.

Measured on the 2-core machine (2026-11-28, old and new code run alternately, CPU s):
quick 7.67 / 7.74 -> 3.71 / 3.74; full 11.52 / 12.94 -> 6.74 / 6.74 (PNG + PDF).

Usage (from the repo root):
    PYTHONPATH=. python benchmarks/figures.py [--full] [--repeat N] [--sections FILE]
                                               [--out DIR] [--forked]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pickle
import tempfile
import time
from pathlib import Path

from symdyn.paper import FORMATS
from symdyn.reproduce import SECTIONS
from symdyn.reproduce.common import Section


def sections(quick: bool, keep: Path | None) -> list[Section]:
    """The sections with figures, computed (or read from ``keep``, a pickle)."""
    if keep is not None and keep.exists():
        return pickle.loads(keep.read_bytes())
    found = []
    for name, module in SECTIONS:
        start = time.process_time()
        section = module.compute(quick)
        print(f"  computed {name:<13} {time.process_time() - start:6.2f} s CPU", flush=True)
        if section.figures:
            found.append(section)
    if keep is not None:
        keep.write_bytes(pickle.dumps(found))
    return found


def timed(figure, out: Path, formats: tuple[str, ...]) -> dict[str, float]:
    """CPU seconds of building ``figure`` and of writing each format."""
    from matplotlib.mathtext import MathTextParser

    from symdyn.plots import draw, save

    try:
        from symdyn.collector import collector_paused
    except ImportError:  # an older symdyn (A/B runs): its own pause, else the collector on
        try:
            from symdyn.plots import _collector_paused as collector_paused
        except ImportError:
            collector_paused = contextlib.nullcontext
    # A paper worker draws each figure once: no mathtext parsed by an earlier draw of it.
    MathTextParser._parse_cached.cache_clear()
    with collector_paused():  # as save_figure draws
        start = time.process_time()
        fig = draw(figure)
        seconds = {"build": time.process_time() - start}
        start = time.process_time()
        save(fig, out, figure.name, formats=formats)  # together, as the paper writes them
        seconds["+".join(formats)] = time.process_time() - start
    return seconds


def _in_child(figure, formats: tuple[str, ...], start_worker=None) -> float:
    """CPU seconds of drawing ``figure`` (or a list of figures, one after the other) in a
    process forked from this one, which first calls ``start_worker`` if given."""
    from symdyn.plots import save_figure

    figures = figure if isinstance(figure, list) else [figure]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: draw, report, leave at once
        os.close(read)
        if start_worker is not None:
            start_worker()
        start = time.process_time()
        for one in figures:
            save_figure(one, Path(tempfile.mkdtemp()), formats)
        os.write(write, str(time.process_time() - start).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        seconds = float(pipe.read())
    os.waitpid(pid, 0)
    return seconds


def first_in_worker(figure, formats: tuple[str, ...]) -> tuple[float, ...] | None:
    """The first figure of a worker forked from this process (nothing drawn here yet),
    before and after :func:`symdyn.plots.warm_up` here, and that call's CPU seconds."""
    if not hasattr(os, "fork"):
        return None
    from symdyn.plots import warm_up

    cold = min(_in_child(figure, formats) for _ in range(3))
    start = time.process_time()
    warm_up()
    cost = time.process_time() - start
    return cold, cost, min(_in_child(figure, formats) for _ in range(3))


def in_workers(found: list[Section], quick: bool, repeat: int) -> None:
    """Print the CPU seconds of drawing each section's figures in a process forked as
    ``symdyn paper`` forks its workers: after its preload (``paper._preload``: the steps'
    modules, mathtext's grammar, the PDF backend), each worker started as the paper
    starts it (``paper._start_worker``); best of ``repeat`` forks a section, and the sum.
    This is how the paper draws (a step draws its figures in the worker that computed
    it, after its computation), without the computation's objects around."""
    from symdyn import paper

    paper._preload(quick, computing=True)
    formats = FORMATS[quick]
    print(f"{'quick' if quick else 'full'} run, each section's figures in a forked worker; "
          f"CPU seconds, best of {repeat}")
    total = 0.0
    for section in found:
        seconds = min(_in_child(list(section.figures), formats, paper._start_worker)
                      for _ in range(repeat))
        total += seconds
        print(f"{section.key:<34}{len(section.figures):>3} figures{seconds:8.2f}")
    print(f"{'TOTAL':<46}{total:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full run (default: quick)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many draws")
    parser.add_argument("--sections", type=Path, help="pickle of the computed sections")
    parser.add_argument("--out", type=Path, help="keep the images here (default: a temp dir)")
    parser.add_argument("--forked", action="store_true",
                        help="draw each section's figures in a forked worker, as the paper")
    args = parser.parse_args()
    quick = not args.full
    formats = FORMATS[quick]
    found = sections(quick, args.sections)
    if args.forked and hasattr(os, "fork"):
        in_workers(found, quick, args.repeat)
        return
    out = args.out or Path(tempfile.mkdtemp(prefix="symdyn-figures-"))
    figures = [f for s in found for f in s.figures]

    forked = first_in_worker(figures[0], formats)
    start = time.process_time()
    timed(figures[0], Path(tempfile.mkdtemp()), formats)  # fonts, mathtext: outside
    first = time.process_time() - start
    columns = ("build", "+".join(formats))
    # first_in_worker has run warm_up here: the grammar is no longer part of that figure
    after = ", after warm_up" if forked else ""
    print(f"{'quick' if quick else 'full'} run, {len(figures)} figures, formats "
          f"{', '.join(formats)}; CPU seconds, best of {args.repeat} "
          f"(first figure of a process{after}: {first:.2f} s)")
    if forked:
        print("first figure in a forked worker: {:.2f} s; after warm_up ({:.2f} s, before "
              "the fork): {:.2f} s".format(*forked))
    print(f"{'figure':<34}" + "".join(f"{c:>8}" for c in columns) + f"{'total':>8}")
    totals = dict.fromkeys(columns, 0.0)
    for figure in figures:
        runs = [timed(figure, out, formats) for _ in range(args.repeat)]
        best = {c: min(r[c] for r in runs) for c in columns}
        for c in columns:
            totals[c] += best[c]
        print(f"{figure.name:<34}" + "".join(f"{best[c]:8.2f}" for c in columns)
              + f"{sum(best.values()):8.2f}")
    print(f"{'TOTAL':<34}" + "".join(f"{totals[c]:8.2f}" for c in columns)
          + f"{sum(totals.values()):8.2f}")
    print(f"images in {out}")


if __name__ == "__main__":
    main()
