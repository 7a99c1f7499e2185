"""Numbers from closed forms at float inputs: fast, and exact where rounding would decide.

A closed form here is built from rational functions by radicals (a limit candidate, a
convergence rate). Its value at float inputs is computed by mpmath from the exact binary
values of the inputs at two working precisions, :data:`PRECISIONS`. Away from degenerate
points the two agree to far better than double precision, and the higher one is returned.

At a degenerate point an intermediate quantity is exactly zero: a zero discriminant, whose
square root is then the square root of a rounding error, or a denominator. The two
evaluations then differ by much more than their precision (``sqrt(2^-113)`` against
``sqrt(2^-226)``), or one divides by zero, and the value is computed again exactly: the
inputs as exact rationals substituted into the expression (``sqrt(0)`` is ``0``, ``0/0``
is ``nan``), then ``evalf``. So no rounding error ever decides whether a value is real,
finite or zero; the fast path only skips SymPy's tree rebuilding where nothing is at stake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import mpmath
import sympy as sp

#: Working precisions in bits (quadruple, and twice that).
PRECISIONS = (113, 226)
#: Largest relative disagreement of the two precisions still taken as agreement.
AGREEMENT = 2.0 ** -90


def evaluate(exprs: Sequence[sp.Expr], values: Mapping[sp.Symbol, float]) -> list[complex]:
    """The complex values of ``exprs`` at ``values`` (symbol -> float), rounded to double.

    Each value is the exact value at the binary inputs, correct to about double precision;
    where the fast evaluation cannot vouch for that, it is SymPy's evaluation of the exact
    expression (see the module's docstring). Symbols not in ``values`` stay free, and
    ``complex`` of the result raises, as before.
    """
    exprs = tuple(sp.sympify(e) for e in exprs)
    symbols = tuple(sorted(set().union(*(e.free_symbols for e in exprs)),
                           key=sp.default_sort_key))
    if all(s in values for s in symbols):
        inputs = tuple(float(values[s]) for s in symbols)
        fast = _fast(exprs, symbols, inputs)
        if fast is not None:
            return fast
    exact = {s: sp.Rational(float(v)) for s, v in values.items()}
    return [complex(e.subs(exact).evalf()) for e in exprs]


def _fast(exprs: tuple, symbols: tuple, inputs: tuple[float, ...]) -> list[complex] | None:
    """The values at the higher precision if both precisions agree and no real part is
    within rounding of zero without being zero at both, else None."""
    function = _compiled(exprs, symbols)
    results = []
    for bits in PRECISIONS:
        with mpmath.workprec(bits):
            try:
                results.append([mpmath.mpc(v) for v in function(*map(mpmath.mpf, inputs))])
            except (ZeroDivisionError, ValueError, TypeError, OverflowError):
                return None
    for x, y in zip(*results, strict=True):
        tolerance = AGREEMENT * max(1, abs(y))
        if not (mpmath.isfinite(y.real) and mpmath.isfinite(y.imag)):
            return None
        # A real part within rounding of zero may be an exact zero whose sign rounding
        # would pick: only the exact evaluation decides it.
        if abs(x - y) > tolerance or (abs(y.real) <= tolerance and (x.real or y.real)):
            return None
    return [complex(y) for y in results[1]]


@lru_cache(maxsize=256)
def _compiled(exprs: tuple, symbols: tuple):
    """mpmath callable of ``exprs``; its rational constants are evaluated at the working
    precision of each call."""
    return sp.lambdify(symbols, list(exprs), modules="mpmath")
