"""Batched network containers, constructions (aligned / random) and mode projection.

Model (docs/theory.md, 'Model'), every array with a leading batch axis of size B::

    h_t = (1 - alpha) h_{t-1} + alpha (W h_{t-1} + U x_t),     y_t = V h_t

Shapes: W (B,N,N), U (B,N,D), V (B,M,N), feedback B_fb (B,N,M).  The network is stable
iff the spectral radius of its Jacobian J = (1 - alpha) I + alpha W is < 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Bases",
    "Network",
    "Teacher",
    "UnstableNetworkError",
    "aligned_network",
    "check_leak",
    "check_stable",
    "project_matrices",
    "project_modes",
    "random_network",
    "spectral_radius",
]


class UnstableNetworkError(ValueError):
    """Raised when a network's Jacobian (1-alpha) I + alpha W has spectral radius >= 1."""


@dataclass
class Network:
    """Student weights and fixed feedback matrix, batched: W (B,N,N), U (B,N,D), V (B,M,N),
    B_fb (B,N,M)."""

    W: np.ndarray
    U: np.ndarray
    V: np.ndarray
    B_fb: np.ndarray

    def __post_init__(self) -> None:
        self.W, self.U, self.V, self.B_fb = (
            np.asarray(m, dtype=float) for m in (self.W, self.U, self.V, self.B_fb)
        )
        _check_shapes(self.W, self.U, self.V)
        if self.B_fb.shape != self.W.shape[:2] + (self.V.shape[1],):
            raise ValueError(f"B_fb must have shape (B,N,M), got {self.B_fb.shape}")

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(batch, n_hidden, n_input, n_output)."""
        return _dims(self.W, self.U, self.V)

    def copy(self) -> Network:
        """Deep copy (all arrays copied)."""
        return Network(self.W.copy(), self.U.copy(), self.V.copy(), self.B_fb.copy())


@dataclass
class Teacher:
    """Teacher weights, batched: W (B,N,N), U (B,N,D), V (B,M,N)."""

    W: np.ndarray
    U: np.ndarray
    V: np.ndarray

    def __post_init__(self) -> None:
        self.W, self.U, self.V = (np.asarray(m, dtype=float) for m in (self.W, self.U, self.V))
        _check_shapes(self.W, self.U, self.V)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(batch, n_hidden, n_input, n_output)."""
        return _dims(self.W, self.U, self.V)

    def copy(self) -> Teacher:
        """Deep copy."""
        return Teacher(self.W.copy(), self.U.copy(), self.V.copy())


@dataclass
class Bases:
    """Orthogonal bases of an aligned network: input Q (D,D), hidden R (N,N), output P (M,M).
    Columns are the basis vectors q_i, r_i, p_i; shared by the whole batch."""

    Q: np.ndarray
    R: np.ndarray
    P: np.ndarray

    @property
    def n_modes(self) -> int:
        """min(N, D, M): number of scalar modes."""
        return min(self.Q.shape[0], self.R.shape[0], self.P.shape[0])


def _dims(W: np.ndarray, U: np.ndarray, V: np.ndarray) -> tuple[int, int, int, int]:
    return W.shape[0], W.shape[1], U.shape[2], V.shape[1]


def _check_shapes(W: np.ndarray, U: np.ndarray, V: np.ndarray) -> None:
    if W.ndim != 3 or U.ndim != 3 or V.ndim != 3:
        raise ValueError("W, U, V need a leading batch axis: shapes (B,N,N), (B,N,D), (B,M,N)")
    b, n = W.shape[:2]
    if W.shape != (b, n, n) or U.shape[:2] != (b, n) or V.shape[0] != b or V.shape[2] != n:
        raise ValueError(f"inconsistent shapes W{W.shape} U{U.shape} V{V.shape}")


def check_leak(leak: float) -> float:
    """Validate the leak alpha in (0, 1]."""
    leak = float(leak)
    if not 0.0 < leak <= 1.0:
        raise ValueError(f"leak alpha must lie in (0, 1], got {leak}")
    return leak


def spectral_radius(W: np.ndarray, leak: float) -> np.ndarray:
    """Spectral radius of J = (1 - alpha) I + alpha W for each batch entry.

    W: (B,N,N) or (N,N).  Returns shape (B,) (or scalar for unbatched W).  The eigenvalues
    of J are 1 - alpha + alpha * eig(W), so no identity matrix needs to be formed.
    """
    leak = check_leak(leak)
    W = np.asarray(W, dtype=float)
    # a 1 x 1 matrix is its own eigenvalue (the one-mode networks of the noise checks,
    # batches of 64-256, checked every CHECK_EVERY steps: eigvals' overhead was most of the check)
    eig = W[..., 0, :] if W.shape[-1] == 1 else np.linalg.eigvals(W)
    return np.abs(1.0 - leak + leak * eig).max(axis=-1)


def check_stable(W: np.ndarray, leak: float, what: str) -> None:
    """Raise UnstableNetworkError if any batch entry of W gives rho(J) >= 1 or is not finite."""
    if not np.all(np.isfinite(W)):
        raise UnstableNetworkError(f"{what}: weights are not finite (diverged)")
    rho = spectral_radius(W, leak)
    bad = np.flatnonzero(np.atleast_1d(rho) >= 1.0)
    if bad.size:
        raise UnstableNetworkError(
            f"{what}: spectral radius of (1-alpha)I + alpha W is >= 1 "
            f"(max {np.max(rho):.6g}) for batch entries {bad.tolist()[:10]}"
        )


def _haar_orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """Haar-random orthogonal matrix: QR of a Gaussian, signs fixed by diag(R) > 0."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _modes(x: np.ndarray | float, batch: int, width: int, name: str) -> np.ndarray:
    """Broadcast a per-mode argument (scalar, (width,) or (B,width)) to (B, width)."""
    try:
        return np.broadcast_to(np.asarray(x, dtype=float), (batch, width)).copy()
    except ValueError as err:
        raise ValueError(f"{name} must broadcast to (batch={batch}, {width}), got "
                         f"shape {np.shape(x)}") from err


def _aligned_mats(bases: Bases, a: np.ndarray, b: np.ndarray, c: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W = R diag(a) R^T (a of length N), U = R_n diag(b) Q_n^T, V = P_n diag(c) R_n^T."""
    n = bases.n_modes
    Q, R, P = bases.Q[:, :n], bases.R, bases.P[:, :n]
    W = np.einsum("ik,bk,jk->bij", R, a, R)
    U = np.einsum("ik,bk,jk->bij", R[:, :n], b, Q)
    V = np.einsum("ik,bk,jk->bij", P, c, R[:, :n])
    return W, U, V


def aligned_network(n_hidden: int, n_input: int, n_output: int, *, a, b, c, a_star, b_star,
                    c_star, beta, leak: float, batch: int = 1, seed: int = 0,
                    a_rest=0.0, a_star_rest=0.0, bases: Bases | None = None
                    ) -> tuple[Network, Teacher, Bases]:
    """Data-aligned student/teacher pair (docs/theory.md, 'Model').

    With Haar-random orthogonal Q (D×D), R (N×N), P (M×M) from `seed` and n = min(N,D,M):
    W = R diag(a ⊕ a_rest) R^T, U = R_n diag(b) Q_n^T, V = P_n diag(c) R_n^T,
    B_fb = R_n diag(beta) P_n^T, teacher likewise with (a*, b*, c*).  Per-mode arguments are
    scalars, (n,) or (B, n); `a_rest`, `a_star_rest` fill hidden directions i >= n (no mode).
    Raises UnstableNetworkError if |1 - alpha + alpha a| >= 1 anywhere.
    ``bases``: the bases an earlier call with this ``seed`` and these sizes returned (the
    same draws), to build another network on them without drawing them again.
    """
    leak = check_leak(leak)
    n = min(n_hidden, n_input, n_output)
    if bases is None:
        rng = np.random.default_rng(seed)
        bases = Bases(Q=_haar_orthogonal(n_input, rng), R=_haar_orthogonal(n_hidden, rng),
                      P=_haar_orthogonal(n_output, rng))
    elif (bases.Q.shape[0], bases.R.shape[0], bases.P.shape[0]) != (n_input, n_hidden,
                                                                      n_output):
        raise ValueError(f"bases of sizes {bases.Q.shape[0]}, {bases.R.shape[0]}, "
                         f"{bases.P.shape[0]} given for a network of sizes {n_input}, "
                         f"{n_hidden}, {n_output}")
    rest = n_hidden - n
    a_full = np.concatenate([_modes(a, batch, n, "a"), _modes(a_rest, batch, rest, "a_rest")], 1)
    as_full = np.concatenate([_modes(a_star, batch, n, "a_star"),
                              _modes(a_star_rest, batch, rest, "a_star_rest")], 1)
    W, U, V = _aligned_mats(bases, a_full, _modes(b, batch, n, "b"), _modes(c, batch, n, "c"))
    Ws, Us, Vs = _aligned_mats(bases, as_full, _modes(b_star, batch, n, "b_star"),
                               _modes(c_star, batch, n, "c_star"))
    B_fb = np.einsum("ik,bk,jk->bij", bases.R[:, :n], _modes(beta, batch, n, "beta"),
                     bases.P[:, :n])
    check_stable(W, leak, "aligned_network (student)")
    check_stable(Ws, leak, "aligned_network (teacher)")
    return Network(W, U, V, B_fb), Teacher(Ws, Us, Vs), bases


def random_network(n_hidden: int, n_input: int, n_output: int, *, leak: float, batch: int = 1,
                   seed: int = 0, radius: float = 0.5, teacher_radius: float = 0.8,
                   scale: float = 1.0) -> tuple[Network, Teacher]:
    """Dense, non-aligned student/teacher pair.

    W, W*: Gaussian, rescaled so that the spectral radius of W is `radius` (teacher:
    `teacher_radius`); U, U*: N(0, scale²/D); V, V*: N(0, scale²/N); B_fb: N(0, scale²/M).
    Fan-in scaling keeps outputs O(scale) for any size.
    """
    leak = check_leak(leak)
    rng = np.random.default_rng(seed)
    N, D, M = n_hidden, n_input, n_output

    def gauss(*shape: int, fan_in: int) -> np.ndarray:
        return rng.standard_normal((batch, *shape)) * (scale / np.sqrt(fan_in))

    def recurrent(rad: float) -> np.ndarray:
        W = rng.standard_normal((batch, N, N))
        rho = np.abs(np.linalg.eigvals(W)).max(axis=-1)
        return W * (rad / rho)[:, None, None]

    net = Network(recurrent(radius), gauss(N, D, fan_in=D), gauss(M, N, fan_in=N),
                  gauss(N, M, fan_in=M))
    teacher = Teacher(recurrent(teacher_radius), gauss(N, D, fan_in=D), gauss(M, N, fan_in=N))
    check_stable(net.W, leak, "random_network (student)")
    check_stable(teacher.W, leak, "random_network (teacher)")
    return net, teacher


def _off_modes(m: np.ndarray, k: int) -> np.ndarray:
    """Copy of m with the first k diagonal entries (the mode coordinates) set to zero."""
    out = m.copy()
    idx = np.arange(k)
    out[..., idx, idx] = 0.0
    return out


def project_matrices(W: np.ndarray, U: np.ndarray, V: np.ndarray, bases: Bases
                     ) -> dict[str, np.ndarray]:
    """Mode coordinates of batched (.., N,N), (.., N,D), (.., M,N) matrices (any leading axes).

    a_i = r_i^T W r_i, b_i = r_i^T U q_i, c_i = p_i^T V r_i for i < n.  `residual` is the
    Frobenius norm of everything that is not a mode coordinate in the rotated matrices
    R^T W R, R^T U Q, P^T V R (the diagonal of R^T W R for i >= n counts as allowed), divided
    by the total Frobenius norm of the three rotated matrices.
    """
    n = bases.n_modes
    # matmul, not a three-operand einsum: the einsum summed N^4 products per matrix in
    # one unoptimised loop, 13-30x slower on the (records, batch, 8, 8) runs of the checks
    Wr = bases.R.T @ W @ bases.R
    Ur = bases.R.T @ U @ bases.Q
    Vr = bases.P.T @ V @ bases.R
    a_all = np.diagonal(Wr, axis1=-2, axis2=-1)
    b = np.diagonal(Ur[..., :n, :n], axis1=-2, axis2=-1)
    c = np.diagonal(Vr[..., :n, :n], axis1=-2, axis2=-1)
    # Sum the off-mode entries directly (not total - diag: that cancels to ~1e-8 precision).
    off = sum(np.sum(_off_modes(m, k) ** 2, axis=(-2, -1))
              for m, k in ((Wr, Wr.shape[-1]), (Ur, n), (Vr, n)))
    total = sum(np.sum(m**2, axis=(-2, -1)) for m in (Wr, Ur, Vr))
    residual = np.sqrt(off / np.where(total > 0, total, 1.0))
    return {"a": a_all[..., :n].copy(), "b": b.copy(), "c": c.copy(), "residual": residual}


def project_modes(net: Network | Teacher, bases: Bases) -> dict[str, np.ndarray]:
    """{"a","b","c": (B,n), "residual": (B,)} for a network; see project_matrices."""
    return project_matrices(net.W, net.U, net.V, bases)
