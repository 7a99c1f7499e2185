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
    R, x, y = ring("x, y", sp.QQ)
    p = (x - y / 2) ** 2 * (x + 3)
    assert factor_list(p) == p.factor_list()  # QQ: SymPy's route
    monkeypatch.setattr(factoring, "_flint", lambda: None)
    Z, u, v = ring("u, v", sp.ZZ)
    q = -2 * (u**2 - v) ** 2 * (u * v + 1)
    assert factor_list(q) == q.factor_list()
