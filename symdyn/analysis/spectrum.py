"""Linear stability of fixed-point sets: spectra, Routh-Hurwitz conditions, classification.

On a fixed-point set of dimension ``d`` the Jacobian has at least ``d`` zero eigenvalues
(the tangent directions). Dividing them out of the characteristic polynomial leaves the
*reduced* polynomial ``x^n + p_{n-1} x^{n-1} + ... + p_0``; the set is stable iff all its
roots have negative real part, which Routh-Hurwitz turns into polynomial inequalities
(``n = 2``: ``p_1 > 0, p_0 > 0``; ``n = 3``: ``p_2 > 0, p_0 > 0, p_2 p_1 > p_0``). When the
reduced polynomial splits into linear factors the conditions are instead ``-root > 0``
for each root, which is exact and shorter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, reduce

import numpy as np
import sympy as sp
from sympy.polys.matrices import DomainMatrix

from .. import algebra
from ..algebra import factor_parts, factored, substitute, to_field
from ..factoring import cancel, factor_list_in, lcm
from ..ode import LearningODE
from .components import POINT_ARGS, WorkingComponent
from .signs import implied, simplify_positive, sqrt
from .working_field import numeric_jacobian, working_field

X = sp.Symbol("x")
#: Relative size below which an eigenvalue is round-off (see :func:`zero_tolerance`).
ZERO_RTOL = 1e-7


@dataclass(frozen=True)
class Root:
    """A closed-form eigenvalue ``mid + sign * sqrt(disc)`` (``disc = 0`` for a rational
    root). The parts are kept apart so that each stays a cancelled rational function."""

    mid: sp.Expr
    disc: sp.Expr = sp.Integer(0)
    sign: int = 1

    @cached_property
    def expr(self) -> sp.Expr:
        """``mid + sign sqrt(disc)``: built once (the square root of a long factored
        discriminant costs SymPy's assumption queries) and pickled with the root, so that
        a fixed-point analysis read from the on-disk cache carries it."""
        return self.mid + self.sign * sqrt(self.disc) if self.disc != 0 else self.mid

    def map(self, f) -> Root:
        """Apply ``f`` to both parts (a change of variables, a substitution)."""
        return Root(f(self.mid), f(self.disc) if self.disc != 0 else self.disc, self.sign)


@dataclass(frozen=True)
class Spectrum:
    """The reduced characteristic polynomial on a set and its roots, in working variables."""

    jacobian: sp.Matrix
    reduced: sp.Poly
    roots: list[Root]               # closed forms of the reduced roots (may be empty)
    split: bool                     # the reduced polynomial has only linear factors

    @property
    def eigenvalues(self) -> list[sp.Expr]:
        return [r.expr for r in self.roots]

    def __reduce__(self):
        # Pickled (symdyn.cache) as coefficients: a Poly cannot be rebuilt from its
        # expression while SymPy's evaluation is off, as the cache loads.
        return _spectrum, (self.jacobian, self.reduced.all_coeffs(), self.roots, self.split)


def _spectrum(jacobian: sp.Matrix, coefficients: list, roots: list, split: bool) -> Spectrum:
    return Spectrum(jacobian, sp.Poly(coefficients, X, domain="EX"), roots, split)


def set_jacobian(ode: LearningODE, comp: WorkingComponent) -> sp.Matrix:
    """The working Jacobian restricted to a component, entries cancelled."""
    return ode.working_jacobian.subs(comp.solved).applyfunc(lambda e: sp.factor(sp.cancel(e)))


def _field_jacobian(ode: LearningODE, comp: WorkingComponent) -> list[list] | None:
    """The restricted working Jacobian as elements of a rational function field: exact
    arithmetic on cancelled fractions, without SymPy expression trees. ``None`` when the
    set's parametrisation is not rational (square roots)."""
    wf = working_field(ode)
    if wf is None:
        return None
    try:
        values = {to_field(wf.field, v): to_field(wf.field, e) for v, e in comp.solved.items()}
    except ValueError:
        return None
    return [[substitute(f, values) for f in row] for row in wf.jacobian]


def spectrum(ode: LearningODE, comp: WorkingComponent) -> Spectrum:
    """Characteristic polynomial with the set's ``d`` zero eigenvalues divided out."""
    entries = _field_jacobian(ode, comp)
    if entries is None:
        jac = set_jacobian(ode, comp)
        coeffs = [sp.factor(sp.cancel(k)) for k in jac.charpoly(X).all_coeffs()]
        field_coeffs = None
    else:
        jac = sp.Matrix([[factored(e) for e in row] for row in entries])
        field_coeffs = _field_charpoly(entries)
        coeffs = [factored(k) for k in field_coeffs]
    d = len(comp.free)
    if any(k != 0 for k in coeffs[len(coeffs) - d:]):
        d = 0  # the set's dimension does not show up as zero eigenvalues: keep them all
    # EX keeps the factored coefficients as they are (recognised as factored later)
    reduced = sp.Poly(coeffs[: len(coeffs) - d] if d else coeffs, X, domain="EX")
    monic = None if field_coeffs is None else field_coeffs[: len(field_coeffs) - d]
    eigenvalues, split = _roots(reduced, monic)
    return Spectrum(jac, reduced, eigenvalues, split)


def _field_charpoly(entries: list[list]) -> list:
    """``DomainMatrix(entries).charpoly()`` of a square matrix of elements of a rational
    function field: the same coefficients (each element is unique, cancelled with a
    unit-normalised denominator), computed over the polynomial ring. With ``d`` a common
    denominator and ``N = d A`` (polynomial entries), ``det(x - A)`` has the coefficient
    ``c_k(N) / d^k`` of ``x^(n-k)``, ``c_k(N)`` from SymPy's Berkowitz algorithm on ``N``
    (no division), cancelled once each by FLINT's gcd
    (:func:`~symdyn.factoring.cancel`). ``charpoly`` does the same over the ring, but
    puts the denominators back with the field's arithmetic, which cancels after every
    product (0.1-0.2 CPU s of the paper's shared analyses)."""
    field = entries[0][0].field
    ring = field.ring
    d = reduce(lcm, [e.denom for row in entries for e in row])
    scaled = [[e.numer * d.exquo(e.denom) for e in row] for row in entries]
    n = len(entries)
    coefficients = DomainMatrix(scaled, (n, n), ring.to_domain()).charpoly_berk()
    out, power = [field.one], ring.one
    for c in coefficients[1:]:
        power *= d
        out.append(field.raw_new(*cancel(c, power)) if c else field.zero)
    return out


def _roots(poly: sp.Poly, monic: list | None = None) -> tuple[list[Root], bool]:
    """Closed-form roots: linear factors first, then the quadratic formula; cubic and up
    are left to numerics. ``monic``: the same polynomial's coefficients as field
    elements, leading 1, which give the answer without factoring over the parameters."""
    quick = _roots_from_field(monic) if monic is not None else None
    if quick is not None:
        return quick, len(monic) == 2
    numerator = sp.numer(sp.together(poly.as_expr()))
    # Expanded, so that FLINT factors it (factor_list_in takes only expanded integer
    # polynomials; SymPy's factor_list, where it went otherwise, expands a sum itself
    # and factors each factor of a product: the same irreducible factors, sorted alike)
    factors = factor_list_in(sp.expand(numerator), (X,))
    roots, split = [], True
    for factor, multiplicity in factors:
        fpoly = sp.Poly(factor, X)
        if fpoly.degree() == 1:
            c1, c0 = fpoly.all_coeffs()
            roots += [Root(sp.factor(sp.cancel(-c0 / c1)))] * multiplicity
        elif fpoly.degree() == 2:
            split = False
            c2, c1, c0 = fpoly.all_coeffs()
            disc = sp.factor(sp.cancel((c1**2 - 4 * c2 * c0) / (4 * c2**2)))
            mid = sp.factor(sp.cancel(-c1 / (2 * c2)))
            roots += [Root(mid, disc, 1), Root(mid, disc, -1)] * multiplicity
        else:
            return [], False
    return roots, split


def _roots_from_field(monic: list) -> list[Root] | None:
    """The root of ``x + p0``, or the two roots of an irreducible ``x^2 + p1 x + p0``.

    Over the parameters' field the quadratic is irreducible iff its discriminant is not
    a square, i.e. iff its factored form has an odd power or a non-square number;
    ``None`` when it splits (or for other degrees), to be factored in full.
    """
    if len(monic) == 2:
        return [Root(factored(-monic[1]))]
    if len(monic) != 3:
        return None
    _, p1, p0 = monic
    disc = factored(p1**2 / 4 - p0)
    coeff, factors = factor_parts(disc)
    if all(k % 2 == 0 for k in factors.values()) and coeff >= 0 and sp.sqrt(coeff).is_Rational:
        return None
    mid = factored(-p1 / 2)
    return [Root(mid, disc, 1), Root(mid, disc, -1)]


def hurwitz_expressions(poly: sp.Poly) -> list[sp.Expr]:
    """Routh-Hurwitz expressions that must all be positive for a monic real polynomial."""
    # factored rather than cancelled: the conditions are factored next (signs), and a
    # factored form is recognised there without factoring it again
    p = [algebra.factor(k / poly.LC()) for k in poly.all_coeffs()][1:]  # p_{n-1}, ..., p_0
    n = len(p)
    if n == 0:
        return []
    if n == 1:
        return [p[0]]
    if n == 2:
        return [p[0], p[1]]
    if n == 3:
        return [p[0], p[2], algebra.factor(p[0] * p[1] - p[2])]
    return _hurwitz_minors(p)


def _hurwitz_minors(p: list[sp.Expr]) -> list[sp.Expr]:
    n = len(p)
    coeff = [sp.Integer(1)] + p
    H = sp.Matrix(n, n, lambda i, j: coeff[2 * j - i + 1] if 0 <= 2 * j - i + 1 <= n else 0)
    return [sp.cancel(H[:k, :k].det()) for k in range(1, n + 1)]


def stability_conditions(spec: Spectrum, points: list[dict]) -> list[sp.Expr] | bool:
    """Conditions for all non-zero eigenvalues to have negative real part.

    ``True`` if always satisfied in the region, ``False`` if never (for one condition),
    else the list of independent conditions ``g > 0``.
    """
    raw = [-e for e in spec.eigenvalues] if spec.split else hurwitz_expressions(spec.reduced)
    conditions = []
    for expr in raw:
        g = simplify_positive(expr, points)
        if g is False:
            return False
        if g is not True:
            conditions.append(g)
    conditions = _drop_implied(_unique(conditions))
    if any(sp.expand(g + o) == 0 for g in conditions for o in conditions):
        return False  # g > 0 and -g > 0 together: never satisfied
    return conditions or True


def _unique(conditions: list[sp.Expr]) -> list[sp.Expr]:
    out: list[sp.Expr] = []
    for g in conditions:
        if not any(sp.expand(g - o) == 0 for o in out):
            out.append(g)
    return out


def _drop_implied(conditions: list[sp.Expr]) -> list[sp.Expr]:
    """Remove every condition that another one implies exactly."""
    kept = list(conditions)
    for g in conditions:
        others = [o for o in kept if o is not g]
        if any(implied(g, o) for o in others):
            kept.remove(g)
    return kept


def zero_tolerance(jacobian: np.ndarray) -> float:
    """Eigenvalues within this of zero are round-off: ``ZERO_RTOL`` times the Jacobian's
    largest entry (relative, so that rescaling time does not change a verdict)."""
    scale = float(np.max(np.abs(jacobian))) if np.size(jacobian) else 0.0
    return ZERO_RTOL * max(scale, np.finfo(float).tiny)


def clean_eigenvalues(eigenvalues: np.ndarray, tol: float) -> np.ndarray:
    """Real and imaginary parts within ``tol`` of zero set to exactly ``+0``, sorted by
    decreasing real part, so that round-off never prints as ``-2e-32`` or ``-0``."""
    values = np.asarray(eigenvalues, dtype=complex)
    re = np.where(np.abs(values.real) <= tol, 0.0, values.real) + 0.0
    im = np.where(np.abs(values.imag) <= tol, 0.0, values.imag) + 0.0
    out = re + 1j * im
    return out[np.argsort(-out.real, kind="stable")]


def numeric_class(eigenvalues: np.ndarray, n_zero: int, tol: float | None = None) -> str:
    """The class of a fixed point from its Jacobian's eigenvalues (the one rule of symdyn).

    Up to ``n_zero`` eigenvalues within ``tol`` of zero (smallest modulus first) are
    explained by the tangent directions of a fixed-point set of dimension ``n_zero`` and
    are left out. Of the rest: any real part above ``tol`` makes the point unstable
    (``"saddle"`` if another is below ``-tol``); all below ``-tol`` make it ``"stable"``;
    otherwise (none above, some within ``tol``) it is ``"marginal"``. ``tol`` defaults to
    ``ZERO_RTOL`` times the largest eigenvalue modulus; pass :func:`zero_tolerance` of the
    Jacobian when it is at hand.
    """
    values = np.asarray(eigenvalues, dtype=complex).ravel()
    moduli = np.abs(values)
    if tol is None:
        tol = ZERO_RTOL * max(float(np.max(moduli, initial=0.0)), np.finfo(float).tiny)
    return _class_of(values.tolist(), moduli.tolist(), n_zero, tol)


def sampled_classes(ode: LearningODE, comp: WorkingComponent, points: list[dict]) -> list[str]:
    """Numeric classification at each sample point from the working Jacobian (evaluated
    from its exact field form, :mod:`~symdyn.analysis.working_field`, when rational)."""
    if not points:
        return []
    jacobians = numeric_jacobian(ode)
    if jacobians is None:
        jac = sp.lambdify(POINT_ARGS, ode.working_jacobian, np)  # as signs.lambdified
        matrices = np.array([np.asarray(jac(*[p.get(s, 0.0) for s in POINT_ARGS]),
                                        dtype=float) for p in points])
    else:
        matrices = np.asarray(jacobians(points), dtype=float)
    # All points at once (the same LAPACK call per matrix as one at a time), then each
    # verdict by numeric_class's rule on plain floats: its NumPy calls on three numbers
    # cost more than the eigenvalues.
    eigenvalues = np.asarray(np.linalg.eigvals(matrices), dtype=complex)
    scales = np.max(np.abs(matrices), axis=(1, 2)).tolist()  # zero_tolerance's, per point
    tiny = np.finfo(float).tiny
    return [_class_of(values, moduli, len(comp.free), ZERO_RTOL * max(scale, tiny))
            for values, moduli, scale in zip(eigenvalues.tolist(),
                                             np.abs(eigenvalues).tolist(), scales, strict=True)]


def _class_of(values: list[complex], moduli: list[float], n_zero: int, tol: float) -> str:
    """The rule of :func:`numeric_class` (stated there), on Python numbers: the
    eigenvalues ``values``, ``moduli`` their absolute values, the tolerance ``tol``."""
    # Smallest modulus first, ties in order, a NaN last (as a stable argsort orders them).
    order = sorted(range(len(values)), key=lambda i: (math.isnan(moduli[i]), moduli[i]))
    explained = {i for i in order[:n_zero] if moduli[i] <= tol}
    rest = [v.real for i, v in enumerate(values) if i not in explained]
    if any(r > tol for r in rest):
        return "saddle" if any(r < -tol for r in rest) else "unstable"
    if all(r < -tol for r in rest):
        return "stable"
    return "marginal"


def classify(samples: list[str], conditions: list | bool) -> str:
    """One word from the sampled classes, cross-checked with the symbolic conditions."""
    kinds = set(samples)
    if len(kinds) == 1:
        (kind,) = kinds
        if conditions is True or kind != "stable":
            return kind
    if conditions is True:
        return "stable"
    return "conditional"
