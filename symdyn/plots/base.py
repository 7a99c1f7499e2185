"""What every figure of symdyn shares: labels and colours of the rules, a figure on its own
Agg canvas, a legend below the panels, and writing PNG and PDF.

Figures are :class:`matplotlib.figure.Figure` objects on their own Agg canvas, not pyplot
figures, so importing :mod:`symdyn.plots` leaves the process's matplotlib backend alone (a
notebook or an interactive session keeps its own).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine

from .layout import layout

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
    """Write ``stem.png`` and ``stem.pdf`` (or the given ``formats``) into ``out``: a PNG
    alone drawn by Agg, a PNG beside a PDF rendered from that PDF where PDFium is
    installed (:func:`_pdf_rasterizer`)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.{ext}" for ext in formats]
    if isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine):
        # What ``tight_layout`` leaves behind: savefig would take it for a layout engine
        # and draw the whole figure once more before the real draw (to lay it out).
        fig.set_layout_engine(None)
    pdf = next((path for path in paths if path.suffix == ".pdf"), None)
    rasterizer = _pdf_rasterizer() if pdf is not None and len(paths) > 1 else None
    if rasterizer is not None:  # the PDF first: the PNG is rendered from it
        _save_vector(fig, pdf, dpi)
    for path in paths:
        if path.suffix == ".png":
            if rasterizer is None or not _png_from_pdf(rasterizer, pdf, path, dpi,
                                                       fig.get_size_inches() * dpi):
                _save_opaque_png(fig, path, dpi)
        elif path != pdf or rasterizer is None:
            _save_vector(fig, path, dpi)
    return paths


def _pdf_rasterizer():
    """PDFium's Python bindings (``pypdfium2``) if installed, else None.

    Where a figure is written as PDF and PNG, the PNG is the PDF rendered by PDFium,
    instead of the whole figure drawn once more by matplotlib's Agg (artists, ticks,
    legends, text layout and mathtext at another dpi, all in Python): the same picture,
    the one the PDF shows, at the same size in pixels; anti-aliased edges differ by a
    shade here and there. Measured on the full paper's eleven figures (CPU s): the PNGs
    1.48 by Agg, 0.46-0.52 by PDFium (benchmarks/figures.py)."""
    try:
        import pypdfium2
    except Exception:  # optional (ImportError), or a broken install (OSError loading
        return None    # libpdfium, ...): Agg draws the PNG then
    return pypdfium2


def _png_from_pdf(pdfium, pdf: Path, path: Path, dpi: int, size: np.ndarray) -> bool:
    """Render the one page of ``pdf`` at ``dpi`` into an RGB PNG as large as Agg's at that
    dpi, ``size`` (width, height) rounded down: PDFium rounds up, so the scale is a hair
    under dpi / 72 where the two would differ by a pixel.  False (with a warning, nothing
    written) if PDFium fails: the caller has Agg draw the PNG instead."""
    try:
        document = pdfium.PdfDocument(str(pdf))
        try:
            page = document[0]
            width, height = page.get_size()
            pixels = np.floor(size + 1e-6)  # as Agg: 12.6 in at 130 dpi is 1638, not 1637
            scale = min(dpi / 72, *(pixels / (width, height) * (1 - 1e-9)))
            image = page.render(scale=scale).to_pil().convert("RGB")
            page.close()
        finally:
            document.close()
    except Exception as error:  # a PDFium error: the figure is not lost, Agg draws it
        warnings.warn(f"PDFium could not render {pdf.name} ({error!r}); the PNG is drawn "
                      "by Agg", RuntimeWarning, stacklevel=3)
        return False
    image.save(path, dpi=(dpi, dpi), compress_level=1)
    return True


def _save_vector(fig: Figure, path: Path, dpi: int) -> None:
    """``savefig``, with a PDF's streams compressed at zlib's fastest level instead of
    matplotlib's default 6: the same drawing, in files 9 % larger, written 10 % faster
    (measured on the full paper's eleven figures: 2.18 -> 1.96 s CPU, 396 -> 431 kB)."""
    with rc_context({"pdf.compression": 1}):
        fig.savefig(path, dpi=dpi)


def _save_opaque_png(fig: Figure, path: Path, dpi: int) -> None:
    """The PNG as RGB, without matplotlib's alpha channel (the figure is opaque anyway):
    pdflatex copies such a PNG into the PDF as it is, but must decode and split one with
    alpha (measured: 0.33 s against 1.48 s for the quick paper's eleven figures). The
    canvas's own pixels are encoded once, here: not written as an RGBA PNG by
    ``savefig``, decoded and encoded again (that took 0.15 s CPU a figure, a quarter of
    writing it; benchmarks/figures.py). Pillow drops the alpha channel (``convert``):
    a NumPy view without it would be copied pixel by pixel, a stride at a time, to
    make the image (7 ms against 1 ms a figure)."""
    from PIL import Image  # matplotlib's own dependency

    if isinstance(fig.canvas, FigureCanvasAgg) and fig.dpi == dpi:
        fig.canvas.draw()
        image = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB")
    else:  # a figure of another backend or dpi (pyplot's, say): through savefig
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        buffer.seek(0)
        with Image.open(buffer) as png:
            image = png.convert("RGB")
    image.save(path, dpi=(dpi, dpi), compress_level=1)
