"""Numeric code from the derived dynamics: lambdified NumPy and mpmath callables.

``rhs_function(ode)`` returns ``f(state, params)`` with ``state`` an array of shape
``(3, ...)`` holding (a, b, c) and ``params`` a mapping from parameter names (``a_star``,
``b_star``, ``c_star``, ``beta``, ``alpha`` when symbolic) to numbers or arrays that
broadcast against ``state[0]``; it returns ``d(a, b, c)/dtau`` with the shape of
``state``. ``jacobian_function`` returns the ``(3, 3, ...)`` Jacobian, and
``loss_hessian_function`` the Hessian of the loss: by forward-mode differentiation of the
lambdified right-hand side and loss (:mod:`symdyn.autodiff`) when they are rational in the
state, from the lambdified symbolic derivative otherwise. With ``backend="mpmath"``,
``rhs_function``, ``jacobian_function`` and ``loss_function`` take and return mpmath
numbers, for checks at high precision (set ``mpmath.mp.dps`` first).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from functools import lru_cache

import mpmath
import numpy as np
import sympy as sp

from . import autodiff
from . import symbols as S
from .errors import UnknownSymbolError, UnstableError
from .model import lam_numeric
from .ode import LearningODE
from .values import BadValueError, number

Backend = str


#: Keyword arguments of ``sp.lambdify`` that skip printing the expression into the
#: generated function's docstring (``docstring_limit=0``), a quarter of its time on the
#: right-hand sides; a SymPy without the option prints it.
NO_DOCSTRING = ({"docstring_limit": 0}
                if "docstring_limit" in inspect.signature(sp.lambdify).parameters else {})


def _arguments(ode: LearningODE) -> tuple[sp.Symbol, ...]:
    return (*ode.state, *ode.parameters)


@lru_cache(maxsize=128)
def _compiled(ode: LearningODE, what: str, backend: Backend) -> Callable:
    """The lambdified right-hand side (a list of 3), loss, or flattened Jacobian or loss
    Hessian (lists of 9, row by row) of ``ode``; common subexpressions are computed once."""
    if backend not in ("numpy", "mpmath"):
        raise ValueError(f"unknown backend {backend!r}; use 'numpy' or 'mpmath'")
    # The numeric Jacobian differentiates the factored right-hand side as it stands: the
    # cancelled form of ``ode.jacobian`` (for printing) costs seconds and evaluates no better.
    exprs = {"rhs": lambda: list(ode.rhs), "loss": lambda: ode.loss,
             "jacobian": lambda: [sp.diff(r, s) for r in ode.rhs for s in ode.state],
             "hessian": lambda: list(sp.hessian(ode.loss, ode.state))}[what]()
    return sp.lambdify(_arguments(ode), exprs, modules=backend, cse=True, **NO_DOCSTRING)


@lru_cache(maxsize=128)
def _rational(ode: LearningODE) -> bool:
    """Whether the right-hand side and the loss are rational in the state, so that
    :mod:`symdyn.autodiff` can differentiate their lambdified code."""
    return autodiff.rational_in([*ode.rhs, ode.loss], ode.state)


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


def _stack(outputs: list, shape: tuple) -> np.ndarray:
    """The outputs as one float array of shape ``(len(outputs),) + shape`` (a constant
    output, such as a zero entry of a Jacobian, is broadcast)."""
    try:
        out = np.array(outputs, dtype=float)
    except ValueError:  # outputs of different shapes
        out = None
    if out is not None and out.shape[1:] == shape:
        return out
    return np.stack([np.broadcast_to(np.asarray(o, dtype=float), shape) for o in outputs])


def _shape(values: list) -> tuple:
    return np.broadcast_shapes(*(np.shape(v) for v in values))


def _rhs_numpy(compiled: Callable, state, values: list, shape: tuple | None = None
               ) -> np.ndarray:
    """``compiled`` at ``state``; ``shape``: that of ``values`` broadcast, if known."""
    shape = _shape(values) if shape is None else shape
    if shape == () and isinstance(state, np.ndarray) and state.shape == (3,):
        try:  # one point (an ODE solver's step): Python floats, ten times faster
            return np.array(compiled(*state.tolist(), *values), dtype=float)
        except (ZeroDivisionError, OverflowError, TypeError):
            pass  # at a pole (or a complex power): NumPy's inf and nan, as for arrays
    a, b, c = _state(state)
    return _stack(compiled(a, b, c, *values), np.broadcast_shapes(a.shape, shape))


def _matrix_compiled(ode: LearningODE, what: str, state, values: list) -> np.ndarray:
    """The ``(3, 3, ...)`` Jacobian (``what="jacobian"``) or loss Hessian (``"hessian"``)
    from its lambdified symbolic derivative."""
    a, b, c = _state(state)
    shape = np.broadcast_shapes(a.shape, _shape(values))
    flat = _stack(_compiled(ode, what, "numpy")(a, b, c, *values), shape)
    return flat.reshape((3, 3) + shape)


def _jacobian_numpy(ode: LearningODE, state, values: list) -> np.ndarray:
    """The ``(3, 3, ...)`` Jacobian at a few points: forward-mode differentiation of the
    lambdified right-hand side (:mod:`symdyn.autodiff`), which needs no symbolic
    derivative to be derived and compiled (0.1-1 s per ODE and process)."""
    if not _rational(ode):
        return _matrix_compiled(ode, "jacobian", state, values)
    return autodiff.jacobian(_compiled(ode, "rhs", "numpy"), _state(state), values)


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

    def jacobian(state, params: Mapping):
        values = _parameter_values(ode, params, backend)
        if backend == "mpmath":
            flat = _compiled(ode, "jacobian", backend)(*state, *values)
            return mpmath.matrix([flat[3 * i:3 * i + 3] for i in range(3)])
        return _jacobian_numpy(ode, state, values)

    jacobian.__doc__ = f"Jacobian of {ode.title}."
    return jacobian


def bound_functions(ode: LearningODE, params: Mapping) -> tuple[Callable, Callable]:
    """``(f(state), J(state))`` with ``params`` checked and converted once: for
    integrators, which call them thousands of times with the same parameters."""
    rhs = _compiled(ode, "rhs", "numpy")
    values = _parameter_values(ode, params)
    shape = _shape(values)
    return (lambda state: _rhs_numpy(rhs, state, values, shape),
            lambda state: _jacobian_numpy(ode, state, values))


#: Up to this many modes :func:`mode_field` evaluates each mode at one point in Python
#: floats (measured at 8 modes: 9-12 us a call against 27-34 us on arrays, whose ufunc
#: calls cost more than their arithmetic); above it, on arrays.
POINTWISE_MODES = 16


def mode_field(ode: LearningODE, values: Mapping, n: int) -> Callable[[np.ndarray], np.ndarray]:
    """``f(y)``: the field of ``n`` independent modes on the flat state ``y = (a_0, b_0,
    c_0, a_1, ...)``, as ``(da_0, db_0, dc_0, ...)``; each value of ``values`` is a number
    or one per mode, checked and converted once (for integrators).

    Up to :data:`POINTWISE_MODES` modes, mode by mode in Python floats (the same IEEE
    operations as NumPy's), falling back to arrays where a float fails (a pole, a complex
    power), which give inf and nan there as for any array."""
    compiled = _compiled(ode, "rhs", "numpy")
    vals = _parameter_values(ode, values)
    shape = _shape(vals)

    def on_arrays(y: np.ndarray) -> np.ndarray:
        return _rhs_numpy(compiled, y.reshape(n, 3).T, vals, shape).T.ravel()

    if n > POINTWISE_MODES:
        return on_arrays
    columns = [np.broadcast_to(v, (n,)).tolist() for v in vals]
    rows = list(zip(*columns, strict=True)) if columns else [()] * n

    def field(y: np.ndarray) -> np.ndarray:
        ys, out = y.tolist(), []
        try:
            for i, row in enumerate(rows):
                out += compiled(ys[3 * i], ys[3 * i + 1], ys[3 * i + 2], *row)
            return np.array(out, dtype=float)
        except (ZeroDivisionError, OverflowError, TypeError):
            return on_arrays(y)

    return field


def loss_function(ode: LearningODE, backend: Backend = "numpy") -> Callable:
    """``L(state, params)``: the stationary loss of the mode."""
    compiled = _compiled(ode, "loss", backend)

    def loss(state, params: Mapping):
        return compiled(*state, *_parameter_values(ode, params, backend))

    return loss


def loss_hessian_function(ode: LearningODE) -> Callable:
    """``H(state, params) -> d^2 L / d(a, b, c)^2`` of shape ``(3, 3, ...)`` (NumPy), by
    forward-mode differentiation of the lambdified loss when it is rational."""

    def hessian(state, params: Mapping):
        values = _parameter_values(ode, params)
        if _rational(ode):
            return autodiff.hessian(_compiled(ode, "loss", "numpy"), _state(state), values)
        return _matrix_compiled(ode, "hessian", state, values)

    hessian.__doc__ = f"Hessian of the loss of {ode.title}."
    return hessian
