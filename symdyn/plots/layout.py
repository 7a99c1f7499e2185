"""The layout of symdyn's figures, done once and cheaply: tick labels on log axes in plain
text, ticks fixed before the layout, titles left where they are, and matplotlib's tight
layout run once without leaving a layout engine on the figure.

Every figure ends with :func:`layout` (or :func:`symdyn.plots.legend_below`, which calls
it). What each step saves is measured by ``benchmarks/figures.py``; none changes what a
figure shows.
"""

from __future__ import annotations

import re

import numpy as np
from matplotlib.figure import Figure
from matplotlib.layout_engine import TightLayoutEngine
from matplotlib.ticker import FixedFormatter, FixedLocator, LogFormatterSciNotation, NullLocator


def layout(fig: Figure, rect: tuple[float, float, float, float] | None = None,
           **kwargs) -> None:
    """``fig.tight_layout(rect=rect, **kwargs)``, once, after :func:`plain_log_labels`,
    :func:`freeze_ticks` and :func:`fix_title` on every axes (call it when everything is
    plotted), and no layout engine left on the figure (``tight_layout`` leaves a
    placeholder, which savefig takes for an engine and lays the figure out again in an
    extra draw). ``rect`` needs every axes on one grid (``Figure.subplots``)."""
    for ax in fig.axes:
        plain_log_labels(ax)
        freeze_ticks(ax)
        fix_title(ax)
        measure_outside_only(ax)
    engine = TightLayoutEngine(**kwargs)
    grids = {ax.get_subplotspec().get_gridspec() if ax.get_subplotspec() else None
             for ax in fig.axes}
    if len(grids) == 1 and None not in grids and "rect" in getattr(engine, "_params", {}):
        # The engine's rect is never None (default: the whole figure), and with a rect
        # matplotlib measures every axes twice; measured once, the rect is applied by
        # arithmetic (_into_rect), the same subplot parameters.
        engine._params["rect"] = None
        engine.execute(fig)
        if rect is not None:
            _into_rect(fig, rect)
    else:  # axes on several grids, or another matplotlib: its own two passes
        TightLayoutEngine(rect=rect or (0, 0, 1, 1), **kwargs).execute(fig)


def _into_rect(fig: Figure, rect: tuple[float, float, float, float]) -> None:
    """Move a tight layout of the whole figure into ``rect`` (left, bottom, right, top in
    figure fractions), as ``tight_layout(rect=rect)`` does: the margins grow by the
    rect's, the gaps between panels stay the same in inches.

    ``tight_layout`` measures every axes twice (its rect defaults to the whole figure),
    once for the margins and once more, unchanged, for the gaps between panels at the
    new margins; the second result follows from the first by this arithmetic (that of
    matplotlib's ``_auto_adjust_subplotpars``). Measured: 5.33 -> 4.72 s CPU for the
    quick paper's figures, pixel-identical."""
    p = fig.subplotpars
    rows, cols = fig.axes[0].get_subplotspec().get_gridspec().get_geometry()
    left, right = rect[0] + p.left, rect[2] - (1 - p.right)
    bottom, top = rect[1] + p.bottom, rect[3] - (1 - p.top)
    fig.subplots_adjust(left=left, right=right, bottom=bottom, top=top,
                        wspace=_gap(p.wspace, p.right - p.left, right - left, cols),
                        hspace=_gap(p.hspace, p.top - p.bottom, top - bottom, rows))


def _gap(space: float, old: float, new: float, n: int) -> float:
    """The ``wspace`` (``hspace``) that keeps the gap between ``n`` panels when their
    span goes from ``old`` to ``new``: the gap g and panel size s obey n s + (n-1) g =
    span and space = g / s."""
    if n < 2:
        return space
    gap = space * old / (n + space * (n - 1))
    return gap / ((new - gap * (n - 1)) / n)


def measure_outside_only(ax) -> None:
    """Leave out of the layout's measuring (``set_in_layout(False)``) what lies inside the
    box of ``ax`` by construction, which the layout measures anyway:

    - the background patch: it is the axes' box;
    - a spine in its default place with no ticks on it (the top and right spines here):
      a line along the box's edge. Matplotlib measures it with the ticks of its axis,
      asking the axis for them once more.

    The layout is the same: the extents it measures lose only ones inside their union
    (the paper's figures, quick and full: the same subplot parameters to the last bit).
    The spines with ticks stay measured: their ticks reach beyond the box where no tick
    label does (between the panels of a shared axis). What it saves is small: the quick
    paper's figures make 40 000 of 3.9 million Python calls fewer (50 of 202 spine
    extents), about 2 % of their CPU (the tight layout, best of 8 alternated rounds:
    1.37 -> 1.21 s and 1.05 -> 1.03 s on a slow host)."""
    if ax.name != "rectilinear":  # a polar axes' patch and spine are its circle
        return
    ax.patch.set_in_layout(False)
    for side, spine in ax.spines.items():
        # only the four lines of the box: spine.get_position() is not read-only for other
        # spines (it sets a position where none was set, which redraws a polar spine
        # wrongly, and a colorbar's outline has no position at all)
        if side not in ("left", "right", "top", "bottom") or spine.spine_type != side:
            continue
        axis = ax.xaxis if side in ("top", "bottom") else ax.yaxis
        if spine.get_position() == ("outward", 0.0) and not any(
                axis.get_tick_params(which=which).get(side, False)
                for which in ("major", "minor")):
            spine.set_in_layout(False)


def fix_title(ax) -> None:
    """Keep the title of ``ax`` where matplotlib puts it by default (just above the axes)
    instead of letting it look, at every layout and draw, for tick labels or an offset
    text above the axes to rise over: that search lays out the y axis once more per
    title and pass (a seventh of drawing the paper's figures). Only where the y axis has
    an offset text (``1e-5``) may the title still rise; no axis of symdyn has ticks on top.
    """
    if not ax.get_title() or ax.xaxis.get_ticks_position() != "bottom":
        return
    if not ax.yaxis.get_major_formatter().get_offset():  # known once frozen
        ax._autotitlepos = False  # what set_title(y=...) sets, without re-styling it


def freeze_ticks(ax) -> None:
    """Fix the ticks and labels of both axes of ``ax`` to those their locators and
    formatters give now, with the data plotted (a ``FixedLocator`` and ``FixedFormatter``
    each, the offset text kept).

    Matplotlib asks an axis's locator and formatter again each time it measures or draws
    the axis (about ten times a figure: the layout measures the tick labels, then the
    spines, then the axis label's position, and the draw does it again), which was a
    sixth of drawing the paper's figures. Ticks outside the view are dropped (never
    drawn, see :func:`_in_view`). Frozen, the layout measures the very ticks that
    are drawn; left free, the draw chose its ticks again for the laid-out (larger) axes,
    so it could draw more labels than the layout had made room for."""
    for axis in (ax.xaxis, ax.yaxis):
        for ticker, locs, set_locator, set_formatter in (
                (axis.major, axis.get_majorticklocs, axis.set_major_locator,
                 axis.set_major_formatter),
                (axis.minor, axis.get_minorticklocs, axis.set_minor_locator,
                 axis.set_minor_formatter)):
            if isinstance(ticker.locator, NullLocator):
                continue
            values = np.asarray(locs())
            labels = np.array(ticker.formatter.format_ticks(values), dtype=object)
            shown = _in_view(axis, values)
            formatter = FixedFormatter(list(labels[shown]))
            formatter.set_offset_string(ticker.formatter.get_offset())
            set_locator(FixedLocator(values[shown]))
            set_formatter(formatter)


def _in_view(axis, values: np.ndarray) -> np.ndarray:
    """Which tick positions lie in the axis's view, as matplotlib decides which ticks to
    draw (in the scale's coordinates, with a relative tolerance of 1e-10). Locators
    give ticks beyond the view too (a third of them here): matplotlib makes, positions
    and labels them at every pass, and never draws them."""
    if not len(values):
        return np.zeros(0, dtype=bool)
    transform = axis.get_transform()
    low, high = np.sort(transform.transform(np.asarray(axis.get_view_interval())))
    spots = transform.transform(values)
    slack = 1e-10 * (high - low)
    return (spots >= low - slack) & (spots <= high + slack)


def plain_log_labels(ax) -> None:
    """Label the log axes of ``ax`` with :class:`PlainLogFormatter` (same ticks, same
    labels), keeping each formatter's choice of which ticks to label."""
    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() != "log":
            continue
        base = axis.get_transform().base
        for ticker, setter in ((axis.major, axis.set_major_formatter),
                               (axis.minor, axis.set_minor_formatter)):
            old = ticker.formatter
            if type(old) is LogFormatterSciNotation:
                setter(PlainLogFormatter(base, labelOnlyBase=old.labelOnlyBase,
                                         minor_thresholds=old.minor_thresholds))


_SUPERSCRIPT = str.maketrans("0123456789-", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076"
                             "\u2077\u2078\u2079\u207b")
_POWER = re.compile(r"\$\\mathdefault\{(-?)(?:([\d.]+)\\times)?(\d+)\^\{(-?\d+)\}\}\$")


class PlainLogFormatter(LogFormatterSciNotation):
    """Matplotlib's log-axis labels (``10^{-3}``, ``6 \\times 10^{-3}``) written as plain
    text, the exponent in Unicode superscript digits of the same font, instead of
    mathtext: parsing a mathtext label takes matplotlib about 10 ms, again for each
    format, and these were a third of the figures' mathtext. Labels of any other shape
    stay as matplotlib writes them."""

    def __call__(self, x, pos=None) -> str:
        label = super().__call__(x, pos)
        match = _POWER.fullmatch(label)
        if match is None:
            return label
        sign, coefficient, base, exponent = match.groups()
        times = f"{coefficient}\u00d7" if coefficient else ""
        return f"{sign}{times}{base}{exponent.translate(_SUPERSCRIPT)}"
