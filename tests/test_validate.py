"""Tests of symdyn.validate: quick versions of every check pass for each rule, and checks
that must fail do fail (wrong ODE, wrong rank bound).  Whole file: well under 60 s."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402

import symdyn as sd  # noqa: E402
from symdyn.validate import (  # noqa: E402
    Case,
    Check,
    ValidationReport,
    check_discrimination,
    check_expected_update,
    check_trajectory,
    low_rank_run,
    rivals,
    run_validation,
)

RULES = [("bptt", None), ("tbptt", 1), ("rflo", None)]


@pytest.mark.parametrize(("rule", "k"), RULES)
def test_quick_validation_passes(rule, k):
    calls = []
    report = run_validation(rule, k, leak=1, seed=0, quick=True,
                            progress=lambda name, frac: calls.append((name, frac)))
    assert report.passed, report.table()
    names = [c.name for c in report.checks]
    assert {"expected_update", "trajectory", "discrimination", "eta_scaling", "local_rate",
            "stability", "saddle", "conserved", "limit", "low_rank"} <= set(names)
    assert calls[0][1] == 0.0 and calls[-1] == ("done", 1.0)
    assert all(b[1] >= a[1] for a, b in zip(calls, calls[1:], strict=False))


@pytest.mark.parametrize(("rule", "k"), RULES)
def test_expected_update_at_leak_03(rule, k):
    check = check_expected_update(Case(rule, k, 0.3, 0, quick=True))
    assert check.passed, check.metric


def test_report_shapes():
    checks = [Check("expected_update", 2.5, 4.0, True, {"z": [1.0]}),
              Check("low_rank", 0.2, 1e-3, False, {"pass_if": ">"})]
    report = ValidationReport("tbptt", 1, 1.0, 0, True, checks)
    assert not report.passed
    d = report.to_dict()
    assert d["rule"] == "tbptt" and d["truncation"] == 1
    for entry in d["checks"]:
        assert set(entry) == {"name", "metric", "threshold", "passed"}
        assert isinstance(entry["metric"], float) and isinstance(entry["passed"], bool)
    lines = report.table().splitlines()
    assert len({line.index("metric") for line in lines if "metric" in line}) == 1
    assert report.markdown().count("\n|") == len(report.checks) + 2
    assert "> 0.001" in report.table() and "FAIL" in report.table()


def test_symbolic_leak_is_rejected():
    with pytest.raises(sd.SymdynError, match="numeric leak"):
        run_validation("bptt", leak="alpha")


def test_expected_update_fails_against_wrong_ode():
    # bptt simulation vs rflo's derived field, and rflo simulation vs bptt's field
    for sim, wrong in (("bptt", "rflo"), ("rflo", "bptt"), ("tbptt", "bptt")):
        check = check_expected_update(Case(sim, None if sim != "tbptt" else 1, 1.0, 0, True),
                                      ode=sd.derive(wrong))
        assert not check.passed and check.metric > 20, (sim, wrong, check.metric)


def test_trajectory_fails_against_wrong_ode():
    case = Case("bptt", None, 1.0, 0, quick=True)
    case.__dict__["ode"] = sd.derive("rflo")  # the wrong field (beta from the modes)
    check = check_trajectory(case)
    assert not check.passed, check.metric


@pytest.mark.parametrize("leak", [1.0, 0.3])
@pytest.mark.parametrize(("rule", "k"), RULES)
def test_discrimination_passes(rule, k, leak):
    check = check_discrimination(Case(rule, k, leak, 0, quick=True))
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
    case = Case("bptt", None, 1.0, 0, quick=True)
    case.__dict__["ode"] = sd.derive("tbptt", truncation=1)
    check = check_trajectory(case)
    assert not check.passed and check.metric > 2 * check.threshold, check.metric


def test_rank_bound_fails_for_bptt():
    ratios = low_rank_run(Case("bptt", None, 1.0, 0, True), "bptt")["ratio"]
    assert min(ratios.values()) > 1e-3  # far above RFLO's bound of 1e-10
