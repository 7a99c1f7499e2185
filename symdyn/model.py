"""The mode model: one scalar mode of a data-aligned student-teacher pair.

A mode evolves as ``h_t = lam h_{t-1} + alpha b x_t`` with ``lam = 1 - alpha + alpha a``;
its teacher as ``h*_t = lam* h*_{t-1} + alpha b* x_t``. The stationary process exists
iff ``|lam| < 1`` and ``|lam*| < 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import sympy as sp

from . import symbols as S
from .errors import LeakError


def parse_leak(leak: object) -> sp.Expr:
    """Turn a user's leak into SymPy: ``"alpha"`` (or the symbol) or a number in (0, 1].

    Decimal text such as ``"0.3"`` becomes the exact rational 3/10, so the derivation
    stays exact.
    """
    if leak is None:
        return sp.Integer(1)
    if leak is S.alpha or (isinstance(leak, str) and leak.strip() == "alpha"):
        return S.alpha
    try:
        value = sp.Rational(Fraction(str(leak).strip()))
    except (ValueError, TypeError, ZeroDivisionError):
        raise LeakError(f"leak must be 'alpha' or a number in (0, 1], got {leak!r}") from None
    if not 0 < value <= 1:
        raise LeakError(f"leak must lie in (0, 1], got {leak}")
    return value


def leak_text(leak: sp.Expr) -> str:
    """The leak as the CLI and JSON print it: ``"alpha"`` or the number as text."""
    if leak == S.alpha:
        return "alpha"
    return str(float(leak)) if not leak.is_Integer else str(int(leak))


def recurrence(a, alpha):
    """The effective recurrence ``lam = 1 - alpha + alpha a`` of a recurrent weight ``a`` at
    leak ``alpha``: ``h_t = (1 - alpha) h_{t-1} + alpha (a h_{t-1} + b x_t) = lam h_{t-1} +
    alpha b x_t``.  The one owner of the leak map; works on SymPy and NumPy values alike."""
    return 1 - alpha + alpha * a


def weight_from_recurrence(lam, alpha):
    """The inverse of :func:`recurrence`: the weight ``a = (lam - 1 + alpha) / alpha`` whose
    effective recurrence is ``lam``."""
    return (lam - 1 + alpha) / alpha


@dataclass(frozen=True)
class ModeModel:
    """One mode: student (a, b, c), teacher (a*, b*, c*), feedback beta, leak alpha."""

    leak: sp.Expr = sp.Integer(1)

    @classmethod
    def with_leak(cls, leak: object) -> ModeModel:
        return cls(parse_leak(leak))

    @property
    def lam(self) -> sp.Expr:
        """Effective recurrence of the student, ``1 - alpha + alpha a``."""
        return recurrence(S.a, self.leak)

    @property
    def lam_star(self) -> sp.Expr:
        """Effective recurrence of the teacher, ``1 - alpha + alpha a*``."""
        return recurrence(S.a_star, self.leak)

    def to_working(self) -> dict[sp.Symbol, sp.Expr]:
        """Substitution from (a, a*) to the working variables (lam, lam*)."""
        return {S.a: weight_from_recurrence(S.lam, self.leak),
                S.a_star: weight_from_recurrence(S.lam_star, self.leak)}

    def from_working(self) -> dict[sp.Symbol, sp.Expr]:
        """Substitution from the working variables back to (a, a*)."""
        return {S.lam: self.lam, S.lam_star: self.lam_star}


@lru_cache(maxsize=1)
def _numeric_leak_map():
    import numpy as np

    # NumPy as a module: as signs.lambdified, without `from numpy import *`
    return sp.lambdify((S.a, S.alpha), ModeModel(S.alpha).lam, np)


def lam_numeric(a, alpha):
    """``lam = 1 - alpha + alpha a`` for numbers or arrays: :attr:`ModeModel.lam`,
    lambdified, so numeric code uses the same leak map as the derivation."""
    return _numeric_leak_map()(a, alpha)
