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

from .base import COLORS, LABELS, legend_below, save, subplots
from .paper import DRAW

__all__ = ["COLORS", "DRAW", "LABELS", "draw", "legend_below", "save", "save_figure",
           "subplots"]


def draw(figure) -> Figure:
    """The matplotlib figure of a :class:`~symdyn.reproduce.common.FigureData`."""
    return DRAW[figure.kind](figure.data)


def save_figure(figure, out: Path, formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """Draw ``figure`` and write ``NAME.png`` and ``NAME.pdf`` (or ``formats``) into ``out``."""
    return save(draw(figure), Path(out), figure.name, formats=formats)
