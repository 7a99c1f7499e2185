"""The matrix mean field against independent computations: the per-mode ODE the symbolic
engine derives (aligned networks), Monte Carlo averages of the simulator's online update,
and finite differences of the stationary loss."""

from __future__ import annotations

import numpy as np
import pytest

from symdyn import derive, rhs_function
from symdyn.errors import SymdynError, UnstableError
from symdyn.meanfield import expected_update, stationary_loss
from symdyn.simulate import aligned_network, expected_update_mc, project_matrices, random_network

MODES = {"a": [0.3, -0.2, 0.6], "b": [0.8, 1.1, -0.5], "c": [0.7, -0.4, 0.9],
         "a_star": [0.5, 0.1, -0.3], "b_star": [1.0, -0.6, 0.8], "c_star": [0.9, 0.5, 1.2],
         "beta": [0.7, -1.3, 0.4]}


def _triples(net, teacher, i=0):
    return ((net.W[i], net.U[i], net.V[i]), (teacher.W[i], teacher.U[i], teacher.V[i]))


@pytest.mark.parametrize("leak", [1.0, 0.5])
@pytest.mark.parametrize("rule,k", [("bptt", None), ("tbptt", 1), ("tbptt", 2), ("rflo", None),
                                    ("feedback_alignment", None)])
def test_aligned_reduces_to_derived_modes(rule, k, leak):
    """Mode by mode equal to the lambdified symbolic ODE; nothing off the modes."""
    net, teacher, bases = aligned_network(6, 3, 4, leak=leak, seed=11, a_rest=0.2,
                                          a_star_rest=-0.4, **MODES)
    student, target = _triples(net, teacher)
    dW, dU, dV = expected_update(rule, student, target, leak, feedback=net.B_fb[0],
                                 truncation=k)
    proj = project_matrices(dW, dU, dV, bases)
    ode = derive(rule, leak=leak, truncation=k)
    params = {p: np.array(MODES[p]) for p in ("a_star", "b_star", "c_star", "beta")}
    expected = rhs_function(ode)(np.array([MODES["a"], MODES["b"], MODES["c"]]), params)
    got = np.array([proj["a"], proj["b"], proj["c"]])
    assert np.max(np.abs(got - expected)) < 1e-10
    assert proj["residual"] < 1e-12
    # the hidden directions without a mode do not move either (the diagonal entries that
    # project_matrices allows)
    rest = np.diagonal(bases.R.T @ dW @ bases.R)[3:]
    assert np.max(np.abs(rest)) < 1e-12


@pytest.mark.parametrize("leak", [1.0, 0.5])
def test_bptt_is_minus_the_loss_gradient(leak):
    """BPTT's field (adjoint Stein solves) equals -grad L by central differences."""
    net, teacher = random_network(5, 3, 2, leak=leak, seed=4)
    student, target = _triples(net, teacher)
    field = expected_update("bptt", student, target, leak)
    eps = 1e-6
    for k, M in enumerate(student):
        grad = np.zeros_like(M)
        for idx in np.ndindex(M.shape):
            plus = [m.copy() for m in student]
            minus = [m.copy() for m in student]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            grad[idx] = (stationary_loss(plus, target, leak)
                         - stationary_loss(minus, target, leak)) / (2 * eps)
        assert np.max(np.abs(field[k] + grad)) < 1e-7 * np.max(np.abs(grad))


def test_stationary_loss_against_simulation():
    """The loss from the Stein solves equals the simulator's Monte Carlo loss."""
    leak = 0.5
    net, teacher = random_network(5, 3, 2, leak=leak, seed=8, batch=4)
    mc = expected_update_mc(net, teacher, rule="rflo", leak=leak, n_steps=12000,
                            burn_in=200, seed=3, n_blocks=40)
    exact = np.array([stationary_loss(*_triples(net, teacher, i), leak) for i in range(4)])
    z = (mc["loss"] - exact) / mc["loss_sem"]
    assert np.max(np.abs(z)) < 4.5


@pytest.mark.parametrize("leak", [1.0, 0.5])
@pytest.mark.parametrize("rule,k", [("bptt", 1), ("tbptt", 1), ("tbptt", 3), ("rflo", 1)])
def test_matches_monte_carlo_of_online_update(rule, k, leak):
    """Non-aligned networks: z-scores of the simulator's stationary mean update."""
    net, teacher = random_network(4, 2, 2, leak=leak, seed=5, batch=3)
    mc = expected_update_mc(net, teacher, rule=rule, leak=leak, truncation=k,
                            n_steps=12000, burn_in=200, seed=7, n_blocks=40)
    z = []
    for i in range(3):
        student, target = _triples(net, teacher, i)
        exact = expected_update(rule, student, target, leak, feedback=net.B_fb[i],
                                truncation=k if rule == "tbptt" else None)
        z += [((mc[n][i] - e) / mc[n + "_sem"][i]).ravel() for n, e in
              zip(("dW", "dU", "dV"), exact, strict=True)]
    z = np.concatenate(z)
    assert np.max(np.abs(z)) < 4.5  # 3 x 28 entries
    assert abs(np.mean(z)) < 0.5 and 0.4 < np.std(z) < 1.6  # batch-mean SEMs are conservative


def test_truncation_tends_to_bptt_and_rflo_lies_in_span_of_B():
    net, teacher = random_network(6, 3, 2, leak=0.5, seed=2)
    student, target = _triples(net, teacher)
    full = expected_update("bptt", student, target, 0.5)
    long = expected_update("tbptt", student, target, 0.5, truncation=200)
    assert all(np.max(np.abs(x - y)) < 1e-12 for x, y in zip(full, long, strict=True))
    B = net.B_fb[0]
    dW, dU, _ = expected_update("rflo", student, target, 0.5, feedback=B)
    proj = np.eye(6) - B @ np.linalg.pinv(B)
    assert np.max(np.abs(proj @ dW)) < 1e-12 and np.max(np.abs(proj @ dU)) < 1e-12
    assert np.linalg.matrix_rank(dW, tol=1e-10) == 2


def test_clear_errors():
    net, teacher = random_network(4, 2, 2, leak=1.0, seed=1)
    student, target = _triples(net, teacher)
    with pytest.raises(UnstableError, match="spectral radius"):
        expected_update("bptt", (2 * np.eye(4), student[1], student[2]), target)
    with pytest.raises(SymdynError, match="W \\(N,N\\)"):
        expected_update("bptt", (student[0], student[1], student[2].T), target)
    with pytest.raises(SymdynError, match="non-finite"):
        expected_update("bptt", (student[0] * np.nan, student[1], student[2]), target)
    with pytest.raises(SymdynError, match="feedback matrix B"):
        expected_update("rflo", student, target)
    with pytest.raises(SymdynError, match="leak"):
        expected_update("bptt", student, target, leak=1.5)
