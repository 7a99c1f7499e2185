"""RFLO's low rank, read off the field, and the solution it reaches.

RFLO's expected updates are ``E dW = alpha X J* C* - alpha Y J C`` and
``E dU = alpha^2 (X U* - Y U)`` with ``X = B V* (I - kappa J*)^{-1}`` and
``Y = B V (I - kappa J)^{-1}``: both have ``B`` as their left factor, so every update of
W and U lies in the column space of B, and ``rank(W_tau - W_0) <= rank(B) <= M`` along
the whole mean-field trajectory (only V moves freely).  A teacher that differs from the
start by a change of W of rank above M cannot be reached; the matrix ODE predicts where
RFLO stops and the loss it keeps.
"""

from __future__ import annotations

import numpy as np

from ..simulate import Network, Teacher, UnstableNetworkError, random_network, train
from .integrate import integrate_matrices


def span_residual(D: np.ndarray, B: np.ndarray) -> float:
    """``|(I - B B^+) D| / |D|``: the part of an update outside the column space of B."""
    outside = D - B @ np.linalg.lstsq(B, D, rcond=None)[0]
    return float(np.linalg.norm(outside) / max(np.linalg.norm(D), 1e-300))


def high_rank_teacher(n_hidden: int = 32, n_io: int = 4, change_rank: int = 8,
                      size: float = 0.4, leak: float = 1.0, seed: int = 0
                      ) -> tuple[Network, Teacher]:
    """A student and a teacher equal to it except ``W* = W + Delta``, rank(Delta) =
    ``change_rank`` (orthonormal factors scaled by ``size``)."""
    net, _ = random_network(n_hidden, n_io, n_io, leak=leak, seed=seed)
    rng = np.random.default_rng(seed + 100)
    left = np.linalg.qr(rng.standard_normal((n_hidden, change_rank)))[0]
    right = np.linalg.qr(rng.standard_normal((n_hidden, change_rank)))[0]
    delta = size * left @ right.T
    teacher = Teacher(net.W + delta, net.U.copy(), net.V.copy())
    return net, teacher


def rflo_reach(n_hidden: int = 32, n_io: int = 4, change_rank: int = 8, tau_end: float = 30.0,
               eta: float = 2e-4, leak: float = 1.0, seed: int = 1, simulate: bool = True
               ) -> dict:
    """Matrix-ODE prediction of RFLO's end point (and BPTT's, for contrast) against SGD.

    Returns the final losses, the singular values of ``W_tau - W_0`` and, with
    ``simulate``, the same from one SGD run and the relative distance of its final W and
    V from the ODE's.
    """
    net, teacher = high_rank_teacher(n_hidden, n_io, change_rank, leak=leak, seed=seed)
    start = (net.W[0], net.U[0], net.V[0])
    target = (teacher.W[0], teacher.U[0], teacher.V[0])
    out: dict = {"change_rank": change_rank, "M": n_io, "tau_end": tau_end}
    # rtol 1e-3 (was 1e-4): 28-30 % fewer evaluations (seed 1: 1120 -> 809 to tau = 20,
    # 586 -> 412 to 2.5).  The rank bound is exact at any tolerance (every stage of the
    # step lies in the column space of B): over seeds 0-7 at tau = 2.5 and 20 the ratio
    # sv_5/sv_1 stays <= 1.8e-14, the same seeds reach tau_end (RFLO's ODE leaves the
    # stable region on seeds 0 and 4 at both), and the end losses move by <= 1.3e-3
    # relative, SGD's W and V distances from the ODE by <= 0.09 and 0.05 percentage points.
    for rule in ("rflo", "bptt"):
        traj = integrate_matrices(rule, start, target, tau_end, leak, feedback=net.B_fb[0],
                                  n_eval=21, rtol=1e-3, atol=1e-7, method="RKC")
        sv = np.linalg.svd(traj.W[-1] - start[0], compute_uv=False)
        out[rule] = {"status": traj.status, "loss_start": float(traj.loss[0]),
                     "loss_end": float(traj.loss[-1]), "tau": traj.tau, "loss": traj.loss,
                     "singular_values": sv, "final": traj.final}
    if simulate:
        n = int(round(tau_end / eta))
        try:
            sim = train(net, teacher, rule="rflo", eta=eta, n_steps=n, leak=leak,
                        seed=seed + 1, record_every=max(1, n // 20))
        except UnstableNetworkError as error:
            out["sgd"] = {"status": f"diverged: {error}"}
            return out
        W_ode, _, V_ode = out["rflo"]["final"]
        out["sgd"] = {
            "status": "ok", "loss_end": float(sim.loss[-3:].mean()),
            "singular_values": np.linalg.svd(sim.final.W[0] - start[0], compute_uv=False),
            "W_distance": float(np.linalg.norm(sim.final.W[0] - W_ode)
                                / np.linalg.norm(W_ode - start[0])),
            "V_distance": float(np.linalg.norm(sim.final.V[0] - V_ode)
                                / np.linalg.norm(V_ode - start[2]))}
    return out
