"""The command line's JSON shapes and errors, and the LaTeX documents' compilation."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from scalar_mc import ScalarRule, monte_carlo_update

import symdyn as sd
from symdyn import latex
from symdyn import symbols as S


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "symdyn.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_derive_json_shape():
    out = run("derive", "--rule", "tbptt", "--truncation", "2", "--leak", "0.5",
              "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"rule", "truncation", "leak", "state", "rhs", "loss"}
    assert data["rule"] == "tbptt" and data["truncation"] == 2 and data["leak"] == "0.5"
    assert data["state"] == ["a", "b", "c"] and set(data["rhs"]) == {"a", "b", "c"}
    # The printed field against an independent Monte Carlo of tBPTT(2)'s online update.
    point = dict(a=0.2, b=0.8, c=-0.6, a_star=-0.4, b_star=1.1, c_star=0.9, beta=0.0)
    mean, sem = monte_carlo_update(ScalarRule(lambda lam, al: lam, lambda c, beta: c, window=2),
                                   **point, alpha=0.5, seed=11)
    subs = {S.PUBLIC[k]: v for k, v in point.items() if k != "beta"}
    printed = [float(S.sympify(data["rhs"][k]).subs(subs)) for k in "abc"]
    z = (mean[:3] - np.array(printed)) / sem[:3]
    assert np.all(np.abs(z) < 4), z


def test_help_names_every_named_rule():
    """The CLI's help is static text (no SymPy at startup); it must name every rule."""
    from symdyn.cli import build_parser
    from symdyn.rules import NAMED_RULES

    help_text = " ".join(build_parser().format_help().split())
    sub = build_parser()._subparsers._group_actions[0].choices["derive"].format_help()
    assert all(name in sub for name in NAMED_RULES), sub
    assert "derive" in help_text


def test_derive_symbolic_leak_and_formats():
    data = json.loads(run("derive", "--rule", "rflo", "--leak", "alpha", "--format",
                          "json").stdout)
    assert data["leak"] == "alpha" and data["truncation"] is None
    assert "alpha" in data["rhs"]["a"]
    assert "\\frac{d" in run("derive", "--rule", "bptt", "--format", "latex").stdout
    assert "da/dtau" in run("derive", "--rule", "bptt").stdout


def test_fixed_points_json_shape():
    out = run("fixed-points", "--rule", "bptt", "--format", "json")
    data = json.loads(out.stdout)
    assert set(data) >= {"rule", "leak", "sets"}
    names = [s["name"] for s in data["sets"]]
    assert names == ["optimal manifold", "saddle manifold"]
    for entry in data["sets"]:
        assert set(entry) == {"name", "equations", "dimension", "classification",
                              "conditions", "eigenvalues"}
        assert entry["classification"] in {"stable", "saddle", "unstable", "marginal",
                                           "conditional"}
        for text in entry["equations"] + entry["eigenvalues"]:
            S.sympify(text)
    rflo = json.loads(run("fixed-points", "--rule", "rflo", "--format", "json").stdout)
    assert [s["name"] for s in rflo["sets"]] == ["optimal manifold"]
    condition = rflo["sets"][0]["conditions"][-1]
    assert "beta*c" in condition
    assert isinstance(S.sympify(condition), sp.core.relational.Relational)


def test_stability_json_shape():
    out = run("stability", "--rule", "rflo", "--format", "json", "--at",
              "a=0.5,b=1.25,c=0.8,a_star=0.5,b_star=1,c_star=1,beta=-0.7")
    data = json.loads(out.stdout)
    assert set(data) >= {"rule", "point", "is_fixed_point", "eigenvalues", "classification"}
    assert data["is_fixed_point"] is True and data["classification"] == "saddle"
    assert all(len(pair) == 2 for pair in data["eigenvalues"])


@pytest.mark.parametrize("args, words", [
    (["derive", "--rule", "sgd"], "unknown rule 'sgd'"),
    (["derive", "--rule", "bptt", "--leak", "1.5"], "leak must lie in (0, 1]"),
    (["derive", "--rule", "bptt", "--leak", "0"], "leak must lie in (0, 1]"),
    (["stability", "--rule", "bptt", "--at", "a=0.5,b=1,c=1,a_star=0.5,b_star=1"],
     "missing symbol 'c_star'"),
    (["stability", "--rule", "bptt", "--at", "a=0.5,b=1,c=1,a_star=0.5,b_star=1,c_star=1,"
      "zeta=2"], "unknown symbol 'zeta'"),
    (["stability", "--rule", "bptt", "--at", "a=1.5,b=1,c=1,a_star=0.5,b_star=1,c_star=1"],
     "unstable"),
    (["stability", "--rule", "bptt", "--at", "a=x"], "not a number"),
    (["fixed-points", "--rule", "bptt", "--timeout", "0.01", "--no-cache"],
     "did not finish in time"),
    (["fixed-points", "--rule", "bptt", "--timeout", "0"], "must be a number of seconds"),
    (["validate", "--rule", "feedback_alignment"], "no matrix-level simulator"),
    (["validate", "--rule", "rflo", "--leak", "alpha"], "needs a numeric leak"),
])
def test_user_errors_are_one_clear_sentence(args, words):
    out = run(*args)
    assert out.returncode != 0
    assert words in out.stderr
    # Progress lines ("symdyn: STAGE ... (N s)") may precede the error on a slow machine.
    lines = [line for line in out.stderr.strip().splitlines()
             if not re.fullmatch(r"symdyn: .* \.\.\. \(\d+ s\)", line)]
    assert "Traceback" not in out.stderr and len(lines) == 1


def _needs_pdflatex() -> None:
    if not latex.has_pdflatex():
        if os.environ.get("CI"):
            pytest.fail("pdflatex is required in CI")
        pytest.skip("pdflatex is not installed")


@pytest.mark.parametrize("rule, leak", [("bptt", 1), ("rflo", "alpha"), ("tbptt", "0.3")])
def test_standalone_document_compiles(rule, leak, tmp_path):
    _needs_pdflatex()
    ode = sd.derive(rule, leak)
    source = latex.ode_document(ode, sd.fixed_points(ode))
    assert "\\begin{align}" in source
    pdf = latex.compile_pdf(source, tmp_path / "doc.pdf")
    assert pdf.stat().st_size > 1000


def test_pdflatex_runs_again_only_when_references_need_it(tmp_path, monkeypatch):
    """One pass for a document without references; a second one (and no warning left in
    the log) when a reference is read back from the first pass's .aux file."""
    _needs_pdflatex()
    passes = []
    run = latex.subprocess.run
    monkeypatch.setattr(latex.subprocess, "run",
                        lambda *a, **k: passes.append(1) or run(*a, **k))
    body = "\\documentclass{article}\\begin{document}\\section{A}%s\\end{document}\n"
    latex.compile_pdf(body % "Plain text.", tmp_path / "plain.pdf")
    assert len(passes) == 1
    latex.compile_pdf(body % "\\label{s:a}See Section~\\ref{s:a}.", tmp_path / "ref.pdf")
    assert len(passes) == 3 and not (tmp_path / "ref.log").exists()


def test_long_expressions_are_broken_into_lines():
    ode = sd.derive("bptt", "alpha")
    rows = latex.rows_for("x", ode.rhs[0], width=120)
    assert len(rows) > 1 and all("\\notag" in r for r in rows[1:])
