"""Discrete Stein equations ``X = A + P X Q`` from reusable Schur decompositions.

Every stationary covariance and every adjoint sum of the matrix mean field is a series
``X = sum_{m>=0} P^m A Q^m`` with ``P, Q`` among ``J, J^T, J*, J*^T`` (or a matrix
function of them), so it solves the Stein equation ``X - P X Q = A``.  Each distinct
matrix is Schur-decomposed once (:class:`Schur`, complex, ``P = Z T Z^H``); the equation
is then triangular in the Schur bases.

The triangular Stein equation is mapped to a continuous Sylvester equation by the Cayley
transform ``P_c = (T - I)(T + I)^{-1}`` (well defined since ``|eig| < 1`` excludes -1):

    (T_p - I)(T_p + I)^{-1} X + X (T_q + I)^{-1}(T_q - I) = -1/2 (I - P_c) A (I - Q_c)

and solved by LAPACK ``trsyl``.  The transform loses about ``1/min|1 + eig|`` digits, so
near eigenvalue -1 a column-by-column back-substitution of the Stein equation itself is
used instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.linalg import schur, solve_triangular
from scipy.linalg.lapack import get_lapack_funcs

from ..errors import SymdynError

#: Below this distance of an eigenvalue from -1 the Cayley route is avoided.
CAYLEY_MARGIN = 0.05


@dataclass(frozen=True)
class Schur:
    """``M = Z T Z^H`` (complex Schur form); ``transposed`` means the factor is ``M^T``.

    For real ``M``, ``M^T = M^H = Z T^H Z^H``: the same ``Z``, with ``T`` used through
    ``op = 'C'`` in the triangular solves, so a transpose costs no new decomposition.
    """

    T: np.ndarray
    Z: np.ndarray
    transposed: bool = False

    @classmethod
    def of(cls, M: np.ndarray) -> Schur:
        T, Z = schur(np.asarray(M, dtype=complex), output="complex", check_finite=False)
        return cls(T, Z)

    @property
    def t(self) -> Schur:
        """The factor of the transpose (real matrices only)."""
        return Schur(self.T, self.Z, not self.transposed)

    def apply(self, fn) -> Schur:
        """The factor of a matrix function ``fn(M)`` (same Schur vectors): ``fn`` maps the
        triangular ``T`` to the triangular ``fn(T)``."""
        return Schur(fn(self.T), self.Z, self.transposed)

    @cached_property
    def eigenvalues(self) -> np.ndarray:
        return np.diag(self.T)

    @cached_property
    def cayley(self) -> np.ndarray:
        """``(T - I)(T + I)^{-1}``, upper triangular (``T`` commutes with its functions)."""
        eye = np.eye(self.T.shape[0])
        return solve_triangular(self.T + eye, self.T - eye, check_finite=False)

    @property
    def op(self) -> str:
        return "C" if self.transposed else "N"

    def op_T(self) -> np.ndarray:
        return self.T.conj().T if self.transposed else self.T


def stein(P: Schur, Q: Schur, A: np.ndarray, real: bool = True) -> np.ndarray:
    """Solve ``X = A + P X Q`` (``P`` acting on the left, ``Q`` on the right).

    Unique when ``p q != 1`` for all eigenvalues ``p`` of ``P`` and ``q`` of ``Q``, which
    holds for spectral radii below one.  Returns the real part when ``real``.
    """
    if not np.all(np.isfinite(A)):
        raise SymdynError("a Stein equation's right-hand side is not finite (NaN or inf)")
    Ah = P.Z.conj().T @ A @ Q.Z
    near = min(np.min(np.abs(1 + P.eigenvalues)), np.min(np.abs(1 + Q.eigenvalues)))
    Xh = _triangular_cayley(P, Q, Ah) if near > CAYLEY_MARGIN else _triangular_columns(P, Q, Ah)
    X = P.Z @ Xh @ Q.Z.conj().T
    return X.real if real else X


def _triangular_cayley(P: Schur, Q: Schur, A: np.ndarray) -> np.ndarray:
    """Triangular Stein equation via the Cayley transform and LAPACK trsyl."""
    Pc = P.cayley.conj().T if P.transposed else P.cayley
    Qc = Q.cayley.conj().T if Q.transposed else Q.cayley
    C = -0.5 * (A - Pc @ A) @ (np.eye(Qc.shape[0]) - Qc)
    trsyl, = get_lapack_funcs(("trsyl",), (P.cayley, Q.cayley, C))
    X, scale, info = trsyl(P.cayley, Q.cayley, C, trana=P.op, tranb=Q.op)
    if info < 0:
        raise SymdynError(f"LAPACK trsyl rejected argument {-info} of a Stein solve")
    return X / scale


def _triangular_columns(P: Schur, Q: Schur, A: np.ndarray) -> np.ndarray:
    """Back-substitution of ``X - Tp X Tq = A`` for triangular ``Tp`` and ``Tq``.

    Column ``j`` of ``X`` needs only the columns that ``Tq`` couples it to: those before
    it when ``Tq`` is upper triangular, those after it when lower.
    """
    Tp, Tq = P.op_T(), Q.op_T()
    n, m = A.shape
    lower_p = P.transposed
    order = range(m - 1, -1, -1) if Q.transposed else range(m)
    X = np.zeros((n, m), dtype=complex)
    eye = np.eye(n)
    for j in order:
        rhs = A[:, j] + Tp @ (X @ np.where(np.arange(m) == j, 0, Tq[:, j]))
        X[:, j] = solve_triangular(eye - Tq[j, j] * Tp, rhs, lower=lower_p, check_finite=False)
    return X
