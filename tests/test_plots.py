"""The cheap layout of symdyn's figures (symdyn.plots.layout, plots.save) draws what
matplotlib's own tight layout and savefig draw: checked against them, on small figures."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import symdyn.plots.layout as lay
from symdyn.plots import save, subplots


def _log_figure():
    fig, axes = subplots(1, 2, figsize=(6, 3), sharey=True)
    for i, ax in enumerate(axes):
        ax.loglog([1e-3, 2e-2], [1e-4 * (i + 1), 5e-3], "o-", label="$\\sigma = 1$")
        ax.set(xlabel=r"learning rate $\eta$", title=f"panel {i}")
    return fig, axes


def test_plain_log_labels_read_as_matplotlibs():
    """Each mathtext label of a log axis becomes the same number in plain text."""
    formatter = lay.PlainLogFormatter(10)
    formatter.create_dummy_axis()
    formatter.axis.set_view_interval(1e-4, 1e2)
    formatter.set_locs([1e-3, 1e0, 1e1])
    assert formatter(1e-3) == "10\u207b\u00b3"
    assert formatter(1.0) == "10\u2070"
    assert formatter(10.0) == "10\u00b9"
    plain = lay.PlainLogFormatter(10, labelOnlyBase=False)
    plain.create_dummy_axis()
    plain.axis.set_view_interval(2e-4, 9e-4)  # less than a decade: every tick labelled
    plain.set_locs([3e-4, 6e-4])
    assert plain(6e-4) == "6\u00d710\u207b\u2074"


@pytest.mark.parametrize("rect", [None, (0, 0.1, 1, 1), (0.05, 0.1, 0.9, 0.95)])
def test_layout_matches_tight_layout(rect):
    """The same subplot parameters as ``fig.tight_layout(rect=...)`` on the same axes
    (which measures every axes twice where ``layout`` measures them once)."""
    fig, _ = _log_figure()
    reference, ref_axes = _log_figure()
    for ax in ref_axes:
        lay.plain_log_labels(ax)
        lay.freeze_ticks(ax)
        lay.fix_title(ax)
    reference.tight_layout(**({} if rect is None else {"rect": rect}), w_pad=2.5)
    lay.layout(fig, rect=rect, w_pad=2.5)
    for name in ("left", "right", "bottom", "top", "wspace"):
        assert getattr(fig.subplotpars, name) == pytest.approx(
            getattr(reference.subplotpars, name), abs=1e-9)
    assert fig.get_layout_engine() is None


def test_layout_measures_what_reaches_beyond_the_axes():
    """Left out of the layout: the background patch and the spines without ticks; kept:
    the spines with ticks (those of the right panel's left spine sit between the panels
    with no label beyond them; one panel here has ticks on its right spine too), so the
    subplot parameters stay those of ``fig.tight_layout``."""
    fig, axes = _log_figure()
    reference, ref_axes = _log_figure()
    for ax in (axes[1], ref_axes[1]):
        ax.tick_params(right=True, length=8)
    for ax in ref_axes:
        lay.plain_log_labels(ax)
        lay.freeze_ticks(ax)
        lay.fix_title(ax)
    reference.tight_layout()
    lay.layout(fig)
    for name in ("left", "right", "bottom", "top", "wspace"):
        assert getattr(fig.subplotpars, name) == pytest.approx(
            getattr(reference.subplotpars, name), abs=1e-9)
    for i, ax in enumerate(axes):
        assert not ax.patch.get_in_layout() and not ax.spines["top"].get_in_layout()
        assert ax.spines["right"].get_in_layout() == (i == 1)
        assert ax.spines["left"].get_in_layout() and ax.spines["bottom"].get_in_layout()


def _pixels(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def test_layout_leaves_polar_axes_and_colorbars_as_they_are():
    """A polar axes (its spine is a circle) and a colorbar (its outline is no box spine)
    are laid out and drawn as matplotlib's own tight layout lays out and draws them."""
    from matplotlib.layout_engine import TightLayoutEngine

    def figure():
        fig, _ = subplots(1, 1, figsize=(6, 3))
        fig.axes[0].remove()
        polar = fig.add_subplot(1, 2, 1, projection="polar")
        polar.plot(np.linspace(0, 6, 50), np.linspace(0, 1, 50))
        image = fig.add_subplot(1, 2, 2).imshow(np.arange(12.0).reshape(3, 4))
        fig.colorbar(image, ax=fig.axes[-1])
        return fig

    fig, reference = figure(), figure()
    lay.layout(fig)
    for ax in reference.axes:
        lay.plain_log_labels(ax)
        lay.freeze_ticks(ax)
        lay.fix_title(ax)
    TightLayoutEngine().execute(reference)
    assert np.array_equal(_pixels(fig), _pixels(reference))


def test_frozen_ticks_are_the_locators():
    """Frozen, an axis draws the ticks and labels its locator and formatter gave (those in
    view), the offset text kept."""
    fig, ax = subplots(figsize=(4, 3))
    ax.plot([0, 1], [1e-5, 4e-5])
    expected = {}
    for axis in (ax.xaxis, ax.yaxis):
        locs = axis.get_majorticklocs()
        labels = axis.major.formatter.format_ticks(locs)
        low, high = sorted(axis.get_view_interval())
        expected[axis] = ([(x, s) for x, s in zip(locs, labels, strict=True)
                           if low - 1e-12 <= x <= high + 1e-12],
                          axis.major.formatter.get_offset())
    lay.layout(fig)
    fig.canvas.draw()
    for axis, (ticks, offset) in expected.items():
        drawn = [(t.get_position()[axis is ax.yaxis], t.get_text())
                 for t in axis.get_ticklabels()]
        assert [s for _, s in drawn] == [s for _, s in ticks]
        assert np.allclose([x for x, _ in drawn], [x for x, _ in ticks])
        assert axis.offsetText.get_text() == offset
    assert expected[ax.yaxis][1]  # the y axis has an offset text to keep


def test_title_still_rises_over_an_offset_text():
    """A y axis with an offset text (1e-5) keeps matplotlib's title placement."""
    fig, ax = subplots(figsize=(3, 3))
    ax.plot([0, 1], [0, 3e-5])
    ax.set_title("a title as wide as the axes, nearly")
    lay.layout(fig)
    assert ax.yaxis.get_major_formatter().get_offset()
    fig.canvas.draw()
    title = ax.title.get_window_extent()
    offset = ax.yaxis.offsetText.get_window_extent()
    assert not title.overlaps(offset)


def test_png_is_rgb_with_savefigs_pixels(tmp_path):
    """``save`` writes the canvas's pixels as RGB: those of savefig's RGBA PNG."""
    fig, axes = _log_figure()
    lay.layout(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    (path,) = save(fig, tmp_path, "f", dpi=int(fig.dpi), formats=("png",))
    with Image.open(path) as ours, Image.open(buffer) as theirs:
        assert ours.mode == "RGB"
        assert np.array_equal(np.asarray(ours), np.asarray(theirs.convert("RGB")))


def test_png_beside_a_pdf_is_the_pdf_rendered(tmp_path):
    """Written with a PDF, the PNG is that PDF rendered (by PDFium, where installed): an
    RGB image of Agg's size at that dpi and Agg's picture but for anti-aliased edges.
    Measured on this figure: mean difference of 5x5-pixel block averages 0.85 (Agg's
    image moved by one pixel: 2.34, a blank image: 7.05), 0.5 % of pixels off by more
    than half the range (moved by one pixel: 1.7 %). Without PDFium, Agg's own pixels."""
    import symdyn.plots.base as base

    pytest.importorskip("pypdfium2")
    assert base._pdf_rasterizer() is not None  # else this test would compare Agg with Agg
    fig, _ = _log_figure()
    lay.layout(fig)
    png, pdf = save(fig, tmp_path, "f", formats=("png", "pdf"))
    (agg,) = save(fig, tmp_path / "agg", "f", formats=("png",))
    assert pdf.read_bytes().startswith(b"%PDF")
    with Image.open(png) as ours, Image.open(agg) as reference:
        assert ours.mode == "RGB" and ours.size == reference.size == (780, 390)
        ours, reference = (np.asarray(im, dtype=float) for im in (ours, reference))
    assert not np.array_equal(ours, reference)  # rendered from the PDF, not drawn by Agg
    blocks = [a.reshape(78, 5, 156, 5, 3).mean(axis=(1, 3)) for a in (ours, reference)]
    assert np.abs(blocks[0] - blocks[1]).max(axis=2).mean() < 1.5
    assert (np.abs(ours - reference).max(axis=2) > 128).mean() < 0.01


def test_png_beside_a_pdf_without_pdfium_is_aggs(tmp_path, monkeypatch):
    """PDFium is optional: without it, the PNG written beside a PDF is Agg's."""
    import symdyn.plots.base as base

    monkeypatch.setattr(base, "_pdf_rasterizer", lambda: None)
    fig, _ = _log_figure()
    lay.layout(fig)
    png, _ = save(fig, tmp_path, "f", formats=("png", "pdf"))
    (agg,) = save(fig, tmp_path / "agg", "f", formats=("png",))
    with Image.open(png) as ours, Image.open(agg) as reference:
        assert np.array_equal(np.asarray(ours), np.asarray(reference))


def test_png_beside_a_pdf_survives_a_pdfium_failure(tmp_path, monkeypatch):
    """PDFium failing on the PDF (a render error, a broken install) loses no figure: the
    PNG is Agg's, with a warning."""
    import symdyn.plots.base as base

    class Broken:
        class PdfDocument:
            def __init__(self, *args, **kwargs):
                raise RuntimeError("PDFium: Data format error")

    monkeypatch.setattr(base, "_pdf_rasterizer", lambda: Broken)
    fig, _ = _log_figure()
    lay.layout(fig)
    with pytest.warns(RuntimeWarning, match="PDFium could not render"):
        png, pdf = save(fig, tmp_path, "f", formats=("png", "pdf"))
    (agg,) = save(fig, tmp_path / "agg", "f", formats=("png",))
    assert pdf.read_bytes().startswith(b"%PDF")
    with Image.open(png) as ours, Image.open(agg) as reference:
        assert np.array_equal(np.asarray(ours), np.asarray(reference))


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_paused_restores_the_collector(enabled):
    """The collector is off inside the block and as it was after it, error or not."""
    import gc

    from symdyn.collector import collector_paused

    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with pytest.raises(RuntimeError), collector_paused():
            assert not gc.isenabled()
            raise RuntimeError
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_warm_up_builds_the_mathtext_grammar():
    """After ``warm_up`` a process (and any process forked from it) has mathtext's grammar:
    matplotlib builds it at the first formula and keeps it on ``MathTextParser``."""
    import subprocess
    import sys

    code = ("from matplotlib.mathtext import MathTextParser as P\n"
            "assert P._parser is None\n"
            "import symdyn.plots\n"
            "symdyn.plots.warm_up()\n"
            "assert P._parser is not None\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def _segments(contour_set) -> set[tuple[float, ...]]:
    """The line segments of a contour set, each as its two ends (rounded, in order)."""
    found = set()
    for path in contour_set.get_paths():
        for points in path.to_polygons(closed_only=False):
            for a, b in zip(points[:-1], points[1:], strict=True):
                found.add(tuple(np.round(sorted([tuple(a), tuple(b)]), 9).ravel()))
    return found


def test_stability_boundary_split_at_b_zero_is_the_two_sides():
    """One contour over both sides of b = 0 with a NaN column between them
    (``_split``) has the segments of two contours, one a side, and none across b = 0."""
    from symdyn.plots.paper import _split

    b, beta = np.linspace(-2, 2, 40), np.linspace(-2, 2, 41)
    g = np.add.outer(beta, 0.3 * b) * np.sign(b)  # changes sign across b = 0
    _, ax = subplots()
    left, right = b < 0, b > 0
    b_split = _split(b[None, :], left, right)[0]
    b_split[left.sum()] = 0.0
    merged = _segments(ax.contour(b_split, beta, _split(g, left, right), levels=[0]))
    sides = set().union(*(_segments(ax.contour(b[s], beta, g[:, s], levels=[0]))
                          for s in (left, right)))
    assert merged and merged == sides
    assert all(max(s[0], s[2]) <= b[left][-1] + 1e-9 or min(s[0], s[2]) >= b[right][0] - 1e-9
               for s in merged)


def test_phase_portrait_lines_are_the_trajectories():
    """The joined trajectories of a panel draw each trajectory's points, in order, and
    its start once."""
    from symdyn.plots.paper import _trajectories

    rng = np.random.default_rng(0)
    paths = [rng.normal(size=(n, 3)) for n in (5, 1, 7)]
    _, ax = subplots()
    _trajectories(ax, paths, "rflo")
    line, starts = ax.get_lines()
    x, y = line.get_xdata(), line.get_ydata()
    pieces = np.split(np.column_stack([x, y]), np.flatnonzero(np.isnan(x)))
    pieces = [p[~np.isnan(p[:, 0])] for p in pieces]
    assert all(np.array_equal(p, path[:, 1:3]) for p, path in zip(pieces, paths, strict=True))
    assert np.array_equal(np.column_stack([starts.get_xdata(), starts.get_ydata()]),
                          [path[0, 1:3] for path in paths])
