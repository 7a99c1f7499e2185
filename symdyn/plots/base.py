"""What every figure of symdyn shares: labels and colours of the rules, a figure on its own
Agg canvas, a legend below the panels, and writing PNG and PDF.

Figures are :class:`matplotlib.figure.Figure` objects on their own Agg canvas, not pyplot
figures, so importing :mod:`symdyn.plots` leaves the process's matplotlib backend alone (a
notebook or an interactive session keeps its own).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine, TightLayoutEngine
from matplotlib.ticker import LogFormatterSciNotation

#: The label and colour of each rule in every table and figure.
LABELS = {"bptt": "BPTT", "tbptt": "tBPTT (k=1)", "rflo": "RFLO", "tbptt_k2": "tBPTT (k=2)"}
COLORS = {"bptt": "C0", "tbptt": "C1", "rflo": "C2", "tbptt_k2": "C3"}


def subplots(nrows: int = 1, ncols: int = 1, **kwargs) -> tuple[Figure, object]:
    """A figure on its own Agg canvas and its axes (``pyplot.subplots`` without pyplot).
    Its dpi is the PNG's, so that the layout pass and the PNG share matplotlib's cache of
    parsed mathtext."""
    figsize = kwargs.pop("figsize", None)
    fig = Figure(figsize=figsize, dpi=130)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def layout(fig: Figure, **kwargs) -> None:
    """``fig.tight_layout(**kwargs)``, once, with plain-text labels on log axes
    (:func:`plain_log_labels`), and no layout engine left on the figure (``tight_layout``
    leaves a placeholder, which savefig takes for an engine and lays the figure out again
    in an extra draw)."""
    for ax in fig.axes:
        plain_log_labels(ax)
        fix_title(ax)
    TightLayoutEngine(**kwargs).execute(fig)


def fix_title(ax) -> None:
    """Keep the title of ``ax`` where matplotlib puts it by default (just above the axes)
    instead of letting it look, at every layout and draw, for tick labels or an offset
    text above the axes to rise over: that search lays out the y axis once more per
    title and pass (a seventh of drawing the paper's figures). Only where the y axis has
    an offset text (``1e-5``) may the title still rise; no axis of symdyn has ticks on top.
    """
    if not ax.get_title() or ax.xaxis.get_ticks_position() != "bottom":
        return
    formatter = ax.yaxis.get_major_formatter()
    formatter.set_locs(ax.yaxis.get_majorticklocs())  # where the offset is computed
    if not formatter.get_offset():
        ax._autotitlepos = False  # what set_title(y=...) sets, without re-styling it


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


def legend_below(fig: Figure, axes, handles=None, ncol: int = 4) -> None:
    """One legend for all panels, under them (never over the data); labels deduplicated."""
    if handles is None:
        seen: dict[str, object] = {}
        for ax in np.atleast_1d(axes):
            for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
                seen.setdefault(label, h)
        handles = [h for h in seen.values()]
        labels = list(seen)
    else:
        labels = [h.get_label() for h in handles]
    layout(fig, rect=(0, 0.1, 1, 1), w_pad=2.5)
    fig.legend(handles, labels, loc="lower center", ncol=min(ncol, len(labels)), fontsize=9,
               frameon=False)


def save(fig: Figure, out: Path, stem: str, dpi: int = 130,
         formats: tuple[str, ...] = ("png", "pdf")) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` (or the given ``formats``) into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.{ext}" for ext in formats]
    if isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine):
        # What ``tight_layout`` leaves behind: savefig would take it for a layout engine
        # and draw the whole figure once more before the real draw (to lay it out).
        fig.set_layout_engine(None)
    for path in paths:
        if path.suffix == ".png":
            _save_opaque_png(fig, path, dpi)
        else:
            fig.savefig(path, dpi=dpi)
    return paths


def _save_opaque_png(fig: Figure, path: Path, dpi: int) -> None:
    """The PNG as RGB, without matplotlib's alpha channel (the figure is opaque anyway):
    pdflatex copies such a PNG into the PDF as it is, but must decode and split one with
    alpha (measured: 0.33 s against 1.48 s for the quick paper's eleven figures). The
    canvas's own pixels are encoded once, here: not written as an RGBA PNG by
    ``savefig``, decoded and encoded again (that took 0.15 s CPU a figure, a quarter of
    writing it; benchmarks/figures.py)."""
    from PIL import Image  # matplotlib's own dependency

    if isinstance(fig.canvas, FigureCanvasAgg) and fig.dpi == dpi:
        fig.canvas.draw()
        pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    else:  # a figure of another backend or dpi (pyplot's, say): through savefig
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        buffer.seek(0)
        with Image.open(buffer) as image:
            pixels = np.asarray(image.convert("RGB"))
    Image.fromarray(pixels).save(path, dpi=(dpi, dpi), compress_level=1)
