"""Tests of symdyn.simulate against independent references (finite differences, explicit
loops, closed forms).  Whole file runs in well under 30 s."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from symdyn.simulate import (
    RULES,
    Network,
    Runner,
    SimulationTimeout,
    Teacher,
    UnstableNetworkError,
    aligned_network,
    draw_inputs,
    expected_update_mc,
    project_modes,
    random_network,
    spectral_radius,
    summed_updates,
    train,
)
from symdyn.simulate.engine import (
    CHECK_EVERY,
    SIMULATOR_ENV,
    _compiled_path,
    _Inputs,
)

SCALAR = dict(a=0.3, b=0.8, c=0.5, a_star=0.5, b_star=1.0, c_star=1.0)


def _run_frozen(net, teacher, xs, rule, leak, truncation=1):
    """Per-step directions (dW, dU, dV) at frozen weights for inputs xs (T, B, D)."""
    runner = Runner(net.copy(), teacher.copy(), rule, leak, truncation)
    return [runner.step(x)[:3] for x in xs]


def _unrolled_loss(W, U, V, teacher, xs, leak):
    """½|y*_T - y_T|² at the last step, unrolling both networks from rest (batch entry 0)."""
    h = np.zeros(W.shape[0])
    hs = np.zeros(W.shape[0])
    for x in xs[:, 0]:
        h = (1 - leak) * h + leak * (W @ h + U @ x)
        hs = (1 - leak) * hs + leak * (teacher.W[0] @ hs + teacher.U[0] @ x)
    e = teacher.V[0] @ hs - V @ h
    return 0.5 * e @ e


def _fd_grad(f, X, eps=1e-6):
    """Central finite-difference gradient of scalar f at matrix X."""
    g = np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        Xp, Xm = X.copy(), X.copy()
        Xp[idx] += eps
        Xm[idx] -= eps
        g[idx] = (f(Xp) - f(Xm)) / (2 * eps)
    return g


def _tiny(leak=0.7, seed=1):
    net, teacher = random_network(3, 2, 2, leak=leak, seed=seed, radius=0.7, teacher_radius=0.8)
    xs = np.random.default_rng(seed).standard_normal((80, 1, 2))
    return net, teacher, xs


def test_bptt_matches_finite_difference_gradient():
    leak = 0.7
    net, teacher, xs = _tiny(leak)
    dW, dU, dV = _run_frozen(net, teacher, xs, "bptt", leak)[-1]
    W, U, V = net.W[0], net.U[0], net.V[0]
    grads = {
        "W": _fd_grad(lambda M: _unrolled_loss(M, U, V, teacher, xs, leak), W),
        "U": _fd_grad(lambda M: _unrolled_loss(W, M, V, teacher, xs, leak), U),
        "V": _fd_grad(lambda M: _unrolled_loss(W, U, M, teacher, xs, leak), V),
    }
    for name, d in (("W", dW), ("U", dU), ("V", dV)):
        g = grads[name]
        assert np.linalg.norm(g) > 1e-3  # non-trivial gradient
        rel = np.linalg.norm(d[0] + g) / np.linalg.norm(g)  # direction = -gradient
        assert rel < 1e-6, (name, rel)


def test_tbptt_limits():
    leak = 0.7
    net, teacher, xs = _tiny(leak)
    T = xs.shape[0]
    ref = _run_frozen(net, teacher, xs, "bptt", leak)
    full = _run_frozen(net, teacher, xs, "tbptt", leak, truncation=T)
    # A window covering the whole history is exact BPTT at every step.
    for (a, b, _), (c, d, _) in zip(ref, full, strict=True):
        np.testing.assert_allclose(c, a, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(d, b, rtol=1e-10, atol=1e-12)
    # Truncation error shrinks with k (like rho^k) and k = 1 is alpha g h_{t-1}^T.
    errs = [np.linalg.norm(_run_frozen(net, teacher, xs, "tbptt", leak, k)[-1][0] - ref[-1][0])
            for k in (1, 4, 16)]
    assert errs[0] > errs[1] > errs[2] and errs[1] > 1e-4
    runner = Runner(net.copy(), teacher.copy(), "tbptt", leak, 1)
    for x in xs:
        h_prev = runner.h.copy()
        dW, dU, _, _ = runner.step(x)
        e = teacher.V[0] @ runner.hs[0] - net.V[0] @ runner.h[0]
        g = net.V[0].T @ e
        np.testing.assert_allclose(dW[0], leak * np.outer(g, h_prev[0]), atol=1e-13)
        np.testing.assert_allclose(dU[0], leak * np.outer(g, x[0]), atol=1e-13)


def test_rflo_matches_explicit_loop():
    leak, N, D, M = 0.4, 4, 3, 2
    net, teacher = random_network(N, D, M, leak=leak, seed=3)
    xs = np.random.default_rng(0).standard_normal((25, 1, D))
    got = _run_frozen(net, teacher, xs, "rflo", leak)
    W, U, V, Bf = net.W[0], net.U[0], net.V[0], net.B_fb[0]
    h, hs, p, q = np.zeros(N), np.zeros(N), np.zeros(N), np.zeros(D)
    for (dW, dU, dV), x in zip(got, xs[:, 0], strict=True):
        p_new = [(1 - leak) * p[j] + leak * h[j] for j in range(N)]
        q = np.array([(1 - leak) * q[j] + leak * x[j] for j in range(D)])
        h = np.array([(1 - leak) * h[i] + leak * (sum(W[i, j] * h[j] for j in range(N))
                                                   + sum(U[i, j] * x[j] for j in range(D)))
                      for i in range(N)])
        hs = (1 - leak) * hs + leak * (teacher.W[0] @ hs + teacher.U[0] @ x)
        p = np.array(p_new)
        e = [sum(teacher.V[0][m, i] * hs[i] - V[m, i] * h[i] for i in range(N)) for m in range(M)]
        f = [sum(Bf[i, m] * e[m] for m in range(M)) for i in range(N)]
        for i in range(N):
            for j in range(N):
                assert dW[0, i, j] == pytest.approx(f[i] * p[j], abs=1e-13)
            for j in range(D):
                assert dU[0, i, j] == pytest.approx(f[i] * q[j], abs=1e-13)
        for m in range(M):
            for i in range(N):
                assert dV[0, m, i] == pytest.approx(e[m] * h[i], abs=1e-13)


def test_train_applies_eta_times_direction():
    leak, eta, seed = 0.5, 0.03, 7
    net, teacher = random_network(5, 3, 2, leak=leak, batch=2, seed=2)
    res = train(net, teacher, rule="bptt", eta=eta, n_steps=3, leak=leak, seed=seed)
    manual = net.copy()
    runner = Runner(manual, teacher, "bptt", leak)
    inputs = _Inputs(2, 3, seed)
    for _ in range(3):
        dW, dU, dV, _ = runner.step(inputs.next())
        manual.W += eta * dW
        manual.U += eta * dU
        manual.V += eta * dV
    for k in ("W", "U", "V"):
        np.testing.assert_allclose(getattr(res.final, k), getattr(manual, k), rtol=1e-12)
    np.testing.assert_array_equal(res.initial.W, net.W)  # input not mutated
    assert not np.allclose(res.final.W, net.W)


@pytest.mark.parametrize("rule", ["rflo", "bptt"])
def test_rflo_updates_are_low_rank(rule):
    leak = 0.8
    net, teacher = random_network(16, 3, 2, leak=leak, batch=2, seed=5)
    res = train(net, teacher, rule=rule, eta=0.003, n_steps=2000, leak=leak, record=("loss",))
    for b in range(2):
        for k in ("W", "U"):
            s = np.linalg.svd(getattr(res.final, k)[b] - getattr(res.initial, k)[b],
                              compute_uv=False)
            if rule == "rflo":
                assert s[2] < 1e-10 * s[0], (k, s)
            else:
                assert s[2] > 1e-3 * s[0], (k, s)
    assert res.loss[-1].mean() < res.loss[0].mean()  # it learns


def test_aligned_projection_recovers_parameters():
    n_modes, batch = 3, 2
    rng = np.random.default_rng(0)
    p = {k: rng.uniform(-0.8, 0.8, (batch, n_modes)) for k in SCALAR}
    beta = rng.uniform(0.2, 1.0, n_modes)
    net, teacher, bases = aligned_network(7, 4, 3, **p, beta=beta, leak=0.5, batch=batch,
                                          seed=3, a_rest=0.1)
    got, got_t = project_modes(net, bases), project_modes(teacher, bases)
    for k in "abc":
        np.testing.assert_allclose(got[k], p[k], atol=1e-14)
        np.testing.assert_allclose(got_t[k], p[k + "_star"], atol=1e-14)
    assert got["residual"].max() < 1e-14 and got_t["residual"].max() < 1e-14
    fb = np.einsum("ki,bkl,li->bi", bases.R[:, :3], net.B_fb, bases.P[:, :3])
    np.testing.assert_allclose(fb, np.broadcast_to(beta, (batch, 3)), atol=1e-14)
    # a non-aligned perturbation shows up in the residual
    net.W[0] += 1e-3 * rng.standard_normal(net.W[0].shape)
    assert project_modes(net, bases)["residual"][0] > 1e-5


def test_aligned_network_on_given_bases():
    """``bases=`` of an earlier call with the seed builds the same network as drawing them
    again (another state on the same bases), and bases of other sizes are refused."""
    p = {**SCALAR, "a": 0.2}
    net, teacher, bases = aligned_network(5, 4, 3, **p, beta=0.7, leak=0.5, batch=2, seed=4)
    again, teacher2, same = aligned_network(5, 4, 3, **p, beta=0.7, leak=0.5, batch=2,
                                            seed=4, bases=bases)
    assert same is bases
    for name in ("W", "U", "V", "B_fb"):
        np.testing.assert_array_equal(getattr(net, name), getattr(again, name))
    for name in ("W", "U", "V"):
        np.testing.assert_array_equal(getattr(teacher, name), getattr(teacher2, name))
    with pytest.raises(ValueError, match="sizes"):
        aligned_network(4, 5, 3, **p, beta=0.7, leak=0.5, bases=bases)


def test_spectral_radius_and_instability():
    W = np.diag([0.5, -2.9])[None]  # eig J = 1 - alpha + alpha eig W = 0.75, -0.95
    assert spectral_radius(W, 0.5)[0] == pytest.approx(0.95)
    assert spectral_radius(W, 1.0)[0] == pytest.approx(2.9)
    one = np.array([[[0.5]], [[-2.9]], [[1.2]]])  # N = 1 takes no eigvals: same values
    assert spectral_radius(one, 0.5).tolist() == [0.75, 0.95, 1.1]
    assert spectral_radius(one[0], 1.0) == 0.5
    assert issubclass(UnstableNetworkError, ValueError)
    with pytest.raises(UnstableNetworkError, match="student"):
        aligned_network(2, 2, 2, **{**SCALAR, "a": 1.2}, beta=1.0, leak=1.0)
    with pytest.raises(UnstableNetworkError, match="teacher"):
        aligned_network(2, 2, 2, **{**SCALAR, "a_star": -1.1}, beta=1.0, leak=1.0)
    net, teacher = random_network(4, 2, 2, leak=1.0, seed=0)
    with pytest.raises(UnstableNetworkError, match="rflo"):
        train(Network(net.W * 3, net.U, net.V, net.B_fb), teacher, rule="rflo", eta=0.01,
              n_steps=10, leak=1.0)
    with np.errstate(all="ignore"), pytest.raises(UnstableNetworkError, match="step"):
        train(net, teacher, rule="bptt", eta=20.0, n_steps=2000, leak=1.0)


def test_bad_arguments():
    net, teacher = random_network(3, 2, 2, leak=1.0)
    for leak in (0.0, -0.2, 1.5):
        with pytest.raises(ValueError, match="leak"):
            train(net, teacher, rule="rflo", eta=0.1, n_steps=5, leak=leak)
        with pytest.raises(ValueError, match="leak"):
            aligned_network(2, 2, 2, **SCALAR, beta=1.0, leak=leak)
    with pytest.raises(ValueError, match="bptt, tbptt, rflo"):
        train(net, teacher, rule="rtrl", eta=0.1, n_steps=5, leak=1.0)
    with pytest.raises(ValueError, match="truncation"):
        train(net, teacher, rule="tbptt", truncation=0, eta=0.1, n_steps=5, leak=1.0)
    with pytest.raises(ValueError, match="shape"):
        train(net, Teacher(teacher.W, teacher.U, teacher.V[:, :1]), rule="rflo", eta=0.1,
              n_steps=5, leak=1.0)


@pytest.mark.parametrize("rule", RULES)
def test_seeded_reproducibility(rule):
    net, teacher = random_network(6, 2, 3, leak=0.6, batch=2, seed=4)
    kw = dict(rule=rule, eta=0.02, n_steps=300, leak=0.6, truncation=3, record_every=50)
    r1, r2 = train(net, teacher, seed=11, **kw), train(net, teacher, seed=11, **kw)
    r3 = train(net, teacher, seed=12, **kw)
    np.testing.assert_array_equal(r1.W, r2.W)
    np.testing.assert_array_equal(r1.loss, r2.loss)
    assert not np.array_equal(r1.W, r3.W)
    assert r1.steps.tolist() == list(range(50, 301, 50)) and r1.W.shape == (6, 2, 6, 6)


def _pooled_z(mc, key, expected):
    """z-score of the batch-pooled Monte Carlo mean against `expected` (per mode 0)."""
    mean = mc[key][:, 0].mean()
    sem = np.sqrt(np.sum(mc[key + "_sem"][:, 0] ** 2)) / mc[key].shape[0]
    return (mean - expected) / sem


def test_scalar_rflo_expected_update():
    a, b, c, a_s, b_s, c_s, beta = 0.3, 0.8, 0.5, 0.5, 1.0, 1.0, 0.7
    net, teacher, bases = aligned_network(1, 1, 1, **SCALAR, beta=beta, leak=1.0, batch=16)
    mc = expected_update_mc(net, teacher, rule="rflo", leak=1.0, n_steps=10000, burn_in=200,
                            bases=bases)
    # alpha = 1: s^b = x_t, s^a = h_{t-1}; white input gives closed forms.
    db = beta * (c_s * b_s - c * b)
    da = beta * (c_s * a_s * b_s * b / (1 - a * a_s) - c * a * b**2 / (1 - a**2))
    dc = c_s * b * b_s / (1 - a * a_s) - c * b**2 / (1 - a**2)
    for key, val in (("db", db), ("da", da), ("dc", dc)):
        assert abs(_pooled_z(mc, key, val)) < 4, (key, _pooled_z(mc, key, val))
    # the test can fail: feedback c instead of beta (a different rule) is rejected
    assert abs(_pooled_z(mc, "db", c * (c_s * b_s - c * b))) > 10
    assert mc["n_eff"].min() > 1000


def _mode_loss(a, b, c, alpha):
    """Closed-form stationary loss of one mode, teacher from SCALAR (docs/theory.md,
    'Averaging')."""
    lam, lam_s = 1 - alpha + alpha * a, 1 - alpha + alpha * SCALAR["a_star"]
    bs, cs = SCALAR["b_star"], SCALAR["c_star"]
    return 0.5 * alpha**2 * (cs**2 * bs**2 / (1 - lam_s**2)
                             - 2 * c * cs * b * bs / (1 - lam * lam_s) + c**2 * b**2 / (1 - lam**2))


def test_scalar_bptt_expected_update_is_minus_loss_gradient():
    alpha = 0.6
    net, teacher, bases = aligned_network(1, 1, 1, **SCALAR, beta=0.7, leak=alpha, batch=16)
    mc = expected_update_mc(net, teacher, rule="bptt", leak=alpha, n_steps=10000, burn_in=300,
                            bases=bases)
    th = np.array([SCALAR["a"], SCALAR["b"], SCALAR["c"]])
    for i, key in enumerate(("da", "db", "dc")):
        step = np.eye(3)[i] * 1e-6
        grad = (_mode_loss(*(th + step), alpha) - _mode_loss(*(th - step), alpha)) / 2e-6
        assert abs(grad) > 0.01
        assert abs(_pooled_z(mc, key, -grad)) < 4, (key, _pooled_z(mc, key, -grad))
        assert abs(_pooled_z(mc, key, -1.2 * grad)) > 4  # a 20% error would be caught


def test_loss_windows_and_progress():
    net, teacher = random_network(4, 2, 3, leak=0.9, batch=3, seed=8)
    calls = []
    res = train(net, teacher, rule="tbptt", truncation=2, eta=0.0, n_steps=35, leak=0.9,
                seed=3, record_every=10, record=("loss",), progress=lambda t, n: calls.append(t))
    runner, inputs = Runner(net.copy(), teacher, "tbptt", 0.9, 2), _Inputs(3, 2, 3)
    losses = np.array([runner.step(inputs.next())[3] for _ in range(35)])
    want = [losses[i:j].mean(0) for i, j in ((0, 10), (10, 20), (20, 30), (30, 35))]
    assert res.steps.tolist() == [10, 20, 30, 35] and res.W is None
    np.testing.assert_allclose(res.loss, np.array(want), rtol=1e-12)
    assert calls[-1] == 35 and len(calls) >= 10


def _mode_loss_general(th, star, alpha):
    """Closed-form stationary loss of one mode, th = (a, b, c), star = (a*, b*, c*)."""
    (a, b, c), (a_s, b_s, c_s) = th, star
    lam, lam_s = 1 - alpha + alpha * a, 1 - alpha + alpha * a_s
    return 0.5 * alpha**2 * (c_s**2 * b_s**2 / (1 - lam_s**2)
                             - 2 * c * c_s * b * b_s / (1 - lam * lam_s)
                             + c**2 * b**2 / (1 - lam**2))


def _gradient_flow(th, star, alpha, tau, n=1000):
    """Euler integration of d theta / d tau = -grad L (finite-difference gradient)."""
    th = np.array(th, dtype=float)
    for _ in range(n):
        g = [(_mode_loss_general(th + h, star, alpha) - _mode_loss_general(th - h, star, alpha))
             / 2e-6 for h in np.eye(3) * 1e-6]
        th -= tau / n * np.array(g)
    return th


def test_aligned_bptt_trajectory_follows_gradient_flow():
    alpha, eta, n_steps = 0.7, 0.002, 4000
    p = dict(a=[0.2, 0.0], b=[0.5, 0.3], c=[0.4, 0.6], a_star=[0.5, -0.3], b_star=[1.0, 0.8],
             c_star=[1.0, 0.7])
    net, teacher, bases = aligned_network(6, 3, 2, **p, beta=0.5, leak=alpha, batch=8, seed=1)
    res = train(net, teacher, rule="bptt", eta=eta, n_steps=n_steps, leak=alpha,
                record=("loss",))
    modes = project_modes(res.final, bases)
    wrong = []
    for i in range(2):
        th0 = [p[k][i] for k in "abc"]
        star = [p[k + "_star"][i] for k in "abc"]
        sim = np.array([modes[k][:, i].mean() for k in "abc"])
        ode = _gradient_flow(th0, star, alpha, eta * n_steps)
        assert np.abs(ode - th0).max() > 0.1  # the modes really moved
        assert np.abs(sim - ode).max() < 3e-3, (i, sim, ode)
        wrong.append(np.abs(sim - _gradient_flow(th0, star, 1.0, eta * n_steps)).max())
    assert max(wrong) > 3e-2  # an ODE that ignores the leak would be detected
    assert modes["residual"].max() < 0.05  # alignment is kept up to O(sqrt(eta)) noise


# --- the compiled path (symdyn.simulate.kernels) against the NumPy reference -------------

def _both_paths(monkeypatch, fn, **kw):
    """fn(**kw) on the NumPy reference and on the compiled path (numba required)."""
    pytest.importorskip("numba")
    out = []
    for mode in ("numpy", "numba"):
        monkeypatch.setenv(SIMULATOR_ENV, mode)
        out.append(fn(**kw))
    return out


def _close(a, b, what):
    np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12 * np.max(np.abs(a)), err_msg=what)


def test_chunked_label_noise_draws_equal_per_step_draws():
    """The compiled path draws label noise as (T, B, M) blocks: the numbers of T draws."""
    a, b = np.random.default_rng((3, 1)), np.random.default_rng((3, 1))
    steps = np.array([a.standard_normal((4, 2)) for _ in range(37)])
    np.testing.assert_array_equal(np.concatenate([b.standard_normal((30, 4, 2)),
                                                  b.standard_normal((7, 4, 2))]), steps)
    inputs, again = _Inputs(3, 2, 5), _Inputs(3, 2, 5)
    chunks = [inputs.take(700), inputs.take(700), inputs.take(700)]  # stops at 1024
    assert [len(c) for c in chunks] == [700, 324, 700]
    np.testing.assert_array_equal(np.concatenate(chunks), [again.next() for _ in range(1724)])
    cut, again = _Inputs(3, 2, 5, total=1100), _Inputs(3, 2, 5)  # a last chunk of 76
    chunks = [cut.take(700), cut.take(700), cut.take(700)]
    assert [len(c) for c in chunks] == [700, 324, 76]
    np.testing.assert_array_equal(np.concatenate(chunks), [again.next() for _ in range(1100)])


@pytest.mark.parametrize("rule,k", [("bptt", 1), ("tbptt", 1), ("tbptt", 2), ("rflo", 1)])
@pytest.mark.parametrize("leak", [1.0, 0.5])
@pytest.mark.parametrize("sigma", [0.0, 0.4])
def test_compiled_train_equals_reference(monkeypatch, rule, k, leak, sigma):
    net, teacher = random_network(3, 2, 2, leak=leak, batch=2, seed=6, radius=0.6,
                                  teacher_radius=0.7)
    calls = {"numpy": [], "numba": []}
    mode = iter(calls)

    def run(**kw):
        seen = calls[next(mode)]
        return train(net, teacher, progress=lambda t, n: seen.append(t), **kw)

    ref, fast = _both_paths(monkeypatch, run, rule=rule, truncation=k, eta=0.003,
                            n_steps=1100, leak=leak, seed=4, record_every=70,
                            label_noise=sigma)
    assert fast.steps.tolist() == ref.steps.tolist() and calls["numba"] == calls["numpy"]
    for name in ("W", "U", "V", "loss"):
        _close(getattr(ref, name), getattr(fast, name), name)
    assert np.abs(ref.W[-1] - net.W).max() > 1e-3  # the weights really moved


@pytest.mark.parametrize("rule,k", [("bptt", 1), ("tbptt", 1), ("tbptt", 2), ("rflo", 1)])
@pytest.mark.parametrize("leak,sigma", [(1.0, 0.0), (0.5, 0.4)])
def test_compiled_expected_update_equals_reference(monkeypatch, rule, k, leak, sigma):
    p = dict(a=[0.2, -0.1], b=[0.5, 0.3], c=[0.4, 0.6], a_star=[0.5, -0.3],
             b_star=[1.0, 0.8], c_star=[1.0, 0.7])
    net, teacher, bases = aligned_network(3, 2, 2, **p, beta=0.5, leak=leak, batch=3, seed=1)
    ref, fast = _both_paths(monkeypatch, expected_update_mc, net=net, teacher=teacher,
                            rule=rule, leak=leak, truncation=k, n_steps=1200, burn_in=300,
                            n_blocks=8, seed=2, bases=bases, label_noise=sigma)
    assert sorted(fast) == sorted(ref)
    for key, val in ref.items():
        _close(val, fast[key], key)


@pytest.mark.parametrize("leak,sigma", [(1.0, 0.0), (0.5, 0.4)])
def test_compiled_rtrl_with_blas_equals_reference(monkeypatch, leak, sigma):
    """From N = kernels.BLAS_MIN_N the compiled RTRL hands its products J S (here: those
    of the chunked fold) to BLAS, on S^W's padded rows (rules.ROW_PAD) taken whole:
    training and Monte Carlo as the reference."""
    kernels = pytest.importorskip("symdyn.simulate.kernels")
    n = kernels.BLAS_MIN_N
    net, teacher = random_network(n, 3, 2, leak=leak, batch=2, seed=6, radius=0.6,
                                  teacher_radius=0.7)
    ref, fast = _both_paths(monkeypatch, train, net=net, teacher=teacher, rule="bptt",
                            eta=0.01, n_steps=300, leak=leak, seed=4, record_every=70,
                            label_noise=sigma)
    for name in ("W", "U", "V", "loss"):
        _close(getattr(ref, name), getattr(fast, name), name)
    assert np.abs(ref.W[-1] - net.W).max() > 1e-3  # the weights really moved
    ref, fast = _both_paths(monkeypatch, expected_update_mc, net=net, teacher=teacher,
                            rule="bptt", leak=leak, n_steps=200, burn_in=50, n_blocks=4,
                            seed=2, label_noise=sigma)
    for key, val in ref.items():
        _close(val, fast[key], key)


@pytest.mark.parametrize("n,leak,stops", [(32, 1.0, False), (32, 0.3, False),
                                          (32, 1.0, True), (32, 0.3, True), (12, 0.3, True)])
def test_chunked_rtrl_directions_equal_reference(monkeypatch, n, leak, stops):
    """From N = kernels.CHUNK_MIN_N the compiled RTRL keeps S only at the chunks' starts
    (kernels.CHUNK_STEPS apart): every step's directions dW, dU, dV of a training run at
    N = 32 and 12 (W learning, so J changes every step) equal the reference's to 1e-10, read
    off the weights recorded at each step.  With ``stops`` the driver returns to Python
    every 20 steps (the progress calls), so the kernel also folds part-chunks at its
    returns, and the next call goes on from them.  N = 12: the fold's P S by loops, not
    BLAS (kernels.BLAS_MIN_N)."""
    kernels = pytest.importorskip("symdyn.simulate.kernels")
    assert kernels.CHUNK_MIN_N <= 12 < kernels.BLAS_MIN_N and 20 % kernels.CHUNK_STEPS != 0
    net, teacher = random_network(n, 4, 4, leak=leak, batch=2, seed=3, radius=0.6,
                                  teacher_radius=0.8)
    ref, fast = _both_paths(monkeypatch, train, net=net, teacher=teacher, rule="bptt",
                            eta=0.002 / leak, n_steps=400, leak=leak, seed=4,
                            record_every=1, label_noise=0.1,
                            progress=(lambda t, n: None) if stops else None)
    for name in "WUV":
        start = getattr(net, name)[None]
        steps = [np.diff(np.concatenate([start, getattr(run, name)]), axis=0)
                 for run in (ref, fast)]  # eta times each step's direction
        np.testing.assert_allclose(steps[1], steps[0], rtol=1e-10,
                                   atol=1e-10 * np.abs(steps[0]).max(), err_msg=name)
    assert np.abs(ref.W[-1] - net.W).max() > 0.05  # J really changed along the run
    ref, fast = _both_paths(monkeypatch, expected_update_mc, net=net, teacher=teacher,
                            rule="bptt", leak=leak, n_steps=200, burn_in=37, n_blocks=4,
                            seed=2, label_noise=0.1)
    for key, val in ref.items():
        _close(val, fast[key], key)


def test_chunked_rtrl_in_chain_blocks_and_summed_updates_equal_reference(monkeypatch):
    """The chunked RTRL (N = 13 >= kernels.CHUNK_MIN_N) where compiled._chunk runs the
    batch in blocks of chains (each block carrying its own chunk state, part-chunks
    folded at every return to Python), and in summed_updates: the reference's numbers to
    1e-10."""
    pytest.importorskip("symdyn.simulate.kernels")
    from symdyn.simulate import compiled

    monkeypatch.setattr(compiled, "CACHE_BYTES", 0)
    monkeypatch.setattr(compiled, "CHAIN_BLOCK", 2)  # blocks of 2 and 1 chains
    net, teacher = random_network(13, 3, 2, leak=0.3, batch=3, seed=5, radius=0.6,
                                  teacher_radius=0.8)
    ref, fast = _both_paths(monkeypatch, train, net=net, teacher=teacher, rule="bptt",
                            eta=0.005, n_steps=300, leak=0.3, seed=6, record_every=1,
                            label_noise=0.2, progress=lambda t, n: None)
    for name in "WUV":
        _close(getattr(ref, name), getattr(fast, name), name)
    assert np.abs(ref.W[-1] - net.W).max() > 0.02

    def sums():
        runner = Runner(net.copy(), teacher.copy(), "bptt", 0.3, 1, 0.3, 3)
        return summed_updates(runner, np.random.default_rng(7), 500, 41)

    ref, fast = _both_paths(monkeypatch, sums)
    for name, a, b in zip("WUV", ref, fast, strict=True):
        _close(a, b, name)


@pytest.mark.parametrize("rule,k", [("bptt", 1), ("tbptt", 2), ("rflo", 1)])
@pytest.mark.parametrize("leak,sigma", [(1.0, 0.0), (0.5, 0.4)])
def test_compiled_summed_updates_equal_reference(monkeypatch, rule, k, leak, sigma):
    """Sums over 1400 steps after a burn-in of 300 that ends inside an input chunk."""
    p = dict(a=[0.2, -0.1], b=[0.5, 0.3], c=[0.4, 0.6], a_star=[0.5, -0.3],
             b_star=[1.0, 0.8], c_star=[1.0, 0.7])
    net, teacher, _ = aligned_network(3, 2, 2, **p, beta=0.5, leak=leak, batch=3, seed=1)

    def run():
        runner = Runner(net.copy(), teacher.copy(), rule, leak, k, sigma, 3)
        return summed_updates(runner, np.random.default_rng(5), 1400, 300)

    ref, fast = _both_paths(monkeypatch, run)
    for name, a, b in zip("WUV", ref, fast, strict=True):
        _close(a, b, name)
    assert min(np.abs(a).max() for a in ref) > 1.0  # 1400 steps' worth, not zeros


@pytest.mark.parametrize("simulator", ["numpy", "numba"])
def test_summed_updates_keep_the_runners_truncation(monkeypatch, simulator):
    """summed_updates runs its chains on fresh runners built from the caller's: a tBPTT
    runner with a window of 3 sums the directions that stepping that runner itself gives
    (the same draws), which differ from a window of 1's."""
    if simulator == "numba":
        pytest.importorskip("numba")
    monkeypatch.setenv(SIMULATOR_ENV, simulator)
    p = dict(a=[0.6, -0.5], b=[0.5, 0.3], c=[0.4, 0.6], a_star=[0.5, -0.3],
             b_star=[1.0, 0.8], c_star=[1.0, 0.7])
    net, teacher, _ = aligned_network(3, 2, 2, **p, beta=0.5, leak=0.7, batch=2, seed=1)
    burn_in, n_steps = 20, 100
    xs = np.random.default_rng(5).standard_normal((burn_in + n_steps, 2, 2))

    def by_hand(k):
        runner, sums = Runner(net.copy(), teacher.copy(), "tbptt", 0.7, k), 0
        for t, x in enumerate(xs):
            step = runner.step(x)[:3]
            if t >= burn_in:
                sums = sums + np.concatenate([m.reshape(2, -1) for m in step], axis=1)
        return sums

    runner = Runner(net.copy(), teacher.copy(), "tbptt", 0.7, 3)
    got = summed_updates(runner, np.random.default_rng(5), n_steps, burn_in)
    got = np.concatenate([m.reshape(2, -1) for m in got], axis=1)
    want = by_hand(3)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * np.abs(want).max())
    assert np.abs(by_hand(1) - want).max() > 1e-3 * np.abs(want).max()


def test_summed_updates_run_in_groups_of_chains(monkeypatch):
    """In groups of SUM_GROUP chains, each drawing its inputs and label noise after the
    previous group's: rows 0-1 of a 3-chain run in groups of 2 are a 2-chain run."""
    from symdyn.simulate import engine

    p = dict(a=[0.2, -0.1], b=[0.5, 0.3], c=[0.4, 0.6], a_star=[0.5, -0.3],
             b_star=[1.0, 0.8], c_star=[1.0, 0.7])
    net, teacher, _ = aligned_network(3, 2, 2, **p, beta=0.5, leak=0.5, batch=3, seed=1)
    monkeypatch.setattr(engine, "SUM_GROUP", 2)

    def run(rows=slice(None)):
        runner = Runner(Network(*(m[rows] for m in (net.W, net.U, net.V, net.B_fb))),
                        Teacher(teacher.W[rows], teacher.U[rows], teacher.V[rows]),
                        "bptt", 0.5, 1, 0.4, 3)
        return summed_updates(runner, np.random.default_rng(5), 300, 40)

    ref, fast = _both_paths(monkeypatch, run)
    for name, a, b in zip("WUV", ref, fast, strict=True):
        _close(a, b, name)
    for whole, first in zip(fast, run(slice(0, 2)), strict=True):
        np.testing.assert_array_equal(whole[:2], first)
    runner = Runner(net.copy(), teacher.copy(), "rflo", 0.5)
    runner.step(np.ones((3, net.shape[2])))
    with pytest.raises(ValueError, match="at rest"):
        summed_updates(runner, np.random.default_rng(5), 10, 0)


def test_simulator_choice(monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setenv(SIMULATOR_ENV, "auto")
    assert _compiled_path("rflo", 32) is not None and _compiled_path("bptt", 4) is not None
    assert _compiled_path("bptt", 32) is not None  # J S by BLAS inside the compiled loops
    monkeypatch.setenv(SIMULATOR_ENV, "numpy")
    assert _compiled_path("rflo", 2) is None
    monkeypatch.setenv(SIMULATOR_ENV, "fortran")
    with pytest.raises(ValueError, match=SIMULATOR_ENV):
        _compiled_path("rflo", 2)
    monkeypatch.setitem(sys.modules, "numba", None)  # as if numba were not installed
    monkeypatch.setenv(SIMULATOR_ENV, "auto")
    assert _compiled_path("rflo", 2) is None  # the reference runs instead
    monkeypatch.setenv(SIMULATOR_ENV, "numba")
    with pytest.raises(ValueError, match="cannot be imported"):
        _compiled_path("rflo", 2)


def test_compiled_loops_are_cached_outside_the_package():
    """numba's cache of the loops lives in the user's symdyn cache, not beside the source
    (inside site-packages after ``pip install .``, where no uninstall removes it), and the
    module leaves numba's setting for other code as it found it."""
    numba = pytest.importorskip("numba")
    from pathlib import Path

    from symdyn.cache import user_directory
    from symdyn.simulate import kernels

    try:  # numba falls back to the source's directory where the user cache is read-only
        (user_directory() / "numba").mkdir(parents=True, exist_ok=True)
    except OSError:
        pytest.skip("the user's cache directory cannot be written here")
    where = Path(kernels.run_chunk._cache._cache_path)
    assert Path(kernels.__file__).parent not in (where, *where.parents)
    if numba.config.CACHE_DIR == "":  # no NUMBA_CACHE_DIR of the user's
        assert user_directory() / "numba" in where.parents


@pytest.mark.parametrize("mode", ["numpy", "numba"])
def test_errors_on_both_paths(monkeypatch, mode):
    if mode == "numba":
        pytest.importorskip("numba")
    monkeypatch.setenv(SIMULATOR_ENV, mode)
    net, teacher = random_network(4, 2, 2, leak=1.0, seed=0)
    with np.errstate(all="ignore"), pytest.raises(UnstableNetworkError,
                                                  match=rf"rule='bptt'.*step {CHECK_EVERY}"):
        train(net, teacher, rule="bptt", eta=20.0, n_steps=2000, leak=1.0)
    with pytest.raises(SimulationTimeout, match=f"stopped at {CHECK_EVERY}"):
        train(net, teacher, rule="rflo", eta=0.001, n_steps=2000, leak=1.0, max_seconds=0.0)


@pytest.mark.parametrize("rule,k", [("bptt", 1), ("tbptt", 1), ("tbptt", 2), ("rflo", 1)])
def test_compiled_wide_batch_equals_reference(monkeypatch, rule, k):
    """One mode and many replicas (the noise checks): the kernels loop over the batch
    innermost there, another loop order than at N = 3, batch 2, and at k = 1 the fused
    one-unit loop (kernels._run_scalar) runs instead."""
    net, teacher, bases = aligned_network(1, 1, 1, a=0.3, b=0.6, c=0.5, a_star=0.5,
                                          b_star=1.0, c_star=1.0, beta=0.7, leak=0.5,
                                          batch=24, seed=2)
    ref, fast = _both_paths(monkeypatch, train, net=net, teacher=teacher, rule=rule,
                            truncation=k, eta=0.01, n_steps=600, leak=0.5, seed=1,
                            record_every=50, label_noise=0.4)
    for name in ("W", "U", "V", "loss"):
        _close(getattr(ref, name), getattr(fast, name), name)
    ref, fast = _both_paths(monkeypatch, expected_update_mc, net=net, teacher=teacher,
                            rule=rule, leak=0.5, truncation=k, n_steps=600, burn_in=100,
                            n_blocks=6, seed=3, bases=bases)
    for key, val in ref.items():
        _close(val, fast[key], key)


@pytest.mark.parametrize("mode", ["numpy", "numba"])
def test_given_inputs_are_the_drawn_ones(monkeypatch, mode):
    """expected_update_mc with ``inputs=draw_inputs(...)`` (across two input chunks) gives
    the numbers it gets drawing them from the seed; ``keep_blocks`` adds the block means."""
    if mode == "numba":
        pytest.importorskip("numba")
    monkeypatch.setenv(SIMULATOR_ENV, mode)
    net, teacher, bases = aligned_network(2, 2, 2, a=[0.2, -0.1], b=0.5, c=0.4,
                                          a_star=[0.5, -0.3], b_star=1.0, c_star=0.8,
                                          beta=0.5, leak=0.5, batch=3, seed=1)
    kw = dict(rule="tbptt", leak=0.5, truncation=2, n_steps=1200, burn_in=300, n_blocks=6,
              seed=7, bases=bases)
    drawn = expected_update_mc(net, teacher, **kw)
    xs = draw_inputs(3, 2, 7, 1500)
    given = expected_update_mc(net, teacher, inputs=xs, keep_blocks=True, **kw)
    for key, value in drawn.items():
        np.testing.assert_array_equal(given[key], value, err_msg=key)
    assert given["blocks"]["dW"].shape == (6, 3, 2, 2)
    with pytest.raises(ValueError, match="inputs must have shape"):
        expected_update_mc(net, teacher, inputs=xs[:-1], **kw)


@pytest.mark.parametrize("rule,k", [("bptt", 1), ("tbptt", 2), ("rflo", 1)])
def test_chain_blocks_give_the_same_numbers(monkeypatch, rule, k):
    """A large batch of networks with several units runs in blocks of CHAIN_BLOCK chains
    (compiled._chunk): bitwise the numbers of one block, in training, Monte Carlo and
    summed updates (label noise drawn for the whole batch at once)."""
    pytest.importorskip("numba")
    from symdyn.simulate import compiled

    monkeypatch.setenv(SIMULATOR_ENV, "numba")
    net, teacher, bases = aligned_network(2, 2, 2, a=[0.3, -0.2], b=0.6, c=0.5,
                                          a_star=[0.5, 0.1], b_star=1.0, c_star=0.8,
                                          beta=0.7, leak=0.5, batch=45, seed=2)

    def runs():
        trained = train(net, teacher, rule=rule, truncation=k, eta=0.01, n_steps=300,
                        leak=0.5, seed=1, record_every=50, label_noise=0.4)
        mc = expected_update_mc(net, teacher, rule=rule, leak=0.5, truncation=k,
                                n_steps=300, burn_in=50, n_blocks=6, seed=3, bases=bases,
                                label_noise=0.3)
        runner = Runner(net.copy(), teacher.copy(), rule, 0.5, k, 0.4, 3)
        sums = summed_updates(runner, np.random.default_rng(5), 200, 40)
        return [trained.W, trained.U, trained.V, trained.loss, *sums,
                *(mc[key] for key in sorted(mc))]

    monkeypatch.setattr(compiled, "CACHE_BYTES", 0)  # this small batch in blocks too
    monkeypatch.setattr(compiled, "CHAIN_BLOCK", 32)
    blocked = runs()
    monkeypatch.setattr(compiled, "CHAIN_BLOCK", 1000)
    whole = runs()
    monkeypatch.setattr(compiled, "CHAIN_BLOCK", 7)
    for a, b, c in zip(whole, blocked, runs(), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
