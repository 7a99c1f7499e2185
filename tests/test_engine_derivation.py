"""The derived ODEs: gradient identity, Monte Carlo of the online update, rule data."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import sympy as sp
from scalar_mc import ScalarRule, monte_carlo_update

import symdyn as sd
from symdyn import symbols as S
from symdyn.errors import LeakError, SymdynError, UnknownRuleError, UnknownSymbolError


@pytest.mark.parametrize("leak", [pytest.param(1, marks=pytest.mark.core),
                                  pytest.param("0.3", marks=pytest.mark.core), "alpha"])
def test_bptt_is_minus_gradient_of_loss(leak):
    ode = sd.derive("bptt", leak)
    for x, rhs in zip(ode.state, ode.rhs, strict=True):
        assert sp.cancel(rhs + sp.diff(ode.loss, x)) == 0


def test_other_rules_are_not_gradients():
    """tBPTT and RFLO are not gradient flows of the loss: the identity must fail."""
    for rule in ("tbptt", "rflo"):
        ode = sd.derive(rule, 1)
        residual = [sp.cancel(r + sp.diff(ode.loss, x)) for x, r in zip(ode.state, ode.rhs,
                                                                        strict=True)]
        assert any(e != 0 for e in residual)


def test_loss_matches_closed_form():
    """docs/theory.md, 'Averaging': the stationary loss of one mode."""
    ode = sd.derive("rflo", "alpha")
    lam = 1 - S.alpha + S.alpha * S.a
    lam_s = 1 - S.alpha + S.alpha * S.a_star
    closed = S.alpha**2 / 2 * (S.c_star**2 * S.b_star**2 / (1 - lam_s**2)
                               - 2 * S.c * S.c_star * S.b * S.b_star / (1 - lam * lam_s)
                               + S.c**2 * S.b**2 / (1 - lam**2))
    assert sp.cancel(ode.loss - closed) == 0


def _custom_rule() -> sd.Rule:
    return sd.Rule("custom", trace_decay="lam/2", feedback="beta + c")


SCALAR = {
    "bptt": ScalarRule(lambda lam, al: lam, lambda c, beta: c),
    "tbptt": ScalarRule(lambda lam, al: lam, lambda c, beta: c, window=1),
    "tbptt3": ScalarRule(lambda lam, al: lam, lambda c, beta: c, window=3),
    "rflo": ScalarRule(lambda lam, al: 1 - al, lambda c, beta: beta),
    "feedback_alignment": ScalarRule(lambda lam, al: lam, lambda c, beta: beta),
    "rflo_symmetric": ScalarRule(lambda lam, al: 1 - al, lambda c, beta: c),
    "custom": ScalarRule(lambda lam, al: lam / 2, lambda c, beta: beta + c),
}


def _symbolic(name: str, leak):
    if name == "custom":
        return sd.derive(_custom_rule(), leak)
    if name == "tbptt3":
        return sd.derive("tbptt", leak, truncation=3)
    return sd.derive(name, leak)


#: The cases of the fast subset (``pytest -m core``): a leak below 1 for every rule whose
#: trace or feedback a mutation could get wrong, and a window k = 3 (its decay matters).
CORE_MONTE_CARLO = {("bptt", 0.3), ("rflo", 0.3), ("tbptt3", 0.3), ("tbptt3", 1.0)}


@pytest.mark.parametrize("name, leak", [
    pytest.param(name, leak, marks=[pytest.mark.core] if (name, leak) in CORE_MONTE_CARLO
                 else []) for name in SCALAR for leak in (1.0, 0.3)])
@pytest.mark.timeout(120)
def test_expected_update_matches_monte_carlo(name, leak):
    """Every rule's derived right-hand side is the stationary mean of its online update."""
    # A stable seed per case (str hashes are salted per process): the test is reproducible.
    rng = np.random.default_rng(zlib.crc32(f"{name}-{leak}".encode()))
    ode = _symbolic(name, leak)
    rhs, loss = sd.rhs_function(ode), sd.loss_function(ode)
    for _ in range(2):
        lam, lam_s = rng.uniform(-0.7, 0.7, size=2)
        point = dict(a=(lam - 1 + leak) / leak, b=rng.uniform(0.3, 1.2),
                     c=rng.uniform(-1, 1), a_star=(lam_s - 1 + leak) / leak,
                     b_star=rng.uniform(0.5, 1.2), c_star=rng.uniform(0.5, 1.2),
                     beta=rng.uniform(-1, 1))
        mean, sem = monte_carlo_update(SCALAR[name], **point, alpha=leak,
                                       seed=int(rng.integers(1 << 30)))
        params = {p.name: point[p.name] for p in ode.parameters}
        state = [point["a"], point["b"], point["c"]]
        expected = np.append(rhs(state, params), loss(state, params))
        z = (mean - expected) / sem
        assert np.all(np.abs(z) < 4), (name, leak, point, z)


def test_monte_carlo_detects_a_wrong_rule():
    """The Monte Carlo comparison has power: RFLO's simulation is not BPTT's ODE."""
    ode = sd.derive("bptt", 1)
    point = dict(a=0.4, b=0.9, c=0.6, a_star=-0.3, b_star=1.0, c_star=0.8, beta=0.5)
    mean, sem = monte_carlo_update(SCALAR["rflo"], **point, alpha=1.0)
    expected = sd.rhs_function(ode)([0.4, 0.9, 0.6], dict(a_star=-0.3, b_star=1.0, c_star=0.8))
    assert np.max(np.abs((mean[:3] - expected) / sem[:3])) > 10


def test_rules_as_data():
    assert str(sd.get_rule("rflo").trace_decay) == "1 - alpha"
    assert sd.get_rule("tbptt", 4).truncation == 4
    rule = _custom_rule()
    assert rule.feedback == S.beta + S.c
    assert "custom" in rule._repr_latex_()


@pytest.mark.parametrize("bad, error", [
    (lambda: sd.derive("sgd"), UnknownRuleError),
    (lambda: sd.derive("bptt", leak=0), LeakError),
    (lambda: sd.derive("bptt", leak=1.5), LeakError),
    (lambda: sd.derive("bptt", leak="fast"), LeakError),
    (lambda: sd.derive("tbptt", truncation=0), SymdynError),
    (lambda: sd.derive("rflo", truncation=2), SymdynError),
    (lambda: sd.Rule("x", trace_decay="gamma", feedback="c"), UnknownSymbolError),
    (lambda: sd.derive("rflo").specialize({"d": 1}), KeyError),
    (lambda: sd.derive("rflo").specialize({"a": 1}), UnknownSymbolError),
])
def test_bad_input_is_a_clear_error(bad, error):
    with pytest.raises(error) as info:
        bad()
    assert len(str(info.value)) > 10


def test_expressions_round_trip_through_text():
    ode = sd.derive("rflo", "alpha")
    data = ode.to_dict()
    assert data["state"] == ["a", "b", "c"] and data["leak"] == "alpha"
    for name, text in data["rhs"].items():
        back = S.sympify(text)
        assert sp.cancel(back - ode.rhs_dict[S.PUBLIC[name]]) == 0
    assert sp.cancel(S.sympify(data["loss"]) - ode.loss) == 0


def test_objects_render_in_jupyter():
    ode = sd.derive("bptt", 1)
    assert ode._repr_latex_().startswith("$$")
    report = sd.fixed_points(ode)
    assert report._repr_latex_().startswith("$$") and report[0]._repr_latex_()
    assert "optimal manifold" in str(report)


def test_multi_mode_system_uses_suffixed_names():
    ode = sd.derive("rflo", 1)
    rhs, loss = ode.system(2)
    names = sorted(s.name for s in rhs)
    assert names == ["a_1", "a_2", "b_1", "b_2", "c_1", "c_2"]
    assert {s.name for s in loss.free_symbols} >= {"a_1", "b_star_2", "c_2"}
    text = str(rhs[sp.Symbol("b_2", real=True)])
    back = S.sympify(text, n_modes=2)
    assert sp.expand(back - rhs[sp.Symbol("b_2", real=True)]) == 0
    assert "beta_2" in text and "a_1" not in text


def test_lazy_public_names_survive_submodule_imports():
    """``symdyn.integrate`` stays the function whatever was imported first (a submodule
    of the same name would replace it on the package)."""
    import subprocess
    import sys

    code = ("import symdyn.validation, symdyn\n"
            "assert callable(symdyn.integrate)\n"
            "assert all(getattr(symdyn, n) is not None for n in symdyn.__all__)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
