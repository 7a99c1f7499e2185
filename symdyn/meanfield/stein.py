"""Discrete Stein equations ``X = A + P X Q`` from reusable real Schur decompositions.

Every stationary covariance and every adjoint sum of the matrix mean field is a series
``X = sum_{m>=0} P^m A Q^m`` with ``P, Q`` among ``J, J^T, J*, J*^T`` (or a polynomial in
them), so it solves the Stein equation ``X - P X Q = A``.  Each distinct matrix is
Schur-decomposed once (:class:`Schur`, real: ``M = Z T Z^T`` with ``T`` quasi-upper-
triangular); transposes and matrix polynomials reuse the same ``Z``.

In the Schur bases the equation is (quasi-)triangular.  The Cayley transform
``c(T) = (T - I)(T + I)^{-1}`` (defined since ``|eig| < 1`` excludes -1) maps it to the
continuous Sylvester equation

    c(T_p) X + X c(T_q) = -1/2 (I - c(T_p)) A (I - c(T_q)),

solved by recursive splitting along Schur blocks (matrix products, level-3 BLAS) with
LAPACK ``dtrsyl`` on the small diagonal blocks.  The transform loses about
``1/min|1 + eig|`` digits; near eigenvalue -1 the Stein equation is instead solved
column by column in the complex Schur form.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from scipy.linalg import rsf2csf, schur, solve_triangular
from scipy.linalg.lapack import dtrsyl

from ..errors import SymdynError

#: Below this distance of an eigenvalue from -1 the Cayley route is avoided.
CAYLEY_MARGIN = 0.05
#: Blocks up to this size go to LAPACK's (unblocked) dtrsyl.
BASE = 48


class Schur:
    """``M = Z T Z^T``, ``T`` quasi-upper-triangular; ``transposed``: the factor of ``M^T``
    (``M^T = Z T^T Z^T``, the same ``Z``), so a transpose costs no new decomposition and
    shares the cached quantities (Cayley transform, eigenvalues) of ``M``'s factor."""

    def __init__(self, T: np.ndarray, Z: np.ndarray, _base: Schur | None = None,
                 transposed: bool = False) -> None:
        self.T, self.Z, self.transposed = T, Z, transposed
        self._base = self if _base is None else _base

    @classmethod
    def of(cls, M: np.ndarray) -> Schur:
        T, Z = schur(np.asarray(M, dtype=float), output="real", check_finite=False)
        return cls(T, Z)

    @cached_property
    def t(self) -> Schur:
        return Schur(self.T, self.Z, self._base, not self.transposed)

    def apply(self, fn) -> Schur:
        """The factor of the matrix function ``fn(M)``: ``fn`` maps ``T`` to ``fn(T)``,
        which keeps the block structure."""
        return Schur(fn(self.T) * self.mask, self.Z, None, self.transposed)

    @cached_property
    def blocks(self) -> np.ndarray:
        """Indices ``i`` where a 2x2 block occupies rows/columns ``i, i+1``."""
        b = self._base
        return b.blocks if b is not self else np.flatnonzero(np.diag(self.T, -1) != 0)

    @cached_property
    def mask(self) -> np.ndarray:
        n = self.T.shape[0]
        m = np.triu(np.ones((n, n)))
        m[self.blocks + 1, self.blocks] = 1.0
        return m

    @cached_property
    def cuts(self) -> np.ndarray:
        """``cuts[k]``: True if the index range may be split before ``k`` (no block cut)."""
        ok = np.ones(self.T.shape[0] + 1, dtype=bool)
        ok[self.blocks + 1] = False
        return ok

    @cached_property
    def eigenvalues(self) -> np.ndarray:
        if self._base is not self:
            return self._base.eigenvalues
        T, i = self.T, self.blocks
        ev = np.diag(T).astype(complex)
        mean = 0.5 * (T[i, i] + T[i + 1, i + 1])
        root = np.sqrt((0.5 * (T[i, i] - T[i + 1, i + 1])) ** 2 + T[i, i + 1] * T[i + 1, i]
                       + 0j)
        ev[i], ev[i + 1] = mean + root, mean - root
        return ev

    @cached_property
    def cayley(self) -> np.ndarray:
        """``c(T) = (T + I)^{-1} (T - I)``, same block structure as ``T`` (untransposed)."""
        if self._base is not self:
            return self._base.cayley
        eye = np.eye(self.T.shape[0])
        if not self.blocks.size:  # triangular: a triangular solve suffices
            return solve_triangular(self.T + eye, self.T - eye, check_finite=False)
        return np.linalg.solve(self.T + eye, self.T - eye) * self.mask


def stein(P: Schur, Q: Schur, L: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Solve ``X = L R^T + P X Q`` (``P`` acting on the left, ``Q`` on the right), real.

    The right-hand side comes as factors (``L`` N x r, ``R`` M x r): every one in the
    mean field has low rank (D or M), which makes the change to the Schur bases O(N^2 r).
    Unique when ``p q != 1`` for all eigenvalues ``p`` of ``P`` and ``q`` of ``Q``, which
    holds for spectral radii below one.
    """
    if not (np.all(np.isfinite(L)) and np.all(np.isfinite(R))):
        raise SymdynError("a Stein equation's right-hand side is not finite (NaN or inf)")
    near = min(np.min(np.abs(1 + P.eigenvalues)), np.min(np.abs(1 + Q.eigenvalues)))
    if near <= CAYLEY_MARGIN:
        return _stein_complex(P, Q, L @ R.T)
    Pc = P.cayley.T if P.transposed else P.cayley
    Qc = Q.cayley.T if Q.transposed else Q.cayley
    Lh, Rh = P.Z.T @ L, Q.Z.T @ R
    C = -0.5 * (Lh - Pc @ Lh) @ (Rh - Qc.T @ Rh).T
    X = _sylvester(Pc, Qc, C, P.transposed, Q.transposed, P.cuts, Q.cuts)
    return P.Z @ X @ Q.Z.T


def _split(cuts: np.ndarray) -> int:
    """An allowed split index nearest the middle of a range of length len(cuts) - 1."""
    n = len(cuts) - 1
    order = np.argsort(np.abs(np.arange(1, n) - n / 2))
    return int(1 + order[np.flatnonzero(cuts[1:n][order])[0]])


def _sylvester(A: np.ndarray, B: np.ndarray, C: np.ndarray, a_lower: bool, b_lower: bool,
               a_cuts: np.ndarray, b_cuts: np.ndarray) -> np.ndarray:
    """``A X + X B = C`` for quasi-triangular ``A``, ``B`` (lower: transposed Schur forms)
    by recursive halving: solve one half, move its contribution to the right-hand side."""
    n, m = C.shape
    if max(n, m) <= BASE:
        X, scale, info = dtrsyl(A.T if a_lower else A, B.T if b_lower else B, C,
                                trana="T" if a_lower else "N", tranb="T" if b_lower else "N")
        if info < 0:
            raise SymdynError(f"LAPACK dtrsyl rejected argument {-info} of a Stein solve")
        return X / scale
    X = np.empty_like(C)
    if n >= m:
        k = _split(a_cuts)
        lo, hi = slice(0, k), slice(k, n)
        first, second = (lo, hi) if a_lower else (hi, lo)
        X[first] = _sylvester(A[first, first], B, C[first], a_lower, b_lower,
                              _sub(a_cuts, first, n), b_cuts)
        rhs = C[second] - A[second, first] @ X[first]
        X[second] = _sylvester(A[second, second], B, rhs, a_lower, b_lower,
                               _sub(a_cuts, second, n), b_cuts)
    else:
        k = _split(b_cuts)
        lo, hi = slice(0, k), slice(k, m)
        first, second = (hi, lo) if b_lower else (lo, hi)
        X[:, first] = _sylvester(A, B[first, first], C[:, first], a_lower, b_lower,
                                 a_cuts, _sub(b_cuts, first, m))
        rhs = C[:, second] - X[:, first] @ B[first, second]
        X[:, second] = _sylvester(A, B[second, second], rhs, a_lower, b_lower,
                                  a_cuts, _sub(b_cuts, second, m))
    return X


def _sub(cuts: np.ndarray, s: slice, n: int) -> np.ndarray:
    start, stop, _ = s.indices(n)
    return cuts[start:stop + 1]


def _stein_complex(P: Schur, Q: Schur, A: np.ndarray) -> np.ndarray:
    """Column-by-column back-substitution in the complex Schur forms (no Cayley step)."""
    Tp, Zp = rsf2csf(P.T, P.Z, check_finite=False)
    Tq, Zq = rsf2csf(Q.T, Q.Z, check_finite=False)
    if P.transposed:
        Tp = Tp.conj().T
    Ah = Zp.conj().T @ A @ Zq
    if Q.transposed:  # X^H = A^H + Tq^H X^H Tp^H: back to an upper-triangular right factor
        X = _columns(Tq, Tp.conj().T, Ah.conj().T, lower_p=False,
                     upper_q=P.transposed).conj().T
    else:
        X = _columns(Tp, Tq, Ah, lower_p=P.transposed, upper_q=True)
    return (Zp @ X @ Zq.conj().T).real


def _columns(Tp: np.ndarray, Tq: np.ndarray, A: np.ndarray, lower_p: bool, upper_q: bool
             ) -> np.ndarray:
    """``X - Tp X Tq = A`` with triangular ``Tp`` and ``Tq``, one column at a time."""
    n, m = A.shape
    X = np.zeros((n, m), dtype=complex)
    eye = np.eye(n)
    for j in (range(m) if upper_q else range(m - 1, -1, -1)):
        rhs = A[:, j] + Tp @ (X @ np.where(np.arange(m) == j, 0, Tq[:, j]))
        X[:, j] = solve_triangular(eye - Tq[j, j] * Tp, rhs, lower=lower_p, check_finite=False)
    return X
