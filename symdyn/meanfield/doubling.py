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


def moments_and_adjoints(J: np.ndarray, teacher: list, Z: np.ndarray, Zx: np.ndarray,
                         L: np.ndarray | None = None, R: np.ndarray | None = None,
                         Rs: np.ndarray | None = None):
    """``C = sum J^m Z Z^T J^Tm``, ``C* = sum J*^m Zx Z^T J^Tm`` and, when ``L``, ``R`` and
    ``Rs`` are given, ``X = sum J^Tm L R^T J*^m`` and ``Y = sum J^Tm L Rs^T J^m``;
    ``teacher``: the cached :func:`powers` of ``J*`` (extended here).  None if the route
    declines.

    The sums start from low-rank terms (``Z``, ``Zx``: N x D; ``L``, ``R``, ``Rs``: N x M),
    so the first doublings double factors instead of sums: ``Z_{k+1} = [Z_k, J_k Z_k]``
    (``C_k = Z_k Z_k^T``) costs N^2 w for a factor w columns wide, against about 2 N^3 for a
    sum; while the widths stay at most N/2 (D = M = 4, N = 32: three of the about seven
    doublings), after which the sums are formed and doubled as before.  The same terms in
    the same order: only the rounding differs."""
    n = J.shape[0]
    student = powers(J)
    adjoints = L is not None
    done = 0  # doublings so far
    while 2 * max(Z.shape[1], L.shape[1] if adjoints else 0) <= n:  # factors
        (Jk, jn), (Tk, tn) = power(student, done), power(teacher, done)
        if jn <= TAIL and tn <= TAIL or done == MAX_DOUBLINGS or jn > BLOW_UP or tn > BLOW_UP:
            break  # converged or declined: decided below
        Z, Zx = np.concatenate((Z, Jk @ Z), axis=1), np.concatenate((Zx, Tk @ Zx), axis=1)
        if adjoints:
            m = L.shape[1]
            P = Jk.T @ np.concatenate((L, Rs), axis=1)  # J_k^T (L, Rs), one product
            L, Rs = np.concatenate((L, P[:, :m]), axis=1), np.concatenate((Rs, P[:, m:]), axis=1)
            R = np.concatenate((R, Tk.T @ R), axis=1)
        done += 1
    C, Cx = Z @ Z.T, Zx @ Z.T
    X, Y = (L @ R.T, L @ Rs.T) if adjoints else (None, None)
    for k in range(done, MAX_DOUBLINGS + 1):
        (Jk, jn), (Tk, tn) = power(student, k), power(teacher, k)
        if jn <= TAIL and tn <= TAIL:
            return C, Cx, X, Y
        if k == MAX_DOUBLINGS or jn > BLOW_UP or tn > BLOW_UP:
            return None
        R2 = np.concatenate((C, Cx)) @ Jk.T    # (C; C*) J_k^T, one product for both
        C, Cx = C + Jk @ R2[:n], Cx + Tk @ R2[n:]
        if X is not None:
            P = Jk.T @ np.concatenate((X, Y), axis=1)  # J_k^T (X, Y)
            X, Y = X + P[:, :n] @ Tk, Y + P[:, n:] @ Jk
    return None
