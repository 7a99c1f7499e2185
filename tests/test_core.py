"""Fast checks of the core mathematics against independent references (``pytest -m core``).

Each test compares the engine with something it does not compute itself: a hand-derived
value, NumPy's polynomial roots, or a hand-specialised ODE. Together with the Monte Carlo
tests of ``test_engine_derivation.py`` marked ``core`` they catch every mutation of
``benchmarks/mutations.py`` in well under a minute.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symdyn as sd
from symdyn import symbols as S
from symdyn.analysis import spectrum as stability_module
from symdyn.model import ModeModel, recurrence, weight_from_recurrence

pytestmark = [pytest.mark.core, pytest.mark.timeout(60)]


def test_leak_map_by_hand():
    """``lam = 1 - alpha + alpha a``: at alpha = 3/10, a = 1/2 gives 17/20 (by hand)."""
    assert recurrence(sp.Rational(1, 2), sp.Rational(3, 10)) == sp.Rational(17, 20)
    assert weight_from_recurrence(sp.Rational(17, 20), sp.Rational(3, 10)) == sp.Rational(1, 2)
    assert np.isclose(recurrence(np.array([-1.0]), 0.25)[0], 0.5)
    model = ModeModel(sp.Rational(3, 10))
    assert sp.expand(model.lam - (sp.Rational(7, 10) + sp.Rational(3, 10) * S.a)) == 0
    assert sp.expand(model.lam.subs(model.to_working())) == S.lam


def test_specialize_at_leak_below_one_matches_a_hand_specialised_field():
    """Pinning a* = 1/2 at leak 3/10 pins lam* = 1 - 3/10 + 3/10 * 1/2 = 17/20 (by hand) in
    the working field the analysis uses; at leak 1 the two maps would coincide."""
    ode = sd.derive("bptt", "0.3")
    pinned = ode.specialize({"a_star": sp.Rational(1, 2)})
    for mine, full in zip(pinned.working_rhs, ode.working_rhs, strict=True):
        assert sp.cancel(mine - full.subs(S.lam_star, sp.Rational(17, 20))) == 0
    for mine, full in zip(pinned.rhs, ode.rhs, strict=True):
        assert sp.cancel(mine - full.subs(S.a_star, sp.Rational(1, 2))) == 0


def test_specialized_optimum_is_the_teacher_at_leak_below_one():
    """The optimum of a pinned teacher is a = a* (the student copies the teacher)."""
    ode = sd.derive("rflo", "0.3").specialize({"a_star": sp.Rational(1, 2)})
    optimal = sd.fixed_points(ode, timeout=50)["optimal"]
    assert optimal.parametrization[S.a] == sp.Rational(1, 2)


@pytest.mark.parametrize("eigenvalues, n_zero, expected", [
    ([0.0, -1.0, -2.0], 1, "stable"),
    ([0.0, -1.0, 2.0], 1, "saddle"),
    ([0.0, 1.0, -2.0], 1, "saddle"),
    ([0.0, 1.0, 2.0], 1, "unstable"),
    ([-1 + 2j, -1 - 2j, 0.5], 0, "saddle"),
    ([-1 + 2j, -1 - 2j, -0.5], 0, "stable"),
    ([0.0, 0.0, -3.0], 1, "marginal"),
])
def test_numeric_classification_of_hand_spectra(eigenvalues, n_zero, expected):
    assert stability_module.numeric_class(np.array(eigenvalues), n_zero) == expected


def test_saddle_point_of_bptt_is_a_saddle():
    """At b = c = 0 BPTT's field vanishes; its Jacobian there has eigenvalues of both signs
    (b and c feed each other with gain alpha^2 b* c* E-terms), so it is a saddle."""
    ode = sd.derive("bptt", 1)
    result = sd.stability_at(ode, dict(a=0.2, b=0, c=0, a_star=0.4, b_star=1.1, c_star=0.9))
    assert result.is_fixed_point
    real = np.sort(result.eigenvalues.real)
    assert real[0] < 0 < real[-1]
    assert result.classification == "saddle"


@pytest.mark.parametrize("degree", [1, 2, 3, 4])
def test_routh_hurwitz_against_numeric_roots(degree):
    """All Routh-Hurwitz expressions positive iff every root has negative real part, on
    seeded random monic polynomials (NumPy's roots as the reference)."""
    rng = np.random.default_rng(degree)
    x = stability_module.X
    seen = {True: 0, False: 0}
    for _ in range(300):
        coefficients = [sp.Rational(int(k), 4) for k in rng.integers(-4, 13, degree)]
        poly = sp.Poly(x**degree + sum(k * x**i for i, k in enumerate(reversed(coefficients)))
                       , x)
        roots = np.roots([1.0, *map(float, coefficients)])
        if np.min(np.abs(roots.real)) < 1e-6:
            continue  # on the boundary: decided by round-off
        conditions = stability_module.hurwitz_expressions(poly)
        stable = bool(np.all(roots.real < 0))
        assert all(float(g) > 0 for g in conditions) == stable, (poly, roots, conditions)
        seen[stable] += 1
    assert seen[True] > 10 and seen[False] > 10
