"""Forward-mode derivatives of lambdified code (symdyn.autodiff) and the numeric Jacobian
and loss Hessian of symdyn.codegen built on them, against hand derivatives and central
finite differences (independent of both SymPy's diff and the jets)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symdyn as sd
from symdyn import autodiff
from symdyn import symbols as S
from symdyn.codegen import (
    POINTWISE_MODES,
    jacobian_function,
    loss_function,
    loss_hessian_function,
    mode_field,
    rhs_function,
)


def test_jets_against_hand_derivatives():
    # f = x^3 / y + 2 x y - 1/(x + y)^2 at (x, y) = (0.7, -1.3), arrays of two points
    def f(x, y):
        return [x**3 / y + 2 * x * y - 1 / (x + y) ** 2, 3.0 - x]

    x, y = np.array([0.7, 0.2]), np.array([-1.3, 0.9])
    s = x + y
    grad = np.array([3 * x**2 / y + 2 * y + 2 / s**3, -x**3 / y**2 + 2 * x + 2 / s**3])
    hess = np.array([[6 * x / y - 6 / s**4, -3 * x**2 / y**2 + 2 - 6 / s**4],
                     [-3 * x**2 / y**2 + 2 - 6 / s**4, 2 * x**3 / y**3 - 6 / s**4]])
    jac = autodiff.jacobian(f, (x, y), ())
    assert np.allclose(jac[0], grad, rtol=1e-13)
    assert np.allclose(jac[1], [[-1, -1], [0, 0]])
    assert np.allclose(autodiff.hessian(lambda x, y: f(x, y)[0], (x, y), ()), hess, rtol=1e-13)


def _central(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of ``f`` (vector-valued) by each coordinate of ``x``."""
    cols = []
    for j in range(len(x)):
        step = np.zeros(len(x))
        step[j] = h
        cols.append((np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * h))
    return np.stack(cols, axis=-1)


POINT = {"a_star": 0.35, "b_star": 1.1, "c_star": -0.8, "beta": 1.4, "alpha": 0.6}


@pytest.mark.parametrize("rule", ["bptt", "tbptt", "rflo"])
def test_jacobian_and_loss_hessian_against_finite_differences(rule):
    ode = sd.derive(rule, leak=S.alpha)
    params = {p.name: POINT[p.name] for p in ode.parameters}
    x = np.array([0.25, -0.6, 0.9])
    rhs, loss = rhs_function(ode), sd.loss_function(ode)
    jac = jacobian_function(ode)(x, params)
    assert np.allclose(jac, _central(lambda y: rhs(y, params), x), rtol=1e-6, atol=1e-8)
    hess = loss_hessian_function(ode)(x, params)
    grad = lambda y: _central(lambda z: loss(z, params), y, 1e-4)  # noqa: E731
    assert np.allclose(hess, _central(grad, x, 1e-4), rtol=1e-5, atol=1e-7)
    assert np.allclose(hess, hess.T, rtol=1e-14)
    # vectorised over points, with per-point parameters
    xs = np.stack([x, x + 0.1, x - 0.2], axis=1)
    many = {**params, "a_star": np.array([0.35, 0.0, -0.5])}
    assert jacobian_function(ode)(xs, many).shape == (3, 3, 3)
    one = {k: (v[2] if isinstance(v, np.ndarray) else v) for k, v in many.items()}
    assert np.allclose(jacobian_function(ode)(xs, many)[..., 2], jacobian_function(ode)(
        xs[:, 2], one), rtol=1e-14)


def test_a_non_rational_rule_keeps_the_symbolic_derivative():
    ode = sd.derive(sd.Rule("sqrt", sp.sqrt(S.lam) / 2, S.beta, None, "test"), 1)
    assert not autodiff.rational_in(ode.rhs, ode.state)
    params = {p.name: POINT[p.name] for p in ode.parameters}
    x = np.array([0.3, 0.5, 0.7])
    jac = jacobian_function(ode)(x, params)
    assert np.allclose(jac, _central(lambda y: rhs_function(ode)(y, params), x), rtol=1e-6)
    loss = loss_function(ode)
    gradient = lambda y: _central(lambda z: np.atleast_1d(loss(z, params)), y)[0]  # noqa: E731
    hess = loss_hessian_function(ode)(x, params)
    assert np.allclose(hess, _central(gradient, x, 1e-4), rtol=1e-4, atol=1e-8)


def test_rhs_at_a_pole_is_not_an_exception():
    ode = sd.derive("bptt", leak=1)
    with np.errstate(all="ignore"):
        out = rhs_function(ode)(np.array([1.0, 0.5, 0.5]), {"a_star": 0.2, "b_star": 1.0,
                                                             "c_star": 1.0})
    assert out.shape == (3,) and not np.all(np.isfinite(out))


@pytest.mark.parametrize("n", [1, 3, POINTWISE_MODES + 1])
def test_mode_field_equals_the_field_on_arrays(n):
    """codegen.mode_field (each mode in Python floats up to POINTWISE_MODES, on arrays
    above) gives the field of every mode; at a pole, inf or nan as arrays do."""
    ode = sd.derive("bptt", leak=S.alpha)
    rng = np.random.default_rng(n)
    y = rng.uniform(-0.8, 0.8, (n, 3))
    values = {"a_star": rng.uniform(-0.5, 0.5, n), "b_star": 1.1, "c_star": -0.8,
              "alpha": 0.6}
    want = rhs_function(ode)(y.T, values).T.ravel()
    np.testing.assert_allclose(mode_field(ode, values, n)(y.ravel()), want, rtol=1e-14,
                               atol=1e-15)
    y[0, 0] = 1.0  # lam = 1: the stationary loss has a pole
    with np.errstate(all="ignore"):
        out = mode_field(ode, values, n)(y.ravel())
    assert out.shape == (3 * n,) and not np.all(np.isfinite(out[:3]))
    assert np.all(np.isfinite(out[3:]))
