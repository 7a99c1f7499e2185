"""Property-based tests (hypothesis), seeded and bounded: random rules of the
trace-feedback family at random points of the stationary region, and random, malformed
command lines.

Independent references: central finite differences of the lambdified right-hand side
(for the Jacobian, its eigenvalues and the stability verdict) and two hand-derived facts:
``lam = 1 - alpha + alpha a`` and "the optimal manifold ``a = a*, b c = b* c*`` is a set of
fixed points of every rule", since there the student's output equals the teacher's, the
error is zero and every update (feedback x error x trace, error x state) vanishes.

``derandomize=True`` makes every run draw the same cases; the counts of what ran are
printed by the last test (``pytest -s`` or ``-rP`` shows them).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import symdyn as sd
from symdyn import cli
from symdyn import symbols as S
from symdyn.analysis.fixed_points import FixedPointReport
from symdyn.analysis.spectrum import numeric_class
from symdyn.integration import STATUSES

COUNTS: Counter = Counter()
# No shrinking: a failure is reported as drawn (shrinking symbolic work can take minutes).
SEEDED = settings(derandomize=True, deadline=None, database=None,
                  phases=(Phase.explicit, Phase.generate),
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

DECAYS = ("lam", "1 - alpha", "1/2", "-1/3", "0")
FEEDBACKS = ("c", "beta", "1", "-1/2")
FAMILY = [(k, f, leak) for leak in ("1", "3/10") for k in DECAYS for f in FEEDBACKS]
#: Symbolic leak only where the derivation is cheap (constant trace decay).
SYMBOLIC = [("0", "beta", "alpha"), ("0", "1", "alpha")]
#: SYMDYN_PROPERTIES=full draws from the whole family (40 numeric-leak rules, minutes of
#: derivations); by default from five of them that cover every kind of decay, feedback and
#: leak, so that the file runs in about a minute.
FULL = os.environ.get("SYMDYN_PROPERTIES") == "full"
POOL = FAMILY + SYMBOLIC if FULL else [
    ("lam", "c", "1"), ("1 - alpha", "beta", "3/10"), ("1/2", "-1/2", "1"),
    ("-1/3", "c", "3/10"), SYMBOLIC[0]]
RULES = st.sampled_from(POOL)
SCALE = 4 if FULL else 1


def signed(low: float, high: float) -> st.SearchStrategy[float]:
    magnitude = st.floats(low, high, allow_nan=False)
    return st.tuples(st.sampled_from((-1.0, 1.0)), magnitude).map(lambda p: p[0] * p[1])


#: A point of the stationary region in working form: |lam|, |lam*| <= 0.9.
POINTS = st.fixed_dictionaries({
    "lam": st.floats(-0.9, 0.9), "lam_star": st.floats(-0.9, 0.9),
    "b": signed(0.2, 2.0), "c": signed(0.2, 2.0), "b_star": signed(0.3, 1.5),
    "c_star": signed(0.3, 1.5), "beta": signed(0.2, 2.0), "alpha": st.floats(0.1, 1.0),
})


def derived(rule: tuple[str, str, str]):
    decay, feedback, leak = rule
    return sd.derive(sd.Rule(f"k={decay}, f={feedback}", decay, feedback), leak)


def public_point(ode, draw: dict) -> tuple[list[float], dict[str, float]]:
    """State and parameters from a working draw, by the hand-written inverse leak map."""
    alpha = draw["alpha"] if not ode.leak.is_number else float(ode.leak)
    a = (draw["lam"] - 1 + alpha) / alpha
    a_star = (draw["lam_star"] - 1 + alpha) / alpha
    values = {"a_star": a_star, "alpha": alpha, **{k: draw[k] for k in
                                                   ("b_star", "c_star", "beta")}}
    return [a, draw["b"], draw["c"]], {p.name: values[p.name] for p in ode.parameters}


def fd_jacobian(ode, state, params) -> np.ndarray:
    f = sd.rhs_function(ode)
    jac = np.zeros((3, 3))
    for j in range(3):
        h = 1e-6 * max(1.0, abs(state[j]))
        up, down = list(state), list(state)
        up[j] += h
        down[j] -= h
        jac[:, j] = (f(up, params) - f(down, params)) / (2 * h)
    return jac


def independent_class(jac: np.ndarray) -> str | None:
    """Stable/unstable/saddle from finite-difference eigenvalues, leaving out the tangent
    direction (smallest modulus); None when some real part is too close to 0 to tell."""
    eig = np.linalg.eigvals(jac)
    rest = eig[np.argsort(np.abs(eig))[1:]].real
    margin = 1e-4 * max(1.0, float(np.max(np.abs(jac))))
    if np.any(np.abs(rest) < margin):
        return None
    if np.all(rest < 0):
        return "stable"
    return "saddle" if np.any(rest < 0) else "unstable"


def optimal_report(ode) -> FixedPointReport:
    """The hand-derived optimal manifold as the only known set (dimension 1)."""
    hand = SimpleNamespace(name="optimal manifold (hand-derived)", dimension=1,
                           equations=[S.a - S.a_star, S.b * S.c - S.b_star * S.c_star])
    return FixedPointReport(ode, [hand])


@pytest.mark.timeout(300)
@settings(SEEDED, max_examples=8 * SCALE)
@given(rule=RULES, points=st.lists(POINTS, min_size=4, max_size=4))
def test_family_rhs_jacobian_and_verdicts(rule, points):
    ode = derived(rule)
    COUNTS["rules"] += 1
    report = optimal_report(ode)
    for draw in points:
        state, params = public_point(ode, draw)
        rhs = sd.rhs_function(ode)(state, params)
        assert np.all(np.isfinite(rhs)), (rule, draw)
        jac = sd.jacobian_function(ode)(state, params)
        fd = fd_jacobian(ode, state, params)
        assert np.allclose(jac, fd, rtol=1e-5, atol=1e-6 * max(1.0, np.max(np.abs(jac))))
        moving = sd.stability_at(ode, {"a": state[0], "b": state[1], "c": state[2], **params},
                                 report)
        if np.max(np.abs(rhs)) > 1e-6:
            assert moving.classification is None and not moving.is_fixed_point
        COUNTS["points"] += 1
        # The same parameters on the optimal manifold: a fixed point of every rule.
        b = state[1]
        on = [params.get("a_star", state[0]), b, draw["b_star"] * draw["c_star"] / b]
        if "a_star" not in params:
            continue
        assert np.allclose(sd.rhs_function(ode)(on, params), 0, atol=1e-9)
        result = sd.stability_at(ode, {"a": on[0], "b": on[1], "c": on[2], **params}, report)
        assert result.is_fixed_point and result.set_name == report.sets[0].name
        expected = independent_class(fd_jacobian(ode, on, params))
        if expected is None:
            COUNTS["fixed points too close to a boundary to judge"] += 1
            continue
        assert result.classification == expected, (rule, draw, result.eigenvalues)
        assert numeric_class(result.eigenvalues, 1) == expected
        COUNTS["fixed-point verdicts checked"] += 1


@pytest.mark.timeout(300)
@settings(SEEDED, max_examples=10 * SCALE)
@given(rule=RULES, draw=POINTS, tau_end=st.floats(0.5, 60.0),
       method=st.sampled_from(("LSODA", "LSODA", "RK45")))
def test_integrate_always_ends_with_a_status(rule, draw, tau_end, method):
    ode = derived(rule)
    state, params = public_point(ode, draw)
    budget = 2.0
    sd.integrate(ode, state, params, 1e-9, n_eval=2)   # compiles rhs and Jacobian
    t0 = time.monotonic()
    path = sd.integrate(ode, state, params, tau_end, n_eval=51, method=method, budget=budget)
    assert time.monotonic() - t0 < budget + 2.0
    assert path.status in STATUSES and path.message
    assert np.all(np.isfinite(path.states)) and np.all(np.diff(path.tau) > 0)
    alpha = params["alpha"] if "alpha" in params else float(ode.leak)
    lam = 1 - alpha + alpha * path.final[0, 0]
    if path.completed:
        assert path.tau[-1] == pytest.approx(tau_end) and abs(lam) < 1
    else:
        assert path.stopped_at == path.tau[-1] < tau_end
    if path.status == "left_region":
        assert abs(lam) == pytest.approx(1.0, abs=1e-5)
    COUNTS[f"integrations ({path.status})"] += 1
    if path.status == "failed":   # allowed, but worth a look: shown with pytest -s
        print(f"\nsolver failure: {rule} {draw} tau_end={tau_end} {method}: {path.message}")


# --- command lines -----------------------------------------------------------------------------
COMMANDS = ("derive", "fixed-points", "stability", "validate", "paper", "", "bogus")
OPTIONS = ("--rule", "--truncation", "--leak", "--format", "--at", "--timeout", "--seed",
           "--quick", "--out", "--help", "-h", "--version", "--ru", "--zeta", "-x")
JUNK = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
VALUES = st.one_of(
    st.sampled_from(("bptt", "tbptt", "rflo", "feedback_alignment", "rflo_symmetric", "sgd",
                     "alpha", "1", "0.3", "0", "-1", "1.5", "nan", "inf", "-inf", "1e400",
                     "", " ", "text", "json", "latex", "None", "lambda", "3/10", "1/0")),
    st.integers(-10**30, 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.lists(st.tuples(st.sampled_from(("a", "b", "c", "a_star", "b_star", "c_star", "beta",
                                        "alpha", "zeta", "", "a ")),
                       st.sampled_from(("0.5", "1", "-1", "nan", "inf", "", "x", "1/2",
                                        "1e-300", "2"))),
             max_size=8).map(lambda items: ",".join(f"{k}={v}" for k, v in items)),
    JUNK,
)
ARGVS = st.tuples(st.sampled_from(COMMANDS),
                  st.lists(st.tuples(st.sampled_from(OPTIONS), VALUES), max_size=4))
LIMIT = 2.0   # --timeout forced on every command line: the last occurrence wins


def _stub_validation(rule, truncation=None, leak=1, seed=0, quick=False, progress=None):
    """Checks the inputs as the real one does (by deriving), without simulating."""
    sd.derive(rule, leak, truncation)
    return SimpleNamespace(passed=True, to_dict=dict, table=lambda: "stub")


def _stub_paper(out, quick=False, progress=None):
    return SimpleNamespace(ok=True, summary=lambda: f"stub paper in {out}")


@pytest.mark.timeout(300)
@settings(SEEDED, max_examples=120 * SCALE)
@given(argv=ARGVS)
def test_random_command_lines_exit_0_or_2_in_time(argv, tmp_path_factory):
    command, pairs = argv
    args = [command] + [token for pair in pairs for token in pair]
    if command in cli.TIMEOUTS:
        args += ["--timeout", str(LIMIT)]
    err, out = io.StringIO(), io.StringIO()
    workdir = tmp_path_factory.mktemp("cli")
    t0 = time.monotonic()
    with pytest.MonkeyPatch.context() as patch:
        import symdyn.paper
        import symdyn.validation

        patch.setattr(symdyn.validation, "run_validation", _stub_validation)
        patch.setattr(symdyn.paper, "run_paper", _stub_paper)
        patch.chdir(workdir)
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                code = cli.main(args)
            except SystemExit as exit_:
                code = exit_.code
    elapsed = time.monotonic() - t0
    assert code in (0, 2), (args, err.getvalue())
    assert "Traceback" not in err.getvalue()
    assert elapsed < LIMIT + max(2.0, 0.2 * LIMIT) + 1.0, (args, elapsed)
    if code == 2:
        last = err.getvalue().strip().splitlines()[-1]
        assert "error" in last, (args, err.getvalue())
    COUNTS[f"command lines (exit {code})"] += 1


@pytest.mark.parametrize("args, code", [
    (["derive", "--rule"], 2), (["stability", "--rule", "bptt", "--at", "a=nan"], 2),
    (["paper", "--out", ""], 2), (["--bogus"], 2), (["derive", "--rule", "bptt",
                                                     "--truncation", "9" * 40], 2),
    (["--version"], 0),
])
def test_python_m_symdyn(args, code):
    result = subprocess.run([sys.executable, "-m", "symdyn", *args], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == code and "Traceback" not in result.stderr, result.stderr
    COUNTS["subprocess command lines"] += 1


def test_zz_report_counts():
    """Prints how many cases ran (shown with ``pytest -s``)."""
    print("\nproperty cases:", dict(sorted(COUNTS.items())))
    assert COUNTS["points"] > 0 or not COUNTS  # the file may run filtered (-k)
