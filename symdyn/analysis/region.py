"""The stationary region and random points in it.

The averaged dynamics exists only where the stationary process does: ``|lam| < 1``,
``|lam*| < 1`` and, for unbounded traces, ``|kappa| < 1`` (then ``lam lam* != 1``
follows). Sign facts that SymPy cannot prove are decided on seeded random points of
this region, and every such decision is labelled as sampled.
"""

from __future__ import annotations

import cmath
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import sympy as sp

from .. import symbols as S


def sample_parameters(rng: np.random.Generator, leak: sp.Expr,
                      fixed: dict[sp.Symbol, sp.Expr] | None = None) -> dict[sp.Symbol, float]:
    """A random teacher, feedback and leak inside the stationary region (|lam*| < 1).

    ``fixed`` pins working parameters to values (which may depend on ``alpha``).
    """
    values = {
        S.lam_star: rng.uniform(-0.9, 0.9),
        S.b_star: signed(rng, 0.3, 1.5),
        S.c_star: signed(rng, 0.3, 1.5),
        S.beta: signed(rng, 0.2, 2.0),
    }
    values[S.alpha] = rng.uniform(0.1, 1.0) if leak == S.alpha else float(leak)
    for symbol, value in (fixed or {}).items():
        value = sp.sympify(value)
        # A number needs no substitution (subs cost most of a draw at a* = 0)
        values[symbol] = float(value.subs(S.alpha, values[S.alpha]) if value.free_symbols
                               else value)
    return values


def signed(rng: np.random.Generator, low: float, high: float) -> float:
    """A random sign times a uniform magnitude in ``[low, high)``. The sign is drawn as
    ``rng.choice([-1.0, 1.0])`` draws it (the same stream), without its conversions,
    which took three quarters of the time of sampling a point."""
    return float((-1.0, 1.0)[rng.integers(0, 2)] * rng.uniform(low, high))


def in_region(values: dict[sp.Symbol, float], kappa: sp.Expr | None) -> bool:
    """Whether a numeric point lies inside the stationary region."""
    lam = complex(values[S.lam])
    lam_star = values[S.lam_star]
    if abs(lam.imag) > 1e-12 or abs(lam) >= 1 or abs(lam_star) >= 1:
        return False
    if kappa is not None:
        symbols, f = _numeric(kappa)
        try:
            k = complex(f(*[values[s] for s in symbols]))
        except (ZeroDivisionError, OverflowError):
            return False
        if abs(k.imag) > 1e-12 or abs(k) >= 1:
            return False
    return True


@lru_cache(maxsize=32)
def _numeric(expr: sp.Expr) -> tuple[tuple[sp.Symbol, ...], Callable]:
    """``expr`` as a plain Python function of its free symbols (sorted by name): the
    region test runs on every sampled point, where ``subs`` would dominate."""
    symbols = tuple(sorted(expr.free_symbols, key=lambda s: s.name))
    return symbols, sp.lambdify(symbols, expr, modules=[{"sqrt": cmath.sqrt}, "math"])
