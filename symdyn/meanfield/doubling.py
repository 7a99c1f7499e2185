"""The stationary sums of the matrix mean field by doubling (fast route at N >~ 16).

Every sum of :mod:`symdyn.meanfield.field` has the form ``X = sum_{m>=0} P^m A Q^m``.
Doubling (Smith's method) adds the next ``2^k`` terms at once::

    X_{k+1} = X_k + P_k X_k Q_k,    P_{k+1} = P_k^2,  Q_{k+1} = Q_k^2   (P_0 = P, Q_0 = Q),

so ``X_k`` holds the first ``2^k`` terms and the rest is ``P_k X Q_k``, of relative size at
most ``|P_k|_F |Q_k|_F``.  The iteration stops when both are below :data:`TAIL`; that
bound also certifies the spectral radii below one (``rho(P)^(2^k) <= |P_k|_F < 1``), so the
route needs no eigenvalues.  With ``J`` and ``J*`` the four sums of an unbounded window
with ``K = J`` (BPTT) share their powers: per doubling, four N x N products for the sums
(two of them on stacked pairs) and one squaring, all real, against the complex
eigendecomposition of the eigenbasis route (which dominates its cost at N = 32).  A
scalar trace decay sums ``X`` and ``Y`` in closed form (:func:`field._adjoints`).

The route declines (returns None) when the powers have not fallen below the tail bound
after :data:`MAX_DOUBLINGS` steps (spectral radius within ~4e-5 of one, or above it) or
grow past :data:`BLOW_UP`; the routes with eigenvalues then decide, and raise the
instability error with the radius.
"""

from __future__ import annotations

import numpy as np

#: Stop when ``|P_k|_F^2`` and ``|Q_k|_F^2`` are below this: the neglected tail is then
#: below 1e-17 of the sum (``|P_k|_F |Q_k|_F <= 1e-17``), under the rounding of the sum.
TAIL = 1e-17
#: 2^20 terms: enough for spectral radii up to 1 - 4e-5 (rho^(2^20) < 1e-17).
MAX_DOUBLINGS = 20
#: Squared Frobenius norm of a power beyond which the sum cannot converge in time.
BLOW_UP = 1e100


def powers(M: np.ndarray) -> list:
    """``[(M, |M|_F^2)]``: the start of the list :func:`power` extends."""
    return [(M, float(np.sum(M * M)))]


def power(known: list, k: int) -> tuple[np.ndarray, float]:
    """``(M^(2^k), |M^(2^k)|_F^2)``, squaring on from the cached ``known`` list."""
    while len(known) <= k:
        P = known[-1][0] @ known[-1][0]
        known.append((P, float(np.sum(P * P))))
    return known[k]


def moments_and_adjoints(J: np.ndarray, teacher: list, A: np.ndarray, Ax: np.ndarray,
                         FVt: np.ndarray | None, FV: np.ndarray | None):
    """``C = sum J^m A J^Tm``, ``C* = sum J*^m Ax J^Tm`` and, when ``FVt`` and ``FV`` are
    given, ``X = sum J^Tm FVt J*^m`` and ``Y = sum J^Tm FV J^m``; ``teacher``: the cached
    :func:`powers` of ``J*`` (extended here).  None if the route declines."""
    n = J.shape[0]
    student = powers(J)
    C, Cx, X, Y = A, Ax, FVt, FV
    for k in range(MAX_DOUBLINGS + 1):
        (Jk, jn), (Tk, tn) = power(student, k), power(teacher, k)
        if jn <= TAIL and tn <= TAIL:
            return C, Cx, X, Y
        if k == MAX_DOUBLINGS or jn > BLOW_UP or tn > BLOW_UP:
            return None
        R = np.concatenate((C, Cx)) @ Jk.T    # (C; C*) J_k^T, one product for both
        C, Cx = C + Jk @ R[:n], Cx + Tk @ R[n:]
        if X is not None:
            L = Jk.T @ np.concatenate((X, Y), axis=1)  # J_k^T (X, Y)
            X, Y = X + L[:, :n] @ Tk, Y + L[:, n:] @ Jk
    return None
