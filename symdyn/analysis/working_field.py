"""The working right-hand side and its Jacobian in a field of rational functions, per ODE.

Every fixed-point set of one ODE needs the same Jacobian ``d(working_rhs)/d(lam, b, c)``:
exactly (restricted to the set, for its characteristic polynomial) and numerically at
sampled points (for the cross-check of the verdict). Differentiating cancelled fractions
of a :func:`~symdyn.algebra.rational_field` is exact and far cheaper than ``sp.diff`` on
expression trees, so it is done once per ODE and kept while the ODE lives. The numeric
Jacobian differentiates the factored right-hand side by the product rule and evaluates
every factor as an exact polynomial at all points at once, without building or
compiling an expression.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp
from sympy.polys.polyutils import _sort_gens
from sympy.polys.rings import PolyRing

from ..algebra import factor_parts, rational_field, to_field
from ..factoring import derivative
from ..ode import LearningODE


@dataclass(frozen=True)
class WorkingField:
    """``rows``: the working right-hand side as field elements; ``jacobian[i][j]`` its
    derivative by the ``j``-th working state variable (``gens``: those variables)."""

    field: sp.polys.fields.FracField
    gens: list
    rows: list
    jacobian: list[list]


_FIELDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def working_field(ode: LearningODE) -> WorkingField | None:
    """The ODE's :class:`WorkingField` (computed once), or ``None`` when its right-hand
    side is not a rational function (a square root in a user's rule)."""
    if ode not in _FIELDS:
        _FIELDS[ode] = _build(ode)
    return _FIELDS[ode]


def _build(ode: LearningODE) -> WorkingField | None:
    field = rational_field(list(ode.working_rhs)).field
    try:
        rows = [to_field(field, e) for e in ode.working_rhs]
    except ValueError:
        return None
    gens = [to_field(field, v) for v in ode.working_state]
    return WorkingField(field, gens, rows, [[derivative(f, x) for x in gens] for f in rows])


_NUMERIC: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def numeric_jacobian(ode: LearningODE) -> Callable[[Sequence[dict]], np.ndarray] | None:
    """:func:`_numeric_jacobian` of ``ode``, built once per ODE (every fixed-point set of
    the ODE evaluates the same Jacobian)."""
    if ode not in _NUMERIC:
        _NUMERIC[ode] = _numeric_jacobian(ode)
    return _NUMERIC[ode]


def _numeric_jacobian(ode: LearningODE) -> Callable[[Sequence[dict]], np.ndarray] | None:
    """A function of a list of points (``symbol -> float``; a missing symbol counts as 0)
    returning the working Jacobians there, shape ``(n_points, 3, 3)``; ``None`` unless
    every working right-hand side is a number times integer powers of polynomials.

    Each row ``g prod_k f_k^{e_k}`` is differentiated by the product rule,
    ``d/dx = g sum_k e_k f_k^{e_k - 1} (df_k/dx) prod_{m != k} f_m^{e_m}``, with every
    factor and its derivatives evaluated as exact polynomials: as accurate as evaluating
    the factored expression itself (expanding the fractions would cost digits), and
    without dividing by a factor that vanishes at a fixed point.
    """
    rows = [factor_parts(e) for e in ode.working_rhs]
    if any(parts is None for parts in rows):
        return None
    symbols = _sort_gens(list(set().union(*(e.free_symbols for e in ode.working_rhs))))
    ring = PolyRing(symbols or [sp.Dummy()], sp.QQ)
    state = [ring(v) if v in symbols else None for v in ode.working_state]
    compiled = [(float(coeff), [(k, _monomials(ring(base)),
                                 [_monomials(ring(base).diff(x)) if x is not None else None
                                  for x in state]) for base, k in factors.items()])
                for coeff, factors in rows]

    def evaluate(points: Sequence[dict]) -> np.ndarray:
        x = np.array([[p.get(s, 0.0) for s in ring.symbols] for p in points], dtype=float)
        x = x.reshape(len(points), ring.ngens)
        with np.errstate(all="ignore"):
            return np.array([_row(coeff, factors, x) for coeff, factors in compiled]
                            ).transpose(2, 0, 1)

    return evaluate


def _row(coeff: float, factors: list, x: np.ndarray) -> list[np.ndarray]:
    """One Jacobian row at the points ``x`` by the product rule (see above)."""
    values = [_value(f, x) for _, f, _ in factors]
    powers = [v**k for v, (k, _, _) in zip(values, factors, strict=True)]
    out = []
    for j in range(3):
        total = np.zeros(len(x))
        for i, (k, _, derivatives) in enumerate(factors):
            if derivatives[j] is None:
                continue
            term = k * values[i] ** (k - 1) * _value(derivatives[j], x)
            for m, power in enumerate(powers):
                if m != i:
                    term = term * power
            total = total + term
        out.append(coeff * total)
    return out


def _monomials(p) -> tuple[np.ndarray, np.ndarray]:
    """Exponents (terms x generators) and float coefficients of a polynomial."""
    terms = p.terms()
    exponents = np.array([m for m, _ in terms], dtype=float).reshape(len(terms), p.ring.ngens)
    return exponents, np.array([float(c) for _, c in terms])


def _value(monomials: tuple[np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The polynomial at each row of ``x``: sum of coefficient times monomial."""
    exponents, coefficients = monomials
    return np.prod(x[:, None, :] ** exponents[None, :, :], axis=2) @ coefficients
