"""The fast paths of the matrix mean field: the eigenbasis route against the Schur route
and against dense Kronecker solves (also where it must decline), and the exponential
integrator against RK45 at tight tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from symdyn.errors import SymdynError
from symdyn.meanfield import expected_update, stationary_loss
from symdyn.meanfield import modal as modal_module
from symdyn.meanfield.integrate import integrate_matrices
from symdyn.meanfield.modal import Modal
from symdyn.simulate import random_network


def _stein_dense(P, Q, A):
    """X = A + P X Q by one dense solve (row-major vec): independent of both routes."""
    n, m = A.shape
    return np.linalg.solve(np.eye(n * m) - np.kron(P, Q.T), A.ravel()).reshape(n, m)


def _bptt_dense(student, teacher, a):
    """BPTT's field from the Stein sums written out (see field.py's module doc)."""
    (W, U, V), (Ws, Us, Vs) = student, teacher
    eye = np.eye(W.shape[0])
    J, Js = (1 - a) * eye + a * W, (1 - a) * eye + a * Ws
    C = _stein_dense(J, J.T, a * a * U @ U.T)
    Cx = _stein_dense(Js, J.T, a * a * Us @ U.T)
    X = _stein_dense(J.T, Js, V.T @ Vs)
    Y = _stein_dense(J.T, J, V.T @ V)
    return a * (X @ Js @ Cx - Y @ J @ C), a * a * (X @ Us - Y @ U), Vs @ Cx - V @ C


@pytest.mark.parametrize("leak", [1.0, 0.5])
def test_modal_route_equals_schur_route(leak, monkeypatch):
    net, teacher = random_network(12, 3, 2, leak=leak, seed=3, radius=0.9)
    args = ((net.W[0], net.U[0], net.V[0]), (teacher.W[0], teacher.U[0], teacher.V[0]), leak)
    for rule, k in (("bptt", None), ("rflo", None), ("tbptt", 3)):
        fast = expected_update(rule, *args, feedback=net.B_fb[0], truncation=k)
        with monkeypatch.context() as mp:
            mp.setattr(modal_module, "MAX_CONDITION", 0.0)  # every route declines
            slow = expected_update(rule, *args, feedback=net.B_fb[0], truncation=k)
        for f, s in zip(fast, slow, strict=True):
            assert np.max(np.abs(f - s)) < 1e-12 * np.max(np.abs(s))
    loss = stationary_loss(*args)
    monkeypatch.setattr(modal_module, "MAX_CONDITION", 0.0)
    assert abs(stationary_loss(*args) / loss - 1) < 1e-12


def test_defective_student_falls_back_and_stays_exact():
    """A Jordan block has no eigenbasis: the modal route declines, the field is still exact."""
    rng = np.random.default_rng(0)
    n = 6
    W = 0.6 * np.eye(n) + np.diag(np.ones(n - 1), 1)  # one Jordan block, eigenvalue 0.6
    W[0, n - 1] = 1e-14  # numerically defective: eigenvalues spread by (1e-14)^(1/n)
    student = (W, rng.standard_normal((n, 2)), rng.standard_normal((2, n)))
    assert Modal.of(student[0]) is None
    teacher = (0.3 * rng.standard_normal((n, n)) / np.sqrt(n), rng.standard_normal((n, 2)),
               rng.standard_normal((2, n)))
    got = expected_update("bptt", student, teacher, 0.5)
    want = _bptt_dense(student, teacher, 0.5)
    for g, w in zip(got, want, strict=True):
        assert np.max(np.abs(g - w)) < 1e-9 * np.max(np.abs(w))


@pytest.mark.parametrize("rule,leak", [("bptt", 1.0), ("rflo", 1.0), ("rflo", 0.5),
                                       ("tbptt", 0.5)])
def test_rkc_converges_to_tight_rk45(rule, leak):
    """RKC (damped, Hermite output between steps) against RK45 at rtol 1e-10: the error
    falls with the tolerance, and is small at every output time, not only at step ends."""
    net, teacher = random_network(8, 3, 3, leak=leak, seed=3)  # RFLO stays stable
    args = (rule, (net.W[0], net.U[0], net.V[0]), (teacher.W[0], teacher.U[0], teacher.V[0]),
            6.0, leak)
    kw = dict(feedback=net.B_fb[0], truncation=2 if rule == "tbptt" else None, n_eval=13)
    ref = integrate_matrices(*args, rtol=1e-10, atol=1e-12, **kw)
    scale = max(np.linalg.norm(w) for w in ref.W)

    def error(rtol):
        tr = integrate_matrices(*args, rtol=rtol, atol=1e-2 * rtol, method="RKC", **kw)
        assert tr.status == "ok" and len(tr.tau) == len(ref.tau)
        return max(np.linalg.norm(a - b) for a, b in zip(tr.W, ref.W, strict=True)) / scale

    loose, tight = error(1e-3), error(1e-6)
    assert loose < 3e-3 and tight < 5e-5 and tight < loose / 20


@pytest.mark.parametrize("rule, k", [("bptt", None), ("rflo", None), ("tbptt", 2)])
def test_stacked_field_and_integration_equal_one_at_a_time(rule, k):
    """field_stack (one broadcast pass; tBPTT's window: one call each) against the dense
    Kronecker field for BPTT and against field() for the others; integrate_stack against
    separate integrations, to the tolerance (the step size is shared)."""
    from symdyn.meanfield.field import TeacherField, field, field_stack
    from symdyn.meanfield.integrate import integrate_stack
    from symdyn.meanfield.rule import matrix_rule

    leak = 0.6
    net, teacher = random_network(4, 2, 2, leak=leak, batch=3, seed=7)  # all stay stable
    target = (teacher.W[0], teacher.U[0], teacher.V[0])
    tf, mr = TeacherField.of(target, leak), matrix_rule(rule, leak, k)
    got = field_stack(mr, (net.W, net.U, net.V), tf, net.B_fb)
    for i in range(3):
        st = (net.W[i], net.U[i], net.V[i])
        want = (_bptt_dense(st, target, leak) if rule == "bptt"
                else field(mr, st, tf, net.B_fb[i]))
        for g, w in zip(got, want, strict=True):
            assert np.max(np.abs(g[i] - w)) < 1e-10 * max(1.0, np.max(np.abs(w)))
    starts = [(net.W[i], net.U[i], net.V[i]) for i in range(3)]
    kw = {"truncation": k, "n_eval": 5, "rtol": 1e-10, "atol": 1e-12}
    stacked = integrate_stack(rule, starts, target, 2.0, leak, feedbacks=list(net.B_fb), **kw)
    for st, B, tr in zip(starts, net.B_fb, stacked, strict=True):
        one = integrate_matrices(rule, st, target, 2.0, leak, feedback=B, **kw)
        assert tr.status == one.status == "ok" and np.allclose(tr.tau, one.tau)
        assert np.max(np.abs(tr.W - one.W)) < 1e-8 and np.max(np.abs(tr.loss / one.loss - 1)) < 1e-8


@pytest.mark.parametrize("leak", [1.0, 0.6])
def test_stack_of_different_rules_equals_one_at_a_time(leak, monkeypatch):
    """A RuleStack (one rule per student, as the gap's joint integrations use it): the
    field of each student equals field() with its own rule, and a joint integration of
    RFLO, BPTT and BPTT students equals separate ones to the tolerance."""
    from symdyn.meanfield.field import RuleStack, TeacherField, field, field_stack
    from symdyn.meanfield.integrate import integrate_stack
    from symdyn.meanfield.rule import matrix_rule

    net, teacher = random_network(4, 2, 2, leak=leak, batch=3, seed=7)
    target = (teacher.W[0], teacher.U[0], teacher.V[0])
    tf = TeacherField.of(target, leak)
    names = ["rflo", "bptt", "bptt"]  # not a palindrome: a reversed stack must fail
    rules = [matrix_rule(r, leak) for r in names]
    calls = []
    unbounded = modal_module.unbounded
    monkeypatch.setattr(modal_module, "unbounded",
                        lambda *a, **k: calls.append(1) or unbounded(*a, **k))
    got = field_stack(RuleStack.of(rules), (net.W, net.U, net.V), tf, net.B_fb)
    assert calls == [1]  # the stacked eigenbasis pass, not field() student by student
    monkeypatch.setattr(modal_module, "unbounded", unbounded)
    for i, mr in enumerate(rules):
        want = field(mr, (net.W[i], net.U[i], net.V[i]), tf, net.B_fb[i])
        for g, w in zip(got, want, strict=True):
            assert np.max(np.abs(g[i] - w)) < 1e-12 * max(1.0, np.max(np.abs(w)))
    starts = [(net.W[i], net.U[i], net.V[i]) for i in range(3)]
    kw = {"n_eval": 5, "rtol": 1e-10, "atol": 1e-12}
    stacked = integrate_stack(names, starts, target, 2.0, leak, feedbacks=list(net.B_fb), **kw)
    for name, st, B, tr in zip(names, starts, net.B_fb, stacked, strict=True):
        one = integrate_matrices(name, st, target, 2.0, leak, feedback=B, **kw)
        assert tr.status == one.status == "ok"
        assert np.max(np.abs(tr.W - one.W)) < 1e-8 and np.max(np.abs(tr.loss / one.loss - 1)) < 1e-8
    with pytest.raises(SymdynError, match="unbounded"):
        RuleStack.of([matrix_rule("tbptt", leak, 2)])
    # the feedback matrices checked as for one rule: missing, of the wrong shape, not finite
    stack, W = RuleStack.of(rules), (net.W, net.U, net.V)
    for B, message in ((None, r"rules \['rflo'\] need the feedback matrix B"),
                       (net.B_fb[:, :, :1], "finite"), (np.nan * net.B_fb, "finite")):
        with pytest.raises(SymdynError, match=message):
            field_stack(stack, W, tf, B)


@pytest.mark.parametrize("leak", [1.0, 0.5])
def test_doubling_route_equals_dense_and_schur_routes(leak, monkeypatch):
    """N = 16, student radius 0.99 (a dozen doublings): the doubling route, which computes
    no eigenvalue, against the dense Kronecker field (BPTT) and the Schur route (all)."""
    import sys

    field_module = sys.modules["symdyn.meanfield.field"]  # the package exports field()
    net, teacher = random_network(16, 3, 2, leak=leak, seed=3, radius=0.99)
    student, target = (net.W[0], net.U[0], net.V[0]), (teacher.W[0], teacher.U[0], teacher.V[0])
    for rule, k in (("bptt", None), ("rflo", None), ("tbptt", 3)):
        with monkeypatch.context() as mp:  # the doubling route, and nothing else
            mp.setattr(field_module, "_modal_field", lambda *a: pytest.fail("not doubled"))
            fast = expected_update(rule, student, target, leak, feedback=net.B_fb[0],
                                   truncation=k)
        with monkeypatch.context() as mp:
            mp.setattr(field_module, "DOUBLING_MIN_N", 10**9)
            mp.setattr(modal_module, "MAX_CONDITION", 0.0)  # the Schur route
            slow = expected_update(rule, student, target, leak, feedback=net.B_fb[0],
                                   truncation=k)
        for f, s in zip(fast, slow, strict=True):
            assert np.max(np.abs(f - s)) < 1e-11 * np.max(np.abs(s))
        if rule == "bptt":
            for f, d in zip(fast, _bptt_dense(student, target, leak), strict=True):
                assert np.max(np.abs(f - d)) < 1e-10 * np.max(np.abs(d))


@pytest.mark.parametrize("rho", [1 - 1e-6, 1 + 1e-9, 1.5])
def test_doubling_route_leaves_the_stability_verdict_to_the_eigenvalues(rho):
    """Near or beyond radius one the doubling route declines (it never reports a radius);
    the eigenvalue routes then compute the field or raise the instability error."""
    from symdyn.errors import UnstableError
    from symdyn.meanfield import doubling

    rng = np.random.default_rng(1)
    n = 16
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    W = Q @ np.diag(np.linspace(-rho, rho, n)) @ Q.T  # spectral radius rho, exactly
    U, V = rng.standard_normal((n, 2)), rng.standard_normal((2, n))
    teacher = (0.5 * Q, rng.standard_normal((n, 2)), rng.standard_normal((2, n)))
    assert doubling.moments_and_adjoints(W, doubling.powers(teacher[0]), U, teacher[1], V.T,
                                         teacher[2].T, V.T) is None
    if rho < 1:
        got = expected_update("bptt", (W, U, V), teacher, 1.0)
        want = _bptt_dense((W, U, V), teacher, 1.0)
        for g, w in zip(got, want, strict=True):
            assert np.max(np.abs(g - w)) < 1e-6 * np.max(np.abs(w))
    else:
        with pytest.raises(UnstableError, match="spectral radius"):
            expected_update("bptt", (W, U, V), teacher, 1.0)


def test_stacked_losses_equal_point_by_point(monkeypatch):
    """integrate._with_loss in one stacked pass: the numbers of the loop over the points,
    bit for bit, cut at the same first unstable point."""
    from symdyn.meanfield import integrate
    from symdyn.meanfield.field import TeacherField

    net, teacher = random_network(6, 3, 2, leak=0.7, seed=4)
    tf = TeacherField.of((teacher.W[0], teacher.U[0], teacher.V[0]), 0.7)
    rng = np.random.default_rng(2)
    mats = [(net.W[0] + 0.05 * rng.standard_normal((6, 6)), net.U[0], net.V[0] * (1 + i))
            for i in range(5)]
    mats[3] = (3.0 * mats[3][0], mats[3][1], mats[3][2])  # unstable from here on
    fast = integrate._with_loss(mats, tf)
    monkeypatch.setattr(integrate, "losses_and_radii", lambda *a: None)
    slow = integrate._with_loss(mats, tf)
    assert len(fast[0]) == len(slow[0]) == 3
    np.testing.assert_array_equal(fast[1], slow[1])
    np.testing.assert_array_equal(fast[2], slow[2])
