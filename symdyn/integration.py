"""Integration of the derived per-mode ODEs with SciPy, for several modes at once.

Modes are independent, so ``n`` modes form one ODE of dimension ``3 n`` whose Jacobian
is block-diagonal; both are evaluated by the lambdified callables of
:mod:`symdyn.codegen`, vectorised over modes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.linalg import block_diag

from .codegen import check_region, jacobian_function, rhs_function
from .errors import SymdynError
from .ode import LearningODE


@dataclass(frozen=True)
class Trajectory:
    """``states[k, i]`` is (a, b, c) of mode ``i`` at learning time ``tau[k]``."""

    tau: np.ndarray
    states: np.ndarray

    @property
    def final(self) -> np.ndarray:
        return self.states[-1]


def integrate(ode: LearningODE, initial, params: Mapping, tau_end: float,
              n_eval: int = 201, method: str = "LSODA", rtol: float = 1e-9,
              atol: float = 1e-11) -> Trajectory:
    """Integrate ``d(a, b, c)/dtau`` of every mode from ``initial`` to ``tau_end``.

    ``initial`` has shape ``(3,)`` or ``(n_modes, 3)``; each value of ``params`` is a
    number or an array of shape ``(n_modes,)``.
    """
    y0 = np.atleast_2d(np.asarray(initial, dtype=float))
    n = y0.shape[0]
    values = {k: np.broadcast_to(np.asarray(v, dtype=float), (n,)) for k, v in params.items()}
    check_region(ode, y0.T, values)
    rhs, jac = rhs_function(ode), jacobian_function(ode)

    def field(_tau: float, y: np.ndarray) -> np.ndarray:
        return rhs(y.reshape(n, 3).T, values).T.ravel()

    def jacobian(_tau: float, y: np.ndarray) -> np.ndarray:
        blocks = jac(y.reshape(n, 3).T, values)          # (3, 3, n)
        return block_diag(*np.moveaxis(blocks, -1, 0))

    tau = np.linspace(0.0, tau_end, n_eval)
    solution = solve_ivp(field, (0.0, tau_end), y0.ravel(), method=method, t_eval=tau,
                         jac=jacobian, rtol=rtol, atol=atol)
    if not solution.success:
        raise SymdynError(f"integration of {ode.title} failed: {solution.message}")
    states = solution.y.T.reshape(len(solution.t), n, 3)
    check_region(ode, states[-1].T, values)
    return Trajectory(solution.t, states)
