"""Numeric stability at one point: eigenvalues of the Jacobian, fixed-point test, class.

A point is a fixed point when its velocity ``|d(a, b, c)/dtau|`` is below
``FIXED_POINT_RTOL`` times the Jacobian's largest entry (times ``max(1, |state|)``). Only
a fixed point gets a class, by :func:`~symdyn.analysis.spectrum.numeric_class`: at a
point of a fixed-point set of dimension ``d`` the ``d`` eigenvalues of smallest modulus are
the set's tangent directions and are left out; eigenvalues within the round-off tolerance
(:func:`~symdyn.analysis.spectrum.zero_tolerance`) are reported as exactly 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .. import symbols as S
from ..codegen import check_region, jacobian_function, rhs_function
from ..errors import UnknownSymbolError
from ..model import leak_text
from ..ode import LearningODE
from ..values import BadValueError, number
from .fixed_points import FixedPointReport, fixed_points
from .spectrum import clean_eigenvalues, numeric_class, zero_tolerance

FIXED_POINT_RTOL = 1e-9
#: What ``classification`` says of a point that is not a fixed point.
NOT_A_FIXED_POINT = "not a fixed point"


def format_complex(value: complex, digits: int = 6, latex: bool = False) -> str:
    """``-0.98``, ``0``, ``0.5+1.2i``: a cleaned eigenvalue as a plain number, without
    ``+0i`` noise or a negative zero; with ``latex``, exponents as ``\times 10^{k}``."""
    re, im = float(value.real) + 0.0, float(value.imag) + 0.0

    def real(x: float, sign: str = "") -> str:
        text = f"{x:{sign}.{digits}g}"
        if latex and "e" in text:
            mantissa, exponent = text.split("e")
            text = f"{mantissa} \\times 10^{{{int(exponent)}}}"
        return text

    if im == 0:
        return real(re)
    if re == 0:
        return real(im) + "i"
    return real(re) + real(im, "+") + "i"


@dataclass(frozen=True)
class PointStability:
    """Eigenvalues of the Jacobian at ``point`` and what they say.

    ``classification`` is ``"stable"``, ``"saddle"``, ``"unstable"`` or ``"marginal"`` at a
    fixed point, and ``None`` elsewhere (a point that is not a fixed point has no
    stability class); ``residual`` is the largest component of the velocity there.
    """

    ode: LearningODE
    point: dict[str, float]
    is_fixed_point: bool
    eigenvalues: np.ndarray
    classification: str | None
    set_name: str | None
    residual: float = 0.0
    tolerance: float = 0.0

    def to_dict(self) -> dict:
        """The JSON shape of ``symdyn stability --format json`` (``classification`` is
        ``null`` at a point that is not a fixed point)."""
        return {
            "rule": self.ode.rule.name,
            "truncation": self.ode.rule.truncation,
            "leak": leak_text(self.ode.leak),
            "point": self.point,
            "is_fixed_point": self.is_fixed_point,
            "fixed_point_set": self.set_name,
            "residual": self.residual,
            "eigenvalues": [[float(e.real), float(e.imag)] for e in self.eigenvalues],
            "classification": self.classification,
        }

    @property
    def verdict(self) -> str:
        """The class, or ``"not a fixed point"``."""
        return self.classification or NOT_A_FIXED_POINT

    def latex(self) -> str:
        """The eigenvalues as an ``align`` environment of plain LaTeX numbers, after a
        comment line with the verdict."""
        rows = " \\\\\n".join(f"\\mu_{{{i + 1}}} &= {format_complex(e, 10, latex=True)}"
                             for i, e in enumerate(self.eigenvalues))
        return (f"% {self.ode.title}: {self.verdict}\n"
                f"\\begin{{align}}\n{rows}\n\\end{{align}}")

    def _repr_latex_(self) -> str:
        from ..latex import tex

        values = ",\\ ".join(f"{tex(S.PUBLIC[k])} = {format_complex(v, latex=True)}"
                              for k, v in self.point.items())
        mus = ",\\ ".join(format_complex(e, latex=True) for e in self.eigenvalues)
        return (f"$\\text{{{self.verdict}}}\\ \\text{{at}}\\ {values}:\\ "
                f"\\mu \\in \\{{{mus}\\}}$")

    def __str__(self) -> str:
        where = ", ".join(f"{k} = {v:g}" for k, v in self.point.items())
        if self.is_fixed_point:
            kind = f"a fixed point ({self.set_name or 'on none of the sets found'})"
        else:
            kind = (f"not a fixed point (largest velocity component {self.residual:.3g}), "
                    "so it has no stability class")
        lines = [f"{self.ode.title} at {where}: {kind}"]
        lines += [f"  eigenvalue {format_complex(e)}" for e in self.eigenvalues]
        if self.is_fixed_point:
            lines.append(f"  classification: {self.classification}")
        return "\n".join(lines)


def required_names(ode: LearningODE) -> list[str]:
    """Names a point must give: the state and every parameter of the ODE."""
    return [s.name for s in (*ode.state, *ode.parameters)]


def parse_point(ode: LearningODE, point: Mapping) -> dict[str, float]:
    """Check a point's names against the ODE: unknown or missing ones are a clear error."""
    given = {}
    for key, value in point.items():
        name = key if isinstance(key, str) else key.name
        value = number(value, name)
        if np.ndim(value):
            raise BadValueError(f"the value of {name} must be one number, got {value!r}")
        given[name] = float(value)
    required = required_names(ode)
    for name in given:
        if name not in required:
            raise UnknownSymbolError(f"unknown symbol {name!r} in the point; "
                                     f"{ode.title} needs {', '.join(required)}")
    for name in required:
        if name not in given:
            raise UnknownSymbolError(f"missing symbol {name!r} in the point; "
                                     f"{ode.title} needs {', '.join(required)}")
    return {name: given[name] for name in required}


def _split(ode: LearningODE, point: Mapping) -> tuple[dict, list[float], dict[str, float]]:
    """The checked point, its state ``[a, b, c]`` and its parameters by name."""
    values = parse_point(ode, point)
    return (values, [values[s.name] for s in ode.state],
            {p.name: values[p.name] for p in ode.parameters})


def stability_at(ode: LearningODE, point: Mapping, report: FixedPointReport | None = None,
                 timeout: float | None = 60) -> PointStability:
    """Numeric eigenvalues of ``ode``'s Jacobian at ``point`` (names -> numbers) and, at a
    fixed point, its class (see the module doc); ``report`` (else ``fixed_points(ode,
    timeout)``) says which fixed-point set the point lies on, hence how many zero
    eigenvalues its tangent directions explain."""
    values, state, params = _split(ode, point)
    check_region(ode, state, params)
    velocity = rhs_function(ode)(state, params)
    jac = jacobian_function(ode)(state, params)
    tol = zero_tolerance(jac)
    eigenvalues = clean_eigenvalues(np.linalg.eigvals(jac), tol)
    residual = float(np.max(np.abs(velocity)))
    size = max(1.0, float(np.max(np.abs(state))))
    if residual > FIXED_POINT_RTOL * size * float(np.max(np.abs(jac))):
        return PointStability(ode, values, False, eigenvalues, None, None, residual, tol)
    found = _containing_set(report or fixed_points(ode, timeout=timeout), values)
    set_name, n_zero = (found.name, found.dimension) if found is not None else (None, 0)
    return PointStability(ode, values, True, eigenvalues,
                          numeric_class(eigenvalues, n_zero, tol), set_name, residual, tol)


def _containing_set(report: FixedPointReport, values: dict[str, float]):
    subs = {S.PUBLIC[k]: v for k, v in values.items()}
    for fp_set in report:
        residual = [abs(complex(sp.sympify(e).subs(subs))) for e in fp_set.equations]
        if max(residual, default=0.0) < 1e-8:
            return fp_set
    return None


def slowest_rate(ode: LearningODE, point: Mapping, n_zero: int = 1) -> float:
    """Convergence rate at a stable point: minus the largest real part among the
    eigenvalues left after removing the ``n_zero`` of smallest modulus."""
    _, state, params = _split(ode, point)
    return float(slowest_rates(ode, state, params, n_zero))


def slowest_rates(ode: LearningODE, state, params: Mapping, n_zero: int = 1) -> np.ndarray:
    """:func:`slowest_rate` at many points at once: ``state`` holds (a, b, c) as arrays
    (or numbers) that broadcast with the values of ``params`` (names -> arrays); the
    result has their broadcast shape."""
    jac = jacobian_function(ode)(state, params)            # (3, 3, ...)
    eigenvalues = np.linalg.eigvals(np.moveaxis(jac, (0, 1), (-2, -1)))
    order = np.argsort(np.abs(eigenvalues), axis=-1)
    rest = np.take_along_axis(eigenvalues, order[..., n_zero:], axis=-1)
    return -np.max(rest.real, axis=-1)
