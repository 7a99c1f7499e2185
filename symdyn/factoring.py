"""Integer polynomials factored into irreducibles, by FLINT when python-flint is installed.

SymPy factors multivariate polynomials with Wang's algorithm, written in Python: it is the
largest single cost of the fixed-point analyses (about a quarter of the paper's shared
analyses). python-flint wraps FLINT's multivariate factorisation, written in C, about ten
times faster on the analyses' polynomials.

Both give the same answer. Factorisation into irreducibles over ``Z`` is unique up to the
signs of the factors; ``PolyElement.factor_list`` (``dmp_factor_list``) gives each factor
a positive leading coefficient in lex order on the ring's generators and sorts the factors
with ``_sort_factors`` on their dense representations. FLINT's factors are normalised and
sorted the same way here, and the constant takes the signs moved out of the factors, so
:func:`factor_list` returns what ``p.factor_list()`` returns. Without python-flint, or for
a ring outside ``Z[x_1, ..., x_n]`` in lex order, SymPy factors.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp
from sympy.polys.orderings import lex
from sympy.polys.polytools import _sorted_factors
from sympy.polys.polyutils import _sort_factors, _sort_gens
from sympy.polys.rings import PolyElement, PolyRing


def factor_list(p: PolyElement) -> tuple[object, list[tuple[PolyElement, int]]]:
    """``p.factor_list()``: the constant and the irreducible factors with multiplicities,
    computed by FLINT where it can be (see module doc)."""
    ring = p.ring
    context = _flint_context(ring)
    if context is None or p.is_ground:
        return p.factor_list()
    constant, flint_factors = _to_flint(context, p).factor()
    sign, factors = 1, []
    for f, k in flint_factors:
        q = _element(ring, f.to_dict())
        if q.LC < 0:  # SymPy's normal form (FLINT's too, but it does not promise it)
            q, sign = -q, sign * (-1) ** k
        factors.append((ring.to_dense(q), int(k)))
    coefficient = ring.domain(int(constant) * sign)
    return coefficient, [(ring.from_dense(f), k) for f, k in _sort_factors(factors)]


@lru_cache(maxsize=1)
def _flint():
    """The ``flint`` module (python-flint), or ``None`` when it is not installed or its
    multivariate polynomials do not answer as this module expects (checked once, on
    ``2 x^2 y - 2 x y^2``): another python-flint falls back to SymPy, never errs."""
    try:
        import flint

        x, y = flint.fmpz_mpoly_ctx.get(("x", 2), "lex").gens()
        constant, factors = (2 * x**2 * y - 2 * x * y**2).factor()
        found = {(frozenset((tuple(map(int, m)), int(c)) for m, c in f.to_dict().items()),
                  int(k)) for f, k in factors}
        expected = {(frozenset({((1, 0), 1)}), 1), (frozenset({((0, 1), 1)}), 1),
                    (frozenset({((1, 0), 1), ((0, 1), -1)}), 1)}
        ok = int(constant) == 2 and found == expected and (x * y).gcd(2 * x) == x
    except Exception:  # not installed, or another API: SymPy factors
        return None
    return flint if ok else None


@lru_cache(maxsize=32)
def _context(n: int):
    """FLINT's ring of integer polynomials in ``n`` generators, lex order."""
    return _flint().fmpz_mpoly_ctx.get(("x", n), "lex")


def _flint_context(ring: PolyRing):
    """FLINT's ring for the SymPy polynomial ``ring``, or ``None`` where FLINT does not
    stand in: without python-flint, or for a ring other than ``Z[x_1, ..., x_n]`` in lex
    order (rational coefficients would be lost, another order would give the terms back
    in the wrong places)."""
    if _flint() is None or not ring.domain.is_ZZ or ring.order != lex or not ring.ngens:
        return None
    return _context(ring.ngens)


def factor_list_in(expr: sp.Expr, gens: tuple[sp.Symbol, ...]) -> list[tuple[sp.Expr, int]]:
    """``sp.factor_list(expr, *gens)[1]`` for an expanded polynomial ``expr`` with integer
    coefficients: the factors over ``Z[other symbols]`` in the same order, the irreducible
    factorisation by FLINT (:func:`factor_list`); SymPy's route for anything else.

    As SymPy does: ``together`` takes the monomial common to all terms out as separate
    factors (its symbols among ``gens`` are factors, in the domain ``ZZ``; the others go to
    the coefficient); the rest is a polynomial in ``gens`` over ``ZZ[its other symbols]``,
    whose factors are those of the rest in ``Z[gens, others]`` (in that order, as
    ``dmp_factor_list`` injects them) that contain a generator, the others being content.
    The factors are sorted with SymPy's own key (``_sorted_factors``).
    """
    from .algebra import as_expr, monomial_terms

    symbols = _sort_gens(list(expr.free_symbols)) if expr.is_Add else []
    parsed = monomial_terms(expr, {s: i for i, s in enumerate(symbols)}) if symbols else None
    if _flint() is None or parsed is None or not all(c.is_Integer for _, c in parsed):
        return sp.factor_list(expr, *gens)[1]
    terms: dict[tuple, int] = {}
    for monom, c in parsed:
        terms[monom] = terms.get(monom, 0) + int(c)
    p = PolyRing(symbols, sp.ZZ).from_dict({m: c for m, c in terms.items() if c})
    common = [min(m[i] for m in p.monoms()) for i in range(len(symbols))]
    rest = p.exquo(p.ring({tuple(common): 1}))
    # SymPy's multiplicity of a power s**k taken out is 1 * Integer(k) (an int for k = 1)
    factors = [(sp.Poly(s, *gens), 1 if k == 1 else sp.Integer(k))
               for s, k in zip(symbols, common, strict=True) if k and s in gens]
    others = [s for i, s in enumerate(symbols) if s not in gens and rest.degree(i) > 0]
    domain = sp.ZZ.poly_ring(*others) if others else sp.ZZ
    injected = PolyRing([*gens, *others], sp.ZZ)
    positions = [injected.symbols.index(s) if s in injected.symbols else None for s in symbols]
    q = injected.from_dict({tuple(sum(e for e, j in zip(m, positions, strict=True) if j == i)
                                  for i in range(injected.ngens)): c for m, c in rest.items()})
    for f, k in factor_list(q)[1]:
        if any(f.degree(i) > 0 for i in range(len(gens))):
            factors.append((sp.Poly(as_expr(f), *gens, domain=domain), k))
    return [(poly.as_expr(), k) for poly, k in _sorted_factors(factors, "factor")]


def cancel(numer: PolyElement, denom: PolyElement) -> tuple[PolyElement, PolyElement]:
    """``numer.cancel(denom)``: the fraction divided by the gcd of its terms, the
    denominator's leading coefficient made positive, with FLINT's gcd where installed (a
    cancelled fraction normalised so is unique: the same pair as SymPy's)."""
    ring = numer.ring
    context = _flint_context(ring)
    if context is None or not numer:
        return numer.cancel(denom)
    top, bottom = _to_flint(context, numer), _to_flint(context, denom)
    divisor = top.gcd(bottom)
    return _field_pair(ring, top / divisor, bottom / divisor)


def derivative(f, x):
    """``f.diff(x)`` for an element ``f`` of a fraction field and a generator ``x``: the
    quotient rule ``(n' d - n d') / d^2``, cancelled by :func:`cancel` (FLINT's gcd where
    installed; the same element)."""
    x = x.to_poly()
    numer, denom = f.numer, f.denom
    return f.raw_new(*cancel(numer.diff(x) * denom - numer * denom.diff(x), denom**2))


def _element(ring, terms: dict) -> PolyElement:
    """The polynomial of ``ring`` with FLINT's ``terms`` (exponent tuple -> integer)."""
    return ring.from_dict({tuple(map(int, m)): ring.domain(int(c)) for m, c in terms.items()})


def substitute(numer: PolyElement, denom: PolyElement,
               values: dict[int, tuple[PolyElement, PolyElement]],
               ) -> tuple[PolyElement, PolyElement] | None:
    """The fraction ``numer / denom`` with generator ``i`` replaced by ``n_i / d_i`` for
    each ``i: (n_i, d_i)`` of ``values``, cancelled and normalised as a fraction field
    keeps its elements (the same pair as substituting term by term in the field); by
    FLINT, ``None`` without it or for a ring it does not take.

    Each polynomial ``p`` becomes ``P / prod d_i^{deg_i p}`` with
    ``P = sum c_m x^m' prod n_i^{m_i} d_i^{deg_i p - m_i}`` (no fractions), so one gcd
    cancels the quotient, where the field cancels after every term's product and sum.
    ``ZeroDivisionError`` if the denominator becomes zero, as the field raises.
    """
    ring = numer.ring
    context = _flint_context(ring)
    if context is None:
        return None
    images = {i: (_to_flint(context, n), _to_flint(context, d)) for i, (n, d) in values.items()}
    top, top_scale = _image(context, numer, images)
    bottom, bottom_scale = _image(context, denom, images)
    top, bottom = top * bottom_scale, bottom * top_scale
    if bottom == 0:
        raise ZeroDivisionError("the denominator vanishes after the substitution")
    if top == 0:
        return ring.zero, ring.one
    divisor = top.gcd(bottom)
    return _field_pair(ring, top / divisor, bottom / divisor)


def _to_flint(context, p: PolyElement):
    return context.from_dict({m: int(c) for m, c in p.items()})


def _constant(context, c: int):
    """The constant ``c`` of FLINT's ring ``context``."""
    return context.from_dict({(0,) * context.nvars(): c} if c else {})


def _field_pair(ring, top, bottom) -> tuple[PolyElement, PolyElement]:
    """FLINT's cancelled ``top / bottom`` as the pair of ``ring``'s elements a fraction
    field keeps: the denominator's leading coefficient positive (a cancelled fraction so
    normalised is unique, so it is the pair SymPy's own arithmetic gives)."""
    p, q = (_element(ring, x.to_dict()) for x in (top, bottom))
    return (-p, -q) if q.LC < 0 else (p, q)


def _image(context, p: PolyElement, images: dict) -> tuple[object, object]:
    """``(P, scale)`` with ``p`` after the substitution equal to ``P / scale``
    (:func:`substitute`): terms grouped by their exponents of the replaced generators,
    each power of a numerator or denominator computed once."""
    degrees = {i: max((m[i] for m in p.keys()), default=0) for i in images}
    groups: dict[tuple, dict] = {}
    for monom, c in p.items():
        key = tuple(monom[i] for i in images)
        rest = tuple(0 if i in images else e for i, e in enumerate(monom))
        groups.setdefault(key, {})[rest] = int(c)
    powers: dict[tuple[int, int, int], object] = {}

    def power(i: int, which: int, k: int):
        if (i, which, k) not in powers:
            powers[i, which, k] = images[i][which] ** k
        return powers[i, which, k]

    total = context.from_dict({})
    for key, rest in groups.items():
        term = context.from_dict(rest)
        for i, k in zip(images, key, strict=True):
            if k:
                term *= power(i, 0, k)
            if degrees[i] - k:
                term *= power(i, 1, degrees[i] - k)
        total += term
    scale = _constant(context, 1)
    for i in images:
        if degrees[i]:
            scale *= power(i, 1, degrees[i])
    return total, scale


def lcm(p: PolyElement, q: PolyElement) -> PolyElement:
    """A least common multiple of ``p`` and ``q`` (``p.lcm(q)`` up to sign), by FLINT's
    gcd where installed."""
    ring = p.ring
    context = _flint_context(ring)
    if context is None or not p or not q:
        return p.lcm(q)
    a, b = _to_flint(context, p), _to_flint(context, q)
    return _element(ring, (a * (b / a.gcd(b))).to_dict())


class Fraction:
    """An element of a fraction field ``Z(x_1, ..., x_n)`` (lex order) kept as a pair of
    FLINT polynomials, cancelled by FLINT's gcd after every operation, where the field
    cancels with SymPy's gcd in Python. :func:`fractions` makes them from field elements;
    :meth:`element` gives the field's element back, normalised as the field keeps it
    (cancelled, the denominator's leading coefficient positive): a cancelled fraction so
    normalised is unique, so the element is the one the field's own arithmetic gives.
    Supports what :func:`~symdyn.averaging.expected_update` uses: ``+ - * /`` with
    another fraction or a Python ``int`` on either side, non-negative integer powers,
    negation and comparison with 0. Any other operand (a SymPy ``Integer``, a field
    element) is not supported: ``==`` gives False and arithmetic raises ``TypeError``."""

    __slots__ = ("numer", "denom", "field")

    def __init__(self, field, numer, denom):
        self.field, self.numer, self.denom = field, numer, denom

    def _new(self, numer, denom) -> Fraction:
        if numer == 0:
            return Fraction(self.field, numer, _constant(denom.context(), 1))
        divisor = numer.gcd(denom)
        if divisor != 1:
            numer, denom = numer / divisor, denom / divisor
        return Fraction(self.field, numer, denom)

    def _other(self, other) -> Fraction:
        if isinstance(other, Fraction):
            return other
        if isinstance(other, int):
            context = self.denom.context()
            return Fraction(self.field, _constant(context, other), _constant(context, 1))
        return NotImplemented

    def __add__(self, other):
        other = self._other(other)
        if other is NotImplemented:
            return other
        if self.denom == other.denom:
            return self._new(self.numer + other.numer, self.denom)
        return self._new(self.numer * other.denom + other.numer * self.denom,
                         self.denom * other.denom)

    __radd__ = __add__

    def __neg__(self):
        return Fraction(self.field, -self.numer, self.denom)

    def __sub__(self, other):
        other = self._other(other)
        return other if other is NotImplemented else self + (-other)

    def __rsub__(self, other):
        other = self._other(other)
        return other if other is NotImplemented else other + (-self)

    def __mul__(self, other):
        other = self._other(other)
        if other is NotImplemented:
            return other
        return self._new(self.numer * other.numer, self.denom * other.denom)

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = self._other(other)
        if other is NotImplemented:
            return other
        if other.numer == 0:
            raise ZeroDivisionError("division by the zero fraction")
        return self._new(self.numer * other.denom, self.denom * other.numer)

    def __rtruediv__(self, other):
        other = self._other(other)
        return other if other is NotImplemented else other / self

    def __pow__(self, k: int):
        if not isinstance(k, int) or k < 0:
            return NotImplemented
        return Fraction(self.field, self.numer**k, self.denom**k)  # stays cancelled

    def __eq__(self, other):
        other = self._other(other)
        if other is NotImplemented:
            return other
        return self.numer * other.denom == other.numer * self.denom

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None

    def __bool__(self) -> bool:
        return self.numer != 0

    def element(self):
        """The field's element (normalised as the field keeps it)."""
        return self.field.raw_new(*_field_pair(self.field.ring, self.numer, self.denom))


def fractions(field) -> object | None:
    """A function taking an element of ``field`` (``Z(x_1, ..., x_n)`` in lex order) to
    its :class:`Fraction`, or ``None`` without python-flint or for another field."""
    context = _flint_context(field.ring)
    if context is None:
        return None

    def convert(f) -> Fraction:
        return Fraction(field, _to_flint(context, f.numer), _to_flint(context, f.denom))

    return convert
