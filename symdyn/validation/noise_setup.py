"""Shared set-up of the finite-learning-rate checks (#8): the point on the optimal
manifold, the predicted quantities there, and label-noise runs of the simulator.

The teacher is ``a* = 0.3`` (``0`` for the critical-rate check), ``b* = c* = 1``, feedback
``beta = 1``; the student starts on the optimal manifold at ``b = 1``, ``c = 1``. Learning
rates are multiplied by ``case.eta_scale`` (``1/alpha^2``), so that every leak takes the
same number of steps (see :class:`~symdyn.validation.case.Case`).
"""

from __future__ import annotations

import numpy as np

from .case import Case, SimRun, simulate_modes

__all__ = ["TEACHER", "manifold_modes", "manifold_point", "noise_run"]

TEACHER = {"a_star": 0.3, "b_star": 1.0, "c_star": 1.0, "beta": 1.0}


def manifold_point(case: Case, a_star: float = 0.3) -> dict:
    """The point ``a = a*, b = c = 1`` of the optimal manifold, with the teacher."""
    return {**TEACHER, "a_star": a_star, "a": a_star, "b": 1.0, "c": 1.0,
            "alpha": case.leak}


def manifold_modes(point: dict, n: int) -> dict:
    """``n`` identical modes at ``point`` (arrays for :func:`aligned_network`)."""
    keys = ("a", "b", "c", "a_star", "b_star", "c_star", "beta")
    return {k: np.full(n, float(point[k])) for k in keys}


def noise_run(case: Case, point: dict, *, sigma: float, eta: float, tau_end: float,
              batch: int, n: int, salt: int, n_rec: int = 200) -> SimRun:
    """Online SGD with label noise ``sigma`` from ``point`` (``n`` modes, ``batch``
    replicas); ``eta`` is multiplied by ``case.eta_scale`` here."""
    return simulate_modes(case, manifold_modes(point, n), batch=batch,
                          eta=eta * case.eta_scale, tau_end=tau_end, n_rec=n_rec,
                          seed=case.seed * 1000 + salt, label_noise=sigma)
