"""Equations as a theorist writes them: grouped, factored, with signs normalised.

SymPy's ``factor`` returns ``(lambda - 1)(lambda + 1)`` where a theorist writes
``1 - lambda^2``, and expands a numerator into dozens of monomials where the theorist
writes ``b c P(lambda, lambda*) + b* c* Q(lambda, lambda*)``. :func:`theorist` rewrites a
rational function into that shape without changing its value:

- the numerator is grouped by monomials in the "amplitude" symbols (``b, c, b*, c*``),
  each coefficient factored, the factor common to all groups pulled in front;
- every factor is normalised to a positive constant term (``1 - lambda lambda*``, not
  ``lambda lambda* - 1``), and two factors whose product is a binomial are merged
  (``(1 - lambda)(1 + lambda) = 1 - lambda^2``);
- the overall sign is chosen so that the first group reads positive (no double minus).

The result is an unevaluated SymPy expression: ``str`` and ``latex`` print it as built,
and ``sympify(str(result))`` equals the input (tests check this at random points).
"""

from __future__ import annotations

from functools import lru_cache, reduce

import sympy as sp
from sympy.polys.polyutils import _sort_gens
from sympy.polys.rings import PolyElement, PolyRing
from sympy.printing.str import StrPrinter

from . import symbols as S
from .algebra import as_expr, field_element
from .factoring import factor_list as factor_list_of

#: Symbols the numerator is grouped by: the student's and teacher's input/output weights.
AMPLITUDES = (S.b, S.c, S.b_star, S.c_star)


def theorist(expr: sp.Expr, groups: tuple[sp.Symbol, ...] = AMPLITUDES) -> sp.Expr:
    """``expr`` (a rational function) in grouped, factored, sign-normalised form."""
    return _theorist(sp.sympify(expr), tuple(groups))


# Kept per expression: the same expressions are written again and again (the loss is the
# same for every rule, a set's conditions in its text, LaTeX and JSON), and the result is
# an immutable expression that depends on nothing but the input.
@lru_cache(maxsize=4096)
def _theorist(expr: sp.Expr, groups: tuple[sp.Symbol, ...]) -> sp.Expr:
    fraction = _fraction(expr)
    if fraction is None:
        expr = sp.cancel(expr)
        if expr == 0 or expr.is_number:
            return expr
        numerator, denominator = (sp.expand(e) for e in sp.fraction(expr))
        content_n, numerator = numerator.as_content_primitive()
        content_d, denominator = denominator.as_content_primitive()
    else:
        # The contents (what ``as_content_primitive`` of their expressions would take out:
        # the positive gcd of the integer coefficients) and the primitive parts, all on
        # the polynomials: no expression of the numerator or denominator is built.
        content_n, content_d = (sp.Integer(abs(p.content())) for p in fraction)
        numerator = fraction[0].quo_ground(int(content_n))
        denominator = fraction[1].quo_ground(int(content_d))
    sign_n, front, body = _numerator(numerator, groups)
    sign_d, den_factors = _factors(denominator)
    sign = sign_n * sign_d
    factors = [f for f in front if f != 1]
    constant = sign * content_n / content_d
    for f in list(factors):
        if f.is_number:
            constant *= f
            factors.remove(f)
    if constant.q != 1:  # 1/8 goes below the fraction bar: ``b^2 c^2 / (8 (1 - lambda^2))``
        den_factors = [sp.Integer(constant.q), *den_factors]
        constant = sp.Integer(constant.p)
    if abs(constant) != 1:
        factors, constant = [abs(constant), *factors], sp.sign(constant)
    top = _mul(*factors, body) if body != 1 else _mul(*factors)
    if den_factors:
        out = _div(top, _mul(*den_factors))
    else:
        out = top
    if constant == 1:
        return out
    if constant == -1:
        return sp.Mul(-1, out, evaluate=False)
    return sp.Mul(constant, out, evaluate=False)


def _fraction(expr: sp.Expr) -> tuple[PolyElement, PolyElement] | None:
    """The numerator and denominator of ``sp.cancel(expr)`` (up to one common constant
    factor, which the contents and signs taken next absorb) as integer polynomials,
    cancelled in a field of rational functions; ``None`` for a constant or a non-rational
    ``expr``."""
    f = field_element(expr)
    if f is None or (f.numer.is_ground and f.denom.is_ground):
        return None
    return f.numer, f.denom


def _mul(*args: sp.Expr) -> sp.Expr:
    args = [a for a in args if a != 1]
    if not args:
        return sp.Integer(1)
    return args[0] if len(args) == 1 else sp.Mul(*args, evaluate=False)


def _div(top: sp.Expr, bottom: sp.Expr) -> sp.Expr:
    return sp.Mul(top, sp.Pow(bottom, -1, evaluate=False), evaluate=False)


def _numerator(numerator: sp.Expr | PolyElement, groups,
               ) -> tuple[int, list[sp.Expr], sp.Expr]:
    """(sign, common factors, grouped remainder) of a polynomial numerator: an expanded
    expression, or a polynomial in a ring over the integers."""
    present = [g for g in groups if g in _symbols_of(numerator)]
    if not present:
        sign, fs = _factors(numerator)
        return sign, fs, sp.Integer(1)
    poly = numerator if isinstance(numerator, PolyElement) else _ring_element(numerator)
    terms = _grouped(poly, present)  # the order of ``sp.Poly(numerator, *present).terms()``
    # The gcd of the coefficients up to sign: a sign carried by every group cancels out.
    common = reduce(lambda x, y: x.gcd(y), [c for _, c in terms])
    monomial_gcd = [min(m[i] for m, _ in terms) for i in range(len(present))]
    positions = [poly.ring.symbols.index(g) for g in present]
    front_mono = [0] * poly.ring.ngens
    for i, k in zip(positions, monomial_gcd, strict=True):
        front_mono[i] = k
    sign, front = _factors(common * poly.ring({tuple(front_mono): 1}))
    if len(terms) == 1:
        return sign, front, sp.Integer(1)
    pieces = []
    for monomial, coefficient in terms:
        rest = sp.Mul(*[g**(k - k0) for g, k, k0 in
                        zip(present, monomial, monomial_gcd, strict=True)])
        s, fs = _factors(coefficient.exquo(common))
        numbers = [f for f in fs if f.is_number and f != 1]
        others = [f for f in fs if not f.is_number]
        pieces.append((s, _mul(*numbers, *sp.Mul.make_args(rest), *others)))
    first_sign = pieces[0][0]
    sign *= first_sign
    terms_out = [p if s * first_sign > 0 else sp.Mul(-1, p, evaluate=False)
                 for s, p in pieces]
    return sign, front, sp.Add(*terms_out, evaluate=False)


def _symbols_of(poly: sp.Expr | PolyElement) -> set[sp.Symbol]:
    """The free symbols of an expression, or the generators a polynomial depends on."""
    if not isinstance(poly, PolyElement):
        return poly.free_symbols
    return {x for i, x in enumerate(poly.ring.symbols) if poly.degree(i) > 0}


def _ring_element(poly: sp.Expr) -> PolyElement:
    """An expanded integer polynomial as an element of ``ZZ[its symbols]``."""
    ring = PolyRing(_sort_gens(list(poly.free_symbols)) or [sp.Dummy()], sp.ZZ)
    return ring.from_expr(poly)


def _grouped(poly: PolyElement, present: list[sp.Symbol]) -> list[tuple[tuple, PolyElement]]:
    """The terms of ``poly`` grouped by their exponents of ``present``: (exponents,
    coefficient free of ``present``), exponents in decreasing lexicographic order."""
    positions = [poly.ring.symbols.index(g) for g in present]
    groups: dict[tuple, dict] = {}
    for monom, c in poly.terms():
        key = tuple(monom[i] for i in positions)
        rest = tuple(0 if i in positions else e for i, e in enumerate(monom))
        groups.setdefault(key, {})[rest] = c
    return [(key, poly.ring.from_dict(groups[key])) for key in sorted(groups, reverse=True)]


def _factor_list(poly: PolyElement) -> tuple[sp.Expr, list[tuple[sp.Expr, int]]]:
    """``sp.factor_list(sp.expand(expr))`` for the expression of ``poly``, the same factors
    in the same order, without converting a long sum back to a polynomial.

    ``factor_list`` of an expression first pulls out the monomial common to all terms
    (``together``), then factors each part of that product in its own symbols, and sorts
    all factors by their dense representation; this does the same on ``poly``.
    """
    ring = poly.ring
    if poly.is_ground or len(poly) == 1:  # a number or a monomial: a short expression
        return sp.factor_list(as_expr(poly))
    monomial = tuple(min(m[i] for m in poly.monoms()) for i in range(ring.ngens))
    rest = poly.exquo(ring({monomial: 1}))
    used = [i for i in range(ring.ngens) if rest.degree(i) > 0]
    rep = {tuple(m[i] for i in used): c for m, c in rest.terms()}
    gens = [ring.symbols[i] for i in used]
    # Poly.factor_list's factors (dmp_factor_list's, as PolyElement.factor_list's), by
    # FLINT where installed (symdyn.factoring)
    coefficient, elements = factor_list_of(PolyRing(gens, sp.ZZ).from_dict(rep))
    pairs = [(sp.Poly.from_dict(dict(f), gens, domain=sp.ZZ), k) for f, k in elements]
    # The monomial's factors in the order of its product's arguments (ties keep it).
    product = sp.Mul(*[ring.symbols[i]**k for i, k in enumerate(monomial) if k])
    symbols = [arg.as_base_exp() for arg in sp.Mul.make_args(product) if arg != 1]
    factors = [(sp.Poly(x, x), int(k)) for x, k in symbols] + pairs
    factors.sort(key=lambda fk: (len(fk[0].rep.to_list()), len(fk[0].gens), fk[1],
                                 str(fk[0].domain), fk[0].rep.to_list()))
    return sp.Integer(int(coefficient)), [(f.as_expr(), k) for f, k in factors]


def _factors(poly: sp.Expr | PolyElement) -> tuple[int, list[sp.Expr]]:
    """(sign, factors) of a polynomial, each factor with a positive constant term and
    pairs with a binomial product merged; the numeric content is the first factor."""
    sign, factors = _factored(poly)
    return sign, list(factors)


# Kept per polynomial: the groups of different equations share coefficients, and
# factoring is the costly part of :func:`theorist`.
@lru_cache(maxsize=4096)
def _factored(poly: sp.Expr | PolyElement) -> tuple[int, tuple[sp.Expr, ...]]:
    if isinstance(poly, PolyElement):
        coefficient, pairs = _factor_list(poly)
    else:
        coefficient, pairs = sp.factor_list(sp.expand(poly))
    sign = 1 if coefficient > 0 else -1
    factors: list[sp.Expr] = []
    for f, m in pairs:
        s, g = _normalised(f)
        sign *= s**m
        factors.append(g if m == 1 else sp.Pow(g, m, evaluate=False))
    factors = _merge_binomials(factors)
    content = abs(coefficient)
    return sign, tuple(([content] if content != 1 else []) + factors)


@lru_cache(maxsize=4096)  # the same few factors (1 - a^2, b, ...) come back every time
def _normalised(f: sp.Expr) -> tuple[int, sp.Expr]:
    """``f`` or ``-f``, whichever has a positive constant term (or leading coefficient
    when there is none), written constant first and collected in the variables."""
    constant = f.as_independent(*f.free_symbols, as_Add=True)[0]
    leading = sp.Poly(f).LC()
    sign = -1 if (constant < 0 or (constant == 0 and leading < 0)) else 1
    return sign, _ordered(sp.expand(sign * f))


def _ordered(f: sp.Expr) -> sp.Expr:
    """A sum collected in ``lambda``/``a`` style variables, coefficients factored, e.g.
    ``1 - (1 - alpha) lambda`` rather than ``alpha lambda - lambda + 1``."""
    if not f.is_Add:
        return f
    variables = [v for v in (S.lam, S.lam_star, S.a, S.a_star) if v in f.free_symbols]
    if not variables or S.alpha not in f.free_symbols:
        constant, rest = f.as_independent(*f.free_symbols, as_Add=True)
        if constant == 0:
            return f
        return sp.Add(constant, *sp.Add.make_args(rest), evaluate=False)
    collected = sp.collect(f, variables, evaluate=False)
    terms = []
    for key, coefficient in collected.items():
        coefficient = sp.factor(coefficient)
        s, fs = _factors(coefficient) if not coefficient.is_number else (1, [coefficient])
        if key == 1:  # the constant part is spliced in first: ``2 - alpha - ...``
            constant = list(sp.Add.make_args(sp.expand(coefficient)))
            terms = sorted(constant, key=lambda t: not t.is_number) + terms
            continue
        body = _mul(*fs, key)
        terms.append(body if s > 0 else sp.Mul(-1, body, evaluate=False))
    return sp.Add(*terms, evaluate=False)


def _merge_binomials(factors: list[sp.Expr]) -> list[sp.Expr]:
    """Merge ``(1 - x)(1 + x)`` into ``1 - x^2`` (any two factors whose product has two
    terms), which is how these denominators appear in the derivation."""
    out = list(factors)
    for i in range(len(out)):
        for j in range(i + 1, len(out)):
            if out[i] is None or out[j] is None:
                continue
            (base_i, exp_i), (base_j, exp_j) = out[i].as_base_exp(), out[j].as_base_exp()
            if exp_i != exp_j or not (base_i.is_Add and base_j.is_Add):
                continue
            product = sp.expand(base_i * base_j)
            if product.is_Add and len(product.args) == 2:
                merged = _normalised(product)[1]
                out[i], out[j] = merged if exp_i == 1 else sp.Pow(merged, exp_i,
                                                                  evaluate=False), None
    return [f for f in out if f is not None]


def text(expr: sp.Expr) -> str:
    """Plain text of a :func:`theorist` expression, its terms in the order built."""
    return sp.sstr(expr, order="none")


def length(expr: sp.Expr) -> int:
    """Characters of :func:`text`: the measure of how long a printed equation is."""
    return len(text(expr))


class _SharingPrinter(StrPrinter):
    """``str`` that prints each distinct subexpression once: expressions that share large
    parts (the two roots ``m +- sqrt(D)`` of a quadratic) cost little more than one."""

    def __init__(self) -> None:
        super().__init__()
        self._memo: dict = {}

    def _print(self, expr, **kwargs) -> str:
        if kwargs or not isinstance(expr, sp.Basic):
            return super()._print(expr, **kwargs)
        # The nesting level matters to how a Float prints: it is part of the key.
        key = (type(expr), expr, self._print_level == 0)
        if key not in self._memo:
            self._memo[key] = super()._print(expr)
        return self._memo[key]


def strings(exprs: list[sp.Expr]) -> list[str]:
    """``[str(e) for e in exprs]``, each shared subexpression printed once."""
    printer = _SharingPrinter()
    return [printer.doprint(e) for e in exprs]
