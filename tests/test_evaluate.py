"""Closed forms at float inputs (symdyn.analysis.evaluate): fast where safe, exact at
degenerate points. Checked against hand-derived values and numpy's polynomial roots."""

import numpy as np
import pytest
import sympy as sp

from symdyn import symbols as S
from symdyn.analysis import evaluate as E
from symdyn.analysis.conserved import _real_candidates, limit_candidates
from symdyn.reproduce.common import analysed

x, y = sp.symbols("x y", real=True)
#: sqrt of (x^2 + y^2) - sqrt((x^2 + y^2)^2): exactly zero, rounding noise in floats.
HIDDEN_ZERO = x**2 + y**2 - sp.sqrt(x**4 + 2 * x**2 * y**2 + y**4)


def test_regular_values_match_double_precision():
    values = E.evaluate([sp.sqrt(x) + y / 3, sp.sqrt(-x), x ** sp.Rational(1, 3)],
                        {x: 0.6, y: -1.7})
    expected = [np.sqrt(0.6) - 1.7 / 3, 1j * np.sqrt(0.6), 0.6 ** (1 / 3)]
    assert np.allclose(values, expected, rtol=1e-15, atol=0)


def test_a_hidden_zero_is_decided_exactly(monkeypatch):
    calls = []
    fast = E._fast
    monkeypatch.setattr(E, "_fast", lambda *a: calls.append(fast(*a)) or calls[-1])
    # The square root of rounding noise would be about 1e-9 to 1e-17, real or imaginary.
    assert E.evaluate([sp.sqrt(HIDDEN_ZERO)], {x: 0.6, y: 0.2}) == [0j]
    # A quantity divided by it is not finite (it was 1e16 or so in floats).
    assert not np.isfinite(E.evaluate([1 / sp.sqrt(HIDDEN_ZERO)], {x: 0.6, y: 0.2})[0])
    # A real part within rounding of zero is never given a sign by rounding.
    assert E.evaluate([HIDDEN_ZERO * 7], {x: 0.6, y: 0.2}) == [0j]
    assert calls == [None, None, None]


def test_casus_irreducibilis_roots_are_real_and_accurate():
    # Cardano's formula for a cubic with three real roots goes through complex numbers.
    t = sp.Symbol("t")
    p = sp.Poly(t**3 - 3 * t + x, t)
    roots = [r for r in sp.roots(p, multiple=True)]
    values = E.evaluate(roots, {x: 0.7})
    assert max(abs(v.imag) for v in values) < 1e-30
    assert np.allclose(sorted(v.real for v in values), sorted(np.roots([1, 0, -3, 0.7])),
                       rtol=1e-14, atol=0)


@pytest.mark.parametrize("rule, params, initial", [
    # b* = 0: on the manifold (a = a*, c = 0) the invariant b^2 - c^2 gives
    # b^2 (b^2 - (b0^2 - c0^2)) = 0, hand-derived: b = 0 twice and +-sqrt(0.32).
    # Rounding made the double root +-5e-9 before.
    ("bptt", {"a_star": 0.5, "b_star": 0.0, "c_star": 1.0}, {"a": 0.0, "b": 0.6, "c": 0.2}),
    # The same for tBPTT's a^2 + b^2 - c^2 with a0 = a*.
    ("tbptt", {"a_star": 0.5, "b_star": 0.0, "c_star": 1.0}, {"a": 0.5, "b": 0.6, "c": 0.2}),
])
def test_limit_candidates_at_a_double_root(rule, params, initial):
    ode, report = analysed(rule, 1)
    candidates = limit_candidates(ode, target=report["optimal"])
    real = _real_candidates(candidates, initial, params)
    root = np.sqrt(0.6**2 - 0.2**2)
    assert sorted(p["b"] for p in real) == pytest.approx([-root, 0, 0, root], abs=1e-15)
    assert all(p["a"] == 0.5 and p["c"] == 0 for p in real)


def test_rflo_double_root_at_zero_is_exactly_zero():
    # b* = 0: RFLO's invariant a^2 + b^2 - 2 beta c on the manifold gives
    # b (b^2 + 0.04) = 0 here (hand-derived), so b = 0 is the one real candidate.
    ode, report = analysed("rflo", 1)
    candidates = limit_candidates(ode, target=report["optimal"])
    params = {"a_star": 0.5, "b_star": 0.0, "c_star": 1.0, "beta": 1.0}
    real = _real_candidates(candidates, {"a": 0.5, "b": 0.6, "c": 0.2}, params)
    assert [p["b"] for p in real] == [0.0]


def test_unknown_symbols_still_raise():
    with pytest.raises(TypeError):
        complex(E.evaluate([x + S.beta], {x: 1.0})[0])
