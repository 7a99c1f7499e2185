"""Conserved quantities and the limit point they predict.

A polynomial ``Q(a, b, c)`` is conserved iff ``dQ/dtau = grad Q . rhs`` vanishes
identically. For ``Q = sum_m q_m m`` over a set of monomials ``m`` this is linear in the
coefficients ``q_m``: clearing the denominators of the right-hand side, every coefficient
of the numerator (a polynomial in the state) must vanish. The conserved quantities are the
null space of that linear system, solved with a linear solver. Under ``bptt`` the space of
quadratic forms contains ``b**2 - c**2``: each mode stays as balanced as it started.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import sympy as sp
from sympy.polys.matrices import DomainMatrix
from sympy.polys.polyroots import roots_cubic, roots_linear, roots_quadratic, roots_quartic

from .. import symbols as S
from ..algebra import factor, to_field
from ..codegen import jacobian_function
from ..errors import CannotPredict, UnknownSymbolError
from ..factoring import lcm
from ..integration import Trajectory, integrate
from ..ode import LearningODE
from ..values import number
from .evaluate import evaluate
from .fixed_points import FixedPointSet, fixed_points


def candidate_monomials(variables=S.STATE, degree: int = 2) -> list[sp.Expr]:
    """Monomials in ``variables`` of total degree 1 to ``degree``."""
    out = []
    for d in range(1, degree + 1):
        out += [sp.Mul(*combo) for combo in itertools.combinations_with_replacement(variables, d)]
    return out


def conserved_quantities(ode: LearningODE, degree: int = 2) -> list[sp.Expr]:
    """A basis of the polynomials of degree <= ``degree`` (no constant) conserved by ``ode``.

    The search runs in the working coordinates ``(lam, b, c)``, where the right-hand side is
    small; since ``lam`` is affine in ``a`` both monomial sets span the same polynomials up
    to constants, which are dropped when mapping back. Computed once per ODE (``derive``
    returns the same object for the same rule), since limit predictions ask for it again.
    """
    return list(_conserved(ode, degree))


@lru_cache(maxsize=64)
def _conserved(ode: LearningODE, degree: int) -> tuple[sp.Expr, ...]:
    state = tuple(ode.working_state)
    monomials = candidate_monomials(state, degree)
    matrix = _conservation_matrix(ode, monomials)
    out = []
    for vector in _nullspace(matrix):
        working = sum(v * m for v, m in zip(vector, monomials, strict=True))
        out.append(_normalise(ode.to_public_state(working)))
    return tuple(out)


def _conservation_matrix(ode: LearningODE, monomials: list[sp.Expr]) -> DomainMatrix:
    """The linear map ``q -> coefficients of numer(d/dtau sum_m q_m m)`` over the state
    monomials, with entries polynomial in the parameters.

    All arithmetic is in a polynomial ring (``sympy.polys.rings``) over the state and the
    parameters: clearing the denominators and expanding there is exact and many times
    faster than expanding expressions.
    """
    state = tuple(ode.working_state)
    params = sorted(set().union(*(r.free_symbols for r in ode.working_rhs)) - set(state),
                    key=sp.default_sort_key)
    ring, *gens = sp.ring(state + tuple(params), sp.QQ)
    # Cancelled in the field over ZZ (to_field: each sum converted at once, 4x faster
    # than from_expr): the numerators and denominators of ``sp.cancel`` up to constant
    # factors, which scale the whole matrix and leave its null space as it is.
    field = sp.ZZ.frac_field(*state, *params).field
    fractions = [to_field(field, r) for r in ode.working_rhs]
    numerators = [f.numer.set_ring(ring) for f in fractions]
    denominators = [f.denom.set_ring(ring) for f in fractions]
    common = _common_denominator([f.denom for f in fractions], ring)
    multipliers = [common.exquo(den) for den in denominators]
    k = len(state)
    coefficient_ring = sp.QQ[tuple(params)] if params else sp.QQ
    columns = []
    for monomial in monomials:
        m = ring(monomial)
        flow = sum((m.diff(gens[i]) * numerators[i] * multipliers[i] for i in range(k)),
                   ring.zero)
        columns.append(_by_state_monomial(flow, k, coefficient_ring))
    rows = sorted(set().union(*columns))
    entries = [[col.get(row, coefficient_ring.zero) for col in columns] for row in rows]
    return DomainMatrix(entries, (len(rows), len(monomials)), coefficient_ring)


def _common_denominator(denominators: list, ring) -> object:
    """``d_1.lcm(d_2).lcm(d_3)...`` of ``denominators`` (integer polynomials) in ``ring``
    (over QQ): the monic least common multiple, unique, so the same element SymPy's lcm
    gives, from a least common multiple over ZZ by FLINT's gcd (:func:`~symdyn.factoring.lcm`,
    up to sign; SymPy's gcd in Python took 0.05 of the invariants step's 0.7 CPU s)."""
    common = denominators[0]
    for den in denominators[1:]:
        common = lcm(common, den)
    common = common.set_ring(ring)
    return common.monic() if len(denominators) > 1 else common


def _by_state_monomial(poly, k: int, coefficient_ring) -> dict[tuple[int, ...], object]:
    """Group the terms of ``poly`` by their exponents in the first ``k`` generators: each
    group's coefficient is a polynomial in the remaining ones (the parameters)."""
    grouped: dict[tuple[int, ...], dict] = {}
    for exponents, coeff in poly.terms():
        grouped.setdefault(exponents[:k], {})[exponents[k:]] = coeff
    if coefficient_ring == sp.QQ:
        return {key: sum(terms.values(), sp.QQ.zero) for key, terms in grouped.items()}
    inner = coefficient_ring.ring
    return {key: inner.from_dict(terms) for key, terms in grouped.items()}


def _nullspace(matrix: DomainMatrix) -> list[list[sp.Expr]]:
    """Exact null space over the field of rational functions in the parameters, each basis
    vector scaled to coprime polynomial entries (a conserved quantity times any nonzero function
    of the parameters is conserved).

    ``DomainMatrix`` row-reduces in a polynomial domain with no expression simplification,
    which is many times faster than ``Matrix.nullspace`` here.
    """
    n = matrix.shape[1]
    if matrix.shape[0] == 0:
        return [list(row) for row in sp.eye(n).tolist()]
    # Fraction-free over QQ or the polynomial ring (rref_den): the reduced echelon form,
    # hence each basis vector up to a scalar, is the field's, without cancelling a gcd at
    # every step (RFLO at symbolic leak: 0.22 -> 0.12 s).
    return [_primitive(row, matrix.domain) for row in matrix.nullspace().to_list()]


def _primitive(row: list, domain) -> list[sp.Expr]:
    """``row`` (elements of QQ or of a polynomial ring) times the one scalar that makes its
    entries coprime polynomials: the smallest form of the same vector."""
    if domain == sp.QQ:
        scale = sp.ilcm(1, *[int(domain.denom(v)) for v in row])
        values = [sp.Rational(domain.to_sympy(v)) * scale for v in row]
        common = sp.igcd(*[int(v) for v in values if v]) if any(values) else 1
        return [v / common for v in values]
    ring = domain.ring
    numerators = list(row)
    common = ring.zero
    for n in numerators:
        common = common.gcd(n)
    return [n.exquo(common).as_expr() if n else sp.S.Zero for n in numerators]


def _normalise(quantity: sp.Expr) -> sp.Expr:
    """Drop the constant, clear denominators, make primitive with a positive lead."""
    poly = sp.Poly(sp.numer(sp.together(quantity)), *S.STATE)
    poly = poly - sp.Poly(poly.coeff_monomial(1), *S.STATE)
    _, primitive = poly.primitive()
    if primitive.LC().could_extract_minus_sign():
        primitive = -primitive
    return factor(primitive.as_expr())  # sp.factor's result, by FLINT (symdyn.algebra)


@dataclass(frozen=True)
class LimitPrediction:
    """The limit point on the optimal manifold selected by the conserved quantities.

    ``ok`` is False when symdyn cannot predict the limit from this start; ``reason`` then
    says why, and :attr:`point` raises :class:`~symdyn.errors.CannotPredict` with it.
    ``trajectory`` is the integrated path that confirmed (or refuted) the prediction.
    """

    candidates: list[dict[sp.Symbol, sp.Expr]]   # symbolic, in the initial values a0, b0, c0
    limit: dict[str, float] | None                # the numeric prediction, if any
    reason: str = ""
    trajectory: Trajectory | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.limit is not None

    @property
    def point(self) -> dict[str, float]:
        """The predicted limit ``{"a": ..., "b": ..., "c": ...}``."""
        if self.limit is None:
            raise CannotPredict(self.reason)
        return self.limit


INITIAL = sp.symbols("a_0 b_0 c_0", real=True)


def limit_candidates(ode: LearningODE, invariants: list[sp.Expr] | None = None,
                     target: FixedPointSet | None = None) -> list[dict[sp.Symbol, sp.Expr]]:
    """Points of the optimal manifold where every conserved quantity takes its initial value.

    Solves ``Q(point(s)) = Q(a0, b0, c0)`` for the manifold's free variables ``s``; the
    result is in the initial values ``a_0, b_0, c_0`` and the teacher parameters.
    """
    invariants = conserved_quantities(ode) if invariants is None else invariants
    target = target or fixed_points(ode)["optimal"]
    initial = dict(zip(S.STATE, INITIAL, strict=True))
    equations = []
    for q in invariants:
        on_set = q.subs(target.parametrization)
        equations.append(sp.numer(sp.together(on_set - q.subs(initial))))
    out = []
    for solution in _solve(equations, list(target.free)):
        point = {s: solution.get(s, s) for s in target.free}
        for v, expr in target.parametrization.items():
            point[v] = expr.subs(point)
        out.append(dict(sorted(point.items(), key=lambda kv: S.STATE.index(kv[0]))))
    return out


def _solve(equations: list[sp.Expr], unknowns: list[sp.Symbol]) -> list[dict]:
    """Every solution of ``equations``. One polynomial equation of degree at most four in
    one unknown (one invariant on a curve) goes to the radical formulas
    (:func:`_radical_roots`); anything else to ``solve``."""
    if len(equations) == 1 and len(unknowns) == 1:
        found = _radical_roots(sp.Poly(equations[0], unknowns[0]))
        if found is not None:
            return [{unknowns[0]: root} for root in found]
    return sp.solve(equations, unknowns, dict=True)


def _radical_roots(poly: sp.Poly) -> list[sp.Expr] | None:
    """The roots of ``poly`` (one variable, symbolic coefficients, degree <= 4) by the
    formulas for radicals, with multiplicity; None for a higher degree.

    ``sympy.roots`` would first factor the polynomial over every symbol in it, and that
    multivariate factorisation takes from 0.05 s to minutes depending on the process's
    hash seed (measured: RFLO's cubic and tBPTT's quartic). A biquadratic is solved as a
    quadratic in the square.
    """
    n, coeffs = poly.degree(), poly.all_coeffs()
    with _seeded_sympy_random():
        if n == 4 and coeffs[1] == 0 and coeffs[3] == 0:
            square = sp.Poly([coeffs[0], coeffs[2], coeffs[4]], sp.Dummy("u"))
            return [sign * sp.sqrt(u) for u in roots_quadratic(square) for sign in (-1, 1)]
        formulas = {1: roots_linear, 2: roots_quadratic, 3: roots_cubic, 4: roots_quartic}
        return list(formulas[n](poly)) if n in formulas else None


@contextmanager
def _seeded_sympy_random(seed: int = 0):
    """SymPy's random generator seeded with ``seed``, its state restored afterwards.

    The formulas factor their discriminant; Wang's factorisation draws its evaluation
    points from that generator, and some draws make it lift for a minute instead of 0.01 s
    (measured: tBPTT's ``4 b*^2 c*^2 + (a*^2 - a_0^2 - b_0^2 + c_0^2)^2`` took over 40 s for
    3 of 60 seeds, in about one ``symdyn paper`` run in ten). The factors, unique, are the
    same for every draw; a fixed seed makes the time reproducible (and fast for it).
    """
    from sympy.core import random as sympy_random

    state = sympy_random.rng.getstate()
    sympy_random.rng.seed(seed)
    try:
        yield
    finally:
        sympy_random.rng.setstate(state)


def predict_limit(ode: LearningODE, initial: Mapping[str, float], params: Mapping[str, float],
                  candidates: list[dict] | None = None, verify: bool = True,
                  budget: float | None = 30.0) -> LimitPrediction:
    """Numeric limit point from an initial condition, or a clear "cannot predict".

    The conserved quantities (:func:`conserved_quantities`) keep their initial values
    along the trajectory, so the limit on the optimal manifold is one of the points where
    they take them (:func:`limit_candidates`). Among the real candidates, the one reached
    is on the same branch of the invariant's level set as the start: the coordinate of
    larger modulus keeps its sign (for ``b**2 - c**2 = D > 0`` the curve never crosses
    ``b = 0``, for ``D < 0`` never ``c = 0``).

    The result has ``ok = False`` and a ``reason`` when: the ODE conserves no quantity
    (e.g. tBPTT with k >= 2), so the start does not determine the limit; no real
    candidate exists; the candidate is not an attracting point of the manifold; or, with
    ``verify``, the trajectory integrated from the start (wall-clock ``budget`` seconds)
    leaves the stationary region, diverges, does not settle on the optimal manifold within
    50 e-foldings of the slowest rate there, or settles nearer another candidate.
    """
    initial = {_name(k): float(number(v, _name(k))) for k, v in initial.items()}
    params = {_name(k): v for k, v in params.items()}
    missing = [s.name for s in S.STATE if s.name not in initial]
    if missing:
        raise UnknownSymbolError(f"missing {missing[0]!r} in the initial state; give a, b, c")
    if candidates is None:
        if not conserved_quantities(ode):
            return LimitPrediction([], None, f"{ode.title} conserves no polynomial quantity "
                                   "of degree <= 2, so the start does not determine which "
                                   "point of the optimal manifold is reached")
        candidates = limit_candidates(ode)
    real = _real_candidates(candidates, initial, params)
    if not real:
        return LimitPrediction(candidates, None, "no real point of the optimal manifold "
                               "keeps the conserved quantities at their initial values")
    b0, c0 = initial["b"], initial["c"]
    key = "b" if abs(b0) >= abs(c0) else "c"
    sign = np.sign(initial[key])
    chosen = ([p for p in real if np.sign(p[key]) == sign] or real)[0]
    if not verify:
        return LimitPrediction(candidates, chosen)
    return _verified(ode, initial, params, candidates, chosen, real, budget)


def _real_candidates(candidates: list[dict], initial: dict, params: Mapping) -> list[dict]:
    """The candidates that are real and finite at these values, as floats.

    Evaluated by :func:`symdyn.analysis.evaluate.evaluate`: exact where a candidate is
    degenerate (a zero discriminant), so rounding never decides which candidates are real.
    """
    subs = {**{S.PUBLIC[k]: number(v, k) for k, v in params.items()},
            **{INITIAL[i]: initial[s.name] for i, s in enumerate(S.STATE)}}
    real = []
    for cand in candidates:
        values = dict(zip((v.name for v in cand), evaluate(list(cand.values()), subs),
                          strict=True))
        if all(abs(z.imag) < 1e-12 and np.isfinite(z) for z in values.values()):
            real.append({k: z.real for k, z in values.items()})
    return real


def _verified(ode: LearningODE, initial: dict, params: Mapping, candidates: list,
              chosen: dict, real: list[dict], budget: float | None) -> LimitPrediction:
    """``chosen`` if it attracts and the trajectory from ``initial`` settles on it.

    The manifold's dimension is the number of conserved quantities that pin the point on
    it: that many zero eigenvalues are its tangent directions."""
    from .pointwise import parse_point, slowest_rate
    from .spectrum import numeric_class, zero_tolerance

    n_zero = max(1, len(conserved_quantities(ode)))
    needed = {s.name for s in ode.parameters}
    point = parse_point(ode, {**chosen, **{k: v for k, v in params.items() if k in needed}})
    state = [point[s.name] for s in ode.state]
    jac = jacobian_function(ode)(state, {p.name: point[p.name] for p in ode.parameters})
    kind = numeric_class(np.linalg.eigvals(jac), n_zero, zero_tolerance(jac))
    if kind != "stable":
        return LimitPrediction(candidates, None, f"the predicted point {_show(chosen)} is "
                               f"{kind}, so trajectories do not settle there")
    rate = slowest_rate(ode, point, n_zero)
    path = integrate(ode, [initial[s.name] for s in ode.state], params, 50.0 / rate,
                     n_eval=51, budget=budget)
    if not path.completed:
        return LimitPrediction(candidates, None, f"the trajectory from the start "
                               f"{path.message}", path)
    final = dict(zip("abc", map(float, path.final[0]), strict=True))
    nearest = min(real, key=lambda p: _distance(p, final))
    scale = 1.0 + max(abs(v) for v in chosen.values())
    if _distance(chosen, final) > 1e-4 * scale or nearest is not chosen:
        return LimitPrediction(candidates, None, f"the trajectory from the start ends at "
                               f"{_show(final)} at tau = {path.tau[-1]:.4g}, not at the "
                               f"predicted point {_show(chosen)}", path)
    return LimitPrediction(candidates, chosen, "", path)


def _name(key) -> str:
    return key if isinstance(key, str) else key.name


def _distance(p: dict, q: dict) -> float:
    return max(abs(p[k] - q[k]) for k in "abc")


def _show(point: dict) -> str:
    return "(" + ", ".join(f"{k} = {point[k]:.6g}" for k in "abc") + ")"
