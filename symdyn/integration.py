"""Integration of the derived per-mode ODEs with SciPy, for several modes at once.

Modes are independent, so ``n`` modes form one ODE of dimension ``3 n`` whose Jacobian
is block-diagonal; both are evaluated by the lambdified callables of
:mod:`symdyn.codegen`, vectorised over modes.

Integration always ends, and says how. The averaged dynamics exists only while every
mode's ``|lam| < 1`` (``lam = 1 - alpha + alpha a``, :class:`~symdyn.model.ModeModel`);
its right-hand side has poles at ``lam = +-1``, where a stiff solver stalls. So the
solver is stepped by hand and stops at the first of: ``tau_end`` (``completed``), some
``|lam|`` reaching ``1 - EDGE_MARGIN`` (``left_region``), some ``|a|, |b|, |c|`` reaching
``bound`` or a non-finite state (``diverged``), the wall-clock ``budget`` (``budget``), or
a solver failure (``failed``). The crossing time of an edge is located on the solver's
dense output, and the returned trajectory ends there: no NaN ever leaves ``integrate``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .codegen import POINTWISE_MODES, bound_functions, check_region, mode_field
from .errors import SymdynError
from .model import lam_numeric
from .ode import LearningODE
from .values import number

#: SciPy's solvers by their class names in :mod:`scipy.integrate`, imported on first use
#: (SciPy takes longer to import than SymPy, and the symbolic engine never needs it).
SOLVERS = ("LSODA", "BDF", "Radau", "RK45", "RK23", "DOP853")
IMPLICIT = ("LSODA", "BDF", "Radau")
#: ``|lam|`` at which a trajectory counts as having left the stationary region.
EDGE_MARGIN = 1e-6
STATUSES = ("completed", "left_region", "diverged", "budget", "failed")


class IntegrationStopped(SymdynError):
    """A trajectory that ended before ``tau_end`` (see :attr:`Trajectory.message`)."""


@dataclass(frozen=True)
class Trajectory:
    """``states[k, i]`` is (a, b, c) of mode ``i`` at learning time ``tau[k]``.

    ``status`` is one of ``STATUSES``; unless ``"completed"``, the last row is the state
    at ``stopped_at``, where the integration ended, and :attr:`message` says why.
    """

    tau: np.ndarray
    states: np.ndarray
    status: str = "completed"
    stopped_at: float | None = None
    detail: str = ""

    @property
    def final(self) -> np.ndarray:
        return self.states[-1]

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def message(self) -> str:
        """One sentence: how the integration ended."""
        at = f" at tau = {self.stopped_at:.6g}" if self.stopped_at is not None else ""
        text = {"completed": f"completed to tau = {self.tau[-1]:.6g}",
                "left_region": f"left the stationary region{at}",
                "diverged": f"diverged{at}",
                "budget": f"budget exhausted{at}",
                "failed": f"solver failed{at}"}[self.status]
        return text + (f" ({self.detail})" if self.detail else "")

    def require_completed(self) -> Trajectory:
        """``self`` if it reached ``tau_end``, else :class:`IntegrationStopped`."""
        if not self.completed:
            raise IntegrationStopped(f"the integration {self.message}")
        return self


def integrate(ode: LearningODE, initial, params: Mapping, tau_end: float,
              n_eval: int = 201, method: str = "LSODA", rtol: float = 1e-9,
              atol: float = 1e-11, budget: float | None = 60.0, bound: float = 1e6,
              ) -> Trajectory:
    """Integrate ``d(a, b, c)/dtau`` of every mode from ``initial`` towards ``tau_end``.

    ``initial`` has shape ``(3,)`` or ``(n_modes, 3)``; each value of ``params`` is a
    number or an array of shape ``(n_modes,)``. The result holds the states on
    ``n_eval`` evenly spaced times up to where the integration ended (see the module doc
    for the ways it ends); ``budget`` is in seconds of wall-clock time from the call,
    checked after every solver step (``None``: no limit); compiling the lambdified
    right-hand side and Jacobian on first use of an ODE counts towards it.
    A start outside the stationary region raises :class:`~symdyn.errors.UnstableError`.
    """
    deadline = None if budget is None else time.monotonic() + budget
    y0, values, tau_end = _inputs(ode, initial, params, tau_end, n_eval, method)
    n = y0.shape[0]
    field, jacobian = _system(ode, values, n)
    edges = _edges(ode, values, n, bound)
    kwargs = {"jac": jacobian} if method in IMPLICIT else {}
    import scipy.integrate

    solver = getattr(scipy.integrate, method)(field, 0.0, y0.ravel(), tau_end, rtol=rtol,
                                              atol=atol, **kwargs)
    grid = np.linspace(0.0, tau_end, n_eval)
    taus, rows = [0.0], [y0.ravel()]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        status, stop, detail = _march(solver, grid, taus, rows, edges, deadline)
    return Trajectory(np.asarray(taus), np.asarray(rows).reshape(len(rows), n, 3), status,
                      stop, detail)


def _inputs(ode: LearningODE, initial, params: Mapping, tau_end, n_eval, method):
    if method not in SOLVERS:
        raise SymdynError(f"unknown method {method!r}; use one of {', '.join(SOLVERS)}")
    tau_end = number(tau_end, "tau_end")
    if np.ndim(tau_end) or not tau_end > 0:
        raise SymdynError(f"tau_end must be a positive number, got {tau_end!r}")
    if isinstance(n_eval, bool) or not isinstance(n_eval, (int, np.integer)) or n_eval < 2:
        raise SymdynError(f"n_eval must be an integer >= 2, got {n_eval!r}")
    y0 = np.atleast_2d(number(initial, "the initial state"))
    if y0.ndim != 2 or y0.shape[1] != 3:
        raise SymdynError(f"the initial state must have shape (3,) or (n_modes, 3), "
                          f"got {np.shape(initial)}")
    n = y0.shape[0]
    values = {}
    for key, value in params.items():
        name = key if isinstance(key, str) else key.name
        value = number(value, name)
        try:
            values[name] = np.broadcast_to(value, (n,))
        except ValueError:
            raise SymdynError(f"{name} must be a number or one per mode ({n}), got "
                              f"shape {np.shape(value)}") from None
    check_region(ode, y0.T, values)
    return y0, values, float(tau_end)


def _system(ode: LearningODE, values: dict, n: int) -> tuple[Callable, Callable]:
    _, jac = bound_functions(ode, values)
    rhs = mode_field(ode, values, n)

    def field(_tau: float, y: np.ndarray) -> np.ndarray:
        return rhs(y)

    from scipy.linalg import block_diag

    def jacobian(_tau: float, y: np.ndarray) -> np.ndarray:
        blocks = jac(y.reshape(n, 3).T)          # (3, 3, n)
        return block_diag(*np.moveaxis(blocks, -1, 0))

    return field, jacobian


def _edges(ode: LearningODE, values: dict, n: int, bound: float) -> dict[str, Callable]:
    """``status -> margin(y)`` of the flat state, > 0 inside: the largest ``|lam|`` (the
    model's own leak map) below ``1 - EDGE_MARGIN``, the largest ``|a|, |b|, |c|`` below
    ``bound``.  Evaluated after every solver step: up to ``POINTWISE_MODES`` modes on the
    state's floats (the same numbers; NumPy's calls on a few entries cost more than the
    arithmetic), on arrays above."""
    alpha = values["alpha"] if "alpha" in values else float(ode.leak)
    if n > POINTWISE_MODES:
        return {"left_region": lambda y: 1 - EDGE_MARGIN - np.max(np.abs(
                    lam_numeric(y.reshape(-1, 3)[:, 0], alpha))),
                "diverged": lambda y: bound - np.max(np.abs(y))}
    alphas = np.broadcast_to(alpha, (n,)).tolist()

    def left_region(y: np.ndarray) -> float:
        return 1 - EDGE_MARGIN - max(abs(lam_numeric(a, al))
                                     for a, al in zip(y[0::3].tolist(), alphas, strict=True))

    return {"left_region": left_region, "diverged": lambda y: bound - max(map(abs, y.tolist()))}


def _march(solver, grid: np.ndarray, taus: list, rows: list, edges: dict,
           deadline: float | None) -> tuple[str, float | None, str]:
    """Step ``solver`` to its end, appending the grid points it passes; return how it
    ended: ``(status, tau where it stopped or None, detail)``."""
    index = 1
    while solver.status == "running":
        t_old, y_old = solver.t, solver.y.copy()
        message = solver.step()
        if solver.status == "failed" or not np.all(np.isfinite(solver.y)):
            _append(taus, rows, t_old, y_old)
            if solver.status == "failed":
                return "failed", float(t_old), str(message)
            return "diverged", float(t_old), "the solver produced a non-finite state"
        out = [(status, edge) for status, edge in edges.items() if edge(solver.y) <= 0]
        if out:
            dense = solver.dense_output()
            t_stop, status = min(
                (_crossing(lambda t, edge=edge, dense=dense: edge(dense(t)), t_old, solver.t),
                 status) for status, edge in out)
            _sample(grid, index, t_stop, dense, taus, rows)
            _append(taus, rows, t_stop, dense(t_stop))
            return status, float(t_stop), ""
        if index < len(grid) and grid[index] <= solver.t:  # the step passed grid points
            index = _sample(grid, index, solver.t, solver.dense_output(), taus, rows)
        if deadline is not None and time.monotonic() > deadline and solver.status == "running":
            _append(taus, rows, solver.t, solver.y.copy())
            return "budget", float(solver.t), ""
    return "completed", None, ""


def _append(taus: list, rows: list, tau: float, y: np.ndarray) -> None:
    if tau > taus[-1]:
        taus.append(float(tau))
        rows.append(np.asarray(y, dtype=float))


def _sample(grid: np.ndarray, index: int, t_end: float, dense, taus: list, rows: list) -> int:
    """Append the grid points up to ``t_end`` from the dense output; the next index."""
    while index < len(grid) and grid[index] <= t_end:
        _append(taus, rows, grid[index], dense(grid[index]))
        index += 1
    return index


def _crossing(f: Callable[[float], float], t_old: float, t_new: float) -> float:
    """Where ``f`` (positive at ``t_old``, not at ``t_new``) reaches zero."""
    from scipy.optimize import brentq

    if f(t_old) <= 0 or t_new <= t_old:
        return t_old
    return float(brentq(f, t_old, t_new, xtol=1e-12 * max(1.0, abs(t_new))))
