"""The paper's early process: the shared analyses start before the steps' modules load,
and no shared analysis is computed twice."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time

import pytest

from symdyn import paper


def test_importing_the_paper_loads_no_step_module():
    """The early process is forked right after ``import symdyn.paper``: that import must
    not load SciPy, matplotlib, numba or the steps (they are the parent's work meanwhile)."""
    code = ("import sys, symdyn.paper; "
            "print(sorted(m for m in ('scipy', 'matplotlib', 'numba', 'symdyn.reproduce.beyond', "
            "'symdyn.simulate.kernels') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "[]"


def test_step_names_are_the_steps_in_order():
    assert paper.step_names() == list(paper.steps())


def test_a_taken_shared_analysis_is_not_taken_again(monkeypatch):
    calls = []
    monkeypatch.setattr(paper, "_warm", lambda *job: calls.append(job))
    monkeypatch.setattr(paper, "_CLAIMS", multiprocessing.Array("b", len(paper.SHARED)))
    for index in (0, 3, 0, 3, 8):
        paper._take(index)
    assert calls == [paper.SHARED[0], paper.SHARED[3], paper.SHARED[8]]


def test_the_early_process_takes_every_shared_analysis_and_stops(monkeypatch, tmp_path):
    """Forked, it claims all of SHARED, past an analysis that fails; the block's end stops
    it and resets the claims."""
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("the early process exists only where fork does")
    monkeypatch.setenv("SYMDYN_CACHE_DIR", str(tmp_path))
    def warm(*job):  # the first analysis fails: the early process goes on to the others
        if job == paper.SHARED[0]:
            raise ValueError("no fixed points")

    monkeypatch.setattr(paper, "_warm", warm)
    context = multiprocessing.get_context("fork")
    with paper._shared_analyses_early(context, wanted=True):
        claims = paper._CLAIMS
        deadline = time.monotonic() + 30
        while not all(claims) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert list(claims) == [1] * len(paper.SHARED)
    assert paper._CLAIMS is None
    with paper._shared_analyses_early(context, wanted=False):
        assert paper._CLAIMS is None


def test_every_step_has_a_measured_cost():
    """The pool starts the longest step first by :data:`paper.COST`; a step missing there
    would count 1 s and could start before longer ones."""
    for quick in (True, False):
        assert sorted(paper.COST[quick]) == sorted(paper.step_names())
