"""Numeric stability at one point: eigenvalues of the Jacobian, fixed-point test, class.

At a point of a fixed-point set of dimension ``d`` the ``d`` eigenvalues of smallest
modulus are the set's tangent directions and are not counted in the classification.
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
from .sets import FixedPointReport, fixed_points
from .stability import numeric_class

FIXED_POINT_TOL = 1e-8


@dataclass(frozen=True)
class PointStability:
    """Eigenvalues of the Jacobian at ``point`` and what they say."""

    ode: LearningODE
    point: dict[str, float]
    is_fixed_point: bool
    eigenvalues: np.ndarray
    classification: str
    set_name: str | None

    def to_dict(self) -> dict:
        """The JSON shape of ``symdyn stability --format json``."""
        return {
            "rule": self.ode.rule.name,
            "truncation": self.ode.rule.truncation,
            "leak": leak_text(self.ode.leak),
            "point": self.point,
            "is_fixed_point": self.is_fixed_point,
            "eigenvalues": [[float(e.real), float(e.imag)] for e in self.eigenvalues],
            "classification": self.classification,
        }

    def _repr_latex_(self) -> str:
        from ..latex import tex

        values = ",\\ ".join(f"{tex(S.PUBLIC[k])} = {v:g}" for k, v in self.point.items())
        mus = ",\\ ".join(f"{e.real:.6g}{e.imag:+.6g}i" for e in self.eigenvalues)
        return (f"$\\text{{{self.classification}}}\\ \\text{{at}}\\ {values}:\\ "
                f"\\mu \\in \\{{{mus}\\}}$")

    def __str__(self) -> str:
        where = ", ".join(f"{k} = {v:g}" for k, v in self.point.items())
        kind = (f"a fixed point ({self.set_name})" if self.is_fixed_point
                else "not a fixed point")
        lines = [f"{self.ode.title} at {where}: {kind}"]
        lines += [f"  eigenvalue {e.real:+.6g} {e.imag:+.6g}i" for e in self.eigenvalues]
        lines.append(f"  classification: {self.classification}")
        return "\n".join(lines)


def required_names(ode: LearningODE) -> list[str]:
    """Names a point must give: the state and every parameter of the ODE."""
    return [s.name for s in (*ode.state, *ode.parameters)]


def parse_point(ode: LearningODE, point: Mapping) -> dict[str, float]:
    """Check a point's names against the ODE: unknown or missing ones are a clear error."""
    given = {(k if isinstance(k, str) else k.name): float(v) for k, v in point.items()}
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
                 ) -> PointStability:
    """Numeric eigenvalues and classification of ``ode`` at ``point`` (names -> numbers)."""
    values, state, params = _split(ode, point)
    check_region(ode, state, params)
    velocity = rhs_function(ode)(state, params)
    jac = jacobian_function(ode)(state, params)
    eigenvalues = np.linalg.eigvals(jac)
    scale = max(1.0, float(np.max(np.abs(jac))))
    is_fixed = bool(np.max(np.abs(velocity)) < FIXED_POINT_TOL * scale)
    set_name, n_zero = None, 0
    if is_fixed:
        found = _containing_set(report or fixed_points(ode), values)
        if found is not None:
            set_name, n_zero = found.name, found.dimension
    eigenvalues = eigenvalues[np.argsort(-eigenvalues.real)]
    return PointStability(ode, values, is_fixed, eigenvalues,
                          numeric_class(eigenvalues, n_zero), set_name)


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
    eigenvalues = np.linalg.eigvals(jacobian_function(ode)(state, params))
    rest = eigenvalues[np.argsort(np.abs(eigenvalues))[n_zero:]]
    return float(-np.max(rest.real))
