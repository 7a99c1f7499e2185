"""The fast exact paths of the analysis against independent references.

Each fast path replaced a slower SymPy route with the promise of the same result: the
numeric working Jacobian (product rule on the factored right-hand side) against central
finite differences of the lambdified right-hand side; ``collect_in_state`` against
``sp.collect``; ``algebra.compose`` against ``PolyElement.compose``; the random sign of
``region.signed`` against the stream ``rng.choice`` draws; ``vanishes_on`` against
``subs`` + ``cancel``.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import sympy as sp
from sympy.polys.rings import ring

import symdyn as sd
from symdyn import symbols as S
from symdyn.algebra import compose, vanishes_on
from symdyn.analysis.components import POINT_ARGS, sample_points, working_components
from symdyn.analysis.region import signed
from symdyn.analysis.signs import collect_in_state
from symdyn.analysis.working_field import numeric_jacobian


@pytest.mark.parametrize("rule, leak", [("bptt", "alpha"), ("rflo", "alpha"), ("tbptt", "0.5")])
def test_numeric_jacobian_matches_finite_differences(rule, leak):
    ode = sd.derive(rule, leak)
    rhs = sp.lambdify(POINT_ARGS, list(ode.working_rhs), "numpy")
    comp = working_components(ode)[0]
    points = sample_points(ode, comp, 20, seed=3)
    jacobians = numeric_jacobian(ode)(points)
    for point, jac in zip(points, jacobians, strict=True):
        args = np.array([point.get(s, 0.0) for s in POINT_ARGS])
        fd = np.empty((3, 3))
        for j in range(3):  # lam, b, c are the first three arguments
            step = np.zeros_like(args)
            step[j] = 1e-6
            fd[:, j] = (np.array(rhs(*(args + step))) - np.array(rhs(*(args - step)))) / 2e-6
        assert np.allclose(jac, fd, rtol=1e-5, atol=1e-7 * np.max(np.abs(fd)))


def test_numeric_jacobian_of_a_non_rational_rule_is_left_to_lambdify():
    ode = sd.derive(sd.Rule("sqrt", sp.sqrt(S.lam) / 2, S.beta, None, "test"), 1)
    assert numeric_jacobian(ode) is None


def _collect(expr, state=(S.b, S.c)):
    """The former implementation: ``sp.collect`` with ``sp.factor`` on each coefficient."""
    if expr.is_Mul:
        return sp.Mul(*[_collect(f, state) for f in expr.args])
    if expr.is_Pow:
        return _collect(expr.base, state) ** expr.exp
    if not expr.is_Add:
        return expr
    return sp.collect(sp.expand(expr), list(state), func=sp.factor)


def test_collect_in_state_is_sp_collect():
    rng = random.Random(0)
    symbols = [S.b, S.c, S.alpha, S.beta, S.lam_star, S.b_star]
    for _ in range(60):
        e = sum(sp.Rational(rng.randint(-5, 5), rng.choice([1, 2, 3]))
                * sp.Mul(*[s ** rng.randint(0, 2) for s in symbols]) for _ in range(6))
        e = sp.expand(e * rng.choice([1, S.b - S.c, S.alpha + 1, (S.lam_star - 1) ** 2]))
        for expr in (e, sp.factor(e), e / (S.lam_star + 1), e * S.c ** 2 / 3):
            assert sp.srepr(collect_in_state(expr)) == sp.srepr(_collect(expr))


def test_compose_is_polyelement_compose():
    R, x, y, z, t = ring("x,y,z,t", sp.QQ)
    rng = random.Random(1)
    for _ in range(100):
        p = sum((rng.randint(-9, 9) * x ** rng.randint(0, 6) * y ** rng.randint(0, 3)
                 * z ** rng.randint(0, 2) for _ in range(rng.randint(0, 20))), R.zero)
        image = rng.choice([1 - t + t * x, y - 1, R(3), sp.QQ(1, 2) * t + z * t])
        assert compose(p, x, image) == p.compose(x, image)


def test_signed_draws_the_stream_of_rng_choice():
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(2000):
        expected = float(a.choice([-1.0, 1.0]) * a.uniform(0.2, 2.0))
        assert signed(b, 0.2, 2.0) == expected


def test_vanishes_on_is_subs_and_cancel():
    x, y = sp.symbols("x y")
    cases = [(x - y, {x: y}), (x - y, {x: 2 * y}), (x**2 - y, {x: sp.sqrt(y)}),
             ((x - 1) / (y - 1), {x: y / (y - 1)}), (x / (y - 1), {y: 1})]
    for expr, mapping in cases:
        assert vanishes_on(expr, mapping) == (sp.cancel(sp.together(expr.subs(mapping))) == 0)


@pytest.mark.parametrize("factor, expected", [
    (S.lam**2 * S.lam_star**2 + S.lam * S.lam_star + 1, True),        # tBPTT(3)
    (S.lam**2 + S.lam * S.lam_star + S.lam_star**2, True),
    (sum(S.lam**j * S.lam_star**(4 - j) for j in range(5)), True),     # tBPTT(5)
    (S.lam**2 + 1, True),
    (S.lam**2 - 2 * S.lam_star**2, False),                              # real: +-sqrt(2) lam*
    (S.lam**3 + S.lam * S.lam_star**2 + S.lam_star**3, False),          # odd degree
    (S.lam**2 * S.lam_star + S.lam + S.lam_star, False),                # weights differ
    (S.lam**2 + S.b**2 + 1, False),                                     # another state variable
])
def test_no_real_zeros_against_numeric_roots(factor, expected):
    """The exact structural test against numpy's roots in lam at random lam* (a True
    must never be a factor with a real root: its real branch would be lost)."""
    from symdyn.analysis.components import no_real_zeros

    assert no_real_zeros(factor, S.lam) is expected
    if factor.has(S.b):
        return
    rng = np.random.default_rng(0)
    real = []
    for p in rng.uniform(-0.95, 0.95, 20):
        coefficients = [float(k) for k in sp.Poly(factor.subs(S.lam_star, p), S.lam).all_coeffs()]
        roots = np.roots(coefficients)
        real.append(bool(np.any(np.abs(roots.imag) < 1e-9 * np.maximum(1, np.abs(roots)))))
    assert not any(real) if expected else any(real)


def test_together_numerator_is_expand_numer_together():
    """The ring route against ``sp.expand(sp.numer(sp.together(e)))``, term for term, on
    random sums of rational multiples of products of powers of polynomials (shared bases
    in the denominators, a base that divides the sum, rational contents), and on
    expressions outside that shape (a square root), which take SymPy's route."""
    from symdyn.analysis.components import together_numerator

    x, y, z = sp.symbols("x y z", real=True)
    bases = [x, y, 1 - x * y, x**2 + y * z - 2, 3 * z - x]
    rng = random.Random(1)
    for _ in range(60):
        terms = []
        for _ in range(rng.randint(1, 4)):
            coefficient = sp.Rational(rng.choice([-6, -3, -1, 1, 2, 4, 9]),
                                      rng.choice([1, 2, 3, 4]))
            powers = [b ** rng.randint(-2, 2) for b in rng.sample(bases, rng.randint(1, 3))]
            terms.append(coefficient * sp.Mul(*powers))
        expr = sp.Add(*terms)
        assert sp.srepr(together_numerator(expr)) == \
            sp.srepr(sp.expand(sp.numer(sp.together(expr))))
    for expr in (sp.sqrt(x) / y + 1 / x, x / (1 - x) - x / (1 - x), sp.Integer(3) / 4):
        assert together_numerator(expr) == sp.expand(sp.numer(sp.together(expr)))


def _fresh(expr: sp.Expr) -> sp.Expr:
    """A copy of ``expr`` built anew from its ``srepr``, without its cached assumptions."""
    sp.core.cache.clear_cache()
    return sp.parse_expr(sp.srepr(expr), local_dict={s.name: s for s in expr.free_symbols}
                         | {"Symbol": sp.Symbol, "Integer": sp.Integer,
                            "Rational": sp.Rational, "Add": sp.Add, "Mul": sp.Mul,
                            "Pow": sp.Pow})


def _products() -> list[sp.Expr]:
    b, c, a_star, alpha = S.b, S.c, S.a_star, S.alpha
    sign_changing = b**3 * c - 2 * a_star * alpha**2 + 3 * b * c**2 - 1
    return [
        sp.Rational(1, 4) * b**-4 * (a_star + 1)**-6 * sign_changing,
        -alpha**3 * S.b_star**2 / (S.a * a_star * alpha - alpha + 2) * sign_changing**3,
        alpha**2 * (b**2 + c**2 + 1) * sign_changing / (a_star - 1)**4,  # a positive factor
        b**2 * sp.Symbol("z", nonzero=True, real=True) * (b - 3) * sign_changing,
    ]


@pytest.mark.parametrize("k", range(4))
def test_sqrt_is_sp_sqrt(k):
    """The root built after recording undecided facts is SymPy's, on fresh copies."""
    from symdyn.analysis.signs import sqrt

    expr = _products()[k]
    assert sp.srepr(sqrt(_fresh(expr))) == sp.srepr(sp.sqrt(_fresh(expr)))


def test_undecided_facts_are_sympys_own():
    """Every fact proved undecided is one SymPy itself leaves undecided (asked of a fresh
    copy); a polynomial of one sign gets none, one in a symbol without a real interval
    only the sign facts."""
    from symdyn.analysis.signs import undecided_facts

    poly = S.b**3 * S.c - 2 * S.a_star * S.alpha**2 + 3 * S.b * S.c**2 - 1
    facts = undecided_facts(poly)
    assert "zero" in facts and "integer" in facts and "odd" in facts
    for fact in facts:
        assert getattr(_fresh(poly), f"is_{fact}") is None, fact
    assert undecided_facts(S.b**2 + S.c**2 + 1) == ()
    z = sp.Symbol("z", nonzero=True, real=True)
    assert "zero" not in undecided_facts(z - 1) and "positive" in undecided_facts(z - 1)
    # a complex symbol: both signs at real points, but no interval, so no zero
    assert undecided_facts(sp.Symbol("x") - 1) == undecided_facts(z - 1)
    for fact in undecided_facts(z - 1):
        assert getattr(_fresh(z - 1), f"is_{fact}") is None, fact


@pytest.mark.parametrize("domain", [sp.ZZ, sp.QQ])
def test_as_expr_is_polyelement_as_expr(domain):
    """The directly assembled expression is ``as_expr``'s, argument for argument."""
    from symdyn.algebra import as_expr

    R, *g = ring([S.a, S.alpha, S.b, S.c_star, sp.Dummy("p")], domain)
    rng = random.Random(3)
    polys = [R.zero, R(5), R(-1), g[0], -g[2], 3 * g[1]**2, g[0] + 1, 2 - g[3] * g[4],
             g[0] ** 2 * g[2] - 1]
    for size in (2, 5, 40):
        p = R.zero
        for _ in range(size):
            c = sp.Rational(rng.randint(-9, 9), rng.choice([1, 2, 3]) if domain == sp.QQ else 1)
            p += R(c) * R({tuple(rng.randint(0, 3) for _ in g): 1})
        polys.append(p)
    for p in polys:
        expected = p.as_expr()
        assert sp.srepr(as_expr(p)) == sp.srepr(expected) and as_expr(p).args == expected.args


def test_to_field_is_from_expr():
    """The one-pass conversion gives from_expr's element, and refuses what it refuses."""
    from symdyn.algebra import rational_field, to_field

    b, c, lam, alpha = S.b, S.c, S.lam, S.alpha
    exprs = [sp.Integer(0), sp.Rational(-3, 4), b, 2 * b**2 * c - sp.Rational(1, 6) * lam + 5,
             (1 - lam**2) ** -2 * alpha * (b * c - 1) / 3,
             sp.expand((b - c) ** 4 / 7) + 1 / (1 + lam),
             sp.Mul(sp.Add(b, c, evaluate=False), sp.Rational(1, 2), evaluate=False),
             sp.Float(0.5) * b + c]  # from_expr takes the float as a rational
    field = rational_field(exprs).field
    for expr in exprs:
        assert to_field(field, expr) == field.from_expr(expr), expr
    for bad in (sp.sqrt(b), b + sp.Symbol("outside")):
        with pytest.raises(ValueError):
            field.from_expr(bad)
        with pytest.raises(ValueError):
            to_field(field, bad)


@pytest.mark.parametrize("seed", range(8))
def test_field_charpoly_is_domainmatrix_charpoly(seed):
    """The characteristic polynomial over the ring with the denominators put back once
    (FLINT's gcd) is the field's own ``charpoly``, element for element: random 1x1 to
    3x3 matrices of fractions sharing denominator factors, of either sign, with zeros
    (seed 0: the zero matrix)."""
    from sympy.polys.fields import field
    from sympy.polys.matrices import DomainMatrix

    from symdyn.analysis.spectrum import _field_charpoly

    rng = random.Random(seed)
    F, *_ = field("x0, x1, x2", sp.ZZ)
    R = F.ring

    def poly():
        return sum((rng.choice([-3, -1, 1, 2]) * R.gens[rng.randrange(3)] ** rng.randint(0, 1)
                    * R.gens[rng.randrange(3)] for _ in range(2)), R(rng.choice([-1, 2])))

    common, n = poly(), rng.choice([1, 2, 3])
    entries = [[F(poly()) / F(rng.choice([-1, 2]) * common * (poly() if rng.random() < 0.3
                                                             else R.one))
                if rng.random() < 0.8 and seed != 0 else F.zero for _ in range(n)]
               for _ in range(n)]
    expected = DomainMatrix(entries, (n, n), F.to_domain()).charpoly()
    found = _field_charpoly(entries)
    assert [(c.numer, c.denom) for c in found] == [(c.numer, c.denom) for c in expected]


def test_field_charpoly_on_a_restricted_jacobian():
    """The same on the analysis' own matrices: RFLO at a symbolic leak, on each set."""
    from sympy.polys.matrices import DomainMatrix

    from symdyn import derive
    from symdyn.analysis.spectrum import _field_charpoly, _field_jacobian

    ode = derive("rflo", "alpha")
    for comp in working_components(ode):
        entries = _field_jacobian(ode, comp)
        domain = entries[0][0].field.to_domain()
        assert _field_charpoly(entries) == DomainMatrix(entries, (3, 3), domain).charpoly()


def test_cache_key_is_the_same_under_other_hash_seeds():
    """An ODE's cache key prints arguments in their stored order (``srepr(order="none")``):
    it must not depend on the process (string hashing, set order), or the on-disk cache
    would never hit across processes."""
    import os
    import subprocess
    import sys

    code = ("from symdyn import derive; o = derive('rflo', 'alpha', cache=False); "
            "print(o.cache_key()); print(o.specialize({'a_star': 0}).cache_key())")
    keys = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, timeout=300,
                           env={**os.environ, "PYTHONHASHSEED": seed,
                                "SYMDYN_NO_CACHE": "1"}).stdout
            for seed in ("0", "12")}
    assert len(keys) == 1
