"""Symmetry and stability of the matrix ODE beyond alignment.

The input-output map (hence the loss) is invariant under ``W -> S W S^-1, U -> S U,
V -> V S^-1`` for any invertible S.  Its infinitesimal orbit at (W, U, V) is spanned by
``(Omega W - W Omega, Omega U, -V Omega)``.  Consequences:

* BPTT is a gradient flow of an invariant loss, so for every Omega
  ``<grad L, orbit(Omega)> = 0``; with ``d theta = -grad L`` this makes

      Q = U U^T + W W^T - W^T W - V^T V

  a conserved N x N matrix (the matrix form of a mode's ``b^2 - c^2``; the recurrent
  term ``W W^T - W^T W`` vanishes for the symmetric W of aligned networks).
* At an optimum the orbit directions are zero modes of the Jacobian of the field.

This module computes these objects numerically (finite differences of the exact field);
which of them holds for each rule is measured, not assumed.
"""

from __future__ import annotations

import numpy as np

from .field import TeacherField, _as_triple, field
from .rule import matrix_rule


def pack(mats) -> np.ndarray:
    return np.concatenate([np.ravel(m) for m in mats])


def unpack(y: np.ndarray, like) -> tuple[np.ndarray, ...]:
    out, i = [], 0
    for m in like:
        out.append(y[i:i + m.size].reshape(m.shape))
        i += m.size
    return tuple(out)


def balance(student) -> np.ndarray:
    """``Q = U U^T + W W^T - W^T W - V^T V`` (conserved by the BPTT gradient flow)."""
    W, U, V = student
    return U @ U.T + W @ W.T - W.T @ W - V.T @ V


def orbit_basis(student, tol: float = 1e-9) -> np.ndarray:
    """Orthonormal columns spanning ``{(Omega W - W Omega, Omega U, -V Omega)}``."""
    W, U, V = student
    n = W.shape[0]
    cols = []
    for i in range(n):
        for j in range(n):
            E = np.zeros((n, n))
            E[i, j] = 1.0
            cols.append(pack((E @ W - W @ E, E @ U, -V @ E)))
    u, s, _ = np.linalg.svd(np.array(cols).T, full_matrices=False)
    return u[:, s > tol * max(s[0], 1.0)]


def field_jacobian(rule: str, student, teacher, leak: float = 1.0,
                   feedback: np.ndarray | None = None, truncation: int | None = None,
                   eps: float = 1e-6) -> np.ndarray:
    """d field / d (W, U, V) by central differences of the exact field (packed coords)."""
    tf = TeacherField.of(teacher, leak)
    mr = matrix_rule(rule, leak, truncation)
    st = _as_triple(student, "student")
    y0 = pack(st)
    jac = np.empty((y0.size, y0.size))
    for k in range(y0.size):
        step = np.zeros_like(y0)
        step[k] = eps
        plus = pack(field(mr, unpack(y0 + step, st), tf, feedback))
        minus = pack(field(mr, unpack(y0 - step, st), tf, feedback))
        jac[:, k] = (plus - minus) / (2 * eps)
    return jac


def rotate(y: np.ndarray, like, bases) -> np.ndarray:
    """Packed (W, U, V) in the aligned bases: (R^T W R, R^T U Q, P^T V R)."""
    W, U, V = unpack(y, like)
    R, Q, P = bases.R, bases.Q, bases.P
    return pack((R.T @ W @ R, R.T @ U @ Q, P.T @ V @ R))


def mode_mask(like, n_modes: int) -> np.ndarray:
    """Packed positions of the mode coordinates a_i, b_i, c_i (i < n) and of the
    diagonal of W beyond the modes, in the rotated coordinates."""
    W, U, V = like
    masks = [np.zeros(m.shape, dtype=bool) for m in (W, U, V)]
    np.fill_diagonal(masks[0], True)
    for m in masks[1:]:
        idx = np.arange(n_modes)
        m[idx, idx] = True
    return pack(masks)


def split_spectrum(jac: np.ndarray, student, bases, n_modes: int, tol: float = 1e-6
                   ) -> dict:
    """The Jacobian's spectrum by direction type.

    ``orbit``: dimension of the symmetry orbit and ``orbit_in_kernel``: the largest
    ``|jac v|`` over its unit directions (zero at an optimum, where the whole orbit is optimal).
    ``neutral``: number of eigenvalues with ``|Re| <= tol``, of which ``orbit`` are symmetry
    directions and the rest neutral directions beyond symmetry.  The other eigenvalues are
    split into on-mode / off-mode by where their eigenvector lives in the aligned bases,
    and into stable / unstable by the sign of the real part.
    """
    ev, vec = np.linalg.eig(jac)
    orbit = orbit_basis(student)
    mask = mode_mask(student, n_modes)
    out: dict = {"orbit": orbit.shape[1],
                 "orbit_in_kernel": float(np.max(np.linalg.norm(jac @ orbit, axis=0))),
                 "neutral": int(np.sum(np.abs(ev.real) <= tol))}
    for mu, v in zip(ev, vec.T, strict=True):
        if abs(mu.real) <= tol:
            continue
        rot = rotate(v.real, student, bases) + 1j * rotate(v.imag, student, bases)
        on = np.sum(np.abs(rot[mask]) ** 2) / np.sum(np.abs(rot) ** 2) > 0.5
        key = ("on-mode" if on else "off-mode") + (" stable" if mu.real < 0 else " unstable")
        out.setdefault(key, []).append(mu)
    for k, v in out.items():
        if isinstance(v, list):
            out[k] = np.array(sorted(v, key=lambda z: z.real))
    return out
