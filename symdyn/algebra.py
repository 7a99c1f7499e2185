"""Exact algebra on factored rational functions, without expanding them.

``sp.factor(sp.cancel(e.subs(mapping)))`` expands a whole rational function and factors
it again, which dominates the time of the analysis on its large expressions. When ``e``
is already factored (the output of ``sp.factor``: a number times integer powers of
irreducible integer polynomials) and ``mapping`` is an invertible affine change of
variables, such as ``lam -> 1 - alpha + alpha a``, each factor can be mapped on its own,
with the same result:

Let ``P`` be irreducible in ``Z[x, y]``, the old variables ``x`` each replaced by
``u + v t`` with a new variable ``t`` and ``v != 0`` free of ``x`` and ``t``. Over the
field ``K = Q(y)`` this is an isomorphism of ``K[x]`` onto ``K[t]``, so ``P(u + v t)`` is
irreducible in ``K[t]``; by Gauss's lemma it is its content ``c(y)`` (the gcd of its
coefficients in ``t``) times a primitive polynomial that is irreducible over ``Z``. Only
the small content (typically a power of ``alpha``) is factored; the large primitive
part is known to be irreducible. Distinct factors map to distinct factors, so cancelling
is adding exponents. The output is assembled exactly as ``sp.factor`` assembles it.
"""

from __future__ import annotations

from functools import lru_cache, reduce

import sympy as sp
from sympy.core.mul import _keep_coeff
from sympy.polys.polyutils import _sort_gens
from sympy.polys.rings import PolyElement, PolyRing

from .factoring import cancel
from .factoring import factor_list as factor_list_of
from .factoring import substitute as substitute_fraction

Factors = dict[sp.Expr, int]


def factor_parts(expr: sp.Expr) -> tuple[sp.Expr, Factors] | None:
    """``(number, {base: exponent})`` of a product of integer powers of polynomials, or
    ``None`` when ``expr`` is not of that shape (a sum of fractions, a square root)."""
    coeff, factors = sp.Integer(1), {}
    for arg in sp.Mul.make_args(sp.sympify(expr)):
        if arg.is_Number:
            coeff *= arg
            continue
        base, exp = arg.as_base_exp()
        if not exp.is_Integer or base.is_Number or not _is_polynomial(base):
            return None
        factors[base] = factors.get(base, 0) + int(exp)
    return coeff, factors


def _is_polynomial(base: sp.Expr) -> bool:
    """``base.is_polynomial()``, remembered when true: the same long factors are parsed
    again at each step of an analysis (462 calls for the paper's shared analyses, each
    walking every term of the factor)."""
    if base.is_Symbol or base in _POLYNOMIAL:
        return True
    if not base.is_polynomial():
        return False
    if len(_POLYNOMIAL) > _MAX_KNOWN:
        _POLYNOMIAL.clear()
    _POLYNOMIAL.add(base)
    return True


#: Expressions found to be polynomials in all their symbols (:func:`_is_polynomial`).
_POLYNOMIAL: set[sp.Expr] = set()


def from_parts(coeff: sp.Expr, factors: Factors) -> sp.Expr:
    """``coeff * prod(base**k)`` built as ``sp.factor`` builds its output (the number is
    kept apart, not distributed over a sum)."""
    return _keep_coeff(sp.sympify(coeff), sp.Mul(*[b**k for b, k in factors.items() if k]))


def change_variables(expr: sp.Expr, mapping: dict[sp.Symbol, sp.Expr]) -> sp.Expr:
    """``sp.factor(sp.cancel(expr.subs(mapping)))``, factor by factor (see module doc).

    ``expr`` is factored first (at no cost if it is already, see :func:`factor`); when
    ``mapping`` is not an invertible affine change of variables, or ``expr`` not a
    rational function, the general route gives the same value. Results are remembered:
    an analysis maps the same expressions back to the public symbols several times (a
    set's relations, equations and roots; 92 of the 167 calls of the paper's analyses).
    """
    key = (sp.sympify(expr), tuple(mapping.items()))
    if key not in _CHANGED:
        if len(_CHANGED) > _MAX_KNOWN:
            _CHANGED.clear()
        _CHANGED[key] = _change_variables(key[0], mapping)
    return _CHANGED[key]


_CHANGED: dict[tuple, sp.Expr] = {}


def _change_variables(expr: sp.Expr, mapping: dict[sp.Symbol, sp.Expr]) -> sp.Expr:
    expr = factor(expr)
    parts = factor_parts(expr)
    new = _new_variables(expr, mapping)
    if parts is None or new is None:
        return factor(expr.subs(mapping))
    coeff, factors = parts
    symbols = set().union(*(b.free_symbols for b in factors), new)
    for old, image in mapping.items():
        symbols |= image.free_symbols | {old}
    ring = PolyRing(_sort_gens(list(symbols)), sp.QQ)
    integer_ring = ring.clone(domain=sp.ZZ)
    images = {ring(old): ring(image) for old, image in mapping.items()}
    out: Factors = {}
    for base, k in factors.items():
        if not base.free_symbols & set(mapping):
            out[base] = out.get(base, 0) + k
            continue
        number, content, primitive = _image(ring(base), images, integer_ring, new)
        coeff *= number**k
        c, content_factors = sp.factor_list(content)
        coeff *= c**k
        for f, m in content_factors:
            out[f] = out.get(f, 0) + m * k
        out[primitive] = out.get(primitive, 0) + k
    return _remembered(coeff, out)


def _new_variables(expr: sp.Expr, mapping: dict) -> list[sp.Symbol] | None:
    """The new variable of each image ``u + v t`` if ``mapping`` is an invertible affine
    change of variables not already present in ``expr``; else ``None``."""
    new = _new_variables_of(tuple(mapping.items()), frozenset(expr.free_symbols))
    return None if new is None else list(new)


@lru_cache(maxsize=256)
def _new_variables_of(mapping_items: tuple, present: frozenset) -> tuple | None:
    """:func:`_new_variables` for the symbols ``present`` in the expression (all it reads
    of it), memoised: every public result of an analysis goes through the same mapping."""
    mapping = dict(mapping_items)
    new: list[sp.Symbol] = []
    for image in mapping.values():
        image = sp.expand(image)
        candidates = [t for t in image.free_symbols - present - set(mapping)
                      if sp.degree(image, t) == 1]
        if len(candidates) != 1 or candidates[0] in new:
            return None
        t = candidates[0]
        slope = image.coeff(t, 1)
        if slope == 0 or slope.free_symbols & ({t, *mapping} | set(new)):
            return None
        new.append(t)
    return tuple(new)


def _image(p: PolyElement, images: dict, integer_ring: PolyRing, new: list[sp.Symbol],
           ) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """``p`` after the substitution as ``number * content * primitive``: the content is
    the gcd of its coefficients in the new variables, the primitive part has a positive
    leading coefficient (as ``factor_list`` normalises it)."""
    for old, image in images.items():
        if p.degree(old) > 0:
            p = compose(p, old, image)
    denominator, p = p.clear_denoms()
    p = integer_ring.from_dict(dict(p), p.ring.domain)
    positions = [integer_ring.symbols.index(t) for t in new]
    groups: dict[tuple, dict] = {}
    for monom, c in p.terms():
        key = tuple(monom[i] for i in positions)
        rest = tuple(0 if i in positions else e for i, e in enumerate(monom))
        groups.setdefault(key, {})[rest] = c
    coefficients = sorted((integer_ring.from_dict(g) for g in groups.values()), key=len)
    content = reduce(lambda x, y: x.gcd(y), coefficients[1:], coefficients[0])
    primitive = p.exquo(content)
    if primitive.LC < 0:
        primitive, content = -primitive, -content
    return (sp.Rational(1, int(denominator)), as_expr(content), as_expr(primitive))


def as_expr(p: PolyElement) -> sp.Expr:
    """``p.as_expr()``, the same expression, assembled directly: each monomial's powers
    and the terms sorted as ``Mul`` and ``Add`` sort them (``_mulsort``, ``_addsort``),
    the rational coefficient first, without ``Mul.flatten`` on every term and
    ``Add.flatten`` on the sum (which find nothing to combine in distinct monomials).
    Only for integer or rational coefficients over plain symbols, and where this SymPy
    sorts as the shortcut does (:func:`_direct_sorting`); ``as_expr`` otherwise."""
    ring = p.ring
    if not (ring.domain.is_ZZ or ring.domain.is_QQ) or not all(
            type(g) in (sp.Symbol, sp.Dummy) for g in ring.symbols) \
            or _direct_sorting() is None:
        return p.as_expr()
    return _assembled(p, *_direct_sorting())


@lru_cache(maxsize=1)
def _direct_sorting():
    """SymPy's private sorts of the factors of a ``Mul`` and the terms of an ``Add``, if
    this SymPy has them and :func:`_assembled` with them builds exactly the expressions
    ``as_expr`` builds (checked once, on a polynomial with every kind of term); ``None``
    otherwise. An expression assembled in another order than SymPy's canonical one would
    compare unequal to the same expression built by SymPy, so the shortcut must agree."""
    try:
        from sympy.core.add import _addsort
        from sympy.core.mul import _mulsort
    except ImportError:
        return None
    x, y, z = sp.symbols("x y z", real=True)
    ring = PolyRing((x, y, z), sp.QQ)
    sample = ring.from_expr(3 * x**2 * y - z / 2 + 5 + x * y * z**3 - y**7 + x * z)
    direct = _assembled(sample, _mulsort, _addsort)
    # Basic's == compares the arguments in their stored order, nested products included.
    return (_mulsort, _addsort) if direct == sample.as_expr() else None


def _assembled(p: PolyElement, mulsort, addsort) -> sp.Expr:
    """The expression of ``p`` put together from sorted factors and terms (:func:`as_expr`)."""
    ring = p.ring
    to_sympy, constant, terms = ring.domain.to_sympy, sp.S.Zero, []
    for monom, coefficient in p.items():
        c = to_sympy(coefficient)
        powers = [g if e == 1 else sp.Pow(g, e) for g, e in zip(ring.symbols, monom,
                                                                strict=True) if e]
        if not powers:
            constant = c
            continue
        mulsort(powers)
        if c is not sp.S.One:
            powers.insert(0, c)
        terms.append(powers[0] if len(powers) == 1 else sp.Mul._from_args(powers, True))
    if not terms:
        return constant
    addsort(terms)
    if constant is not sp.S.Zero:
        terms.insert(0, constant)
    return terms[0] if len(terms) == 1 else sp.Add._from_args(terms, True)


def compose(p: PolyElement, x: PolyElement, image: PolyElement) -> PolyElement:
    """``p`` with the generator ``x`` replaced by ``image`` (``PolyElement.compose``'s
    result): terms grouped by their power of ``x``, each power of ``image`` computed once
    (``compose`` raises ``image`` to a power and adds a polynomial per term)."""
    ring = p.ring
    i = ring.gens.index(x)
    groups: dict[int, dict] = {}
    for monom, c in p.iterterms():
        groups.setdefault(monom[i], {})[monom[:i] + (0,) + monom[i + 1:]] = c
    out, power, k = ring.zero, ring.one, 0
    for degree in sorted(groups):
        while k < degree:
            power, k = power * image, k + 1
        out += ring.from_dict(groups[degree]) * power
    return out


def rational_field(exprs: list[sp.Expr]) -> sp.polys.domains.FractionField:
    """The field ``Q(symbols)`` of rational functions in every symbol of ``exprs`` (in
    SymPy's default generator order), for fast exact arithmetic: its elements are kept
    cancelled, without expression trees."""
    symbols = set().union(*(sp.sympify(e).free_symbols for e in exprs))
    return sp.ZZ.frac_field(*_sort_gens(list(symbols)))


#: ``factored`` results by :func:`_element_key`: the same rational function is met again
#: in the analyses of several ODEs (every rule's stationary loss at a leak, Jacobian entries
#: and characteristic coefficients shared by tBPTT(k) and BPTT), each time in its own field.
_FACTORED: dict[tuple, sp.Expr] = {}


def factored(f) -> sp.Expr:
    """The element ``f`` of a :func:`rational_field` as ``sp.factor`` would print it."""
    if f.numer.is_ground and f.denom.is_ground:  # a number (factor_list of 0 never ends)
        return sp.sympify(f.as_expr())
    key = _element_key(f)
    if key not in _FACTORED:
        if len(_FACTORED) > _MAX_KNOWN:
            _FACTORED.clear()
        _FACTORED[key] = _factored(f)
    return _FACTORED[key]


def _element_key(f) -> tuple:
    """What ``factored(f)`` depends on: the symbols ``f`` uses (in the field's order, which
    is SymPy's order of generators, the same in every field) and its numerator and
    denominator on them. Generators it does not use change neither the factors nor how
    ``factor_list`` normalises their signs (the leading term in lex order)."""
    used = sorted({i for p in (f.numer, f.denom) for m in p.keys() for i, e in enumerate(m)
                   if e})

    def terms(p) -> tuple:
        return tuple(sorted((tuple(m[i] for i in used), c) for m, c in p.items()))

    return tuple(f.field.symbols[i] for i in used), terms(f.numer), terms(f.denom)


def _factored(f) -> sp.Expr:
    coeff, factors = sp.Integer(1), {}
    for poly, sign in ((f.numer, 1), (f.denom, -1)):
        c, pairs = factor_list_of(poly)  # FLINT's where installed: the same result
        coeff *= sp.Integer(int(c)) ** sign
        for base, k in pairs:
            expr = as_expr(base)
            factors[expr] = factors.get(expr, 0) + sign * k
    return _remembered(coeff, factors)


def substitute(f, values: dict):
    """``f`` with generators replaced by field elements, ``values: generator -> element``
    (both of the same :func:`rational_field`), term by term in the field."""
    field = f.field
    positions = {field.gens.index(g): v for g, v in values.items()}
    # FLINT where installed: one cancellation of the whole quotient, the same element
    pair = substitute_fraction(f.numer, f.denom, {i: (v.numer, v.denom)
                                                  for i, v in positions.items()})
    if pair is not None:
        return field.raw_new(*pair)
    return _evaluate(f.numer, positions, field) / _evaluate(f.denom, positions, field)


def _evaluate(p: PolyElement, positions: dict, field):
    total = field.zero
    for monom, c in p.terms():
        kept = tuple(0 if i in positions else e for i, e in enumerate(monom))
        term = field(p.ring({kept: c}))
        for i, e in enumerate(monom):
            if e and i in positions:
                term *= positions[i] ** e
        total += term
    return total


#: Irreducible integer polynomials met as factors of ``sp.factor`` / ``factor_list``
#: results. A product of these (and symbols) is already in factored form, so
#: factoring it again, as successive steps of the analysis would, is skipped.
_IRREDUCIBLE: set[sp.Expr] = set()
_MAX_KNOWN = 50_000


def factor(expr: sp.Expr) -> sp.Expr:
    """``sp.factor(sp.cancel(expr))``; immediate when ``expr`` is a product of powers of
    known irreducible factors (then it is its own canonical factored form), and computed
    in a :func:`rational_field` (:func:`factored`, by FLINT) where ``expr`` is a rational
    function with rational coefficients. That route reads a Float as the exact rational it
    stands for (``2.0*x + 4.0`` gives ``2*(x + 2)``, not SymPy's ``4.0*(0.5*x + 1.0)``):
    symdyn makes every number exact (``specialize``, the rules' parser) before it gets
    here, and a check of every call for Floats would cost what the route saves."""
    expr = sp.sympify(expr)
    parts = _known_parts(expr)
    if parts is not None:
        return from_parts(*parts)
    f = field_element(expr) if expr.free_symbols else None
    return factored(f) if f is not None else remember(sp.factor(sp.cancel(expr)))


def factor_list(expr: sp.Expr) -> tuple[sp.Expr, list[tuple[sp.Expr, int]]]:
    """``sp.factor_list(expr)`` of a polynomial, immediate for known factored forms."""
    expr = sp.sympify(expr)
    parts = _known_parts(expr)
    if parts is not None:
        return parts[0], [(b, k) for b, k in parts[1].items() if k]
    coeff, pairs = _field_factor_list(expr) or sp.factor_list(expr)
    for base, _ in pairs:
        _learn(base)
    return coeff, pairs


def _field_factor_list(expr: sp.Expr) -> tuple[sp.Expr, list[tuple[sp.Expr, int]]] | None:
    """``sp.factor_list(expr)`` of an expanded polynomial with rational coefficients, by
    :func:`~symdyn.factoring.factor_list` (FLINT where installed) on its numerator in the
    :func:`rational_field` of its symbols, whose generators are ``factor_list``'s: the
    same coefficient and factors, normalised alike, in another order (which no caller
    reads: a product is rebuilt from them); ``None`` for any other expression."""
    if not expr.is_Add:
        return None
    field = rational_field([expr]).field
    index = _generator_index(field)
    if index is None or monomial_terms(expr, index) is None:
        return None
    f = to_field(field, expr)
    if not f.denom.is_ground:
        return None
    c, pairs = factor_list_of(f.numer)
    return sp.Rational(int(c), int(f.denom.LC)), [(as_expr(b), int(k)) for b, k in pairs]


def remember(expr: sp.Expr) -> sp.Expr:
    """Record the factors of ``expr``, an ``sp.factor`` result, as irreducible."""
    parts = factor_parts(expr)
    if parts is not None:
        for base in parts[1]:
            _learn(base)
    return expr


def _remembered(coeff: sp.Expr, factors: Factors) -> sp.Expr:
    """:func:`from_parts`, recording the bases (irreducible by construction) directly:
    :func:`remember` would parse them back out of the product, and testing a long base
    with ``is_polynomial`` costs more than building it."""
    for base in factors:
        _learn(base)
    return from_parts(coeff, factors)


def _learn(base: sp.Expr) -> None:
    if base in _IRREDUCIBLE or base.is_Symbol or base.has(sp.Float):
        return
    if len(_IRREDUCIBLE) > _MAX_KNOWN:
        _IRREDUCIBLE.clear()
    _IRREDUCIBLE.add(base)


def _known_parts(expr: sp.Expr) -> tuple[sp.Expr, Factors] | None:
    parts = factor_parts(expr)
    if parts is None or not all(b.is_Symbol or b in _IRREDUCIBLE for b in parts[1]):
        return None
    return parts


def substitute_factor(expr: sp.Expr, mapping: dict[sp.Symbol, sp.Expr]) -> sp.Expr:
    """``sp.factor(sp.cancel(expr.subs(mapping)))`` for symbols mapped to rational
    functions, computed in a :func:`rational_field` (the general route otherwise)."""
    f = field_element(expr.xreplace(mapping), [expr, *mapping.values()])
    return factor(expr.subs(mapping)) if f is None else factored(f)


def to_field(field, expr: sp.Expr):
    """``field.from_expr(expr)``: the same element of a :func:`rational_field`, with each
    sum of monomials converted in one pass (``from_expr`` adds its terms one by one as
    fractions, each sum copying and cancelling the whole partial sum). Products, integer
    powers, symbols and numbers are combined in the field as ``from_expr`` combines them;
    anything else is left to ``from_expr`` (which raises ``ValueError`` for an expression
    outside the field). Elements are kept cancelled with a unit-normalised denominator,
    so equal values are equal elements."""
    index = _generator_index(field)
    if index is None:
        return field.from_expr(expr)
    try:
        return _to_field(field, sp.sympify(expr), index)
    except _Unhandled:
        return field.from_expr(expr)


class _Unhandled(Exception):
    """An expression :func:`to_field` leaves to ``from_expr``."""


@lru_cache(maxsize=64)
def _generator_index(field) -> dict | None:
    """Symbol -> position of each generator of ``field``; ``None`` unless all are symbols
    and the ground domain is ``ZZ``."""
    if not field.domain.is_ZZ or not all(isinstance(s, sp.Symbol) for s in field.symbols):
        return None
    return {s: i for i, s in enumerate(field.symbols)}


def _to_field(field, expr: sp.Expr, index: dict):
    if expr.is_Add:
        poly = _monomial_sum(field, expr, index)
        if poly is not None:
            return poly
        return reduce(lambda x, y: x + y, [_to_field(field, a, index) for a in expr.args])
    if expr.is_Mul:  # one cancellation of the product, not one per factor
        parts = [_to_field(field, a, index) for a in expr.args]
        return field.raw_new(*cancel(reduce(lambda x, y: x * y, [f.numer for f in parts]),
                                     reduce(lambda x, y: x * y, [f.denom for f in parts])))
    if expr.is_Pow:
        base, e = expr.as_base_exp()
        if e.is_Integer and e != 0:
            return _to_field(field, base, index) ** int(e)
        raise _Unhandled
    if expr in index:
        return field.gens[index[expr]]
    if expr.is_Rational:
        return field(expr.p) / field(expr.q)
    raise _Unhandled


def _monomial_sum(field, expr: sp.Expr, index: dict):
    """A sum of rational multiples of products of generator powers as ``q P / q`` built
    from its terms at once (``q``: the common denominator); ``None`` for other sums."""
    parsed = monomial_terms(expr, index)
    if parsed is None:
        return None
    terms: dict[tuple, sp.Rational] = {}
    for key, coefficient in parsed:
        terms[key] = terms.get(key, sp.S.Zero) + coefficient
    scale = reduce(lambda x, y: x * y // sp.igcd(x, y), [c.q for c in terms.values()], 1)
    numerator = field.ring.from_dict({m: int(c * scale) for m, c in terms.items() if c})
    return field.new(numerator, field.ring(scale))


def monomial_terms(expr: sp.Expr, index: dict[sp.Symbol, int]
                   ) -> list[tuple[tuple[int, ...], sp.Rational]] | None:
    """The terms of the sum ``expr`` as ``(exponents, coefficient)``: the exponents of the
    symbols of ``index`` (symbol -> position) and a rational coefficient; ``None`` where a
    coefficient is not rational or a factor is not a nonnegative integer power of those
    symbols."""
    terms = []
    for term in sp.Add.make_args(expr):
        coefficient, monomial = term.as_coeff_Mul()
        if not coefficient.is_Rational:
            return None
        exponents = [0] * len(index)
        for factor in sp.Mul.make_args(monomial):
            if factor is sp.S.One:
                continue
            base, e = factor.as_base_exp()
            if base not in index or not e.is_Integer or e < 0:
                return None
            exponents[index[base]] += int(e)
        terms.append((tuple(exponents), coefficient))
    return terms


def field_element(expr: sp.Expr, context: list[sp.Expr] | None = None):
    """``expr`` as an element of the :func:`rational_field` of ``context`` (default:
    of ``expr`` alone), or ``None`` if it is not a rational function (a square root)."""
    field = rational_field(context or [expr]).field
    try:
        return to_field(field, expr)
    except ValueError:
        return None


def vanishes_on(expr: sp.Expr, mapping: dict[sp.Symbol, sp.Expr]) -> bool:
    """``is_zero(expr.subs(mapping))`` for symbols mapped to rational functions, with the
    substitution done in a :func:`rational_field` (no expression is built)."""
    field = rational_field([expr, *mapping, *mapping.values()]).field
    try:
        values = {to_field(field, k): to_field(field, v) for k, v in mapping.items()}
        return not substitute(to_field(field, expr), values)
    except (ValueError, ZeroDivisionError):  # not rational, or a denominator vanishes
        return is_zero(expr.subs(mapping))


def is_zero(expr: sp.Expr) -> bool:
    """Whether a rational function is identically zero (exact; ``cancel`` otherwise)."""
    f = field_element(expr)
    return sp.cancel(sp.together(expr)) == 0 if f is None else not f
