"""The matrix mean-field studies of ``validation/`` run (quick) and say what they claim."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

STUDIES = Path(__file__).resolve().parents[1] / "validation"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"validation_{name}", STUDIES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(300)
def test_meanfield_vs_sgd_quick_keeps_the_ode_inside_the_sgd_cloud():
    results = _load("meanfield_vs_sgd").main(quick=True, eta=2e-3)
    assert len(results) == 3
    for r in results:
        # the ODE inside the spread of independent SGD runs (about 1 when it is)
        assert r["status"] == "ok" and r["worst"] < 3.0, r["worst"]


@pytest.mark.timeout(300)
def test_meanfield_gap_quick_restart_moves_the_ode_slope_towards_sgd():
    (g,) = _load("meanfield_gap").main(quick=True)
    # the ODE restarted from SGD's weights lies between the ODE and SGD slopes
    low, high = sorted((g["ode"], g["sgd"]))
    assert low - 0.02 <= g["restart_full"] <= high + 0.02, g
