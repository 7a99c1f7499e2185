"""The matrix mean field in the eigenbases of ``J`` and ``J*`` (fast route, small N).

With ``J = P diag(lam) P^-1`` and ``J* = P* diag(lam*) P*^-1`` every Stein sum of
:mod:`symdyn.meanfield.field` is diagonal in the eigen-coordinates: for white inputs,
with ``u = alpha P^-1 U``, ``u* = alpha P*^-1 U*``, ``k = kappa(lam)``, ``G = P^T F``::

    C  = P  Ch  P^T,   Ch  = (u  u^T) / (1 - lam  lam^T)       (elementwise division)
    C* = P* Chx P^T,   Chx = (u* u^T) / (1 - lam* lam^T)
    Y  = P^-T Yh P^-1,  Yh = (G (V P))  / (1 - k lam^T)
    X  = P^-T Xh P*^-1, Xh = (G (V* P*)) / (1 - k lam*^T)

(each sum ``sum_m D^m A E^m`` of diagonal ``D, E`` is ``A / (1 - d e^T)``), hence::

    E dW = alpha P^-T (Xh lam* Chx - Yh lam Ch) P^T,
    E dU = alpha P^-T (Xh u* - Yh u),
    E dV = ((V* P*) Chx - (V P) Ch) P^T.

Every function here also takes a stack of students (leading axes on the student's arrays,
``lam`` and ``P``; the teacher's stay two-dimensional): the same arithmetic, broadcast.

One eigendecomposition and four complex N x N products replace the real Schur factor,
its Cayley transform and four triangular Sylvester solves (LAPACK ``dtrsyl``, unblocked,
which dominate at N <~ 100).  Rounding errors grow with the condition number of the
eigenvector matrices, so the route declines (returns ``None``) when ``cond_1(P)`` exceeds
:data:`MAX_CONDITION`, and :func:`symdyn.meanfield.field.field` uses the Schur route.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Above this 1-norm condition number of an eigenvector matrix the Schur route is used.
#: The two routes differ by about eps cond^2 (measured at N = 32 on students with
#: prescribed eigenvector conditioning, largest relative difference of the field:
#: 4e-14 at cond ~ 4e2, 2e-12 at 3e3, 1e-10 at 3e4, 1e-8 at 2e5).  Along integrations
#: at N = 32-64 the median cond is 1e2-5e2 and rarely exceeds 5e3.
MAX_CONDITION = 1e4


@dataclass(frozen=True)
class Modal:
    """``M = P diag(lam) P^-1`` with ``Pinv = P^-1``."""

    lam: np.ndarray
    P: np.ndarray
    Pinv: np.ndarray

    @classmethod
    def of(cls, M: np.ndarray) -> Modal | None:
        """The eigendecomposition, or None if ``P`` is ill-conditioned (near-defective M;
        for a stack of matrices: if that holds for any of them)."""
        try:
            lam, P = np.linalg.eig(M)
            Pinv = np.linalg.inv(P)
        except np.linalg.LinAlgError:  # no convergence, or singular P: the Schur route
            return None
        cond = float(np.max(_norm1(P) * _norm1(Pinv)))
        return cls(lam, P, Pinv) if np.isfinite(cond) and cond <= MAX_CONDITION else None

    @property
    def radius(self) -> float:
        """The spectral radius (of a stack: the largest of them)."""
        return float(np.max(np.abs(self.lam)))


def _norm1(M: np.ndarray) -> np.ndarray:
    """The 1-norm (largest column sum of moduli), as ``np.linalg.norm(M, 1)`` computes it."""
    return np.abs(M).sum(axis=-2).max(axis=-1)


def _t(M: np.ndarray) -> np.ndarray:
    """The transpose of a matrix or of each matrix of a stack."""
    return np.swapaxes(M, -1, -2)


def _geometric(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``1 / (1 - a_i b_j)``: the elementwise sum ``sum_m a_i^m b_j^m``."""
    return 1.0 / (1.0 - a[..., :, None] * b[..., None, :])


def covariances(s: Modal, t: Modal, U: np.ndarray, Ut: np.ndarray, leak: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``u, u*, Ch, Chx`` (module doc): the covariances in eigen-coordinates."""
    u, ut = leak * (s.Pinv @ U), leak * (t.Pinv @ Ut)
    return u, ut, (u @ _t(u)) * _geometric(s.lam, s.lam), (ut @ _t(u)) * _geometric(t.lam, s.lam)


def real_covariances(s: Modal, t: Modal, Ch: np.ndarray, Chx: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``C = P Ch P^T`` and ``C* = P* Chx P^T`` as real arrays."""
    return (s.P @ Ch @ _t(s.P)).real, (t.P @ Chx @ _t(s.P)).real


def unbounded(s: Modal, t: Modal, kappa: np.ndarray, F: np.ndarray, V: np.ndarray,
              Vt: np.ndarray, U: np.ndarray, Ut: np.ndarray, leak: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(E dW, E dU, E dV)`` of a rule with an unbounded window, ``kappa = kappa(lam)``."""
    u, ut, Ch, Chx = covariances(s, t, U, Ut, leak)
    G, VP, VPt = _t(s.P) @ F, V @ s.P, Vt @ t.P
    Xh = (G @ VPt) * _geometric(kappa, t.lam)
    Yh = (G @ VP) * _geometric(kappa, s.lam)
    inner = (Xh * t.lam) @ Chx - (Yh * s.lam[..., None, :]) @ Ch
    PinvT, PT = _t(s.Pinv), _t(s.P)
    dW = leak * (PinvT @ inner @ PT).real
    dU = leak * (PinvT @ (Xh @ ut - Yh @ u)).real
    dV = ((VPt @ Chx - VP @ Ch) @ PT).real
    return dW, dU, dV


def readout_traces(s: Modal, t: Modal, U: np.ndarray, Ut: np.ndarray, V: np.ndarray,
                   Vt: np.ndarray, leak: float) -> tuple[float | np.ndarray, float | np.ndarray]:
    """``tr(V* C* V^T)`` and ``tr(V C V^T)`` (the stationary loss's two student terms):
    ``tr(A P^T V^T) = sum(A * (V P))`` for ``A = V* P* Chx`` and ``A = V P Ch`` (NumPy
    floats; for a stack of students, arrays of them)."""
    _, _, Ch, Chx = covariances(s, t, U, Ut, leak)
    VP = V @ s.P
    return (np.sum((Vt @ t.P @ Chx) * VP, axis=(-2, -1)).real,
            np.sum((VP @ Ch) * VP, axis=(-2, -1)).real)
