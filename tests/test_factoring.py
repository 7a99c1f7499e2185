"""symdyn.factoring: FLINT's factorisation, normalised, equals SymPy's exactly."""

from __future__ import annotations

import random

import pytest
import sympy as sp
from sympy.polys.rings import ring

from symdyn import factoring
from symdyn.factoring import factor_list


def _random_product(rng: random.Random, R, gens) -> object:
    """A product of random small factors, some repeated, some negated, with monomials
    and an integer constant: every case of the normal form (signs, content, order)."""
    p = R(rng.choice([-6, -2, -1, 1, 3, 10]))
    for _ in range(rng.randint(1, 3)):
        f = R.zero
        for _ in range(rng.randint(1, 4)):
            monomial = R(rng.choice([-3, -2, -1, 1, 2, 5]))
            for g in gens:
                monomial *= g ** rng.randint(0, 2)
            f += monomial
        if f.is_ground:
            continue
        p *= f ** rng.choice([1, 1, 2])
    return p * gens[rng.randrange(len(gens))] ** rng.randint(0, 2)


def _random_sum(rng: random.Random, pool: list, constant: sp.Expr) -> sp.Expr:
    """``constant`` times random sums of products of ``pool``'s symbols (some repeated)
    and a monomial, expanded: a sum of at least two terms (times ``pool[0] + pool[3]``
    where the product is a single term)."""
    expr = constant
    for _ in range(rng.randint(1, 3)):
        factor = sum(rng.choice([-2, -1, 1, 3]) * sp.Mul(*rng.sample(pool, rng.randint(0, 3)))
                     for _ in range(rng.randint(1, 3)))
        expr *= factor ** rng.choice([1, 1, 2])
    expr = sp.expand(expr * sp.Mul(*[s ** rng.randint(0, 2) for s in pool]))
    return expr if expr.is_Add else sp.expand(expr * (pool[0] + pool[3]))


@pytest.mark.parametrize("seed", range(40))
def test_flint_factor_list_equals_sympy(seed):
    pytest.importorskip("flint")
    rng = random.Random(seed)
    n = rng.randint(1, 4)
    R, *gens = ring(",".join(f"x{i}" for i in range(n)), sp.ZZ)
    p = _random_product(rng, R, gens)
    assert factor_list(p) == p.factor_list()


def test_flint_factor_list_on_an_analysis_polynomial():
    """The numerator and denominator of RFLO's working db/dtau at a symbolic leak: the
    polynomials the analysis factors, many generators, large coefficients."""
    pytest.importorskip("flint")
    from symdyn import derive
    from symdyn.algebra import field_element

    f = field_element(derive("rflo", "alpha").working_rhs[1])
    for p in (f.numer, f.denom, f.numer * f.denom**2):
        assert factor_list(p) == p.factor_list()


def test_without_flint_or_outside_zz_sympy_factors(monkeypatch):
    """The fallback is ``p.factor_list()`` itself, so it is checked against the
    factorisations written out by hand (SymPy's normal form: over QQ the factors are
    primitive integer polynomials; sorted by multiplicity, then size)."""
    R, x, y = ring("x, y", sp.QQ)
    p = (x - y / 2) ** 2 * (x + 3)
    assert factor_list(p) == (sp.QQ(1, 4), [(x + 3, 1), (2 * x - y, 2)])  # QQ: SymPy's
    monkeypatch.setattr(factoring, "_flint", lambda: None)
    Z, u, v = ring("u, v", sp.ZZ)
    q = -2 * (u**2 - v) ** 2 * (u * v + 1)
    assert factor_list(q) == (-2, [(u * v + 1, 1), (u**2 - v, 2)])


@pytest.mark.parametrize("seed", range(30))
def test_factor_list_in_equals_sympy(seed):
    """Factors over Z[parameters] in the state variables, in SymPy's order: with a
    monomial common to all terms (in state variables and parameters), numeric content,
    parameter-only factors and repeated factors."""
    pytest.importorskip("flint")
    from symdyn.factoring import factor_list_in

    rng = random.Random(seed)
    lam, b, c, p, q = sp.symbols("lambda b c p q", real=True)
    gens = (lam, b, c)
    pool = [lam, b, c, p, q]
    expr = _random_sum(rng, pool, sp.Integer(rng.choice([-6, -1, 1, 4])))
    assert factor_list_in(expr, gens) == sp.factor_list(expr, *gens)[1]
    assert [type(k) for _, k in factor_list_in(expr, gens)] == \
        [type(k) for _, k in sp.factor_list(expr, *gens)[1]]


@pytest.mark.parametrize("seed", range(20))
def test_cancel_equals_sympy(seed):
    """A fraction with a common factor, integer content and a denominator of either
    sign: FLINT's cancellation gives SymPy's pair exactly (without FLINT, SymPy's)."""
    from symdyn.factoring import cancel

    rng = random.Random(seed)
    R, *gens = ring("x0, x1, x2", sp.ZZ)
    common = _random_product(rng, R, gens)
    numer = common * _random_product(rng, R, gens)
    denom = common * _random_product(rng, R, gens) * rng.choice([-3, -1, 1, 2])
    assert cancel(numer, denom) == numer.cancel(denom)
    assert cancel(R.zero, denom) == R.zero.cancel(denom)


def test_flint_is_used_when_installed():
    """The tests above compare FLINT's route only if the self-check accepts FLINT."""
    pytest.importorskip("flint")
    factoring._flint.cache_clear()
    assert factoring._flint() is not None


@pytest.mark.parametrize("seed", range(10))
def test_derivative_equals_sympy(seed):
    """The quotient rule cancelled by FLINT's gcd: the element ``f.diff(x)`` gives."""
    from sympy.polys.fields import field

    from symdyn.factoring import derivative

    rng = random.Random(seed)
    F, *gens = field("x0, x1, x2", sp.ZZ)
    R = F.ring
    common = _random_product(rng, R, R.gens)
    f = F(common * _random_product(rng, R, R.gens)) / F(common * _random_product(rng, R, R.gens))
    for x in gens:
        assert derivative(f, x) == f.diff(x)


@pytest.mark.parametrize("seed", range(30))
def test_algebra_factor_list_equals_sympy(seed):
    """``algebra.factor_list`` of an expanded polynomial with rational coefficients (by
    FLINT, in the rational field of its symbols) has ``sp.factor_list``'s coefficient and
    factors with their multiplicities; the order is not part of its promise."""
    from symdyn.algebra import _field_factor_list

    rng = random.Random(seed)
    pool = sp.symbols("lambda b c p q", real=True)
    expr = _random_sum(rng, pool,
                       sp.Rational(rng.choice([-6, -1, 1, 4]), rng.choice([1, 2, 3])))
    coefficient, pairs = sp.factor_list(expr)
    found = _field_factor_list(expr)
    assert found is not None
    assert found[0] == coefficient and type(found[0]) is type(coefficient)
    assert sorted(found[1], key=sp.srepr) == sorted(pairs, key=sp.srepr)


@pytest.mark.parametrize("seed", range(20))
def test_substitute_equals_the_fields_arithmetic(seed):
    """Generators replaced by fractions with common factors and denominators of either
    sign, one gcd by FLINT: the element the field's own term-by-term products and sums
    give, and the same pole (ZeroDivisionError)."""
    pytest.importorskip("flint")
    from sympy.polys.fields import field

    from symdyn.factoring import substitute

    rng = random.Random(seed)
    F, *gens = field("x0, x1, x2, x3", sp.ZZ)
    R = F.ring
    def poly():
        return sum((rng.choice([-3, -1, 1, 2]) * R.gens[rng.randrange(4)] ** rng.randint(0, 2)
                    * R.gens[rng.randrange(4)] for _ in range(3)), R(rng.choice([-1, 0, 2])))

    common = poly()
    f = F(common * poly()) / F(rng.choice([-3, 1]) * common * poly())
    chosen = rng.sample(range(3), rng.randint(1, 2))
    small = [common + R.gens[3], *R.gens[2:], R(rng.choice([-2, 3]))]  # shares a factor

    def linear():
        return sum((rng.choice([-2, -1, 1, 3]) * g for g in rng.sample(small, 2)), R.zero)

    values = {i: F(linear() * linear()) / F(rng.choice([-2, 1]) * linear()) for i in chosen}
    pair = substitute(f.numer, f.denom, {i: (v.numer, v.denom) for i, v in values.items()})
    args = [values.get(i, g) for i, g in enumerate(gens)]
    total = [F.zero, F.zero]
    for k, p in enumerate((f.numer, f.denom)):
        for monom, c in p.terms():
            term = F(c)
            for g, e in zip(args, monom, strict=True):
                term *= g**e
            total[k] += term
    expected = total[0] / total[1]
    assert pair == (expected.numer, expected.denom)
    pole = {0: (R.gens[1], R.one)}  # x0 -> x1 in x0 - x1: the denominator vanishes
    with pytest.raises(ZeroDivisionError):
        substitute(R.one, R.gens[0] - R.gens[1], pole)


def _small_fraction(rng: random.Random, F) -> object:
    """A fraction of small polynomials of ``F``'s ring (at most three terms of degree two
    or less) with a common factor, integer content and a denominator of either sign."""
    R = F.ring

    def poly():
        while True:
            p = sum((rng.choice([-3, -1, 1, 2]) * R.gens[rng.randrange(R.ngens)]
                     ** rng.randint(0, 1) * R.gens[rng.randrange(R.ngens)] ** rng.randint(0, 1)
                     for _ in range(rng.randint(1, 3))), R(rng.choice([-1, 0, 2])))
            if p:
                return p

    common = poly()
    return F(rng.choice([-2, 1, 6]) * common * poly()) / F(rng.choice([-4, -1, 2]) * common
                                                          * poly())


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", range(12))
def test_fraction_arithmetic_equals_the_fields(seed):
    """Sums, differences, products, quotients, powers, negation and comparisons of
    fractions cancelled by FLINT's gcd (:class:`~symdyn.factoring.Fraction`), with
    integers on either side: exactly the pair the field's own arithmetic keeps
    (cancelled, content out, the denominator's leading coefficient positive), also
    through a Stein solve (``averaging.triangular_stein``) as the averaging runs it."""
    pytest.importorskip("flint")
    from sympy.polys.fields import field

    from symdyn.averaging import triangular_stein
    from symdyn.factoring import Fraction, fractions

    rng = random.Random(seed)
    F, *_ = field("x0, x1, x2", sp.ZZ)
    convert = fractions(F)
    assert convert is not None

    def same(fast, slow):
        assert isinstance(fast, Fraction)
        got = fast.element()
        assert (got.numer, got.denom) == (slow.numer, slow.denom)

    a, b, c = (_small_fraction(rng, F) for _ in range(3))
    fa, fb, fc = convert(a), convert(b), convert(c)
    same(fa, a)
    same(fa + fb, a + b)
    same(fa - fb * fc, a - b * c)
    same(fa / fb - 3, a / b - 3)
    same(2 - fa * fa / (fc + 1), 2 - a * a / (c + 1))
    same(-(fb**2) / 6 + 5 * fc, -(b**2) / 6 + 5 * c)
    same(7 / fb, 7 / b)
    same(fa - fa, F.zero)
    same(sum([fa, fb, -fa], convert(F.zero)), b)
    assert (fa != 0) and not (fa - fa) and fa == convert(a) and fa != fb and fa - fa == 0
    with pytest.raises(ZeroDivisionError):
        fa / (fb - fb)
    # a 3 x 3 lower triangular Stein solve shaped as the averaging's: diagonal entries
    # decays (a generator, half of it, one minus it, or zero as in a delay line),
    # polynomial couplings and inputs (the rules' actual systems: the test below)
    R = F.ring

    def small():
        return sum((rng.choice([-2, 1, 3]) * F(R.gens[rng.randrange(3)]) for _ in range(2)),
                   F(rng.choice([-1, 0, 1])))

    decays = [lambda x: x, lambda x: x / 2, lambda x: 1 - x, lambda x: F.zero]
    rows = [[small() if j < i else F.zero for j in range(3)] for i in range(3)]
    for i, x in enumerate(F.gens):
        rows[i][i] = rng.choice(decays)(x)
    g = [small() for _ in range(3)]
    slow = triangular_stein(rows, [[gi * gj for gj in g] for gi in g], F.zero)
    fast = triangular_stein([[convert(e) for e in row] for row in rows],
                            [[convert(gi) * convert(gj) for gj in g] for gi in g],
                            convert(F.zero))
    for fast_row, slow_row in zip(fast, slow, strict=True):
        for x, y in zip(fast_row, slow_row, strict=True):
            same(x, y)


#: The averaging's moment systems: every rule shape (unbounded traces with kappa = lam or
#: a constant, windows k = 1..3), at leak 1, a numeric leak and a symbolic one.
MOMENT_SYSTEMS = [(rule, k, leak) for rule, k in [("bptt", None), ("rflo", None),
                                                  ("tbptt", 1), ("tbptt", 2), ("tbptt", 3),
                                                  ("feedback_alignment", None)]
                  for leak in ("1", "0.3", "alpha")]


@pytest.mark.timeout(120)
def test_field_moments_by_flint_equal_the_fields(monkeypatch):
    """The averaging's stationary covariance and moments (``averaging._field_moments``)
    by FLINT's fractions are the field elements the field's own arithmetic gives, entry
    by entry, for the rules' actual moment systems; the expected updates (the derived
    ODEs' right-hand sides and losses) are the same expressions (srepr)."""
    pytest.importorskip("flint")
    from symdyn import averaging, ode, rules
    from symdyn.factoring import Fraction

    def pair(e):
        e = e.element() if isinstance(e, Fraction) else e
        return e.numer, e.denom

    for rule, k, leak in MOMENT_SYSTEMS:
        leak = ode.parse_leak(leak)
        working = ode.working_rule(rules.get_rule(rule, k), leak)
        state = averaging.joint_state(working, leak)
        args = (state, working.feedback, working.trace_decay)
        fast = averaging._field_moments(*args)
        fast_update = averaging.expected_update(working, leak, working.trace_decay)
        with monkeypatch.context() as patch:
            patch.setattr(averaging, "fractions", lambda field: None)
            slow = averaging._field_moments(*args)
            slow_update = averaging.expected_update(working, leak, working.trace_decay)
        assert isinstance(fast.sigma[0][0], Fraction) and not isinstance(slow.sigma[0][0],
                                                                          Fraction)
        assert [[pair(e) for e in row] for row in fast.sigma] == \
            [[pair(e) for e in row] for row in slow.sigma]
        for u in state.readouts:
            for v in state.readouts:
                assert pair(fast(u, v)) == pair(slow(u, v))
        assert sp.srepr(fast_update) == sp.srepr(slow_update)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("rule", "leak"), [("bptt", "alpha"), ("rflo", "0.3"), ("tbptt", "1")])
def test_expected_update_without_flint_is_the_same(monkeypatch, rule, leak):
    """Without python-flint (``factoring._flint`` finds none) the averaging takes the
    field's own arithmetic (no :class:`~symdyn.factoring.Fraction`) and every other step
    SymPy's routes, with the same expressions (srepr) as with FLINT."""
    pytest.importorskip("flint")
    from symdyn import averaging, ode, rules
    from symdyn.factoring import Fraction, fractions

    leak = ode.parse_leak(leak)
    working = ode.working_rule(rules.get_rule(rule, 2 if rule == "tbptt" else None), leak)
    fast = averaging.expected_update(working, leak, working.trace_decay)
    monkeypatch.setattr(factoring, "_flint", lambda: None)
    state = averaging.joint_state(working, leak)
    moments = averaging._field_moments(state, working.feedback, working.trace_decay)
    assert not isinstance(moments.sigma[0][0], Fraction)
    assert fractions(moments.field) is None
    slow = averaging.expected_update(working, leak, working.trace_decay)
    assert sp.srepr(fast) == sp.srepr(slow)


def test_fractions_only_for_integer_fields_in_lex_order():
    """FLINT's fractions stand in only for Z(x_1..x_n) in lex order: a field over QQ
    would lose its rational coefficients in the conversion to integer polynomials, and
    another order would give the elements back in the wrong terms."""
    from sympy.polys.fields import field
    from sympy.polys.orderings import grevlex, grlex

    if factoring._flint() is None:
        pytest.skip("python-flint is not installed")
    assert factoring.fractions(field("x,y", sp.ZZ)[0]) is not None
    assert factoring.fractions(field("x,y", sp.QQ)[0]) is None
    assert factoring.fractions(field("x,y", sp.ZZ, grlex)[0]) is None
    assert factoring.fractions(field("x,y", sp.ZZ, grevlex)[0]) is None
