"""The mean-field learning ODE of whole weight matrices.

Student ``h_t = J h_{t-1} + alpha U x_t`` with ``J = (1 - alpha) I + alpha W``, teacher
likewise with ``J*``; error ``e_t = V* h*_t - V h_t``, loss ``1/2 E|e|^2``.  A rule with
trace matrix ``K = kappa(J)``, feedback ``F`` (N x M) and window ``k`` updates::

    dW = alpha sum_{m<k} (K^T)^m F e_t h_{t-1-m}^T,   dU = alpha sum_{m<k} (K^T)^m F e_t x_{t-m}^T,
    dV = e_t h_t^T.

White inputs make every stationary moment a Stein sum.  With ``C = E[h h^T]`` and
``C* = E[h* h^T]``::

    C  = J C J^T + alpha^2 U U^T,       C* = J* C* J^T + alpha^2 U* U^T,
    E[e_t h_{t-1-m}^T] = V* J*^{m+1} C* - V J^{m+1} C,
    E[e_t x_{t-m}^T]   = alpha (V* J*^m U* - V J^m U),

so for an unbounded window, with the adjoint sums ``X = F V* + K^T X J*`` and
``Y = F V + K^T Y J``::

    E[dW] = alpha (X J* C* - Y J C),    E[dU] = alpha^2 (X U* - Y U),    E[dV] = V* C* - V C.

For BPTT (``K = J``, ``F = V^T``) this is minus the gradient of the stationary loss:
``Y`` and ``X`` are the adjoint Lyapunov solutions of that loss.  All Stein equations
share two real Schur decompositions, of ``J`` and ``J*`` (their transposes come free).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import SymdynError, UnstableError
from . import doubling, modal
from .modal import Modal
from .rule import MatrixRule
from .stein import Schur, stein

Matrices = tuple[np.ndarray, np.ndarray, np.ndarray]


def _as_triple(x, who: str) -> Matrices:
    try:
        W, U, V = (np.asarray(m, dtype=float) for m in x)
    except (TypeError, ValueError):
        raise SymdynError(f"{who} must be a tuple (W, U, V) of numeric arrays") from None
    if W.ndim != 2 or W.shape[0] != W.shape[1] or U.ndim != 2 or V.ndim != 2 \
            or U.shape[0] != W.shape[0] or V.shape[1] != W.shape[0]:
        raise SymdynError(f"{who}: need W (N,N), U (N,D), V (M,N); got "
                          f"{W.shape}, {U.shape}, {V.shape}")
    if not all(np.all(np.isfinite(m)) for m in (W, U, V)):
        raise SymdynError(f"{who} has non-finite entries (NaN or inf)")
    return W, U, V


def jacobian_matrix(W: np.ndarray, leak: float) -> np.ndarray:
    """``J = (1 - alpha) I + alpha W``: the matrix form of the leak map of symdyn.model."""
    if leak == 1.0:  # the same numbers without building I (once per field evaluation)
        return np.array(W, dtype=float)
    return (1.0 - leak) * np.eye(W.shape[-1]) + leak * W


def _check_leak(leak: float) -> float:
    leak = float(leak)
    if not 0.0 < leak <= 1.0:
        raise SymdynError(f"leak must lie in (0, 1], got {leak}")
    return leak


def _check_radius(rho: float, who: str) -> None:
    if rho >= 1.0:
        raise UnstableError(f"{who}: spectral radius of (1-alpha)I + alpha W is {rho:.6g} >= 1, "
                            "so the stationary process and the mean field do not exist")


def _schur_stable(J: np.ndarray, who: str) -> Schur:
    s = Schur.of(J)
    _check_radius(float(np.max(np.abs(s.eigenvalues))), who)
    return s


@dataclass
class TeacherField:
    """The teacher's part of the field, computed once and reused for many students."""

    W: np.ndarray
    U: np.ndarray
    V: np.ndarray
    leak: float

    @classmethod
    def of(cls, teacher, leak: float) -> TeacherField:
        return cls(*_as_triple(teacher, "teacher"), _check_leak(leak))

    @cached_property
    def J(self) -> np.ndarray:
        return jacobian_matrix(self.W, self.leak)

    @cached_property
    def schur(self) -> Schur:
        return _schur_stable(self.J, "teacher")

    @cached_property
    def modal(self) -> Modal | None:
        """The eigendecomposition of ``J*`` for the fast route (None: ill-conditioned)."""
        m = Modal.of(self.J)
        if m is not None:
            _check_radius(m.radius, "teacher")
        return m

    @cached_property
    def powers(self) -> list:
        """``J*^(2^k)`` with their squared norms, for the doubling route (grown there)."""
        return doubling.powers(self.J)

    @cached_property
    def power(self) -> float:
        """``1/2 tr(V* E[h* h*^T] V*^T)``: the loss of a silent student."""
        C = stein(self.schur, self.schur.t, self.leak**2 * self.U, self.U)
        return 0.5 * float(np.trace(self.V @ C @ self.V.T))


@dataclass
class Moments:
    """Stationary moments of one student against the teacher (see module doc)."""

    J: np.ndarray
    schur: Schur | None  # None when computed by the modal route
    C: np.ndarray   # E[h h^T]
    Cx: np.ndarray  # E[h* h^T]


def moments(student: Matrices, teacher: TeacherField) -> Moments:
    """Schur factor of ``J`` and the covariances ``C`` and ``C*`` (two Stein solves)."""
    W, U, _ = student
    a = teacher.leak
    J = jacobian_matrix(W, a)
    s = _schur_stable(J, "student")
    C = stein(s, s.t, a * a * U, U)
    Cx = stein(teacher.schur, s.t, a * a * teacher.U, U)
    return Moments(J, s, C, Cx)


def stationary_loss(student, teacher, leak: float = 1.0) -> float:
    """``1/2 E|y* - y|^2`` under the stationary process at frozen weights."""
    tf = teacher if isinstance(teacher, TeacherField) else TeacherField.of(teacher, leak)
    return loss_and_radius(_as_triple(student, "student"), tf)[0]


def loss_and_radius(student: Matrices, tf: TeacherField) -> tuple[float, float]:
    """The stationary loss and the spectral radius of the student's ``J``, which the loss
    computes anyway (one eigen- or Schur decomposition for both)."""
    W, U, V = student
    s = Modal.of(jacobian_matrix(W, tf.leak)) if tf.modal is not None else None
    if s is not None:  # the eigenbasis route, as in field()
        rho = s.radius
        _check_radius(rho, "student")
        cross, own = map(float, modal.readout_traces(s, tf.modal, U, tf.U, V, tf.V, tf.leak))
    else:
        m = moments(student, tf)
        rho = float(np.max(np.abs(m.schur.eigenvalues)))
        cross, own = float(np.trace(tf.V @ m.Cx @ V.T)), float(np.trace(V @ m.C @ V.T))
    return tf.power - cross + 0.5 * own, rho


def losses_and_radii(students: Matrices, tf: TeacherField
                     ) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`loss_and_radius` of each student of a stack (``W`` (S, N, N), ...) by one
    pass of the eigenbasis route, the same numbers (unstable students included: the
    caller cuts); None where a student would take the Schur route (an ill-conditioned
    eigenvector matrix), so that the caller goes student by student."""
    W, U, V = students
    s = Modal.of(jacobian_matrix(W, tf.leak)) if tf.modal is not None else None
    if s is None:
        return None
    cross, own = modal.readout_traces(s, tf.modal, U, tf.U, V, tf.V, tf.leak)
    return tf.power - cross + 0.5 * own, np.max(np.abs(s.lam), axis=-1)


def _feedback(rule: MatrixRule, V: np.ndarray, B: np.ndarray | None) -> np.ndarray:
    VT = np.swapaxes(V, -1, -2)  # V^T, or each V^T of a stack
    F = rule.fb_c * VT
    if rule.uses_feedback_matrix:
        F = F + rule.fb_beta * _feedback_matrix(B, VT, f"rule {rule.name!r} needs")
    return F


def _feedback_matrix(B: np.ndarray | None, VT: np.ndarray, who: str) -> np.ndarray:
    """``B`` as a float array of the shape of ``V^T`` (each ``V^T`` of a stack), finite;
    ``who`` ("rule 'rflo' needs") begins the error where it is missing."""
    if B is None:
        raise SymdynError(f"{who} the feedback matrix B (N x M)")
    B = np.asarray(B, dtype=float)
    if B.shape != VT.shape or not np.all(np.isfinite(B)):
        raise SymdynError(f"feedback B must be a finite {VT.shape} array, got {B.shape}")
    return B


def field(rule: MatrixRule, student: Matrices, teacher: TeacherField,
          B: np.ndarray | None = None, m: Moments | None = None) -> Matrices:
    """``(E dW, E dU, E dV)`` per unit learning rate (see module doc).

    Without given moments ``m`` the doubling route of :mod:`symdyn.meanfield.doubling`
    (N >= DOUBLING_MIN_N; real products only) and then the eigenbasis route of
    :mod:`symdyn.meanfield.modal` are tried first (same field, fewer and larger BLAS
    calls); they decline near radius one and for ill-conditioned eigenvectors, and the
    Schur route below is used.
    """
    W, U, V = student
    t, a = teacher, teacher.leak
    if W.shape != t.W.shape or U.shape != t.U.shape or V.shape != t.V.shape:
        raise SymdynError(f"student shapes {W.shape}, {U.shape}, {V.shape} differ from the "
                          f"teacher's {t.W.shape}, {t.U.shape}, {t.V.shape}")
    F = _feedback(rule, V, B)
    if m is None:
        fast = _doubled_field(rule, student, t, F)
        if fast is None:
            fast = _modal_field(rule, student, t, F)
        if fast is not None:
            return fast
        m = moments(student, t)
    dV = t.V @ m.Cx - V @ m.C
    if rule.truncation is None:
        X, Y = _adjoints(rule, m, t, F, V)
        dW = a * (X @ t.J @ m.Cx - Y @ m.J @ m.C)
        dU = a * a * (X @ t.U - Y @ U)
    else:
        dW, dU = _windowed(rule, m, t, F, student)
    return dW, dU, dV


@dataclass(frozen=True, eq=False)
class RuleStack:
    """One rule with an unbounded window per student of a stack, as coefficient arrays:
    ``decay[i]`` (ascending powers, zero-padded), ``fb_c[i]``, ``fb_beta[i]``; built once
    per integration (:meth:`of`), so that a field evaluation costs no loop over rules."""

    rules: tuple[MatrixRule, ...]
    decay: np.ndarray
    fb_c: np.ndarray
    fb_beta: np.ndarray

    @classmethod
    def of(cls, rules: Sequence[MatrixRule]) -> RuleStack:
        rules = tuple(rules)
        bounded = [r.name for r in rules if r.truncation is not None]
        if bounded:
            raise SymdynError(f"a rule stack takes unbounded windows only, not {bounded}")
        decay = np.zeros((len(rules), max(len(r.decay) for r in rules)))
        for i, r in enumerate(rules):
            decay[i, :len(r.decay)] = r.decay
        return cls(rules, decay, np.array([r.fb_c for r in rules]),
                   np.array([r.fb_beta for r in rules]))

    def feedback(self, V: np.ndarray, B: np.ndarray | None) -> np.ndarray:
        """``F = fb_c V^T + fb_beta B`` of each student (``V`` (S, M, N), ``B`` (S, N, M)),
        ``B`` checked as :func:`field_stack` checks it for one rule."""
        VT = np.swapaxes(V, -1, -2)
        F = self.fb_c[:, None, None] * VT
        if np.any(self.fb_beta != 0.0):
            needing = [r.name for r in self.rules if r.uses_feedback_matrix]
            F = F + self.fb_beta[:, None, None] * _feedback_matrix(B, VT, f"rules {needing} need")
        return F

    def trace_eigenvalues(self, lam: np.ndarray) -> np.ndarray:
        """``kappa_i(lam_i)`` of each student, checked below one in modulus."""
        kappa = _horner([self.decay[:, j, None] for j in range(self.decay.shape[1])], lam)
        size = np.max(np.abs(kappa), axis=-1)
        if np.any(size >= 1.0):
            i = int(np.argmax(size >= 1.0))
            _check_trace(self.rules[i], float(size[i]))
        return kappa


def field_stack(rule: MatrixRule | RuleStack, students: Matrices, teacher: TeacherField,
                B: np.ndarray | None = None) -> Matrices:
    """:func:`field` of each student of a stack (``W`` (S, N, N), ``U`` (S, N, D), ``V``
    (S, M, N), ``B`` (S, N, M)): one pass of the eigenbasis route for all of them when it
    applies (unbounded window, every eigenvector matrix well conditioned), else one
    :func:`field` call each.  ``rule``: one rule for all, or a :class:`RuleStack` of one
    rule per student (the route takes a trace polynomial and a feedback per student, so
    different rules share the pass)."""
    W, U, V = students
    mixed = isinstance(rule, RuleStack)
    if (mixed or rule.truncation is None) and teacher.modal is not None:
        F = rule.feedback(V, B) if mixed else _feedback(rule, V, B)
        fast = _modal_field(rule, students, teacher, F)
        if fast is not None:
            return fast
    rules = rule.rules if mixed else [rule] * W.shape[0]
    each = [field(r, (W[i], U[i], V[i]), teacher, None if B is None else B[i])
            for i, r in enumerate(rules)]
    return tuple(np.stack(m) for m in zip(*each, strict=True))


#: From this N on the doubling route is tried first. Measured per field evaluation (one
#: BLAS thread, student radius 0.5, teacher 0.8): N = 32 0.45-0.75 ms against 0.8-1.1 ms
#: for the eigenbasis route, N = 16 0.2 against 0.35 ms; at N = 8 both ~0.2 ms, so the
#: small networks (the gap's N = 3, most tests) keep the eigenbasis route.
DOUBLING_MIN_N = 16


def _doubled_field(rule: MatrixRule, student: Matrices, t: TeacherField, F: np.ndarray
                   ) -> Matrices | None:
    """The field by the doubling route (:mod:`symdyn.meanfield.doubling`), or None: for
    N < DOUBLING_MIN_N, a trace polynomial other than ``J`` or a constant, or when the
    route declines."""
    W, U, V = student
    bptt = rule.decay == (0.0, 1.0)
    if W.shape[0] < DOUBLING_MIN_N or (rule.truncation is None
                                       and not (bptt or len(rule.decay) == 1)):
        return None
    a = t.leak
    J = jacobian_matrix(W, a)
    adjoints = bptt and rule.truncation is None
    sums = doubling.moments_and_adjoints(J, t.powers, a * U, a * t.U,
                                         *((F, t.V.T, V.T) if adjoints else ()))
    if sums is None:
        return None
    C, Cx, X, Y = sums
    m = Moments(J, None, C, Cx)
    if rule.truncation is not None:
        dW, dU = _windowed(rule, m, t, F, student)
        return dW, dU, t.V @ Cx - V @ C
    if not adjoints:  # a scalar trace decay: closed form
        X, Y = _adjoints(rule, m, t, F, V)
    return a * (X @ t.J @ Cx - Y @ J @ C), a * a * (X @ t.U - Y @ U), t.V @ Cx - V @ C


def _modal_field(rule: MatrixRule | RuleStack, student: Matrices, t: TeacherField,
                 F: np.ndarray) -> Matrices | None:
    """The field by the eigenbasis route, or None if it declines (see modal.py); ``rule``
    may be a :class:`RuleStack`, one rule per student of a stack."""
    W, U, V = student
    if t.modal is None:
        return None
    J = jacobian_matrix(W, t.leak)
    s = Modal.of(J)
    if s is None:
        return None
    _check_radius(s.radius, "student")
    if isinstance(rule, RuleStack):  # one rule per student of a stack (field_stack)
        return modal.unbounded(s, t.modal, rule.trace_eigenvalues(s.lam), F, V, t.V, U, t.U,
                               t.leak)
    if rule.truncation is None:
        kappa = _horner(rule.decay, s.lam)
        _check_trace(rule, float(np.max(np.abs(kappa))))
        return modal.unbounded(s, t.modal, kappa, F, V, t.V, U, t.U, t.leak)
    _, _, Ch, Chx = modal.covariances(s, t.modal, U, t.U, t.leak)
    C, Cx = modal.real_covariances(s, t.modal, Ch, Chx)
    dW, dU = _windowed(rule, Moments(J, None, C, Cx), t, F, student)
    return dW, dU, t.V @ Cx - V @ C


def _horner(coefficients, lam: np.ndarray) -> np.ndarray:
    """``sum_j coefficients[j] lam^j`` (ascending powers; each coefficient a number, or an
    array that broadcasts against ``lam``) by Horner, as np.polyval without its overhead."""
    kappa = np.zeros_like(lam)
    for coefficient in reversed(coefficients):
        kappa = kappa * lam + coefficient
    return kappa


def _adjoints(rule: MatrixRule, m: Moments, t: TeacherField, F: np.ndarray, V: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """``X = F V* + K^T X J*`` and ``Y = F V + K^T Y J`` with ``K = kappa(J)``.

    A scalar trace decay (``K = kappa I``, e.g. RFLO's leak-only trace) sums in closed
    form, ``X = F V* (I - kappa J*)^{-1}``: two solves with M right-hand sides.
    """
    if len(rule.decay) == 1:
        kappa = rule.decay[0]
        _check_trace(rule, abs(kappa))
        if kappa == 0.0:  # K = 0 (RFLO at leak 1): the solves with I would return V*, V
            return F @ t.V, F @ V
        eye = np.eye(m.J.shape[0])
        return (F @ np.linalg.solve((eye - kappa * t.J).T, t.V.T).T,
                F @ np.linalg.solve((eye - kappa * m.J).T, V.T).T)
    sk = m.schur if rule.decay == (0.0, 1.0) else m.schur.apply(rule.trace_matrix)
    _check_trace(rule, float(np.max(np.abs(sk.eigenvalues))))
    return stein(sk.t, t.schur, F, t.V.T), stein(sk.t, m.schur, F, V.T)


def _check_trace(rule: MatrixRule, rho: float) -> None:
    if rho >= 1.0:
        raise UnstableError(f"rule {rule.name!r}: the trace matrix kappa(J) has spectral "
                            f"radius {rho:.6g} >= 1, so an unbounded trace has no stationary "
                            "statistics (use a window)")


def _windowed(rule: MatrixRule, m: Moments, t: TeacherField, F: np.ndarray,
              student: Matrices) -> tuple[np.ndarray, np.ndarray]:
    """The finite sums over the window, O(k N^2 M): ``L = (K^T)^j F`` is N x M."""
    _, U, V = student
    KT = rule.trace_matrix(m.J).T
    L, Pt, Ps = F, t.V, V               # (K^T)^j F, V* J*^j, V J^j
    dW = np.zeros_like(m.J)
    dU = np.zeros_like(U)
    for _ in range(rule.truncation):
        Pt1, Ps1 = Pt @ t.J, Ps @ m.J
        dW += L @ (Pt1 @ m.Cx - Ps1 @ m.C)
        dU += L @ (Pt @ t.U - Ps @ U)
        L, Pt, Ps = KT @ L, Pt1, Ps1
    return t.leak * dW, t.leak**2 * dU
