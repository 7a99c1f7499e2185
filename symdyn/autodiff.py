"""Forward-mode differentiation of lambdified rational functions (Jacobians, Hessians).

A :class:`Jet` carries a value ``v`` with its gradient ``g`` (shape ``(n, ...)``) and,
at second order, its Hessian ``h`` (shape ``(n, n, ...)``) with respect to ``n`` seeded
variables; arithmetic on jets applies the sum, product, quotient and power rules::

    (x y)'' = x'' y + x y'' + x' y'^T + y' x'^T,
    (x^p)'' = p x^(p-1) x'' + p (p-1) x^(p-2) x' x'^T.

Running the code that ``sympy.lambdify`` generated for a derived expression on jets gives
its exact derivatives at a point (to rounding, as the symbolic derivative evaluated in
floats would), without differentiating, printing and compiling the derivative: for the
rational right-hand sides and losses of symdyn that costs 0.1-1.5 s per expression and
process. At one point the first derivatives run in Python floats (:class:`_Dual`, twice
as fast as 0-d arrays). Only ``+ - * / **`` (constant exponent) are supported;
:func:`rational_in` says whether an expression needs nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import sympy as sp


def rational_in(exprs: Sequence[sp.Expr], symbols: Sequence[sp.Symbol]) -> bool:
    """Whether every expression is a rational function of ``symbols`` (other symbols may
    enter in any way: they are constants to a jet)."""
    return all(sp.sympify(e).is_rational_function(*symbols) for e in exprs)


def _outer(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x_i y_j`` over the leading axis, broadcast over the rest."""
    return x[:, None] * y[None, :]


class _Signed:
    """What a jet's subtraction and unary plus are in terms of its ``+`` and unary ``-``
    (shared by :class:`Jet` and :class:`_Dual`)."""

    __slots__ = ()

    def __pos__(self):
        return self

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other


class Jet(_Signed):
    """``v`` with gradient ``g`` and (second order) Hessian ``h``; ``h`` is None at first
    order. Constants (numbers, NumPy arrays) combine with jets as having no derivative."""

    __slots__ = ("v", "g", "h")
    __array_ufunc__ = None  # NumPy defers to Jet's reflected operators

    def __init__(self, v, g: np.ndarray, h: np.ndarray | None) -> None:
        self.v, self.g, self.h = v, g, h

    def _scale(self, c) -> Jet:
        return Jet(self.v * c, self.g * c, None if self.h is None else self.h * c)

    def _chain(self, f, d1, d2) -> Jet:
        """``f(self)`` given ``f``, ``f'`` and ``f''`` at ``self.v``."""
        h = None if self.h is None else d1 * self.h + d2 * _outer(self.g, self.g)
        return Jet(f, d1 * self.g, h)

    def __add__(self, other) -> Jet:
        if isinstance(other, Jet):
            h = None if self.h is None else self.h + other.h
            return Jet(self.v + other.v, self.g + other.g, h)
        return Jet(self.v + other, self.g, self.h)

    __radd__ = __add__

    def __neg__(self) -> Jet:
        return self._scale(-1)

    def __mul__(self, other) -> Jet:
        if not isinstance(other, Jet):
            return self._scale(other)
        g = self.v * other.g + other.v * self.g
        h = None
        if self.h is not None:
            cross = _outer(self.g, other.g)
            h = self.v * other.h + other.v * self.h + cross + np.swapaxes(cross, 0, 1)
        return Jet(self.v * other.v, g, h)

    __rmul__ = __mul__

    def reciprocal(self) -> Jet:
        r = 1.0 / self.v
        return self._chain(r, -r * r, 2.0 * r * r * r)

    def __truediv__(self, other) -> Jet:
        if isinstance(other, Jet):
            return self * other.reciprocal()
        return self._scale(1.0 / other)

    def __rtruediv__(self, other) -> Jet:
        return self.reciprocal()._scale(other)

    def __pow__(self, p) -> Jet:
        if isinstance(p, Jet):
            raise TypeError("a jet exponent is not supported (not a rational function)")
        if p == 2:
            return self * self
        if p == -1:
            return self.reciprocal()
        if p == 1:
            return self
        if p == 0:
            return Jet(self.v ** 0, self.g * 0, None if self.h is None else self.h * 0)
        below = self.v ** (p - 2)  # v^(p-2), reused for both derivatives
        return self._chain(below * self.v * self.v, p * below * self.v, p * (p - 1) * below)


def seed(values: Sequence, order: int, shape: tuple = ()) -> list[Jet]:
    """Jets of the variables ``values``, broadcast to ``shape`` and to each other, with
    derivatives of ``order`` 1 or 2 with respect to each."""
    arrays = [np.asarray(v, dtype=float) for v in values]
    shape = np.broadcast_shapes(shape, *(a.shape for a in arrays))
    n = len(arrays)
    g = np.broadcast_to(np.eye(n).reshape((n, n) + (1,) * len(shape)), (n, n) + shape)
    h = np.zeros((n, n) + shape) if order == 2 else None
    return [Jet(np.broadcast_to(a, shape), g[i], h) for i, a in enumerate(arrays)]


def _shape(constants: Sequence) -> tuple:
    return np.broadcast_shapes(*(np.shape(c) for c in constants))


def jacobian(f: Callable, variables: Sequence, constants: Sequence) -> np.ndarray:
    """``d f_i / d x_j`` of shape ``(m, n, ...)`` for ``f(*variables, *constants)``
    returning a list of ``m`` values."""
    shape = _shape(constants)
    if shape == () and all(np.ndim(x) == 0 for x in variables):
        try:  # one point: Python floats, several times faster than 0-d arrays
            return _dual_jacobian(f, [float(x) for x in variables], constants)
        except (ZeroDivisionError, OverflowError):
            pass  # at a pole: NumPy's inf and nan
    jets = seed(variables, 1, shape)
    zero = np.zeros_like(jets[0].g)   # the gradient of an output that is a constant
    with np.errstate(all="ignore"):
        return np.array([o.g if isinstance(o, Jet) else zero for o in f(*jets, *constants)])


def hessian(f: Callable, variables: Sequence, constants: Sequence) -> np.ndarray:
    """``d^2 f / d x_i d x_j`` of shape ``(n, n, ...)`` for a scalar ``f``."""
    jets = seed(variables, 2, _shape(constants))
    with np.errstate(all="ignore"):
        out = f(*jets, *constants)
    return np.array(out.h) if isinstance(out, Jet) else np.zeros_like(jets[0].h)


class _Dual(_Signed):
    """First-order jet at one point in Python floats: value ``v`` and gradient list
    ``g`` (the rules of :class:`Jet`; Python raises at a pole instead of giving inf)."""

    __slots__ = ("v", "g")
    __array_ufunc__ = None

    def __init__(self, v: float, g: list) -> None:
        self.v, self.g = v, g

    def __add__(self, other) -> _Dual:
        if isinstance(other, _Dual):
            return _Dual(self.v + other.v, [x + y for x, y in zip(self.g, other.g, strict=True)])
        return _Dual(self.v + other, self.g)

    __radd__ = __add__

    def __neg__(self) -> _Dual:
        return _Dual(-self.v, [-x for x in self.g])

    def __mul__(self, other) -> _Dual:
        if isinstance(other, _Dual):
            u, w = self.v, other.v
            return _Dual(u * w, [u * y + w * x for x, y in zip(self.g, other.g, strict=True)])
        return _Dual(self.v * other, [x * other for x in self.g])

    __rmul__ = __mul__

    def reciprocal(self) -> _Dual:
        r = 1.0 / self.v
        d = -r * r
        return _Dual(r, [d * x for x in self.g])

    def __truediv__(self, other) -> _Dual:
        if isinstance(other, _Dual):
            return self * other.reciprocal()
        return _Dual(self.v / other, [x / other for x in self.g])

    def __rtruediv__(self, other) -> _Dual:
        return self.reciprocal() * other

    def __pow__(self, p) -> _Dual:
        if isinstance(p, _Dual):
            raise TypeError("a jet exponent is not supported (not a rational function)")
        if p == 2:
            return self * self
        d = p * self.v ** (p - 1)
        return _Dual(self.v ** p, [d * x for x in self.g])


def _dual_jacobian(f: Callable, point: list[float], constants: Sequence) -> np.ndarray:
    n = len(point)
    units = [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]
    zero = [0.0] * n
    outputs = f(*(_Dual(x, u) for x, u in zip(point, units, strict=True)), *constants)
    return np.array([o.g if isinstance(o, _Dual) else zero for o in outputs], dtype=float)
