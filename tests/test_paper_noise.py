"""The paper's 'Finite learning rate' section in quick mode, against hand-derived values and
the simulations' own numbers."""

from __future__ import annotations

import numpy as np
import pytest

from symdyn.reproduce import noise
from symdyn.reproduce.common import write_section


@pytest.fixture(scope="module")
def section(tmp_path_factory):
    out = tmp_path_factory.mktemp("noise")
    sec = noise.compute(quick=True)
    return sec, out, write_section(sec, out)


def test_rflo_critical_rate_against_hand_closed_form(section):
    """RFLO at a* = 0 on the manifold at b (= 1 here): the non-zero eigenvalues give
    eta_c = min(2/(b beta), 2b/(b^3 + beta)) (hand-derived)."""
    sec, _, _ = section
    beta = np.asarray(sec.data["beta"])
    b = 1.0
    hand = np.minimum(2 / (b * beta), 2 * b / (b**3 + beta))
    np.testing.assert_allclose(sec.data["eta_c_vs_beta"]["0.0"]["rflo"], hand, rtol=1e-9)


def _bptt_hessian(a: float) -> np.ndarray:
    """BPTT's loss at leak 1 with white unit input is 1/2 sum_k (c b a^k - a*^k)^2; at the
    optimum b = c = 1, a = a* the Hessian is sum_k g_k g_k^T with
    g_k = (k a^(k-1), a^k, a^k) (Gauss-Newton, residuals zero), summed in closed form."""
    s0 = 1 / (1 - a**2)
    s1 = a / (1 - a**2) ** 2
    s2 = (1 + a**2) / (1 - a**2) ** 3
    return np.array([[s2, s1, s1], [s1, s0, s0], [s1, s0, s0]])


@pytest.mark.parametrize("a_star", [0.0, 0.5])
def test_bptt_critical_rate_against_hand_hessian(section, a_star):
    """J = -H for BPTT: eta_c = 2 / lambda_max(H), and it does not depend on beta."""
    sec, _, _ = section
    hand = 2 / np.linalg.eigvalsh(_bptt_hessian(a_star)).max()
    np.testing.assert_allclose(sec.data["eta_c_vs_beta"][str(a_star)]["bptt"], hand,
                               rtol=1e-9)


def test_large_batch_runs_straddle_eta_c(section):
    """At a* = 0, b = beta = 1 every rule has eta_c = 1 (BPTT: 2/lambda_max(H) = 2/2;
    RFLO: min(2, 1)); the simulated mean map converges at 0.8 and diverges at 1.25."""
    for rule, run in section[0].data["large_batch"].items():
        assert abs(run["eta_c"] - 1.0) < 1e-9, rule
        assert run["converged"][0.8] and not run["converged"][1.25], rule


def test_stationary_variance_simulation_against_lna(section):
    """Simulated transverse variances: within 15 % of the LNA, error bars small and
    positive, and linear in eta (a property of the simulation alone: x4 from 0.0025 to
    0.01)."""
    sec, _, _ = section
    for rule, stat in sec.data["stationary"].items():
        runs = stat["runs"]
        for r in runs:
            measured, sem = np.asarray(r["measured"]), np.asarray(r["sem"])
            assert np.all(np.abs(measured / np.asarray(r["predicted"]) - 1) < 0.15), rule
            assert np.all((sem > 0) & (sem < 0.1 * measured)), rule
        for sigma in {r["sigma"] for r in runs}:
            by_eta = {r["eta"]: np.asarray(r["measured"]) for r in runs if r["sigma"] == sigma}
            np.testing.assert_allclose(by_eta[0.01] / by_eta[0.0025], 4, rtol=0.25)


def test_diffusion_zero_for_bptt_rflo_not_for_tbptt_k2(section):
    sec, _, _ = section
    d = sec.data["diffusion"]
    for key in ("bptt", "tbptt", "rflo"):
        assert abs(d[key]["predicted"]) < 1e-12 * d[key]["reference"], key
        assert d[key]["measured"] < 0.05 * d[key]["reference"], key
    k2 = d["tbptt_k2"]
    assert k2["predicted"] > 1e-4 * k2["reference"]
    assert abs(k2["measured"] / k2["predicted"] - 1) < 0.2
    assert sec.ok, sec.checks


def test_second_order_drift_directions(section):
    """BPTT: none at balance b = c = 1, back towards it from b = 1.5; RFLO: b grows."""
    drift = section[0].data["drift"]
    assert abs(drift["bptt b=1"]["db_dtau"]) < 1e-12
    assert drift["bptt b=1.5"]["db_dtau"] < 0
    assert drift["rflo b=1"]["db_dtau"] > 0 and drift["rflo b=1.5"]["db_dtau"] > 0
    assert all(v["pathwise"] for v in drift.values())


def test_files_and_text(section):
    sec, out, paths = section
    for name in ("noise_critical_rate", "noise_stationary_variance",
                 "noise_manifold_diffusion"):
        for ext in ("png", "pdf"):
            assert (out / "figures" / f"{name}.{ext}").stat().st_size > 1000
    assert "\\begin{tabular}" in sec.latex and "| RFLO | 1 |" in sec.markdown
    assert "%" not in sec.latex.replace("\\%", "")
    assert len(paths) == 9
