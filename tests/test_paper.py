"""``run_paper(quick=True)`` end to end: outputs exist, parse, compile, and say the right thing."""

from __future__ import annotations

import json
import os
import re

import pytest
from PIL import Image
from test_readme import documented_shapes

from symdyn import symbols
from symdyn.latex import compile_pdf, has_pdflatex
from symdyn.paper import PHASES, run_paper

FIGURES = ("phase_portraits", "learning_curves", "rate_vs_beta", "rflo_stability_region",
           "rflo_slower_region", "singular_values", "truncation_sweep", "beyond_alignment",
           "noise_critical_rate", "noise_stationary_variance", "noise_manifold_diffusion")


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    out = tmp_path_factory.mktemp("paper")
    steps: list[tuple[str, float]] = []
    result = run_paper(out, quick=True, progress=lambda s, f: steps.append((s, f)))
    return result, out, steps


def test_outputs_exist(paper):
    result, out, steps = paper
    for name in ("paper.tex", "report.md", "results.json"):
        assert (out / name).stat().st_size > 0
    for name in FIGURES:  # a quick run writes PNG only, and its paper includes them
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
        with Image.open(out / "figures" / f"{name}.png") as image:
            assert image.mode == "RGB"  # no alpha: pdflatex copies it as it is
        assert not (out / "figures" / f"{name}.pdf").exists()
        assert f"{{{name}.png}}" in (out / "paper.tex").read_text()
    assert str(out / "report.md") in result.summary()
    assert steps[-1] == ("done", 1.0)
    assert all(0 <= f <= 1 for _, f in steps)


def test_all_checks_pass(paper):
    result, _, _ = paper
    assert result.ok, result.summary()
    # At leak 1 the leak map is the identity: the paper also checks a leak below 1.
    for label in ("BPTT", "tBPTT (k=1)", "RFLO"):
        sentence = f"{label} (leak 0.3) passes every applicable validation check"
        assert result.checks[f"validation: {sentence}"]


def test_results_json_parses_and_expressions_sympify(paper):
    _, out, _ = paper
    results = json.loads((out / "results.json").read_text())
    assert set(results) == documented_shapes()["paper"]   # the README's documented keys
    for section in results["sections"].values():
        assert set(section) == {"title", "data"}
    sections = results["sections"]
    assert set(sections) >= {"odes", "fixed_points", "stability", "rates", "truncation",
                             "invariants", "low_rank", "dynamics", "beyond", "noise",
                             "validation"}
    for rule in ("bptt", "tbptt", "rflo"):
        for leak in ("1", "alpha"):
            rhs = sections["odes"]["data"][rule][leak]["rhs"]
            assert all(symbols.sympify(text).free_symbols for text in rhs.values())
    for rule, text in sections["rates"]["data"]["rates"].items():
        assert symbols.b in symbols.sympify(text).free_symbols, rule
    conditions = [symbols.sympify(g) for g in sections["stability"]["data"]["rflo_conditions"]]
    assert all(symbols.beta in g.free_symbols for g in conditions)
    slower = symbols.sympify(sections["rates"]["data"]["rflo_slower_a_star_0"]["c > 0"])
    assert slower.subs({symbols.beta: 0.5, symbols.c: 1})
    assert not slower.subs({symbols.beta: 1.5, symbols.c: 1})


def test_saddle_manifold_for_bptt_and_tbptt_only(paper):
    _, out, _ = paper
    data = json.loads((out / "results.json").read_text())["sections"]["fixed_points"]["data"]
    for leak in ("1", "alpha"):
        assert data["bptt"][leak]["has_saddle_manifold"]
        assert data["tbptt"][leak]["has_saddle_manifold"]
        assert not data["rflo"][leak]["has_saddle_manifold"]
        assert all(data[r][leak]["has_optimal_manifold"] for r in ("bptt", "tbptt", "rflo"))


def test_truncation_sweep_approaches_bptt(paper):
    _, out, _ = paper
    data = json.loads((out / "results.json").read_text())["sections"]["truncation"]["data"]
    ks = [str(k) for k in data["k"]]
    assert ks[0] == "1" and len(ks) >= 3
    for k in ks:
        assert data["has_optimal_manifold"][k] and data["has_saddle_manifold"][k], k
        assert data["fixed_point_sets"][k]["optimal manifold"]["equations"] == \
            data["bptt_fixed_point_sets"]["optimal manifold"]["equations"]
    for point, values in data["rates"].items():
        rates = [values["tbptt"][k] for k in ks]
        gaps = [values["bptt"] - r for r in rates]
        assert all(g > 0 for g in gaps), point                    # below BPTT ...
        assert all(b < a for a, b in zip(gaps[:-1], gaps[1:], strict=True)), point  # closing in
        assert gaps[-1] < 0.6 * gaps[0], point
    for grid in data["rhs_distance"].values():
        distance = grid["distance"]
        assert all(b < a for a, b in zip(distance[:-1], distance[1:], strict=True))
        assert abs(grid["fitted_ratio"] - grid["L_squared"]) < 0.02 * grid["L_squared"]


def test_report_has_validation_table_with_numbers(paper):
    _, out, _ = paper
    report = (out / "report.md").read_text()
    table = [line for line in report.splitlines() if re.match(r"\| (bptt|tbptt|rflo) \|", line)]
    assert {line.split("|")[1].strip() for line in table} == {"bptt", "tbptt", "rflo"}
    for line in table:
        cells = [c.strip() for c in line.strip("|").split("|")]
        float(cells[2])                                   # the metric is a number
        assert re.match(r"[<>] [-+0-9.e]+$", cells[3])   # and so is the threshold
        assert cells[4] in ("pass", "FAIL")
    assert "![" in report and "$$" in report


def test_paper_tex_compiles(paper, tmp_path):
    _, out, _ = paper
    if not has_pdflatex():
        if os.environ.get("CI"):
            pytest.fail("pdflatex is required when CI is set")
        pytest.skip("pdflatex is not installed")
    source = (out / "paper.tex").read_text()
    assert source.count(r"\section{") >= 8 and r"\begin{align}" in source
    absolute = source.replace(r"\graphicspath{{figures/}}",
                              rf"\graphicspath{{{{{(out / 'figures').as_posix()}/}}}}")
    assert compile_pdf(absolute, tmp_path / "paper.pdf").stat().st_size > 10_000
    assert (out / "paper.pdf").exists()


def test_second_run_uses_the_cache(paper):
    """A second run computes nothing and keeps the figures it finds as drawn (same data,
    same code); a figure file that went missing is drawn again."""
    result, out, _ = paper
    pngs = sorted((out / "figures").glob("*.png"))
    before = {p.name: p.stat().st_mtime_ns for p in pngs}
    (out / "figures" / "rate_vs_beta.png").unlink()
    again = run_paper(out, quick=True)
    assert set(again.cached) == {k for k in result.seconds if k not in PHASES}
    assert again.ok
    after = {p.name: p.stat().st_mtime_ns for p in pngs}
    assert after.pop("rate_vs_beta.png") and before.pop("rate_vs_beta.png")
    assert after == before and len(after) >= len(FIGURES) - 1


def test_full_run_draws_vector_figures_for_the_paper(paper, tmp_path):
    """Outside quick mode each figure is written as PNG and PDF, and the paper includes
    the PDF."""
    from symdyn import cache
    from symdyn.paper import _draw, paper_tex, source_key

    _, out, _ = paper
    section = cache.read(out / ".cache" / source_key(True) / "low_rank.pkl")
    _draw(section, tmp_path, quick=False)
    name = section.figures[0].name
    assert all((tmp_path / f"{name}.{ext}").stat().st_size > 1000 for ext in ("png", "pdf"))
    assert f"{{{name}.pdf}}" in paper_tex([section])
