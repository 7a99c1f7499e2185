"""Numbers from closed forms at float inputs: fast, and exact where rounding would decide.

A closed form here is built from rational functions by radicals (a limit candidate, a
convergence rate). Its value at float inputs is computed by mpmath, walking the expression
tree, from the exact binary values of the inputs at two working precisions,
:data:`PRECISIONS`. Away from degenerate points the two agree to far better than double
precision, and the higher one is returned.

At a degenerate point an intermediate quantity is exactly zero: a zero discriminant, whose
square root is then the square root of a rounding error, or a denominator. The two
evaluations then differ by much more than their precision (``sqrt(2^-113)`` against
``sqrt(2^-226)``), or one divides by zero, and the value is computed again exactly: the
inputs as exact rationals substituted into the expression (``sqrt(0)`` is ``0``, ``0/0``
is ``nan``), then ``evalf``. So no rounding error ever decides whether a value is real,
finite or zero; the fast path only skips SymPy's tree rebuilding where nothing is at stake.
An expression with other functions than powers (``Max``, ``exp``) goes the exact way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
    exprs = [sp.sympify(e) for e in exprs]
    inputs = {s: float(v) for s, v in values.items()}
    # One memo per precision for all of ``exprs``: closed forms asked for together (the
    # coordinates of limit candidates, Cardano's roots) share their radicands.
    memos: dict[int, dict] = {bits: {} for bits in PRECISIONS}
    fast = [_fast(e, inputs, memos) for e in exprs]
    exact = {s: sp.Rational(v) for s, v in inputs.items()}
    return [complex(e.subs(exact).evalf()) if v is None else v
            for e, v in zip(exprs, fast, strict=True)]


def _fast(expr: sp.Expr, inputs: Mapping[sp.Symbol, float], memos: dict[int, dict],
          ) -> complex | None:
    """The value at the higher precision if both precisions agree and its real part is
    not within rounding of zero without being zero at both; else None. ``memos``: the
    values of subexpressions already walked, per precision."""
    results = []
    for bits in PRECISIONS:
        with mpmath.workprec(bits):
            try:
                results.append(mpmath.mpc(_walk(expr, inputs, memos[bits])))
            except (ZeroDivisionError, ValueError, TypeError, OverflowError, _Unsupported):
                return None
    x, y = results
    tolerance = AGREEMENT * max(1, abs(y))
    if not (mpmath.isfinite(y.real) and mpmath.isfinite(y.imag)):
        return None
    # A real part within rounding of zero may be an exact zero whose sign rounding would
    # pick: only the exact evaluation decides it.
    if abs(x - y) > tolerance or (abs(y.real) <= tolerance and (x.real or y.real)):
        return None
    return complex(y)


class _Unsupported(Exception):
    """A node :func:`_walk` does not evaluate (a function other than powers)."""


def _walk(expr: sp.Expr, inputs: Mapping, memo: dict):
    """``expr`` in mpmath at the working precision, straight from the tree (printing it
    for ``lambdify`` costs more than evaluating it here a few times); ``memo`` shares
    repeated subexpressions. Powers take the principal branch, as SymPy's do."""
    value = memo.get(expr)
    if value is not None:
        return value
    if expr.is_Symbol:
        if expr not in inputs:
            raise _Unsupported(expr)
        value = mpmath.mpf(inputs[expr])
    elif expr.is_Rational:
        value = mpmath.mpf(expr.p) / expr.q
    elif expr.is_Float:
        value = mpmath.mpf(expr._mpf_)
    elif expr is sp.I:
        value = mpmath.mpc(0, 1)
    elif expr.is_Add:
        value = _walk(expr.args[0], inputs, memo)
        for arg in expr.args[1:]:
            value = value + _walk(arg, inputs, memo)
    elif expr.is_Mul:
        value = _walk(expr.args[0], inputs, memo)
        for arg in expr.args[1:]:
            value = value * _walk(arg, inputs, memo)
    elif expr.is_Pow:
        base, exponent = expr.args
        power = int(exponent) if exponent.is_Integer else _walk(exponent, inputs, memo)
        value = _walk(base, inputs, memo) ** power
    else:
        raise _Unsupported(expr)
    memo[expr] = value
    return value
