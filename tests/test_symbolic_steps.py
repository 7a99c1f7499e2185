"""Fast exact paths of the paper's symbolic steps against the SymPy routes they replace.

``reproduce.rates.positive_set`` against ``sp.solve_univariate_inequality`` (the same set,
also where it falls back to it).
"""

from __future__ import annotations

import pytest
import sympy as sp

from symdyn import symbols as S
from symdyn.reproduce.rates import positive_set

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
