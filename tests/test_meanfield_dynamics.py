"""The matrix ODE in time: integration against SGD, statuses, conserved quantities,
RFLO's low rank, and the spectrum at aligned optima; the Stein solver on its own."""

from __future__ import annotations

import numpy as np
import pytest

from symdyn.meanfield import expected_update, stationary_loss
from symdyn.meanfield import stein as stein_module
from symdyn.meanfield.compare import compare_with_simulation
from symdyn.meanfield.integrate import integrate_matrices
from symdyn.meanfield.lowrank import span_residual
from symdyn.meanfield.stein import Schur, stein
from symdyn.meanfield.symmetry import balance, field_jacobian, split_spectrum
from symdyn.simulate import aligned_network, random_network


def _direct(P, Q, A):
    """X = A + P X Q by one dense linear solve (row-major vec)."""
    n, m = A.shape
    return np.linalg.solve(np.eye(n * m) - np.kron(P, Q.T), A.ravel()).reshape(n, m)


@pytest.mark.parametrize("near_minus_one", [False, True])
def test_stein_solver_against_a_dense_solve(near_minus_one, monkeypatch):
    rng = np.random.default_rng(0)
    monkeypatch.setattr(stein_module, "BASE", 6)  # exercise the recursive splitting
    if near_minus_one:
        monkeypatch.setattr(stein_module, "CAYLEY_MARGIN", 10.0)  # the complex route
    P = rng.standard_normal((20, 20))
    P *= 0.95 / np.max(np.abs(np.linalg.eigvals(P)))
    Q = rng.standard_normal((13, 13))
    Q *= 0.9 / np.max(np.abs(np.linalg.eigvals(Q)))
    L, R = rng.standard_normal((20, 3)), rng.standard_normal((13, 3))
    sp, sq = Schur.of(P), Schur.of(Q)
    for fp, mp in ((sp, P), (sp.t, P.T)):
        for fq, mq in ((sq, Q), (sq.t, Q.T)):
            assert np.max(np.abs(stein(fp, fq, L, R) - _direct(mp, mq, L @ R.T))) < 1e-11


def test_loss_invariant_and_field_equivariant_under_the_symmetry():
    net, teacher = random_network(6, 3, 3, leak=1.0, seed=3)
    st, te, B = (net.W[0], net.U[0], net.V[0]), (teacher.W[0], teacher.U[0], teacher.V[0]), \
        net.B_fb[0]
    rng = np.random.default_rng(0)
    S = np.eye(6) + 0.3 * rng.standard_normal((6, 6))
    Si = np.linalg.inv(S)
    assert abs(stationary_loss((S @ st[0] @ Si, S @ st[1], st[2] @ Si), te)
               - stationary_loss(st, te)) < 1e-12
    Rot = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    for rule in ("bptt", "rflo"):
        d = expected_update(rule, st, te, feedback=B)
        e = expected_update(rule, (Rot @ st[0] @ Rot.T, Rot @ st[1], st[2] @ Rot.T), te,
                            feedback=Rot @ B)
        assert np.max(np.abs(e[0] - Rot @ d[0] @ Rot.T)) < 1e-12
        assert np.max(np.abs(e[2] - d[2] @ Rot.T)) < 1e-12


@pytest.mark.parametrize("leak", [1.0, 0.5])
@pytest.mark.parametrize("rule", ["bptt", "tbptt", "rflo"])
def test_integration_follows_sgd(rule, leak):
    """Non-aligned network: the ODE lies inside the cloud of SGD runs and the loss agrees
    up to SGD's O(eta) excess."""
    r = compare_with_simulation(rule, leak, n_hidden=8, n_input=2, n_output=2, eta=1e-3,
                                tau_end=2.0, batch=4, n_points=4, truncation=1, seed=2)
    assert r["status"] == "ok" and r["sim_status"] == "ok"
    assert r["worst"] < 2.5, r
    assert r["loss_rel"] < 0.2, r
    assert r["moved"][-1] > 5 * r["spread"][-1]  # the comparison is not trivially close


def test_unstable_trajectory_ends_with_a_status_not_nan():
    """RFLO on this random network drives rho(J) to 1 (SGD diverges there too)."""
    net, teacher = random_network(8, 3, 3, leak=1.0, seed=5)
    tr = integrate_matrices("rflo", (net.W[0], net.U[0], net.V[0]),
                            (teacher.W[0], teacher.U[0], teacher.V[0]), 5.0,
                            feedback=net.B_fb[0], n_eval=11)
    assert tr.status == "unstable" and "spectral radius" in tr.message
    assert np.all(np.isfinite(tr.loss)) and np.all(np.isfinite(tr.W))
    budget = integrate_matrices("bptt", (net.W[0], net.U[0], net.V[0]),
                                (teacher.W[0], teacher.U[0], teacher.V[0]), 5.0,
                                n_eval=11, max_evaluations=20)
    assert budget.status == "budget"


def test_balance_conserved_by_bptt_only_and_rflo_stays_in_span_of_B():
    net, teacher = random_network(8, 3, 3, leak=0.5, seed=5)
    st, te, B = (net.W[0], net.U[0], net.V[0]), (teacher.W[0], teacher.U[0], teacher.V[0]), \
        net.B_fb[0]

    def run(rule, k=None):
        return integrate_matrices(rule, st, te, 3.0, 0.5, feedback=B, truncation=k, n_eval=4,
                                  rtol=1e-10, atol=1e-12)

    def drift(tr):
        q0 = balance(st)
        return max(np.linalg.norm(balance((w, u, v)) - q0)
                   for w, u, v in zip(tr.W, tr.U, tr.V, strict=True)) / np.linalg.norm(q0)

    assert drift(run("bptt")) < 1e-7
    assert drift(run("tbptt", 1)) > 1e-2
    rflo = run("rflo")
    assert rflo.status == "ok" and drift(rflo) > 1e-2
    dW, dU = rflo.W[-1] - st[0], rflo.U[-1] - st[1]
    assert span_residual(dW, B) < 1e-10 and span_residual(dU, B) < 1e-10
    sv = np.linalg.svd(dW, compute_uv=False)
    assert sv[3] < 1e-10 * sv[0] and sv[2] > 1e-3 * sv[0]  # rank exactly M = 3
    sv_bptt = np.linalg.svd(run("bptt").W[-1] - st[0], compute_uv=False)
    assert sv_bptt[3] > 1e-3 * sv_bptt[0]


@pytest.mark.parametrize("rule", ["bptt", "rflo"])
def test_aligned_optimum_spectrum(rule):
    """N = D = M = 3: the 9-dim GL(3) orbit is the kernel; the other 18 directions,
    on-mode and off-mode, are stable."""
    a = (0.5, 0.0, -0.3)
    net, teacher, bases = aligned_network(3, 3, 3, a=a, b=1.0, c=1.0, a_star=a, b_star=1.0,
                                          c_star=1.0, beta=1.0, leak=1.0, seed=1)
    st = (net.W[0], net.U[0], net.V[0])
    jac = field_jacobian(rule, st, (teacher.W[0], teacher.U[0], teacher.V[0]),
                         feedback=net.B_fb[0])
    spec = split_spectrum(jac, st, bases, 3)
    assert spec["orbit"] == 9 and spec["neutral"] == 9 and spec["orbit_in_kernel"] < 1e-8
    stable = [k for k in spec if k.endswith(" stable")]
    assert sum(len(spec[k]) for k in stable) == 18
    assert not any(k.endswith("unstable") for k in spec)


def test_rkc_agrees_with_rk45_with_fewer_evaluations():
    net, teacher = random_network(8, 3, 3, leak=1.0, seed=1)
    args = ("bptt", (net.W[0], net.U[0], net.V[0]), (teacher.W[0], teacher.U[0], teacher.V[0]),
            10.0)
    ref = integrate_matrices(*args, n_eval=6, rtol=1e-9, atol=1e-11)
    rkc = integrate_matrices(*args, n_eval=6, rtol=1e-4, atol=1e-6, method="RKC")
    assert rkc.status == "ok" and rkc.n_evaluations < ref.n_evaluations / 2
    moved = np.linalg.norm(ref.W[-1] - ref.W[0])
    assert np.max([np.linalg.norm(a - b) for a, b in zip(rkc.W, ref.W, strict=True)]) \
        < 2e-3 * moved
    assert np.max(np.abs(rkc.loss / ref.loss - 1)) < 2e-3


def test_dop853_agrees_with_tight_rk45_and_keeps_the_output_times():
    """DOP853 builds its interpolant (3 extra evaluations) only for steps that hold an
    output time; every requested time must still come out, equal to RK45's to tolerance."""
    net, teacher = random_network(6, 2, 2, leak=0.7, seed=3)
    args = ("bptt", (net.W[0], net.U[0], net.V[0]), (teacher.W[0], teacher.U[0], teacher.V[0]),
            3.0, 0.7)
    kw = {"n_eval": 4}  # sparse outputs: most steps hold none
    ref = integrate_matrices(*args, **kw, rtol=1e-11, atol=1e-13)
    dop = integrate_matrices(*args, **kw, rtol=1e-8, atol=1e-11, method="DOP853")
    assert dop.status == "ok" and np.allclose(dop.tau, ref.tau, rtol=0, atol=0)
    assert np.max(np.abs(dop.W - ref.W)) < 1e-6 and np.max(np.abs(dop.loss / ref.loss - 1)) < 1e-6
    assert dop.n_evaluations < integrate_matrices(*args, **kw, rtol=1e-8, atol=1e-11).n_evaluations


def test_gap_text_concludes_only_what_the_restarts_show():
    """The beyond section says the gap is not mode coupling only when the full and
    mode-only restarts agree to within a third of the gap, for every rule; otherwise it
    says the runs cannot tell (and its check fails)."""
    from symdyn.reproduce.beyond import _gap_text, _restarts_agree

    base = {"ode": -1.20, "sgd": -1.00, "restart_full": -1.10, "residual_tau5": 1e-2,
            "ode_loss_tau5": 1e-6}
    agree = {"bptt": {**base, "restart_modes": -1.09}, "rflo": {**base, "restart_modes": -1.11}}
    differ = {**agree, "rflo": {**base, "restart_modes": -1.00}}  # 0.10 > 0.20 / 3
    assert all(map(_restarts_agree, agree.values()))
    assert not _restarts_agree(differ["rflo"])
    assert "is not mode coupling" in _gap_text(agree)
    text = _gap_text(differ)
    assert "cannot tell the gap from mode coupling" in text
    assert "is not mode coupling" not in text


@pytest.mark.parametrize("stopping", [1, 2])
def test_gap_refuses_slopes_of_a_stacked_ode_that_stopped(monkeypatch, stopping):
    """One student of a stacked integration leaving the stable region stops every
    trajectory of the stack: ``gaps`` must raise rather than fit slopes to cut windows,
    whether the rules' ODEs (the first stack) or the restarts (the second) stopped."""
    import dataclasses

    from symdyn.errors import SymdynError
    from symdyn.meanfield import gap as gap_module

    real, calls = gap_module.integrate_stack, []

    def second_stops(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(len(out))
        if len(calls) == stopping:  # that stack's first trajectory reports an early stop
            out = [dataclasses.replace(out[0], status="unstable"), *out[1:]]
        return out

    monkeypatch.setattr(gap_module, "integrate_stack", second_stops)
    with pytest.raises(SymdynError, match="stopped"):
        gap_module.gaps(("bptt",), n_restarts=1)
    assert calls == [1, 2]
