"""Regression tests for issue #7, trust at the edges: each defect reported there fails on
the old code and passes now. Independent checks: hand-derived eigenvalues (docs/theory.md,
'Analysis': at a* = 0 RFLO's are -beta c b^2 and -(beta c + b^2)), central finite
differences of the right-hand side, and BPTT's invariant b^2 - c^2 solved by hand."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symdyn as sd
from symdyn import cli, clitools
from symdyn import symbols as S
from symdyn.analysis.fixed_points import FixedPointReport
from symdyn.analysis.pointwise import format_complex
from symdyn.analysis.spectrum import clean_eigenvalues, numeric_class
from symdyn.codegen import POINTWISE_MODES
from symdyn.errors import CannotPredict, SymdynError
from symdyn.integration import IntegrationStopped
from symdyn.values import BadValueError

ROOT = Path(__file__).resolve().parents[1]
README_POINT = "a=0,b=1,c=1,a_star=0,b_star=1,c_star=1,beta=-1"
RFLO_TEACHER = {"a_star": 0.5, "b_star": 1, "c_star": 1, "beta": 1}
BPTT_TEACHER = {"a_star": 0.5, "b_star": 1.0, "c_star": 1.0}


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``symdyn ARGV`` in this process: exit code, stdout, stderr."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err


def fd_jacobian(ode, state, params, h: float = 1e-6) -> np.ndarray:
    """Central differences of the lambdified right-hand side (independent of the symbolic
    Jacobian)."""
    f = sd.rhs_function(ode)
    jac = np.zeros((3, 3))
    for j in range(3):
        step = np.zeros(3)
        step[j] = h
        jac[:, j] = (f(np.add(state, step), params) - f(np.subtract(state, step), params)) / (2 * h)
    return jac


# --- 1. wrong stability verdicts ---------------------------------------------------------
@pytest.mark.parametrize("eigenvalues, n_zero, expected", [
    ([1.0, 0.0, 0.0], 1, "unstable"),      # the README example: old code said marginal
    ([1.0, -1.0, 0.0], 1, "saddle"),
    ([0.5, -1.0, -2.0], 1, "saddle"),      # old code dropped the 0.5 as "the tangent": stable
    ([0.0, 0.0, -1.0], 1, "marginal"),
    ([0.0, -1.0, -2.0], 1, "stable"),
    ([0.0, -1.0, -2.0], 0, "marginal"),
    ([1e-12, -1e-3, -2e-3], 1, "stable"),  # relative, not absolute, tolerance
    ([3e-6, -1.0, -2.0], 1, "saddle"),     # an eigenvalue above round-off is not a tangent
    ([3e-6, 1.0, 0.0], 1, "unstable"),
])
def test_numeric_class(eigenvalues, n_zero, expected):
    assert numeric_class(np.array(eigenvalues, complex), n_zero) == expected
    scaled = np.array(eigenvalues, complex) * 1e-9
    assert numeric_class(scaled, n_zero) == expected   # the verdict ignores time units


def test_readme_example_is_unstable(capsys):
    code, out, _ = run_cli(capsys, "stability", "--rule", "rflo", "--at", README_POINT,
                           "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["classification"] == "unstable" and data["is_fixed_point"]
    assert data["eigenvalues"] == [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    point = dict(a=0, b=1, c=1, a_star=0, b_star=1, c_star=1, beta=-1)
    result = sd.stability_at(sd.derive("rflo"), point, sd.fixed_points(sd.derive("rflo")))
    assert "classification: unstable" in str(result)
    # Independent: the hand-derived eigenvalues -beta c b^2 = 1 and -(beta c + b^2) = 0,
    # and a finite-difference Jacobian with an eigenvalue near +1.
    state, params = [0, 1, 1], {k: v for k, v in point.items() if k not in "abc"}
    fd = np.linalg.eigvals(fd_jacobian(sd.derive("rflo"), state, params))
    assert np.max(fd.real) == pytest.approx(1.0, abs=1e-5)


def test_point_that_is_not_fixed_has_no_class(capsys):
    result = sd.stability_at(sd.derive("bptt"), dict(a=0.1, b=1, c=1, a_star=0, b_star=1,
                                                      c_star=1))
    assert not result.is_fixed_point and result.classification is None
    assert "no stability class" in str(result) and "classification" not in str(result)
    assert result.to_dict()["classification"] is None and result.residual > 0.05


def test_round_off_eigenvalues_print_as_zero(capsys):
    cleaned = clean_eigenvalues(np.array([-2.15e-32 + 0j, -0.0 - 1e-17j, -1.0]), 1e-9)
    assert [format_complex(e) for e in cleaned] == ["0", "0", "-1"]
    assert format_complex(-2.5e-5 + 0j, latex=True) == r"-2.5 \times 10^{-5}"
    for at in (README_POINT, "a=0.2,b=0,c=0,a_star=0.5,b_star=1,c_star=1,beta=1"):
        code, out, _ = run_cli(capsys, "stability", "--rule", "rflo", "--at", at,
                               "--format", "latex")
        assert code == 0
        rows = re.findall(r"&= (.*?)(?: \\\\)?$", out, flags=re.M)
        assert len(rows) == 3
        number = r"-?\d+(\.\d+)?( \\times 10\^\{-?\d+\})?"
        for row in rows:
            assert re.fullmatch(rf"{number}|{number}i|{number}[+-]\d+(\.\d+)?"
                                rf"( \\times 10\^\{{-?\d+\}})?i", row), row
            assert "e-" not in row and row not in ("-0", "-0i")


# --- 2. integration that hangs or returns NaN; overconfident limit predictions ---------------
@pytest.mark.timeout(120)
@pytest.mark.parametrize("start", [[0.5, -1.8, 0.4], [0.0, -1.8, 0.4]])
def test_reported_starts_end_at_the_region_edge(start):
    ode = sd.derive("rflo")
    t0 = time.monotonic()
    path = sd.integrate(ode, [start], RFLO_TEACHER, tau_end=50)
    assert time.monotonic() - t0 < 60           # was > 11 min in LSODA
    assert path.status == "left_region" and np.all(np.isfinite(path.states))
    assert "left the stationary region at tau = " in path.message
    assert abs(path.final[0, 0]) == pytest.approx(1.0, abs=1e-4)   # lam = a at leak 1
    assert path.tau[-1] == path.stopped_at < 50
    with pytest.raises(IntegrationStopped, match="left the stationary region"):
        path.require_completed()


def test_integration_statuses_and_completed_run():
    ode = sd.derive("bptt")
    path = sd.integrate(ode, [0.0, 0.6, 0.2], BPTT_TEACHER, tau_end=100)
    assert path.completed and path.tau[-1] == 100 and len(path.tau) == 201
    # Independent: b^2 - c^2 is conserved and b c -> b* c* = 1 (hand-solved).
    d = 0.6**2 - 0.2**2
    b = math.sqrt((d + math.sqrt(d * d + 4)) / 2)
    assert path.final[0] == pytest.approx([0.5, b, 1 / b], abs=1e-6)
    # b grows from 0.6 towards 1.08: a bound of 0.9 is a divergence for this run.
    capped = sd.integrate(ode, [0.0, 0.6, 0.2], BPTT_TEACHER, tau_end=100, bound=0.9)
    assert capped.status == "diverged" and np.max(np.abs(capped.final)) == pytest.approx(0.9)
    quick = sd.integrate(ode, [0.0, 0.6, 0.2], BPTT_TEACHER, tau_end=100, budget=1e-9)
    assert quick.status == "budget" and np.all(np.isfinite(quick.states))


@pytest.mark.parametrize("modes", [2, POINTWISE_MODES + 1])
def test_edges_of_many_modes_stop_where_one_mode_stops(modes):
    """The region edge and the bound are judged on the state's floats up to
    POINTWISE_MODES modes and on arrays above: copies of one mode stop where it stops."""
    for ode, start, teacher, bound in ((sd.derive("bptt"), [0.0, 0.6, 0.2], BPTT_TEACHER, 0.9),
                                       (sd.derive("rflo"), [0.5, -1.8, 0.4], RFLO_TEACHER,
                                        1e6)):
        one = sd.integrate(ode, [start], teacher, tau_end=50, bound=bound)
        many = sd.integrate(ode, [start] * modes, teacher, tau_end=50, bound=bound)
        assert one.status in ("diverged", "left_region") and many.status == one.status
        assert many.stopped_at == pytest.approx(one.stopped_at, rel=1e-6)


def test_predict_limit_says_when_it_cannot():
    ode = sd.derive("tbptt", truncation=2)
    prediction = sd.predict_limit(ode, {"a": 0.0, "b": 0.6, "c": 0.2}, BPTT_TEACHER)
    assert not prediction.ok and "conserves no" in prediction.reason
    with pytest.raises(CannotPredict, match="conserves no"):
        _ = prediction.point                      # was {}: "missing symbol 'a'" later
    # A candidate on the optimal manifold (b c = b* c*), but the start leaves the region.
    candidate = [{S.a: sp.Rational(1, 2), S.b: sp.Integer(1), S.c: sp.Integer(1)}]
    rflo = sd.derive("rflo")
    leaving = sd.predict_limit(rflo, {"a": 0.5, "b": -1.8, "c": 0.4}, RFLO_TEACHER, candidate)
    assert not leaving.ok and "left the stationary region" in leaving.reason


# --- 3. floats in specialize ---------------------------------------------------------------
def test_specialize_with_floats_is_exact():
    values = {"a_star": 0.5, "b_star": 1, "c_star": 1, "beta": 1}
    ode = sd.derive("rflo").specialize(values)
    assert "a_star = 1/2" in str(ode.title) and "0.5000" not in str(ode)
    for half in (Fraction(1, 2), "0.5", "1/2", np.float64(0.5), sp.Float(0.5)):
        other = sd.derive("rflo").specialize({**values, "a_star": half})
        assert all(sp.cancel(x - y) == 0 for x, y in zip(ode.rhs, other.rhs, strict=True))
    optimal = sd.fixed_points(ode)["optimal"]      # was TypeError on PolyElement
    assert sp.expand(2 * S.a - 1) in optimal.equations
    # Independent: the right-hand side vanishes at a = 1/2, b c = 1.
    assert np.allclose(sd.rhs_function(ode)([0.5, 2.0, 0.5], {}), 0, atol=1e-12)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "nan", "-inf", np.nan])
def test_non_finite_values_are_refused(bad):
    with pytest.raises(BadValueError, match="finite"):
        sd.derive("rflo").specialize({"a_star": bad})
    with pytest.raises(BadValueError, match="finite"):
        sd.stability_at(sd.derive("bptt"), dict(a=0.1, b=bad, c=1, **BPTT_TEACHER))
    with pytest.raises(BadValueError, match="finite"):
        sd.integrate(sd.derive("bptt"), [0.0, 0.6, 0.2], {**BPTT_TEACHER, "c_star": bad}, 1)


# --- 5. the command line ---------------------------------------------------------------------
def bad_command_lines(tmp: Path) -> list[tuple[list[str], str]]:
    file = tmp / "a-file"
    file.write_text("x")
    at = "a=0.1,b=1,c=1,a_star=0,b_star=1,c_star=1"
    return [
        (["stability", "--rule", "bptt", "--at", at.replace("a=0.1", "a=nan")], "finite"),
        (["stability", "--rule", "bptt", "--at", at.replace("b=1", "b=inf")], "finite"),
        (["stability", "--rule", "bptt", "--at", at + ",a=0.2"], "'a' twice"),
        (["stability", "--rule", "bptt", "--at", ","], "no point"),
        (["paper", "--out", ""], "--out is empty"),
        (["paper", "--out", str(file)], "existing file"),
        (["paper", "--out", str(file / "under")], "cannot write"),
        (["paper", "--out", "/proc/symdyn-cannot-be-here"], "cannot write"),
        (["derive", "--rule", "tbptt", "--truncation", "0"], "from 1 to"),
        (["derive", "--rule", "tbptt", "--truncation", "-3"], "from 1 to"),
        (["derive", "--rule", "tbptt", "--truncation", "9" * 30], "from 1 to"),
        (["validate", "--rule", "bptt", "--seed", "-1"], "from 0 to"),
        (["validate", "--rule", "bptt", "--seed", "9" * 30], "from 0 to"),
        (["derive", "--rule", "bptt", "--timeout", "nan"], "seconds"),
        (["derive", "--rule", "bptt", "--timeout", "0"], "seconds"),
        (["derive", "--rule", "bptt", "--leak", "nan"], "leak"),
        (["derive", "--rule", "bptt", "--truncation", "2"], "tbptt only"),
    ]


def test_bad_values_give_one_sentence_and_exit_2(capsys, tmp_path):
    for argv, words in bad_command_lines(tmp_path):
        code, _, err = run_cli(capsys, *argv)
        lines = [line for line in err.splitlines() if line.strip()
                 and not re.fullmatch(r"symdyn: .* \.\.\. \(\d+ s\)", line)]  # progress
        assert code == 2, (argv, err)
        assert len(lines) == 1 and words in lines[0], (argv, err)
        assert "Traceback" not in err and "None" not in err


def test_timeout_is_honoured_and_says_what_to_do(capsys, monkeypatch):
    monkeypatch.setattr(clitools, "PROGRESS_DELAY", 0.3)
    monkeypatch.setattr(clitools, "PROGRESS_PERIOD", 0.5)
    t0 = time.monotonic()
    code, _, err = run_cli(capsys, "derive", "--rule", "tbptt", "--truncation", "50",
                           "--leak", "alpha", "--timeout", "2")
    elapsed = time.monotonic() - t0
    assert code == 2 and elapsed < 4.0                     # within max(2 s, 20 %)
    assert "did not finish in time" in err and "fix the leak to a number" in err
    assert "deriving the learning ODE of tbptt (k = 50)" in err   # progress before that
    code, _, err = run_cli(capsys, "derive", "--rule", "tbptt", "--truncation", "60",
                           "--timeout", "1")
    assert code == 2 and "did not finish" in err and "fix the leak" not in err


def test_time_limit_restores_the_outer_timer_and_handler():
    def handler(*_):
        raise AssertionError("the outer timer must not fire here")

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 50.0)
    try:
        with clitools.time_limit(5.0):
            pass
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 45 < remaining <= 50 and signal.getsignal(signal.SIGALRM) is handler
        with pytest.raises(clitools.Expired), clitools.time_limit(0.05):
            time.sleep(1)
        assert signal.getsignal(signal.SIGALRM) is handler
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_truncation_and_lambda_in_rule_text():
    with pytest.raises(SymdynError) as error:
        sd.Rule("x", "lam", "c", truncation=0)
    assert "None" not in str(error.value)
    assert sd.Rule("fa", trace_decay="lambda", feedback="beta").trace_decay == S.lam
    assert sd.Rule("fa", trace_decay="alpha*lambda", feedback="beta").trace_decay \
        == S.alpha * S.lam
    with pytest.raises(SymdynError, match="not a formula"):
        sd.Rule("x", trace_decay="(1).__class__", feedback="c")


def test_only_user_key_errors_are_user_errors(monkeypatch):
    with pytest.raises(SymdynError, match="no fixed-point set"):
        FixedPointReport(sd.derive("bptt"), [])["optimal"]
    with pytest.raises(KeyError):                       # still a KeyError for mappings
        sd.derive("rflo").specialize({"d": 1})
    monkeypatch.setitem(cli.COMMANDS, "derive", lambda args, progress: {}["bug"])
    with pytest.raises(KeyError):                       # a bug keeps its traceback
        cli.main(["derive", "--rule", "bptt"])


def test_version_and_python_m_symdyn_without_numerics():
    code = ("import sys\nfrom symdyn import cli\ntry:\n    cli.main(['--version'])\n"
            "except SystemExit:\n    pass\n"
            "assert not {'sympy', 'numpy'} & set(sys.modules), 'heavy import'\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"symdyn {sd.__version__}", out.stderr
    out = subprocess.run([sys.executable, "-m", "symdyn", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "--version" in out.stdout


def test_python_m_symdyn_flushes_before_its_quick_exit(tmp_path):
    """``python -m symdyn`` ends with ``os._exit`` (cli.run): the whole answer must still
    reach a pipe, with the command's exit code."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # a real pipe
    env["SYMDYN_CACHE_DIR"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-m", "symdyn", "derive", "--rule", "bptt",
                          "--format", "json"], capture_output=True, text=True, timeout=120,
                         env=env)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)  # fails on an answer cut short
    assert answer["rule"] == "bptt" and set(answer["rhs"]) == {"a", "b", "c"}


# --- 6. silent output problems of symdyn paper ---------------------------------------------
def test_paper_says_it_skipped_the_pdf_and_drops_a_stale_one(monkeypatch, tmp_path):
    from symdyn import paper
    from symdyn.reproduce.common import Section

    stub = Section("stub", "Stub", "text", "text", {}, checks={"ok": True})
    monkeypatch.setattr(paper, "steps", lambda: {"stub": lambda quick: stub})
    monkeypatch.setattr(paper, "has_pdflatex", lambda: False)
    (tmp_path / "paper.pdf").write_bytes(b"%PDF from an earlier run")
    result = paper.run_paper(tmp_path, quick=True, workers=1)
    assert not (tmp_path / "paper.pdf").exists() and (tmp_path / "paper.tex").exists()
    assert "pdf" not in result.files
    assert "pdflatex is not installed, so paper.pdf was not written" in result.summary()


# --- 7. THEORY.md -------------------------------------------------------------------------
def test_no_reference_to_a_file_outside_the_repository():
    name = "THEORY" + ".md"
    paths = [ROOT / "README.md", *ROOT.glob("symdyn/**/*.py"), *ROOT.glob("derivations/*.py")]
    assert not [p for p in paths if name in p.read_text()]


def test_progress_pauses_its_thread_so_the_paper_can_fork(monkeypatch):
    """Inside ``paused()`` the progress thread is gone (symdyn paper forks its workers only
    from a single-threaded process); it resumes afterwards and prints again."""
    import threading

    monkeypatch.setattr(clitools, "PROGRESS_DELAY", 0.05)
    monkeypatch.setattr(clitools, "PROGRESS_PERIOD", 0.1)
    progress = clitools.Progress("testing")
    with progress:
        thread = progress._thread
        assert thread.is_alive()
        with progress.paused():
            assert not thread.is_alive() and not progress._thread.is_alive()
            assert thread not in threading.enumerate()
        assert progress._thread.is_alive()
    assert not progress._thread.is_alive()
