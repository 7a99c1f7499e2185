"""Fast exact paths of the paper's symbolic steps against the SymPy routes they replace.

``reproduce.rates.positive_set`` against ``sp.solve_univariate_inequality`` (the same set,
also where it falls back to it); ``reproduce.conserved.conserves`` (decided in a field)
against the derivative of the quantity along the numeric right-hand side;
``reproduce.spectra.reduced_coefficients`` (the report's ``FixedPointSet.characteristic``,
factored in working variables and mapped factor by factor) against the same coefficients
mapped and factored in one pass in a field, and against the numeric Jacobian's spectrum.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import sympy as sp

import symdyn as sd
from symdyn import symbols as S
from symdyn.algebra import substitute_factor
from symdyn.model import ModeModel
from symdyn.reproduce.conserved import BALANCE, conserves
from symdyn.reproduce.rates import positive_set
from symdyn.reproduce.spectra import reduced_coefficients

P = sp.Symbol("p", positive=True)
B = sp.Symbol("b", positive=True)
X = S.beta


@pytest.mark.parametrize("expr", [
    -B**2 * X * P + B**2 * P**2, B**2 * X * P + B**2 * P**2, -X * P, X * P + P**2,
    2 * B * X - 6 * B * P, -(1 + B**2) * X, P, -P, sp.Integer(0), X**2 - P**2,
    -(X - 1) * (X - 2) * (X + 3),
])
def test_positive_set_is_solve_univariate_inequality(expr):
    expected = sp.solve_univariate_inequality(expr > 0, X, relational=False)
    assert positive_set(expr, X) == expected


def test_positive_set_of_an_unknown_sign_is_left_to_sympy():
    unknown = sp.Symbol("u", real=True)
    with pytest.raises(NotImplementedError):
        positive_set(unknown * X + 1, X)


def test_positive_set_where_sympy_cannot_order_the_points():
    """``(b^2 + 1) beta > p``: SymPy cannot decide the sign between its critical points;
    the half-line is checked at numbers on both sides of its end."""
    expr = (B**2 + 1) * X - P
    found = positive_set(expr, X)
    values = {B: 0.7, P: 1.3}
    end = 1.3 / (1 + 0.7**2)
    for beta in (end - 1e-6, end + 1e-6, -5.0, 5.0):
        assert (expr.subs({**values, X: beta}) > 0) == found.subs(values).contains(beta)


@pytest.mark.parametrize("rule, leak, expected", [("bptt", 1, True), ("bptt", "alpha", True),
                                                  ("tbptt", 1, False), ("rflo", 1, False)])
def test_conserves_the_balance_as_the_numeric_flow_says(rule, leak, expected):
    """d(b^2 - c^2)/dtau = 2 b rhs_b - 2 c rhs_c along the lambdified right-hand side, at
    seeded points of the stationary region: zero to rounding iff ``conserves`` says so."""
    ode = sd.derive(rule, leak)
    rng = np.random.default_rng(1)
    state = [rng.uniform(-0.8, 0.8, 50), rng.uniform(-1.5, 1.5, 50), rng.uniform(-1.5, 1.5, 50)]
    values = {"a_star": rng.uniform(-0.8, 0.8, 50), "b_star": rng.uniform(-1.5, 1.5, 50),
              "c_star": rng.uniform(-1.5, 1.5, 50), "alpha": rng.uniform(0.2, 1.0, 50),
              "beta": rng.uniform(-1.0, 2.0, 50)}
    rhs = sd.rhs_function(ode)(state, {p.name: values[p.name] for p in ode.parameters})
    flow = 2 * state[1] * rhs[1] - 2 * state[2] * rhs[2]
    assert conserves(ode, BALANCE) is expected
    assert bool(np.max(np.abs(flow)) < 1e-12) is expected


def test_conserves_outside_a_rational_field_takes_the_expression_route():
    b, c = S.b, S.c
    ode = SimpleNamespace(state=[S.a, b, c], rhs=[sp.Integer(0), c * sp.sqrt(1 + b**2),
                                                 b * sp.sqrt(1 + b**2)])
    assert conserves(ode, BALANCE)
    assert not conserves(ode, b**2 + c**2)


def test_conserves_when_a_state_variable_appears_nowhere():
    b, c = S.b, S.c
    ode = SimpleNamespace(state=[S.a, b, c], rhs=[sp.Integer(0), c, b])
    assert conserves(ode, BALANCE)
    assert not conserves(ode, b * c)


@pytest.mark.parametrize("rule, leak", [("rflo", 1), ("tbptt", 1), ("rflo", "alpha")])
def test_reduced_coefficients_are_the_characteristic_polynomial(rule, leak):
    """The same expressions as the reduced polynomial's coefficients mapped to public
    symbols and factored in one pass (``algebra.substitute_factor``), and
    ``x^2 + p_1 x + p_0`` has the two non-zero eigenvalues of the numeric Jacobian at a
    point of the optimal manifold."""
    ode = sd.derive(rule, leak)
    optimal = sd.fixed_points(ode)["optimal"]
    p1, p0 = reduced_coefficients(ode, optimal)
    poly, back = optimal.spectrum.reduced, ModeModel(optimal.leak).from_working()
    assert [p1, p0] == [substitute_factor(c / poly.LC(), back) for c in poly.all_coeffs()[1:]]
    values = {"a_star": 0.3, "b_star": 1.2, "c_star": 0.7, "alpha": 0.6, "beta": 0.8}
    params = {p.name: values[p.name] for p in ode.parameters}
    b = 0.9
    state = [0.3, b, 1.2 * 0.7 / b]
    numeric = np.linalg.eigvals(sd.jacobian_function(ode)(state, params))
    nonzero = sorted(numeric, key=abs)[1:]
    subs = {S.by_name(k): v for k, v in {**params, "a": state[0], "b": b, "c": state[2]}.items()}
    coefficients = [complex(sp.N(p.subs(subs))) for p in (p1, p0)]
    assert np.allclose(sorted(np.roots([1, *coefficients]), key=lambda z: (z.real, z.imag)),
                       sorted(nonzero, key=lambda z: (z.real, z.imag)), atol=1e-9)
