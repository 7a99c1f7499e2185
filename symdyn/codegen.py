"""Numeric code from the derived dynamics: lambdified NumPy and mpmath callables.

``rhs_function(ode)`` returns ``f(state, params)`` with ``state`` an array of shape
``(3, ...)`` holding (a, b, c) and ``params`` a mapping from parameter names (``a_star``,
``b_star``, ``c_star``, ``beta``, ``alpha`` when symbolic) to numbers or arrays that
broadcast against ``state[0]``; it returns ``d(a, b, c)/dtau`` with the shape of
``state``. ``jacobian_function`` returns the ``(3, 3, ...)`` Jacobian. With
``backend="mpmath"`` the same callables take and return mpmath numbers, for checks at
high precision (set ``mpmath.mp.dps`` first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

import mpmath
import numpy as np
import sympy as sp

from . import symbols as S
from .errors import UnknownSymbolError, UnstableError
from .model import lam_numeric
from .ode import LearningODE
from .values import BadValueError, number

Backend = str


def _arguments(ode: LearningODE) -> tuple[sp.Symbol, ...]:
    return (*ode.state, *ode.parameters)


@lru_cache(maxsize=128)
def _compiled(ode: LearningODE, what: str, backend: Backend) -> Callable:
    if backend not in ("numpy", "mpmath"):
        raise ValueError(f"unknown backend {backend!r}; use 'numpy' or 'mpmath'")
    # The numeric Jacobian differentiates the factored right-hand side as it stands: the
    # cancelled form of ``ode.jacobian`` (for printing) costs seconds and evaluates no better.
    exprs = (list(ode.rhs) if what == "rhs"
             else [[sp.diff(r, s) for s in ode.state] for r in ode.rhs])
    return sp.lambdify(_arguments(ode), exprs, modules=backend, cse=True)


def _parameter_values(ode: LearningODE, params: Mapping, backend: Backend = "numpy") -> list:
    """The ODE's parameters in order, from names or symbols; for NumPy checked finite and
    converted to floats (so text, Fractions and NumPy scalars work, NaN does not)."""
    given = {(k if isinstance(k, str) else k.name): v for k, v in params.items()}
    if backend == "numpy":
        given = {k: number(v, k) for k, v in given.items()}
    names = [p.name for p in ode.parameters]
    unknown = sorted(set(given) - set(names) - set(S.PUBLIC))
    if unknown:
        raise UnknownSymbolError(f"unknown parameter {unknown[0]!r}; this ODE takes "
                                 + ", ".join(names))
    missing = [n for n in names if n not in given]
    if missing:
        raise UnknownSymbolError(f"missing parameter {missing[0]!r}; this ODE takes "
                                 + ", ".join(names))
    return [given[n] for n in names]


def check_region(ode: LearningODE, state, params: Mapping) -> None:
    """Raise :class:`UnstableError` where |lam| >= 1 or |lam*| >= 1 (no stationary
    process), and a :class:`~symdyn.values.BadValueError` for a non-finite state or a
    leak outside (0, 1]."""
    values = dict(zip((p.name for p in ode.parameters), _parameter_values(ode, params),
                      strict=True))
    alpha = values.get("alpha", float(ode.leak) if ode.leak.is_number else None)
    if np.any(np.asarray(alpha) <= 0) or np.any(np.asarray(alpha) > 1):
        raise BadValueError(f"the leak alpha must lie in (0, 1], got {alpha}")
    a = number(state[0], "a")
    for name, value in zip("bc", state[1:3], strict=True):
        number(value, name)
    checks = [("lambda", lam_numeric(a, alpha))]
    if "a_star" in values:
        checks.append(("lambda_star", lam_numeric(values["a_star"], alpha)))
    for name, value in checks:
        if np.any(np.abs(value) >= 1):
            worst = float(np.max(np.abs(value)))
            raise UnstableError(f"|{name}| = {worst:.6g} >= 1: the network is unstable there "
                                "and the averaged dynamics is not defined")


def _state(state) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(a, b, c)`` as float arrays. Not checked for finiteness: the integrator evaluates
    wherever its steps go and judges the result itself."""
    a, b, c = (np.asarray(s, dtype=float) for s in state)
    return a, b, c


def _rhs_numpy(compiled: Callable, state, values: list) -> np.ndarray:
    a, b, c = _state(state)
    out = compiled(a, b, c, *values)
    shape = np.broadcast_shapes(a.shape, *(np.shape(v) for v in values))
    return np.stack([np.broadcast_to(np.asarray(o, dtype=float), shape) for o in out])


def _jacobian_numpy(compiled: Callable, state, values: list) -> np.ndarray:
    a, b, c = _state(state)
    rows = compiled(a, b, c, *values)
    shape = np.broadcast_shapes(a.shape, *(np.shape(v) for v in values))
    return np.array([[np.broadcast_to(np.asarray(e, dtype=float), shape) for e in row]
                     for row in rows])


def rhs_function(ode: LearningODE, backend: Backend = "numpy") -> Callable:
    """``f(state, params) -> d(a, b, c)/dtau`` (see module doc)."""
    compiled = _compiled(ode, "rhs", backend)

    def rhs(state, params: Mapping):
        values = _parameter_values(ode, params, backend)
        if backend == "mpmath":
            return [mpmath.mpf(v) if v == 0 else v for v in compiled(*state, *values)]
        return _rhs_numpy(compiled, state, values)

    rhs.__doc__ = f"d(a, b, c)/dtau of {ode.title}."
    return rhs


def jacobian_function(ode: LearningODE, backend: Backend = "numpy") -> Callable:
    """``J(state, params) -> d rhs / d(a, b, c)`` of shape ``(3, 3, ...)``."""
    compiled = _compiled(ode, "jacobian", backend)

    def jacobian(state, params: Mapping):
        values = _parameter_values(ode, params, backend)
        if backend == "mpmath":
            return mpmath.matrix(compiled(*state, *values))
        return _jacobian_numpy(compiled, state, values)

    jacobian.__doc__ = f"Jacobian of {ode.title}."
    return jacobian


def bound_functions(ode: LearningODE, params: Mapping) -> tuple[Callable, Callable]:
    """``(f(state), J(state))`` with ``params`` checked and converted once: for
    integrators, which call them thousands of times with the same parameters."""
    rhs, jac = _compiled(ode, "rhs", "numpy"), _compiled(ode, "jacobian", "numpy")
    values = _parameter_values(ode, params)
    return (lambda state: _rhs_numpy(rhs, state, values),
            lambda state: _jacobian_numpy(jac, state, values))


def loss_function(ode: LearningODE, backend: Backend = "numpy") -> Callable:
    """``L(state, params)``: the stationary loss of the mode."""
    compiled = sp.lambdify(_arguments(ode), ode.loss, modules=backend, cse=True)

    def loss(state, params: Mapping):
        return compiled(*state, *_parameter_values(ode, params, backend))

    return loss
