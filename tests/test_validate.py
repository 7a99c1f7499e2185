"""Tests of symdyn.validation: quick versions of every check pass for each rule, checks
that must fail do fail (wrong ODE, wrong rank bound), checks whose expectation the
analysis does not provide are not applicable, and the registry takes new checks."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

import symdyn as sd
from symdyn.validation import (
    CHECKS,
    INPUTS,
    Case,
    Check,
    NotApplicable,
    ValidationReport,
    make_check,
    not_applicable,
    provides,
    register,
    run_checks,
    run_validation,
)
from symdyn.validation.discrimination import check_discrimination, rivals
from symdyn.validation.expected_update import check_expected_update
from symdyn.validation.low_rank import low_rank_run
from symdyn.validation.trajectory import check_trajectory, trajectory_runs

RULES = [("bptt", None), ("tbptt", 1), ("rflo", None)]
ALL = ["expected_update", "trajectory", "discrimination", "eta_scaling", "local_rate",
       "stability", "saddle", "conserved", "limit", "low_rank", "meanfield",
       "noise_covariance", "noise_stationary", "excess_loss", "manifold_diffusion",
       "learning_curve_spread", "critical_rate"]


def _studies():
    """The module ``validation/studies.py`` (a script directory, not a package)."""
    path = Path(__file__).resolve().parents[1] / "validation" / "studies.py"
    spec = importlib.util.spec_from_file_location("validation_studies", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("rule", "k"), RULES)
@pytest.mark.timeout(420)
def test_quick_validation_passes(rule, k, tmp_path):
    """Every check passes for each rule (quick), and the validation studies draw their
    figures and report from the same run (nothing simulated twice)."""
    calls = []
    report = run_validation(rule, k, leak=1, seed=0, quick=True,
                            progress=lambda name, frac: calls.append((name, frac)))
    assert report.passed, report.table()
    paths = _studies().write([report], tmp_path, 1.0)
    assert all(p.stat().st_size > 500 for p in paths), paths
    assert [c.name for c in report.checks] == ALL
    assert all(c.status == "passed" for c in report.checks)  # every one applies
    assert calls[0][1] == 0.0 and calls[-1] == ("done", 1.0)
    assert all(b[1] >= a[1] for a, b in zip(calls, calls[1:], strict=False))
    checks = {c.name: c for c in report.checks}
    # expectations from the analysis: a plateau where it finds a saddle at b = c = 0
    # (bptt, tbptt), the escape where that is no fixed point (rflo, feedback beta)
    assert ("tau_pred" in checks["saddle"].details) == (rule != "rflo")
    assert len(checks["stability"].details["runs"]) == (2 if rule == "rflo" else 1)


def test_tbptt_k2_has_no_invariant_so_conserved_and_limit_do_not_apply():
    # used to fail with "missing symbol 'a' in the point" (empty predicted limit)
    report = run_validation("tbptt", 2, leak=1, seed=0, quick=True,
                            checks=["conserved", "limit", "saddle"])
    checks = {c.name: c for c in report.checks}
    for name in ("conserved", "limit"):
        assert checks[name].status == "not_applicable", checks[name]
        assert "conserved quantity" in checks[name].reason
        entry = checks[name].to_dict()
        assert entry["metric"] is None and entry["passed"] is None
    assert checks["saddle"].passed, checks["saddle"]
    assert report.passed and "not applicable" in report.table()


@pytest.mark.parametrize(("rule", "k"), RULES)
def test_expected_update_at_leak_03(rule, k):
    check = check_expected_update(Case(rule, k, 0.3, 0, quick=True))
    assert check.passed, check.metric


def test_report_shapes():
    checks = [make_check("expected_update", 2.5, 4.0, z=[1.0]),
              make_check("low_rank", 1e-4, 1e-3, ">"),
              not_applicable("limit", 0.03, "no limit"),
              make_check("trajectory", float("nan"), 0.06)]
    assert [c.status for c in checks] == ["passed", "failed", "not_applicable", "failed"]
    report = ValidationReport("tbptt", 1, 1.0, 0, True, checks)
    assert not report.passed
    d = report.to_dict()
    assert d["rule"] == "tbptt" and d["truncation"] == 1
    for entry in d["checks"]:
        assert set(entry) == {"name", "metric", "threshold", "passed", "status", "reason"}
    assert [e["passed"] for e in d["checks"]] == [True, False, None, False]
    assert d["checks"][2]["metric"] is None and d["checks"][2]["reason"] == "no limit"
    lines = report.table().splitlines()
    header = next(line for line in lines if line.startswith("check"))
    row = next(line for line in lines if line.startswith("expected_update"))
    assert header.index("metric") == row.index("2.5")  # aligned columns
    assert report.markdown().count("\n|") == len(report.checks) + 2
    assert "> 0.001" in report.table() and "FAIL" in report.table()
    # not applicable is no failure
    assert ValidationReport("tbptt", 2, 1.0, 0, True, checks[:1] + checks[2:3]).passed


def test_symbolic_leak_is_rejected():
    with pytest.raises(sd.SymdynError, match="numeric leak"):
        run_validation("bptt", leak="alpha")


def test_unknown_check_is_rejected():
    with pytest.raises(sd.SymdynError, match="unknown check"):
        run_checks(Case("bptt"), ["no_such_check"])


def test_registry_takes_a_new_check():
    """A new check is one decorated function (and an input it shares, if any); inputs
    are computed once per run and NotApplicable from an input reaches every check."""
    calls = []

    @provides("_test_input")
    def _input(case):
        calls.append(case.rule)
        return 2.0

    @provides("_test_missing")
    def _missing(case):
        raise NotApplicable("nothing to compare with")

    @register("_test_a", inputs=("_test_input",), threshold=1.0)
    def _a(case, _test_input) -> Check:
        return make_check("_test_a", _test_input, 1.0, ">")

    @register("_test_b", inputs=("_test_input", "_test_missing"), threshold=1.0)
    def _b(case, _test_input, _test_missing) -> Check:
        raise AssertionError("not reached")

    try:
        assert list(CHECKS)[-2:] == ["_test_a", "_test_b"]
        out = run_checks(Case("bptt"), ["_test_a", "_test_b", "_test_a"])
        assert [c.status for c in out] == ["passed", "not_applicable", "passed"]
        assert out[1].reason == "nothing to compare with" and out[1].threshold == 1.0
        assert calls == ["bptt"]  # shared, computed once
    finally:
        for name in ("_test_a", "_test_b"):
            CHECKS.pop(name)
        for name in ("_test_input", "_test_missing"):
            INPUTS.pop(name)
    assert list(CHECKS) == ALL


def test_expected_update_fails_against_wrong_ode():
    # bptt simulation vs rflo's derived field, and rflo simulation vs bptt's field
    for sim, wrong in (("bptt", "rflo"), ("rflo", "bptt"), ("tbptt", "bptt")):
        check = check_expected_update(Case(sim, None if sim != "tbptt" else 1, 1.0, 0, True),
                                      ode=sd.derive(wrong))
        assert not check.passed and check.metric > 20, (sim, wrong, check.metric)


def test_trajectory_fails_against_wrong_ode():
    case = Case("bptt", None, 1.0, 0, quick=True, ode=sd.derive("rflo"))  # the wrong field
    check = check_trajectory(case, trajectory_runs(case))
    assert not check.passed, check.metric


@pytest.mark.parametrize("leak", [1.0, 0.3])
@pytest.mark.parametrize(("rule", "k"), RULES)
def test_discrimination_passes(rule, k, leak):
    case = Case(rule, k, leak, 0, quick=True)
    check = check_discrimination(case, trajectory_runs(case))
    assert check.passed, (check.metric, check.details["errors"])
    errors = check.details["errors"]
    assert set(errors) == {"bptt", "tbptt k=1", "rflo"}
    own = check.details["own"]
    assert own.split()[0] == rule
    assert errors[own] < min(v for name, v in errors.items() if name != own) / 2


def test_rivals():
    assert rivals(Case("bptt")) == [("tbptt", 1), ("rflo", None)]
    assert rivals(Case("tbptt", 1)) == [("bptt", None), ("rflo", None)]
    # tBPTT(k > 1) is not compared with its k -> infinity limit
    assert rivals(Case("tbptt", 3)) == [("tbptt", 1), ("rflo", None)]


def test_trajectory_fails_for_bptt_against_tbptt_ode():
    # the case that passed (0.07 < 0.1) when the teachers had little memory
    case = Case("bptt", None, 1.0, 0, quick=True, ode=sd.derive("tbptt", truncation=1))
    check = check_trajectory(case, trajectory_runs(case))
    assert not check.passed and check.metric > 2 * check.threshold, check.metric


def test_rank_bound_fails_for_bptt():
    ratios = low_rank_run(Case("bptt", None, 1.0, 0, True), "bptt")["ratio"]
    assert min(ratios.values()) > 1e-3  # far above RFLO's bound of 1e-10
    assert math.isfinite(min(ratios.values()))


def test_large_batch_runs_side_by_side_equal_each_alone():
    """The runs of critical_rate share simulator calls (and draws): each still gets the
    distances it gets alone, the one that turns unstable included."""
    import numpy as np

    from symdyn.validation.critical_rate import large_batch_run, large_batch_runs
    from symdyn.validation.noise_setup import manifold_point

    case = sd.validation.make_case("rflo", None, 0.5, 0, True)
    point = manifold_point(case, a_star=0.0)
    kw = dict(iterations=6, chains=16, steps=100)
    etas, seeds = [0.3, 40.0, 0.6], [3, 4, 5]
    together = large_batch_runs(case, point, etas, seeds=seeds, **kw)
    alone = [large_batch_run(case, point, e, seed=s, **kw)
             for e, s in zip(etas, seeds, strict=True)]
    assert np.isinf(together[1][-1]) and np.isfinite(together[0][-1])
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_array_equal(a, b)
