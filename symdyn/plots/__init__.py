"""Figures from results, never from recomputation (matplotlib, drawn by Agg).

:mod:`symdyn.plots.paper` draws the figures of ``symdyn paper`` from the ``data`` dict of a
:class:`symdyn.reproduce.common.FigureData`; :mod:`symdyn.plots.validation` draws the
validation studies from the ``details`` of each :class:`symdyn.validation.Check`.  The
labels and colours of the rules live here (:data:`LABELS`, :data:`COLORS`), once.  No
module switches the process's matplotlib backend: every figure has its own Agg canvas.
Figures are drawn to be written, cheaply (:mod:`symdyn.plots.layout`): once laid out,
their ticks are fixed, so a figure whose limits change afterwards keeps its old ticks.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from ..collector import collector_paused
from .base import COLORS, LABELS, legend_below, save, subplots
from .paper import DRAW

__all__ = ["COLORS", "DRAW", "LABELS", "draw", "legend_below", "save", "save_figure",
           "subplots", "warm_up"]


def draw(figure) -> Figure:
    """The matplotlib figure of a :class:`~symdyn.reproduce.common.FigureData`."""
    return DRAW[figure.kind](figure.data)


def save_figure(figure, out: Path, formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """Draw ``figure`` and write ``NAME.png`` and ``NAME.pdf`` (or ``formats``) into ``out``."""
    with collector_paused():
        return save(draw(figure), Path(out), figure.name, formats=formats)


def warm_up() -> None:
    """Parse one formula with matplotlib's mathtext, here: the one-off cost of a process's
    first figure, paid once for the processes forked afterwards (the workers of
    ``symdyn paper``: call it before the fork).

    The first formula of a process builds mathtext's grammar (pyparsing), which
    matplotlib keeps for the life of the process, for PNG and PDF alike; the fonts it
    finds stay in ``findfont``'s cache. A forked process inherits both (it opens the font
    files again: matplotlib drops open fonts in a forked child). Measured on the quick
    paper's first figure (benchmarks/figures.py, CPU s): this call 0.05-0.09; the figure
    in a forked worker 0.39-0.47 without it, 0.34-0.40 after it. The collector is paused
    as when a figure builds the grammar (:func:`save_figure`): with it running, the call
    took 0.14-0.22."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import MathTextParser

    with collector_paused():  # as when a figure builds it (save_figure)
        MathTextParser("agg").parse(r"$x$", 72, FontProperties())
