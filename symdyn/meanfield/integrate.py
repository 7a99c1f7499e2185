"""Integration of the matrix mean-field ODE ``d(W, U, V)/dtau = E[update / eta]``.

The solver is stepped by hand (SciPy's ``RK45`` or ``DOP853`` stepper, or the RKC of
:mod:`symdyn.meanfield.rkc`) so that a trajectory that leaves the stable region, produces
a non-finite value or exhausts its budget of field evaluations ends with a ``status`` and
the part computed so far, instead of an exception in the middle of SciPy or a silent NaN.
:func:`integrate_stack` integrates several students of one teacher as one ODE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import DOP853, RK45

from ..errors import SymdynError
from ..rules import Rule
from .field import (
    Matrices,
    RuleStack,
    TeacherField,
    _as_triple,
    field,
    field_stack,
    loss_and_radius,
    losses_and_radii,
    moments,
)
from .rkc import integrate_rkc
from .rule import matrix_rule

#: Trajectory endings: reached tau_end; the student became unstable (rho(J) >= 1);
#: a non-finite value; the budget of field evaluations ran out.
STATUSES = ("ok", "unstable", "nonfinite", "budget")


@dataclass(frozen=True)
class MatrixTrajectory:
    """``W[k], U[k], V[k]`` and the stationary ``loss[k]`` at learning time ``tau[k]``;
    ``radius[k]``: the spectral radius of ``(1-alpha)I + alpha W[k]``.

    ``status`` is one of :data:`STATUSES`; when it is not ``"ok"`` the arrays stop at the
    last requested time reached and ``message`` says why.
    """

    tau: np.ndarray
    W: np.ndarray
    U: np.ndarray
    V: np.ndarray
    loss: np.ndarray
    status: str
    message: str
    n_evaluations: int
    radius: np.ndarray

    @property
    def final(self) -> Matrices:
        return self.W[-1], self.U[-1], self.V[-1]


class _Packed:
    """Flatten (W, U, V) into one vector and back."""

    def __init__(self, student: Matrices) -> None:
        self.shapes = [m.shape for m in student]
        self.sizes = np.cumsum([0] + [m.size for m in student])

    def pack(self, mats) -> np.ndarray:
        return np.concatenate([np.ravel(m) for m in mats])

    def unpack(self, y: np.ndarray) -> Matrices:
        return tuple(y[self.sizes[i]:self.sizes[i + 1]].reshape(s)
                     for i, s in enumerate(self.shapes))


def integrate_matrices(rule: str | Rule, student, teacher, tau_end: float, leak: float = 1.0,
                       feedback: np.ndarray | None = None, truncation: int | None = None,
                       n_eval: int = 101, rtol: float = 1e-7, atol: float = 1e-9,
                       max_evaluations: int = 20000, method: str = "RK45"
                       ) -> MatrixTrajectory:
    """Integrate the matrix ODE of ``rule`` from ``student`` to ``tau_end``.

    Arguments as in :func:`symdyn.meanfield.expected_update`; output at ``n_eval``
    equally spaced times.  ``method``: ``"RK45"`` (SciPy, dense output), ``"DOP853"``
    (SciPy, 8th order: fewer evaluations at tight tolerances on non-stiff fields) or
    ``"RKC"`` (stabilised explicit, for long stiff runs; see :mod:`symdyn.meanfield.rkc`).
    Never raises for a trajectory that goes bad: see ``status``.
    """
    times = _times(method, tau_end, n_eval)
    tf = TeacherField.of(teacher, leak)
    mr = matrix_rule(rule, tf.leak, truncation)
    start = _as_triple(student, "student")
    moments(start, tf)  # bad initial conditions are the caller's error: raise now
    packed = _Packed(start)
    out, status, message, evals = _solve(
        lambda y: packed.pack(field(mr, packed.unpack(y), tf, feedback)), packed.pack(start),
        times, rtol, atol, max_evaluations, method)
    return _trajectory([packed.unpack(y) for y in out], tf, times, status, message, evals)


def integrate_stack(rule: str | Rule | list, students: list, teacher, tau_end: float,
                    leak: float = 1.0, feedbacks: list | None = None,
                    truncation: int | None = None, n_eval: int = 101, rtol: float = 1e-7,
                    atol: float = 1e-9, max_evaluations: int = 20000, method: str = "RK45"
                    ) -> list[MatrixTrajectory]:
    """:func:`integrate_matrices` for several students of one teacher at once, as one ODE:
    one field evaluation serves them all (:func:`~symdyn.meanfield.field.field_stack`),
    which at small N, where NumPy's call overhead is the cost, divides it by their number.
    The step size is shared (the error norm is taken over all of them), so each trajectory
    agrees with its own integration to the tolerance, not to rounding; the status and the
    count of evaluations are those of the joint integration.  ``rule`` may be a list, one
    rule per student (unbounded windows): students of different rules then share the
    evaluations too."""
    times = _times(method, tau_end, n_eval)
    tf = TeacherField.of(teacher, leak)
    mr = (RuleStack.of([matrix_rule(r, tf.leak, truncation) for r in rule])
          if isinstance(rule, list) else matrix_rule(rule, tf.leak, truncation))
    starts = [_as_triple(st, "student") for st in students]
    for st in starts:
        moments(st, tf)  # bad initial conditions are the caller's error: raise now
    stack = tuple(np.stack(m) for m in zip(*starts, strict=True))
    B = None if feedbacks is None else np.stack([np.asarray(b, dtype=float) for b in feedbacks])
    packed = _Packed(stack)
    out, status, message, evals = _solve(
        lambda y: packed.pack(field_stack(mr, packed.unpack(y), tf, B)), packed.pack(stack),
        times, rtol, atol, max_evaluations, method)
    stacks = [packed.unpack(y) for y in out]
    return [_trajectory([tuple(m[i] for m in mats) for mats in stacks], tf, times, status,
                        message, evals) for i in range(len(starts))]


def _times(method: str, tau_end: float, n_eval: int) -> np.ndarray:
    if method not in ("RK45", "DOP853", "RKC"):
        raise SymdynError(f"method must be 'RK45', 'DOP853' or 'RKC', got {method!r}")
    if not np.isfinite(tau_end) or tau_end <= 0 or n_eval < 2:
        raise SymdynError(f"need tau_end > 0 and n_eval >= 2, got {tau_end}, {n_eval}")
    return np.linspace(0.0, float(tau_end), n_eval)


def _solve(fn, y0: np.ndarray, times: np.ndarray, rtol: float, atol: float, budget: int,
           method: str) -> tuple[list, str, str, int]:
    """The states at ``times`` (as far as reached), status, message and evaluations."""
    unstable: list[str] = []

    def rhs(_tau: float, y: np.ndarray) -> np.ndarray:
        # A trial stage outside the stable region returns NaN: RK45 then rejects the step
        # and shrinks it; only if the step size collapses is the trajectory unstable.
        if not np.all(np.isfinite(y)):  # a stage after a rejected one: reject again
            return np.full(y.shape, np.nan)
        try:
            return fn(y)
        except SymdynError as error:
            unstable.append(str(error))
            return np.full(y.shape, np.nan)

    out = [y0]
    if method == "RKC":
        out, status, evals = integrate_rkc(lambda y: rhs(0.0, y), y0, times, rtol, atol,
                                           budget)
        message = "" if status == "ok" else (unstable[-1] if unstable else status)
        if status == "stalled":
            status = "unstable" if unstable else "nonfinite"
    else:
        status, message, evals = _run(rhs, out, times, rtol, atol, budget, unstable,
                                      DOP853 if method == "DOP853" else RK45)
    return out, status, message, evals


def _trajectory(mats: list, tf: TeacherField, times: np.ndarray, status: str, message: str,
                evals: int) -> MatrixTrajectory:
    n = len(mats)
    mats, loss, radius = _with_loss(mats, tf)
    if len(mats) < n:
        status, message = "unstable", "the dense output left the stable region"
    return MatrixTrajectory(times[:len(mats)], *(np.array(x) for x in zip(*mats, strict=True)),
                            loss, status, message, evals, radius)


def _with_loss(mats: list, tf: TeacherField) -> tuple[list, np.ndarray, np.ndarray]:
    """Stationary losses and spectral radii along the output, cut at the first unstable
    point: all points in one pass of the eigenbasis route where it applies to each."""
    fast = losses_and_radii(tuple(np.array(x) for x in zip(*mats, strict=True)), tf)
    if fast is not None:
        loss, radius = fast
        n = int(np.argmax(radius >= 1.0)) if np.any(radius >= 1.0) else len(mats)
        return mats[:n], loss[:n], radius[:n]
    rows = []
    for m in mats:
        try:
            rows.append(loss_and_radius(m, tf))
        except SymdynError:
            break
    loss, radius = np.array(rows).reshape(-1, 2).T
    return mats[:len(rows)], loss, radius


def _run(rhs, out: list, times: np.ndarray, rtol: float, atol: float, budget: int,
         unstable: list[str], stepper=RK45) -> tuple[str, str, int]:
    """Step ``stepper``, appending the dense output at ``times[1:]`` to ``out``."""
    solver = stepper(rhs, 0.0, out[0], times[-1], rtol=rtol, atol=atol)
    k = 1
    while k < len(times):
        unstable.clear()
        msg = solver.step()
        if msg is not None or solver.status == "failed":
            if unstable:
                return "unstable", f"at tau = {solver.t:.6g}: {unstable[-1]}", solver.nfev
            return "nonfinite", f"solver failed at tau = {solver.t:.6g}: {msg}", solver.nfev
        if not np.all(np.isfinite(solver.y)):
            return "nonfinite", f"non-finite weights at tau = {solver.t:.6g}", solver.nfev
        if times[k] <= solver.t:  # DOP853's interpolant costs 3 evaluations: only if used
            dense = solver.dense_output()
            while k < len(times) and times[k] <= solver.t:
                out.append(dense(times[k]))
                k += 1
        if solver.nfev > budget and k < len(times):
            return "budget", f"{solver.nfev} field evaluations reached tau = {solver.t:.6g}", \
                solver.nfev
    return "ok", "", solver.nfev
