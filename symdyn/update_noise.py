"""Update noise: the long-run covariance ``D(theta)`` of the online update of one mode.

With label noise the teacher's output is ``y*_t = c* h*_t + sigma xi_t`` (``xi_t`` white,
standard normal, independent of the inputs). Append ``xi_t`` to the joint state of
:mod:`symdyn.averaging`: ``w_t = (z_t, xi_t)`` obeys ``w_t = F w_{t-1} + G n_t`` with
``F = diag(F_z, 0)``, ``n_t = (x_t, xi_t)``. The error ``e_t = c* h*_t + sigma xi_t - c h_t``
is a linear read-out of ``w_t``, so each component of the per-step update
``g_t = (f e_t s^a_t, f e_t s^b_t, e_t h_t)`` (per unit learning rate) is a quadratic form
``g^i_t = w_t^T Q_i w_t``. With ``P`` the stationary covariance (``P = F P F^T + G G^T``):

* mean: ``E[g^i] = tr(Q_i P)`` -- ``sigma`` drops out (``xi`` is independent of every
  other factor), so the mean ODE is unchanged; the loss ``1/2 E[e^2]`` gains ``sigma^2/2``;
* lag-``k`` covariance (Isserlis' theorem, ``E[w_{t+k} w_t^T] = F^k P``)::

      Cov(g^i_t, g^j_{t+k}) = 2 tr(Q_i P (F^T)^k Q_j F^k P);

* long-run covariance ``D = sum_{k in Z} Cov(g_t, g_{t+k})``, the lag sum a geometric
  series summed by a Stein equation::

      D_ij = 2 tr(Q_i P Q_j P) + 2 tr(P Q_i P X_j) + 2 tr(P Q_j P X_i),
      X_j = sum_{k>=1} (F^T)^k Q_j F^k  solves  X_j = F^T X_j F + F^T Q_j F.

``D`` is what drives the weights: ``eta^2 sum_{t<T} g_t`` has covariance ``eta tau D``
over learning time ``tau = eta T``. The same formulas run symbolically (SymPy, the
triangular Stein solver of :mod:`symdyn.averaging`) and numerically (NumPy/SciPy).

**On the optimal manifold** ``{a = a*, b c = b* c*}`` the student reproduces the teacher
path by path (``c h_t = c* h*_t``), so ``e_t = sigma xi_t`` and
``g_t = sigma xi_t v_t`` with ``v_t = (f s^a_t, f s^b_t, h_t)``. ``xi_t`` is independent of
``v_t`` and of every other factor at any other lag, so all lagged terms vanish and
``D = sigma^2 E[v v^T]``: sigma^2 times the (lag-0 = long-run) covariance of the rule's
(feedback x trace, h) vector. For BPTT ``v = dy_t/dtheta`` and this is ``sigma^2`` times
the Gauss-Newton matrix. At ``sigma = 0`` the update noise vanishes there entirely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import sympy as sp
from scipy.linalg import lu_factor, solve_discrete_lyapunov
from scipy.linalg.lapack import dgetrf, dgetrs

from . import symbols as S
from .averaging import joint_state, solve_stein
from .codegen import NO_DOCSTRING
from .errors import SymdynError, UnknownSymbolError, UnstableError
from .model import recurrence
from .ode import LearningODE, working_rule

#: Arguments of the numeric matrices, in this order (working variables).
NUMERIC_ARGS = (S.lam, S.lam_star, S.b, S.c, S.b_star, S.c_star, S.beta, S.alpha, S.sigma)


@dataclass(frozen=True)
class NoisyState:
    """``w_t = F w_{t-1} + G n_t`` with label noise appended, and the quadratic forms.

    ``Q``: the three symmetric matrices with ``g^i = w^T Q_i w`` (a, b, c components);
    ``loss``: ``1/2 e^2 = w^T L w``; ``V``: rows ``(f s^a, f s^b, h)`` over ``w``.
    All in working variables (``lam, lam_star``) with the rule's trace decay substituted.
    """

    F: sp.Matrix
    G: sp.Matrix
    Q: tuple[sp.Matrix, sp.Matrix, sp.Matrix]
    loss: sp.Matrix
    V: sp.Matrix


def _sym(u: sp.Matrix, v: sp.Matrix) -> sp.Matrix:
    """The symmetric matrix of the quadratic form ``(u w)(v w)``."""
    return (u.T * v + v.T * u) / 2


@lru_cache(maxsize=32)
def noisy_state(ode: LearningODE) -> NoisyState:
    """The joint state of ``ode``'s rule with ``xi_t`` appended (see module doc)."""
    rule = working_rule(ode.rule, ode.leak)
    base = joint_state(rule, ode.leak)
    kappa = {S.kappa: rule.trace_decay}
    n = base.F.rows
    F = sp.diag(base.F.subs(kappa), 0)
    G = sp.zeros(n + 1, 2)
    G[:n, 0] = base.G
    G[n, 1] = 1
    r = {k: v.subs(kappa).row_join(sp.zeros(1, 1)) for k, v in base.readouts.items()}
    xi = sp.zeros(1, n + 1)
    xi[0, n] = 1
    e = S.c_star * r["h*"] - S.c * r["h"] + S.sigma * xi
    f = rule.feedback
    Q = (f * _sym(e, r["sa"]), f * _sym(e, r["sb"]), _sym(e, r["h"]))
    V = sp.Matrix.vstack(f * r["sa"], f * r["sb"], r["h"])
    return NoisyState(F, G, Q, (e.T * e) / 2, V)


def long_run_covariance(F, P, Q, stein, tidy=lambda x: x) -> list[list]:
    """``D_ij = 2 tr(Q_i P Q_j P) + 2 tr(P Q_i P X_j) + 2 tr(P Q_j P X_i)`` (module doc).

    Works on SymPy matrices and NumPy arrays alike; ``stein(A, R)`` solves
    ``X = A X A^T + R``; ``tidy`` cancels intermediate SymPy results (identity for NumPy).
    """
    X = [tidy(stein(F.T, tidy(F.T @ q @ F))) for q in Q]
    QP = [tidy(q @ P) for q in Q]
    PQP = [tidy(P @ qp) for qp in QP]
    n = len(Q)
    return [[tidy(2 * ((QP[i] @ QP[j]).trace() + (PQP[i] @ X[j]).trace()
                       + (PQP[j] @ X[i]).trace())) for j in range(n)] for i in range(n)]


# --- symbolic -------------------------------------------------------------------------
def _working_values(ode: LearningODE, values: dict | None) -> dict:
    """Public values (``a_star`` -> ``lam_star``, ``a`` -> ``lam``) in working variables."""
    out = {}
    for key, value in (values or {}).items():
        symbol = S.by_name(key) if isinstance(key, str) else key
        value = sp.nsimplify(value, rational=True) if isinstance(value, float) else value
        if symbol is S.a:
            out[S.lam] = 1 - ode.leak + ode.leak * sp.sympify(value)
        elif symbol is S.a_star:
            out[S.lam_star] = 1 - ode.leak + ode.leak * sp.sympify(value)
        else:
            out[symbol] = sp.sympify(value)
    return out


def _tidy(x):
    """Cancel a SymPy matrix entry by entry, or a scalar."""
    return x.applyfunc(sp.cancel) if isinstance(x, sp.MatrixBase) else sp.cancel(x)


def _cancel(m: sp.Matrix) -> sp.Matrix:
    return m.applyfunc(sp.cancel)


def symbolic_moments(ode: LearningODE, values: dict | None = None
                     ) -> tuple[sp.Matrix, sp.Matrix, sp.Expr, sp.Matrix]:
    """``(D, mean, loss, sigma^2 V P V^T)`` symbolically in public symbols.

    ``values`` pins parameters first (public names to numbers, e.g. ``{"a_star": 0,
    "b_star": 1}``), which keeps the rational functions small; the full symbolic ``D``
    is large but exact.
    """
    state = noisy_state(ode)
    subs = _working_values(ode, values)
    F, G = state.F.subs(subs), state.G.subs(subs)
    Q = [q.subs(subs) for q in state.Q]
    P = solve_stein(F, G * G.T)
    D = sp.Matrix(long_run_covariance(F, P, Q, solve_stein, _tidy))
    mean = sp.Matrix([(q @ P).trace() for q in Q])
    loss = (state.loss.subs(subs) * P).trace()
    V = state.V.subs(subs)
    reduced = S.sigma**2 * V * P * V.T
    back = ode.model.from_working()
    to_public = lambda m: _cancel(sp.Matrix(m).subs(back))  # noqa: E731
    return (to_public(D), to_public(mean), sp.factor(sp.cancel(sp.sympify(loss).subs(back))),
            to_public(reduced))


@lru_cache(maxsize=32)
def on_manifold_noise(ode: LearningODE) -> sp.Matrix:
    """``sigma^2 V P V^T`` in public symbols: the noise covariance on the optimal manifold."""
    state = noisy_state(ode)
    P = solve_stein(state.F, state.G * state.G.T)
    return _cancel(S.sigma**2 * state.V * P * state.V.T).subs(ode.model.from_working()) \
        .applyfunc(lambda e: sp.factor(sp.cancel(e)))


# --- numeric --------------------------------------------------------------------------
@lru_cache(maxsize=32)
def _numeric_matrices(ode: LearningODE) -> tuple[Callable, np.ndarray, int,
                                                 list[tuple[int, int]]]:
    """``F, G, Q_1, Q_2, Q_3, V`` as one flat list of their entries (row by row, one
    conversion to an array per point): the non-zero entries lambdified, their indices in
    the list, its length, and the matrices' shapes. Most entries are zero (29 of 125
    are not for BPTT); printing only the others took a third of the time."""
    state = noisy_state(ode)
    exprs = [sp.Matrix(e) for e in (state.F, state.G, *state.Q, state.V)]
    flat = [x for e in exprs for x in e]
    nonzero = [i for i, x in enumerate(flat) if x != 0]
    compiled = sp.lambdify(NUMERIC_ARGS, [flat[i] for i in nonzero], "numpy", **NO_DOCSTRING)
    return compiled, np.array(nonzero, dtype=int), len(flat), [e.shape for e in exprs]


def _matrices_at(ode: LearningODE, args: list[float]) -> list[np.ndarray]:
    """The matrices of :func:`_numeric_matrices` at the numeric arguments ``args``."""
    compiled, nonzero, size, shapes = _numeric_matrices(ode)
    flat, out, i = np.zeros(size), [], 0
    flat[nonzero] = np.array(compiled(*args), dtype=float)
    for rows, cols in shapes:
        out.append(flat[i:i + rows * cols].reshape(rows, cols))
        i += rows * cols
    return out


#: Teacher and feedback values a point may leave out.
DEFAULTS = {"a_star": 0.0, "b_star": 1.0, "c_star": 1.0, "beta": 1.0}


def complete_point(ode: LearningODE, point: dict) -> dict[str, float]:
    """Every public value at ``point``: the state (required), ``alpha`` (required when the
    leak is symbolic), parameters pinned by ``ode.specialize`` and :data:`DEFAULTS`."""
    given = {(k if isinstance(k, str) else k.name): float(v) for k, v in point.items()}
    leak = given.get("alpha") if ode.leak == S.alpha else float(ode.leak)
    if leak is None:
        raise UnknownSymbolError("this ODE has a symbolic leak: give alpha in the point")
    pinned = {s.name: float(v) for s, v in ode.fixed}
    values = {**DEFAULTS, **pinned, **given, "alpha": leak}
    missing = [n for n in ("a", "b", "c") if n not in values]
    if missing:
        raise UnknownSymbolError(f"missing {missing[0]!r} in the point")
    return values


def numeric_arguments(ode: LearningODE, point: dict, sigma: float = 0.0) -> list[float]:
    """The values of :data:`NUMERIC_ARGS` at a public ``point`` (names -> numbers)."""
    given = {(k if isinstance(k, str) else k.name): float(v) for k, v in point.items()}
    allowed = {"a", "b", "c", "a_star", "b_star", "c_star", "beta", "alpha", "sigma"}
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise UnknownSymbolError(f"unknown parameter {unknown[0]!r} in the point; use "
                                 + ", ".join(sorted(allowed)))
    values = complete_point(ode, given)
    leak = values["alpha"]
    lam, lam_star = recurrence(values["a"], leak), recurrence(values["a_star"], leak)
    for name, value in (("lambda", lam), ("lambda_star", lam_star)):
        if not abs(value) < 1:
            raise UnstableError(f"|{name}| = {abs(value):.6g} >= 1 at this point: the network "
                                "is unstable and the update has no stationary statistics")
    sig = given.get("sigma", sigma)
    if sig < 0 or not np.isfinite(sig):
        raise SymdynError(f"sigma must be a finite number >= 0, got {sig}")
    return [lam, lam_star, values["b"], values["c"], values["b_star"], values["c_star"],
            values["beta"], leak, sig]


def _dlyap(A: np.ndarray, R: np.ndarray) -> np.ndarray:
    return solve_discrete_lyapunov(A, R)


#: Below this state size the four Stein equations of one point share one LU factorization
#: (SciPy's "direct" method, which it too uses below 10, factors its matrix per call).
DIRECT_MAX = 10


class _SharedStein:
    """``X = A X A^T + R`` for ``A = F`` and ``A = F^T`` on one LU factorization.

    In row-major ``vec``, ``vec(F X F^T) = (F kron F) vec(X)`` and
    ``vec(F^T X F) = (F kron F)^T vec(X)``: both equations are solves with
    ``K = I - F kron F``, directly (``A = F``) or transposed (``A = F^T``), as
    :func:`scipy.linalg.solve_discrete_lyapunov`'s direct method solves each with its own
    factorization.  One factorization serves P and the three ``X_j`` of a point (measured:
    the four solves took 0.8 of numeric_moments' 1.3 ms).  Any other ``A`` goes to SciPy.
    """

    def __init__(self, F: np.ndarray) -> None:
        n = F.shape[0]
        self.F = F
        # F kron F, entry (i n + k, j n + l) = F_ij F_kl, as np.kron forms it
        K = np.eye(n * n) - (F[:, None, :, None] * F[None, :, None, :]).reshape(n * n, n * n)
        # LAPACK's getrf and getrs, as lu_factor and lu_solve call them, without their
        # argument checks (a third of the cost at these sizes); lu_factor where singular,
        # for its warning
        lu, piv, info = dgetrf(K)
        self.lu = (lu, piv) if info == 0 else lu_factor(K, check_finite=False)

    def __call__(self, A: np.ndarray, R: np.ndarray) -> np.ndarray:
        for trans, M in ((0, self.F), (1, self.F.T)):
            if A.shape == M.shape and (A == M).all():
                x, _ = dgetrs(*self.lu, np.ravel(R), trans=trans)
                return x.reshape(R.shape)
        return _dlyap(A, R)


def _stein_solver(F: np.ndarray):
    """The Stein solver of :func:`numeric_moments` for ``F``: shared LU when small."""
    return _SharedStein(F) if F.shape[0] < DIRECT_MAX else _dlyap


@dataclass(frozen=True)
class NumericMoments:
    """Numeric ``D`` (long-run covariance), mean update, lag-0 covariance and the on-manifold
    formula ``sigma^2 E[v v^T]`` at one point."""

    D: np.ndarray
    mean: np.ndarray
    lag0: np.ndarray
    reduced: np.ndarray


def numeric_moments(ode: LearningODE, point: dict, sigma: float = 0.0) -> NumericMoments:
    """Evaluate the module-doc formulas with NumPy at ``point`` (any leak, any rule): ``D``
    by :func:`long_run_covariance`, the formula the symbolic path uses too; ``lag0`` and
    the mean with the three ``Q_i`` stacked (one ``einsum`` each)."""
    args = numeric_arguments(ode, point, sigma)
    F, G, *rest = _matrices_at(ode, args)
    Q, V = np.stack(rest[:3]), rest[3]
    stein = _stein_solver(F)
    P = stein(F, G @ G.T)
    D = np.array(long_run_covariance(F, P, Q, stein), dtype=float)
    QP = Q @ P
    lag0 = 2 * np.einsum("iab,jba->ij", QP, QP)
    mean = np.einsum("iaa->i", QP)
    return NumericMoments(D, mean, lag0, args[-1] ** 2 * V @ P @ V.T)


def noise_covariance(ode: LearningODE, point: dict, sigma: float = 0.0) -> np.ndarray:
    """``D(theta)`` at ``point`` as a 3x3 array over (a, b, c)."""
    return numeric_moments(ode, point, sigma).D


# --- the user-facing object --------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class UpdateNoise:
    """The update noise of one rule: ``D(theta)`` symbolically and numerically.

    ``at(point)`` evaluates numerically; ``covariance(values)`` derives ``D`` in closed
    form (pin numbers to keep it small); ``on_manifold`` is ``sigma^2 E[v v^T]``.
    """

    ode: LearningODE
    sigma: sp.Expr = S.sigma

    def at(self, point: dict) -> NumericMoments:
        sig = float(point.get("sigma", self.sigma)) if self.sigma.is_number or \
            "sigma" in point else None
        if sig is None:
            raise UnknownSymbolError("give sigma in the point or to noise(ode, sigma=...)")
        return numeric_moments(self.ode, point, sig)

    def covariance(self, values: dict | None = None) -> sp.Matrix:
        """``D`` in closed form (public symbols; ``sigma`` as given)."""
        return symbolic_moments(self.ode, values)[0].subs(S.sigma, self.sigma)

    @cached_property
    def on_manifold(self) -> sp.Matrix:
        """``sigma^2 E[v v^T]``, ``v = (f s^a, f s^b, h)``: ``D`` on the optimal manifold
        (needs only the stationary covariance, not the lag sums)."""
        return on_manifold_noise(self.ode).subs(S.sigma, self.sigma)

    def __str__(self) -> str:
        m = self.on_manifold
        lines = [f"Update noise of {self.ode.title}, label noise sigma = {self.sigma}:",
                 "  D = sum_k Cov(g_t, g_{t+k}) (long-run covariance of (da, db, dc))",
                 "  on the optimal manifold D = sigma^2 E[v v^T], v = (f s^a, f s^b, h):"]
        names = ("a", "b", "c")
        lines += [f"    D_{names[i]}{names[j]} = {m[i, j]}" for i in range(3) for j in range(i, 3)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"UpdateNoise({self.ode.title}, sigma={self.sigma})"

    def _repr_latex_(self) -> str:
        return (r"$$D\big|_{\mathrm{optimum}} = \sigma^2\,\mathbb{E}[v v^\top] = "
                + sp.latex(self.on_manifold) + "$$")


def noise(ode: LearningODE, sigma: object = S.sigma) -> UpdateNoise:
    """The update noise of ``ode``'s rule under label noise ``sigma`` (symbol or number)."""
    value = sp.nsimplify(sigma, rational=True) if isinstance(sigma, float) else sp.sympify(sigma)
    if value.is_number and (not value.is_real or value < 0):
        raise SymdynError(f"sigma must be a number >= 0 or the symbol sigma, got {sigma!r}")
    return UpdateNoise(ode, value)
