"""Fixed points of a learning ODE as sets: defining equations, dimension, parametrisation.

The right-hand side is a rational function. Its fixed points inside the stationary region
are the common zeros of the numerators at which no denominator vanishes. We decompose the
numerator system by factoring: every irreducible factor of an equation opens a branch; a
factor linear in a state variable is solved for it (a linear solve, with the branch where
its coefficient vanishes kept apart), otherwise SymPy's polynomial solver gives the roots.
Factors that are (up to sign) denominator factors are discarded at once: there the
stationary process does not exist. Branches are then checked against the full right-hand
side, against the stationary region on random points, and merged when one set contains
another. All of this runs in the working coordinates ``(lam, b, c)``.
"""

from __future__ import annotations

import cmath
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import sympy as sp

from .. import algebra
from .. import symbols as S
from ..algebra import (
    as_expr,
    field_element,
    substitute,
    substitute_factor,
    to_field,
    vanishes_on,
)
from ..factoring import factor_list as factor_list_of
from ..factoring import factor_list_in
from ..ode import LearningODE
from .deadline import Deadline
from .region import in_region, sample_parameters, signed
from .working_field import working_field

STATE = (S.lam, S.b, S.c)
#: Preferred order in which to solve for state variables: the optimal manifold then comes
#: out parametrised by ``b``, as in the paper.
SOLVE_ORDER = (S.c, S.lam, S.b)


@dataclass(frozen=True)
class WorkingComponent:
    """A branch of the fixed-point set: ``solved`` variables as functions of ``free`` ones."""

    solved: dict[sp.Symbol, sp.Expr]
    free: tuple[sp.Symbol, ...]
    #: Lambdified ``solved`` values, filled on first use: they live as long as the
    #: component (a global cache keyed by ``id()`` grew without bound and could hand a
    #: new component the functions of a dead one with the same id).
    functions: dict = field(default_factory=dict, compare=False, repr=False)

    def __getstate__(self) -> dict:
        # Lambdified code does not pickle: the on-disk cache of fixed points (symdyn.cache)
        # stores the component without them, and they are compiled again on first use.
        return {**self.__dict__, "functions": {}}


@dataclass
class _Context:
    denominators: list[sp.Expr]
    deadline: Deadline
    results: list[dict] = field(default_factory=list)
    #: Per branch (its ``solved`` items): the denominators' numerators there.
    denominator_numerators: dict = field(default_factory=dict)


def numerators_and_denominators(ode: LearningODE) -> tuple[list[sp.Expr], list[sp.Expr]]:
    """Split each working right-hand side into its numerator and its denominator factors
    (cancelled in a rational function field: the same numerator, expanded, and the same
    factors as ``sp.fraction(sp.cancel(sp.together(rhs)))`` and ``sp.factor_list``)."""
    numerators, denominators = [], []
    # The same field elements as the Jacobian's (working_field), converted once per ODE.
    wf = working_field(ode)
    for i, expr in enumerate(ode.working_rhs):
        f = field_element(expr) if wf is None else wf.rows[i]
        if f is None:
            num, den = sp.fraction(sp.cancel(sp.together(expr)))
            numerators.append(sp.expand(num))
            factors = [f for f, _ in sp.factor_list(den)[1]]
        elif f.denom.is_ground:  # a polynomial: cancel keeps its rational coefficients
            numerators.append(sp.expand(as_expr(f.numer) / as_expr(f.denom)))
            factors = []
        else:
            numerators.append(as_expr(f.numer))
            factors = [as_expr(p) for p, _ in factor_list_of(f.denom)[1]]
        denominators += [d for d in factors if d.free_symbols & set(STATE)]
    return numerators, _unique(denominators)


def working_components(ode: LearningODE, timeout: float | Deadline | None = 60,
                       ) -> list[WorkingComponent]:
    """All fixed-point components in working coordinates, restricted to the region."""
    deadline = timeout if isinstance(timeout, Deadline) else Deadline(
        timeout, f"finding the fixed points of {ode.title}", symbolic_leak=not ode.leak.is_number)
    numerators, denominators = numerators_and_denominators(ode)
    context = _Context(denominators, deadline)
    _branch(numerators, {}, context, depth=0)
    components = [_component(s) for s in _unique_dicts(context.results)]
    components = [c for c in components if _is_valid(ode, c, denominators)]
    return _maximal(components)


def _component(solved: dict[sp.Symbol, sp.Expr]) -> WorkingComponent:
    free = tuple(v for v in STATE if v not in solved)
    return WorkingComponent(dict(solved), free)


def _branch(equations: list[sp.Expr], solved: dict, ctx: _Context, depth: int) -> None:
    ctx.deadline.check()
    remaining = _reduce(equations, solved)
    if remaining is None:
        return
    if not remaining:
        ctx.results.append(solved)
        return
    if depth > 12:
        return
    equation = _simplest(remaining)
    others = [e for e in remaining if e is not equation]
    for factor in _state_factors(equation):
        if not factor.free_symbols & set(STATE) or _is_denominator(factor, solved, ctx):
            continue
        _solve_factor(factor, others, solved, ctx, depth)


def _simplest(equations: list[sp.Expr]) -> sp.Expr:
    """``min(equations, key=lambda e: (_total_degree(e), sp.count_ops(e)))``, counting
    operations only among the equations of least degree (``count_ops`` walks the whole
    expression, and mostly one equation has the least degree)."""
    degrees = [_total_degree(e) for e in equations]
    lowest = [e for e, d in zip(equations, degrees, strict=True) if d == min(degrees)]
    return lowest[0] if len(lowest) == 1 else min(lowest, key=sp.count_ops)


@lru_cache(maxsize=1024)
def _state_factors(equation: sp.Expr) -> tuple[sp.Expr, ...]:
    """The irreducible factors of ``equation`` over the state variables
    (``sp.factor_list(equation, *STATE)``, in its order), remembered: the branch where a
    solved variable's coefficient vanishes keeps the same equations, and sibling branches
    and related ODEs meet the same ones again (22 of the 58 factorisations of the shared
    analyses and tBPTT(2..6) were repeats)."""
    return tuple(factor for factor, _ in factor_list_in(equation, STATE))  # FLINT's, same


def _total_degree(equation: sp.Expr) -> int:
    """``sp.Poly(equation, *STATE).total_degree()``, read off the terms of an expanded
    polynomial (building the ``Poly`` converted the whole equation each time it was ranked)."""
    degree = 0
    for term in sp.Add.make_args(equation):
        term_degree = 0
        for factor in sp.Mul.make_args(term):
            base, exponent = factor.as_base_exp()
            if base in STATE:
                if not exponent.is_Integer:
                    return sp.Poly(equation, *STATE).total_degree()
                term_degree += int(exponent)
            elif base.free_symbols & set(STATE):  # not expanded: the general route
                return sp.Poly(equation, *STATE).total_degree()
        degree = max(degree, term_degree)
    return degree


def _reduce(equations: list[sp.Expr], solved: dict) -> list[sp.Expr] | None:
    """Substitute the solved variables; ``None`` if an equation became a nonzero constant.

    An equation free of state variables is a condition on the teacher or the feedback
    alone, which generic parameters do not satisfy.
    """
    out = []
    for equation in equations:
        if solved.keys() & equation.free_symbols or not _expanded_integer_polynomial(equation):
            num = together_numerator(equation.subs(solved))
        else:  # nothing to substitute and no denominator: the numerator is the equation
            num = equation
        if num == 0:
            continue
        if not num.free_symbols & set(STATE):
            return None
        out.append(num)
    return out


def together_numerator(expr: sp.Expr) -> sp.Expr:
    """``sp.expand(sp.numer(sp.together(expr)))`` for a sum of terms ``r m / d``: ``r``
    rational, ``m`` and ``d`` products of integer powers of polynomials (the general route
    for anything else).

    ``together`` puts the terms over the least common multiple ``L`` of their denominators
    as written (per base, its largest power among the terms; a base dividing the sum is
    not cancelled) and keeps the rational content ``g`` (the gcd of the ``r``) apart, so
    its numerator is ``q L expr`` with ``q`` the denominator of ``g``. That polynomial is
    computed here in a ring, without ``gcd_terms`` on the expression trees.
    """
    terms = []
    for term in sp.Add.make_args(expr):
        coefficient, rest = term.as_coeff_Mul()
        powers = [f.as_base_exp() for f in sp.Mul.make_args(rest)]
        if not coefficient.is_Rational or not all(
                e.is_Integer and (b.is_Symbol or b.is_Add and b.is_polynomial())
                for b, e in powers):
            return sp.expand(sp.numer(sp.together(expr)))
        terms.append((coefficient, powers))
    denominators: dict[sp.Expr, int] = {}
    for _, powers in terms:
        for b, e in powers:
            if e < 0:
                denominators[b] = max(denominators.get(b, 0), int(-e))
    content = sp.Integer(0)
    for coefficient, _ in terms:
        content = coefficient if content == 0 else content.gcd(coefficient)
    symbols = set().union(*(b.free_symbols for _, powers in terms for b, _ in powers))
    ring = sp.polys.rings.PolyRing(sp.polys.polyutils._sort_gens(list(symbols)) or
                                   [sp.Dummy()], sp.QQ)
    scale = (content.q if content != 0 else 1)
    total = ring.zero
    for coefficient, powers in terms:
        exponents = dict(denominators)
        for b, e in powers:
            exponents[b] = exponents.get(b, 0) + int(e)
        product = ring(coefficient * scale)
        for b, e in exponents.items():
            if e:
                product *= ring(b) ** e
        total += product
    return as_expr(total)


def _expanded_integer_polynomial(expr: sp.Expr) -> bool:
    """Whether ``expr`` is a sum of integer multiples of products of symbol powers (then
    ``sp.expand(sp.numer(sp.together(expr)))`` is ``expr`` itself)."""
    for term in sp.Add.make_args(expr):
        coefficient, monomial = term.as_coeff_Mul()
        if not coefficient.is_Integer or not all(
                f is sp.S.One or f.is_Symbol or (f.is_Pow and f.base.is_Symbol
                                                 and f.exp.is_Integer and f.exp > 0)
                for f in sp.Mul.make_args(monomial)):
            return False
    return True


def _is_denominator(factor: sp.Expr, solved: dict, ctx: _Context) -> bool:
    """Whether ``factor`` is, up to a factor free of the state, the numerator of a
    denominator on the branch ``solved`` (those numerators are computed once per branch)."""
    key = tuple(solved.items())
    if key not in ctx.denominator_numerators:
        numerators = [together_numerator(den.subs(solved)) for den in ctx.denominators]
        ctx.denominator_numerators[key] = [d for d in numerators
                                           if d != 0 and d.free_symbols & set(STATE)]
    return any(_free_of_state(factor / d) for d in ctx.denominator_numerators[key])


@lru_cache(maxsize=1024)
def _free_of_state(expr: sp.Expr) -> bool:
    """Whether the rational function ``expr``, cancelled, is free of the state variables
    (``not sp.cancel(expr).free_symbols & STATE``, decided in a field). Remembered: each
    branch asks it of the same few factor / denominator pairs (34 distinct in 156 calls
    of the shared analyses)."""
    f = field_element(expr)
    if f is None:
        return not sp.cancel(expr).free_symbols & set(STATE)
    positions = [i for i, s in enumerate(f.field.symbols) if s in STATE]
    return all(p.degree(i) <= 0 for p in (f.numer, f.denom) for i in positions)


def _solve_factor(factor: sp.Expr, others: list, solved: dict, ctx: _Context, depth: int) -> None:
    variables = [v for v in SOLVE_ORDER if v in factor.free_symbols and v not in solved]
    linear = [v for v in variables if _degree(factor, v) == 1]
    if linear:
        v = linear[0]
        coefficient = sp.expand(factor).coeff(v, 1)
        rest = sp.expand(factor - coefficient * v)
        extended = _extend(solved, v, _quotient(-rest, coefficient))
        if extended is not None:
            _branch(others, extended, ctx, depth + 1)
        # The branch where the coefficient vanishes: then the rest must vanish too.
        if coefficient.free_symbols & set(STATE):
            _branch(others + [coefficient, rest], solved, ctx, depth + 1)
        return
    v = min(variables, key=lambda s: _degree(factor, s))
    if no_real_zeros(factor, v):
        return  # every branch through it is non-real, which _is_valid would reject
    for root in sp.solve(factor, v):
        extended = _extend(solved, v, root)
        if extended is not None:
            _branch(others, extended, ctx, depth + 1)


def _degree(poly: sp.Expr, v: sp.Symbol) -> int:
    """``sp.degree(poly, v)`` of a polynomial, read off the terms where each is a product
    of powers of symbols (an expanded factor); SymPy's otherwise."""
    degree = 0
    for term in sp.Add.make_args(poly):
        for factor in sp.Mul.make_args(term):
            base, exponent = factor.as_base_exp()
            if base == v and exponent.is_Integer and exponent > 0:
                degree = max(degree, int(exponent))
            elif not base.is_Symbol and v in base.free_symbols:
                return int(sp.degree(poly, v))
            elif base == v:  # a negative or symbolic power
                return int(sp.degree(poly, v))
    return degree


def _quotient(numerator: sp.Expr, denominator: sp.Expr) -> sp.Expr:
    """``numerator / denominator`` in ``sp.factor(sp.cancel(...))``'s form, the form
    :func:`_extend` gives a solved value (:func:`~symdyn.algebra.factored`, by FLINT in
    the rational field; SymPy's ``cancel`` where it is not a rational function)."""
    f = field_element(numerator / denominator)
    return sp.cancel(numerator / denominator) if f is None else algebra.factored(f)


def no_real_zeros(factor: sp.Expr, v: sp.Symbol) -> bool:
    """Whether the polynomial ``factor`` has no real zero ``v`` for almost every real value
    of the one parameter ``p`` it may hold besides ``v`` (decided exactly; ``False`` when
    the structure below does not apply).

    If every monomial ``v^i p^j`` has the same weight ``j + e i`` (``D``) for an integer
    ``e``, then ``factor = p^D G(v / p^e)`` with ``G(t)`` the same coefficients on ``t^i``.
    For ``p != 0`` a real zero ``v`` gives the real zero ``t = v / p^e`` of ``G`` and back,
    so ``factor`` has no real zero iff ``G`` has none (Sturm sequences count them). Its
    roots (``sp.solve``) would then be non-real functions of the parameters alone, and
    every component with such a value has no real point: the branch need not be opened
    (tBPTT(k)'s cyclotomic factors ``sum_j (lam lam*)^j``, ``sum_j lam^j lam*^(k-j)``).
    """
    rest = factor.free_symbols - {v}
    if len(rest) > 1 or rest & set(STATE):
        return False
    poly = sp.Poly(factor, v, *rest)
    if not poly.domain.is_QQ and not poly.domain.is_ZZ:
        return False
    terms = poly.terms()
    if rest:
        (i0, j0), _ = terms[0]
        shift = next(((i0 - i, j - j0) for (i, j), _ in terms if i != i0), None)
        if shift is None or shift[1] % shift[0]:
            return False
        e = shift[1] // shift[0]
        if any(j + e * i != j0 + e * i0 for (i, j), _ in terms):
            return False
    t = sp.Dummy("t")
    g = sp.Poly.from_dict({(m[0],): c for m, c in terms}, t, domain=poly.domain)
    return g.degree() > 0 and g.count_roots() == 0


def _extend(solved: dict, v: sp.Symbol, value: sp.Expr) -> dict | None:
    """``solved`` with ``v = value`` substituted into it; ``None`` where that divides by
    zero (the branch lies where an earlier solution's denominator vanishes)."""
    out = {k: substitute_factor(e, {v: value}) for k, e in solved.items()}
    out[v] = algebra.factor(value)
    if any(e.has(sp.zoo, sp.nan, sp.oo, -sp.oo) for e in out.values()):
        return None
    return out


def _is_valid(ode: LearningODE, comp: WorkingComponent, denominators: list) -> bool:
    """A component is kept if the full right-hand side vanishes on it, no denominator does,
    and some of its points lie inside the stationary region."""
    if any(e.has(sp.I) for e in comp.solved.values()) and not _meets_region(ode, comp):
        return False  # non-real values (a quadratic's complex roots): the region test,
        # which rejects them at once, spares the exact tests on radical expressions
    if any(vanishes_on(den, comp.solved) for den in denominators):
        return False
    if not _rhs_vanishes(ode, comp.solved):
        return False
    return _meets_region(ode, comp)


def _rhs_vanishes(ode: LearningODE, solved: dict) -> bool:
    """Whether every working right-hand side vanishes at ``solved``: substituted in the
    ODE's field (:func:`~symdyn.analysis.working_field.working_field`, whose rows are
    converted once per ODE), else by :func:`~symdyn.algebra.vanishes_on`."""
    wf = working_field(ode)
    if wf is not None:
        try:
            values = {to_field(wf.field, v): to_field(wf.field, e) for v, e in solved.items()}
            return all(not substitute(row, values) for row in wf.rows)
        except (ValueError, ZeroDivisionError):  # not rational, or a pole: the general test
            pass
    return all(vanishes_on(rhs, solved) for rhs in ode.working_rhs)


def _meets_region(ode: LearningODE, comp: WorkingComponent, trials: int = 60) -> bool:
    return bool(sample_points(ode, comp, 1, tries=trials))


def sample_points(ode: LearningODE, comp: WorkingComponent, n: int, seed: int = 0,
                  tries: int | None = None) -> list[dict]:
    """Up to ``n`` random points of the component inside the stationary region, with
    parameters (those pinned by :meth:`LearningODE.specialize` keep their values), from at
    most ``tries`` draws (default ``50 n``)."""
    rng = np.random.default_rng(seed)
    kappa = working_kappa(ode)
    fixed = ode.fixed_working  # the same at every draw: computed once, not per draw
    points: list[dict] = []
    with np.errstate(all="ignore"):  # entered once for all draws (it cost as much as a draw)
        for _ in range(50 * n if tries is None else tries):
            params = sample_parameters(rng, ode.leak, fixed)
            point = _random_point_on(comp, params, rng)
            if point is None:
                continue
            point = {**params, **point}
            if in_region(point, kappa):
                points.append(point)
                if len(points) == n:
                    break
    return points


def working_kappa(ode: LearningODE) -> sp.Expr | None:
    """The trace decay in working coordinates, or ``None`` for a finite window."""
    if ode.rule.truncation is not None:
        return None
    return ode.to_working(ode.rule.trace_decay).subs(S.alpha, ode.leak)


#: Argument order of every lambdified working-coordinate function.
POINT_ARGS = (S.lam, S.b, S.c, S.lam_star, S.b_star, S.c_star, S.beta, S.alpha)


def random_point_on(comp: WorkingComponent, params: dict, rng: np.random.Generator,
                    ) -> dict[sp.Symbol, float] | None:
    """A random real point of the component (free variables drawn, solved ones computed)."""
    with np.errstate(all="ignore"):
        return _random_point_on(comp, params, rng)


def _random_point_on(comp: WorkingComponent, params: dict, rng: np.random.Generator,
                     ) -> dict[sp.Symbol, float] | None:
    """:func:`random_point_on`, inside the caller's ``np.errstate``."""
    draws = {S.lam: rng.uniform(-0.95, 0.95), S.b: signed(rng, 0.2, 2.0),
             S.c: signed(rng, 0.2, 2.0)}
    point = {v: draws[v] for v in comp.free}
    args = [point.get(s, params.get(s, 0.0)) for s in POINT_ARGS]
    for v, f in _solved_functions(comp).items():
        value = complex(f(*args))
        if not cmath.isfinite(value) or abs(value.imag) > 1e-9:
            return None
        point[v] = value.real
    return point


def _solved_functions(comp: WorkingComponent) -> dict:
    if not comp.functions and comp.solved:
        comp.functions.update({v: _point_function(e) for v, e in comp.solved.items()})
    return comp.functions


@lru_cache(maxsize=256)
def _point_function(expr: sp.Expr) -> Callable:
    """``expr`` lambdified over :data:`POINT_ARGS`, once per expression per process (the
    components of several rules and leaks share their solved expressions: 46 calls for 4
    expressions in the quick paper). A square root of a negative number gives NaN
    (NumPy's ``sqrt``), which :func:`_random_point_on` rejects as it does a complex value.

    NumPy as a module, not "numpy": the same printer and functions (see
    signs.lambdified), without the first call's ``from numpy import *``."""
    return sp.lambdify(POINT_ARGS, expr, modules=[np])


def _maximal(components: list[WorkingComponent]) -> list[WorkingComponent]:
    """Drop every component contained in another one (keeping the first of equals)."""
    keep = []
    for i, comp in enumerate(components):
        contained = any(
            j != i and _contains(other, comp) and not (_contains(comp, other) and j > i)
            for j, other in enumerate(components)
        )
        if not contained:
            keep.append(comp)
    return keep


def _contains(big: WorkingComponent, small: WorkingComponent) -> bool:
    """Whether every point of ``small`` satisfies the defining equations of ``big``."""
    return all(vanishes_on(v - expr, small.solved) for v, expr in big.solved.items())


def _unique(exprs: list[sp.Expr]) -> list[sp.Expr]:
    out: list[sp.Expr] = []
    for e in exprs:
        if not any(_constant(e / o) or sp.expand(e - o) == 0 for o in out):
            out.append(e)
    return out


@lru_cache(maxsize=1024)
def _constant(expr: sp.Expr) -> bool:
    """``sp.cancel(expr).is_number`` for a rational function, decided in a field
    (remembered: 7 distinct ratios in 88 calls of the shared analyses)."""
    f = field_element(expr)
    if f is None:
        return sp.cancel(expr).is_number
    return f.numer.is_ground and f.denom.is_ground


def _unique_dicts(dicts: list[dict]) -> list[dict]:
    out: list[dict] = []
    for d in dicts:
        if not any(set(d) == set(o) and all(sp.cancel(d[k] - o[k]) == 0 for k in d)
                   for o in out):
            out.append(d)
    return out
