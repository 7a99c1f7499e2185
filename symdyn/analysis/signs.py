"""Signs of expressions inside the stationary region.

``simplify_positive`` writes a condition ``expr > 0`` with every factor of known sign
removed. A factor's sign is known when it is an even power, a positive number, or when
it keeps one sign on all of a few hundred seeded random points of the region (the
region's own factors such as ``1 - lam**2`` or ``1 - lam lam*`` are of that kind).
``implied`` decides exactly, with SymPy's assumptions, whether one condition follows
from another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
import sympy as sp

from .. import algebra
from .. import symbols as S


def sample_values(expr: sp.Expr, points: Sequence[dict]) -> np.ndarray:
    """Values of ``expr`` at numeric points (NaN where it is not finite and real)."""
    if not points:
        return np.zeros(0)
    symbols, f = _compiled(expr)
    try:
        columns = [np.array([p[s] for p in points], dtype=float) for s in symbols]
    except KeyError:
        return np.full(len(points), np.nan)
    with np.errstate(all="ignore"):
        values = np.asarray(f(*columns), dtype=complex) * np.ones(len(points))
    real = np.isfinite(values) & (np.abs(values.imag) < 1e-9)
    return np.where(real, values.real, np.nan)


@lru_cache(maxsize=256)
def _compiled(expr: sp.Expr) -> tuple[list[sp.Symbol], Callable]:
    """``expr`` lambdified over its free symbols sorted by name, once per expression (the
    factors of the region, such as ``1 - lam**2``, are sampled for every set)."""
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    return symbols, sp.lambdify(symbols, expr, modules=["numpy", {"sqrt": np.emath.sqrt}])


def sampled_sign(expr: sp.Expr, points: Sequence[dict]) -> int:
    """+1 or -1 if ``expr`` keeps that sign on every point, else 0."""
    if expr.is_number:
        return int(sp.sign(expr))
    values = sample_values(expr, points)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0
    if np.all(values > 0):
        return 1
    if np.all(values < 0):
        return -1
    return 0


def simplify_positive(expr: sp.Expr, points: Sequence[dict]) -> sp.Expr | bool:
    """An expression ``g`` with ``expr > 0  <=>  g > 0`` on the region, or True/False.

    Factors of constant sign are dropped (flipping the overall sign for negative ones).
    Returns ``True`` when every factor has constant sign and the product is positive,
    ``False`` when it is negative.
    """
    expr = algebra.factor(expr)
    num, den = sp.fraction(expr)
    sign, kept = 1, []
    for part in (num, den):
        coefficient, factors = algebra.factor_list(part)
        sign *= int(sp.sign(coefficient)) or 1
        for factor, multiplicity in factors:
            if multiplicity % 2 == 0:
                continue
            s = sampled_sign(factor, points)
            if s == 0:
                kept.append(factor)
            else:
                sign *= s
    if not kept:
        return sign > 0
    product = sp.Mul(*kept)
    return product if sign > 0 else -product


def implied(condition: sp.Expr, given: sp.Expr, max_ops: int = 40) -> bool:
    """Exactly whether ``given > 0`` implies ``condition > 0`` (False when undecided).

    ``given`` is solved (linearly) for one of its symbols in terms of a new positive
    symbol ``p``; SymPy's assumption system then decides whether ``condition`` is
    positive. Expressions longer than ``max_ops`` are not tried: the assumption system
    rarely decides those and would spend long on them.
    """
    if sp.count_ops(given) > max_ops or sp.count_ops(condition) > max_ops:
        return False
    p = sp.Dummy("p", positive=True)
    given = sp.expand(given)
    for symbol in sorted(given.free_symbols, key=lambda s: s.name):
        if sp.degree(given, symbol) != 1:
            continue
        slope = given.coeff(symbol, 1)
        solution = (p - (given - slope * symbol)) / slope
        # sp.factor(sp.cancel(condition.subs(symbol, solution))), computed in a field
        rewritten = algebra.substitute_factor(condition, {symbol: solution})
        if rewritten.is_positive:
            return True
    return False


def strip_positive_factors(expr: sp.Expr) -> sp.Expr:
    """Drop the numeric content and every factor that is provably positive (``alpha``,
    even powers), exactly; keeps the sign, so ``expr > 0`` is unchanged."""
    coefficient, factors = algebra.factor_list(algebra.factor(expr))
    sign = 1 if coefficient > 0 else -1
    kept = [f**m for f, m in factors if not (m % 2 == 0 or f.is_positive)]
    return sign * sp.Mul(*kept)


def collect_in_state(expr: sp.Expr, state: tuple = (S.b, S.c)) -> sp.Expr:
    """Group a polynomial by powers of the state variables, factoring each coefficient
    (``b**2 (1 - a*^2) + beta c (a*^2 - 1)^2 + ...``); products are grouped per factor.

    The grouping is ``sp.collect(sp.expand(expr), state, func=sp.factor)``'s: a term goes
    to the power of the first state variable it contains (``b**2 c`` to ``b**2``), a term
    free of them to ``1``. It is read off the terms of the numerator in a field of
    rational functions here and each group factored there, which is exact, gives the same
    expression and spares ``collect`` its pattern matching and a ``factor`` per monomial.
    """
    if expr.is_Mul:
        return sp.Mul(*[collect_in_state(f, state) for f in expr.args])
    if expr.is_Pow:
        return collect_in_state(expr.base, state) ** expr.exp
    if not expr.is_Add:
        return expr
    f = algebra.field_element(expr)
    if f is None or not expr.is_polynomial(*state):
        return sp.collect(sp.expand(expr), list(state), func=sp.factor)
    symbols = f.field.symbols
    positions = [symbols.index(s) for s in state if s in symbols]
    groups: dict[tuple[int, int], dict] = {}
    for monom, coefficient in f.numer.terms():
        first = next((i for i in positions if monom[i]), None)
        key = (first, monom[first]) if first is not None else (None, 0)
        rest = monom if first is None else monom[:first] + (0,) + monom[first + 1:]
        groups.setdefault(key, {})[rest] = coefficient
    ring, denominator = f.numer.ring, f.field(f.denom)
    return sp.Add(*[(symbols[i] ** k if i is not None else 1)
                    * algebra.factored(f.field(ring.from_dict(terms)) / denominator)
                    for (i, k), terms in groups.items()])
