"""A trace-feedback rule (symdyn.rules) read for whole matrices.

The per-mode rule is the pair (trace decay kappa, feedback f) and a window k.  For
matrices the scalar symbols become matrices:

* trace decay: a polynomial in ``lam`` becomes the same polynomial in the one-step
  Jacobian ``J = (1 - alpha) I + alpha W`` -- ``lam`` is exact RTRL (= BPTT in
  expectation), ``1 - alpha`` the leak-only trace of RFLO;
* feedback: ``c`` becomes ``V^T`` (the transported error of the gradient), ``beta``
  the fixed feedback matrix ``B`` (N x M); any linear combination of the two is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from .. import symbols as S
from ..errors import SymdynError
from ..model import ModeModel
from ..rules import Rule, get_rule


@dataclass(frozen=True)
class MatrixRule:
    """``kappa(J) = sum_i decay[i] J^i`` (ascending powers), feedback
    ``F = fb_c V^T + fb_beta B`` and window ``truncation`` (None: unbounded)."""

    name: str
    decay: tuple[float, ...]
    fb_c: float
    fb_beta: float
    truncation: int | None

    @property
    def uses_feedback_matrix(self) -> bool:
        return self.fb_beta != 0.0

    def trace_matrix(self, J: np.ndarray) -> np.ndarray:
        """``kappa(J)`` by Horner's scheme (works for triangular ``J`` too)."""
        K = np.zeros_like(J)
        eye = np.eye(J.shape[0])
        for coeff in reversed(self.decay):
            K = K @ J + coeff * eye
        return K


def matrix_rule(rule: str | Rule, leak: float, truncation: int | None = None) -> MatrixRule:
    """Translate a named rule or a :class:`~symdyn.rules.Rule` for matrices at ``leak``.

    Cached: the SymPy translation (~3 ms) would otherwise be a visible share of a short
    integration (the whole budget of a 100x speed-up over SGD at N = 32 is ~30 ms)."""
    try:
        return _matrix_rule(rule, float(leak), truncation)
    except TypeError:  # unhashable arguments: translate uncached (and fail clearly there)
        return _matrix_rule.__wrapped__(rule, leak, truncation)


@lru_cache(maxsize=256)
def _matrix_rule(rule: str | Rule, leak: float, truncation: int | None) -> MatrixRule:
    r = get_rule(rule, truncation)
    alpha = sp.nsimplify(leak, rational=True)
    model = ModeModel(alpha)
    kappa = sp.expand(r.trace_decay.subs(model.to_working()).subs(S.alpha, alpha))
    extra = kappa.free_symbols - {S.lam}
    if extra:
        raise SymdynError(f"rule {r.name!r}: a trace decay in {sorted(map(str, extra))} has "
                          "no matrix form; use a polynomial in lam and alpha")
    try:
        decay = tuple(float(c) for c in reversed(sp.Poly(kappa, S.lam).all_coeffs()))
    except sp.PolynomialError:
        raise SymdynError(f"rule {r.name!r}: trace decay {r.trace_decay} is not a polynomial "
                          "in lam, so it has no matrix form here") from None
    return MatrixRule(r.name, decay, *_feedback(r, alpha), r.truncation)


def _feedback(r: Rule, alpha: sp.Expr) -> tuple[float, float]:
    f = sp.expand(r.feedback.subs(S.alpha, alpha))
    bad = f.free_symbols - {S.c, S.beta}
    poly = sp.Poly(f, S.c, S.beta) if not bad else None
    if poly is None or poly.total_degree() > 1 or poly.coeff_monomial(1) != 0:
        raise SymdynError(f"rule {r.name!r}: feedback {r.feedback} has no matrix form; use a "
                          "linear combination of c (-> V^T) and beta (-> B)")
    return float(poly.coeff_monomial(S.c)), float(poly.coeff_monomial(S.beta))
