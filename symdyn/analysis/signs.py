"""Signs of expressions inside the stationary region.

``simplify_positive`` writes a condition ``expr > 0`` with every factor of known sign
removed. A factor's sign is known when it is an even power, a positive number, or when
it keeps one sign on all of a few hundred seeded random points of the region (the
region's own factors such as ``1 - lam**2`` or ``1 - lam lam*`` are of that kind).
``implied`` decides exactly, with SymPy's assumptions, whether one condition follows
from another. ``undecided_facts`` proves, from exact values at integer points, which of
SymPy's assumptions about a polynomial that takes both signs are undecided, and ``sqrt``
uses that to build a discriminant's square root with fewer of SymPy's queries.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from functools import lru_cache, reduce

import numpy as np
import sympy as sp

from .. import algebra
from .. import symbols as S


def sample_values(expr: sp.Expr, points: Sequence[dict]) -> np.ndarray:
    """Values of ``expr`` at numeric points (NaN where it is not finite and real)."""
    if not points:
        return np.zeros(0)
    symbols, f = lambdified(expr)
    try:
        columns = [np.array([p[s] for p in points], dtype=float) for s in symbols]
    except KeyError:
        return np.full(len(points), np.nan)
    with np.errstate(all="ignore"):
        values = np.asarray(f(*columns), dtype=complex) * np.ones(len(points))
    real = np.isfinite(values) & (np.abs(values.imag) < 1e-9)
    return np.where(real, values.real, np.nan)


@lru_cache(maxsize=256)
def lambdified(expr: sp.Expr) -> tuple[tuple[sp.Symbol, ...], Callable]:
    """``expr`` lambdified over its free symbols sorted by name (a square root of a
    negative number gives NaN, NumPy's ``sqrt``, which :func:`sample_values` reports as NaN
    as it does a complex value), once per expression: the factors of the region, such as
    ``1 - lam**2``, are sampled for every set, and the rates section asks for the same
    rate's function once per panel."""
    # a tuple: the result is shared by every caller (lru_cache), so it must not change
    symbols = tuple(sorted(expr.free_symbols, key=lambda s: s.name))
    # NumPy given as the module rather than "numpy": lambdify picks the same printer and
    # the same functions, but skips `from numpy import *`, whose lazy submodules (f2py,
    # testing) cost a process 0.13-0.2 s on its first call (the early process of the paper)
    return symbols, sp.lambdify(list(symbols), expr, modules=[np])


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


def sqrt(expr: sp.Expr) -> sp.Expr:
    """``sp.sqrt(expr)``, the same expression, with fewer of SymPy's assumption queries
    when ``expr`` is a product of integer powers of polynomials in real symbols.

    SymPy's square root of a product asks whether the product is imaginary and which of
    its factors are nonnegative (to take them out of the root), and so whether each long
    polynomial factor is zero, positive, an integer...: for a polynomial that takes both
    signs these questions are undecided, the answer that costs SymPy most to reach (it
    tries every related fact on every term). :func:`undecided_facts` proves those answers
    from exact values at integer points, as a sound assumption system must give them;
    they are recorded on the factor as SymPy records its own undecided answers, and SymPy
    then builds the root as always, asking and deciding every other fact itself.
    """
    expr = sp.sympify(expr)
    if expr.is_Mul and algebra.factor_parts(expr) is not None and _real_symbols(expr):
        for arg in expr.args:
            base, k = arg.as_base_exp()
            facts = undecided_facts(base) if base.is_Add else ()
            if facts:
                _undecided(base, facts)
                if arg is not base and k % 2:  # an odd power has the base's signs
                    _undecided(arg, _SIGN_FACTS + (_ZERO_FACTS if k > 0 and "zero" in facts
                                                   else ()))
    return sp.sqrt(expr)


#: Facts undecided for a polynomial taking both signs...
_SIGN_FACTS = ("positive", "negative", "nonnegative", "nonpositive", "extended_positive",
               "extended_negative", "extended_nonnegative", "extended_nonpositive")
#: ... and for one that also has a zero and a nonzero value...
_ZERO_FACTS = ("zero", "nonzero", "extended_nonzero")
#: ... and for one whose values fill an interval around zero (0 and non-integers, rationals
#: and irrationals, algebraic and transcendental numbers).
_NUMBER_FACTS = ("integer", "noninteger", "rational", "irrational", "algebraic",
                 "transcendental", "even")


def undecided_facts(poly: sp.Expr) -> tuple[str, ...]:
    """Facts of the polynomial ``poly`` that no sound assumption system can decide, shown
    by its exact values at a few seeded integer points inside the symbols' domains (empty
    when no two such points give both signs).

    Values ``low < 0 < high`` prove every sign fact undecided. When every symbol ranges
    over an interval (real; positive or not), the points are joined by a segment inside
    the domain, on which ``poly`` takes every value of ``[low, high]``: 0 and non-zero
    values, integers and non-integers, rationals and irrationals, so the zero and number
    facts are undecided too, and ``odd``, ``prime``, ``composite`` when ``[low, high]``
    also holds 1 or -1, 2, 4 (each against the value 0).
    """
    witness = _sign_witness(poly)
    if witness is None:
        return ()
    low, high, interval = witness
    if not interval:
        return _SIGN_FACTS
    facts = _SIGN_FACTS + _ZERO_FACTS + _NUMBER_FACTS
    facts += ("odd",) if high >= 1 or low <= -1 else ()
    facts += ("prime",) if high >= 2 else ()
    return facts + (("composite",) if high >= 4 else ())


def _real_symbols(expr: sp.Expr) -> bool:
    """Whether every atom of ``expr`` is a rational number or a real symbol."""
    return all(a.is_Rational or (a.is_Symbol and a.is_real) for a in expr.atoms())


def _undecided(expr: sp.Expr, facts: tuple[str, ...]) -> None:
    """Record ``facts`` of ``expr`` as undecided, as ``_ask`` records an undecided answer;
    a value SymPy already holds is left as it is. The fact base is SymPy's private
    ``StdFactKB`` (the same since SymPy 1.7): on a SymPy without it nothing is recorded,
    and SymPy reaches the same undecided answers itself, only more slowly."""
    if not hasattr(getattr(expr, "_assumptions", None), "_tell"):
        return
    if expr._assumptions is expr.default_assumptions:
        expr._assumptions = expr.default_assumptions.copy()
    for fact in facts:
        if expr._assumptions.get(fact) is None:
            expr._assumptions._tell(fact, None)


#: Values tried for each symbol by :func:`_sign_witness` (zero left out: a symbol may be
#: declared nonzero).
_TRIAL_VALUES = (-3, -2, -1, 1, 2, 3)


def _sign_witness(poly: sp.Expr, trials: int = 24, enough: int = 4,
                  ) -> tuple[sp.Rational, sp.Rational, bool] | None:
    """``(low, high, interval)``: a negative and a positive exact value of ``poly`` at
    seeded integer points of the symbols' domains (``high >= enough`` if one is met), and
    whether every symbol ranges over an interval; ``None`` without both signs."""
    terms = _integer_terms(poly)
    if terms is None:
        return None
    symbols, scale, terms = terms
    allowed = [_allowed_values(s) for s in symbols]
    if not all(allowed):
        return None
    low = high = 0
    rng = random.Random(0)
    for _ in range(trials):
        point = [rng.choice(values) for values in allowed]
        total = sum(c * _monomial_at(m, point) for m, c in terms)
        low, high = min(low, total), max(high, total)
        if low < 0 and high >= enough * scale:
            break
    if not low < 0 < high:
        return None
    return (sp.Rational(low, scale), sp.Rational(high, scale),
            all(_interval(s) for s in symbols))


def _integer_terms(poly: sp.Expr) -> tuple[list, int, list] | None:
    """The symbols of ``poly``, the common denominator ``q`` of its coefficients and the
    terms of ``q poly`` as ``(exponents, integer coefficient)``; ``None`` if ``poly`` is
    not a polynomial with rational coefficients."""
    symbols = sorted(poly.free_symbols, key=lambda s: s.name)
    terms = algebra.monomial_terms(poly, {s: i for i, s in enumerate(symbols)})
    if terms is None:
        return None
    scale = reduce(lambda x, y: x * y // sp.igcd(x, y), [c.q for _, c in terms], 1)
    return symbols, scale, [(m, int(c * scale)) for m, c in terms]


def _monomial_at(exponents: list[int], point: list[int]) -> int:
    out = 1
    for x, e in zip(point, exponents, strict=True):
        if e:
            out *= x**e
    return out


@lru_cache(maxsize=256)
def _allowed_values(symbol: sp.Symbol) -> tuple[int, ...]:
    """The values of :data:`_TRIAL_VALUES` that satisfy every assumption of ``symbol``."""
    facts = symbol.assumptions0
    return tuple(v for v in _TRIAL_VALUES
                 if all(getattr(sp.Integer(v), f"is_{k}") == value for k, value in facts.items()))


#: Assumptions a symbol may hold and still range over an interval of the real line.
_INTERVAL_FACTS = {"commutative", "complex", "hermitian", "finite", "real", "extended_real",
                   "positive", "negative", "nonnegative", "nonpositive", "extended_positive",
                   "extended_negative", "extended_nonnegative", "extended_nonpositive"}


@lru_cache(maxsize=256)
def _interval(symbol: sp.Symbol) -> bool:
    """Whether ``symbol``'s assumptions make its domain an interval (a real symbol, maybe
    signed: not an integer, not ``nonzero`` without a sign)."""
    facts = symbol.assumptions0
    held = {k for k, v in facts.items() if v}
    signed = bool(facts.get("positive") or facts.get("negative"))
    return bool(facts.get("real")) and (held <= _INTERVAL_FACTS or (
        signed and held <= _INTERVAL_FACTS | {"nonzero", "extended_nonzero"}))
