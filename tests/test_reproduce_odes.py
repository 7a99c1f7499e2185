"""BPTT is the gradient flow of its loss, decided exactly at symbolic leak
(symdyn.reproduce.odes), checked against central finite differences of the loss."""

import numpy as np
import pytest
import sympy as sp

from symdyn import derive
from symdyn.reproduce.odes import _exact_gradient_flow, gradient_residual


def _fd_residual(ode, seed: int = 3) -> float:
    """max |rhs + grad L| at random stationary points, grad L by central differences."""
    args = (*ode.state, *ode.parameters)
    loss = sp.lambdify(args, ode.loss, "numpy")
    rhs = sp.lambdify(args, list(ode.rhs), "numpy")
    rng = np.random.default_rng(seed)
    worst, h = 0.0, 1e-6
    for _ in range(5):
        x = [rng.uniform(-0.8, 0.8) if s.name in ("a", "a_star") else
             rng.uniform(0.3, 1.0) if s.name == "alpha" else rng.uniform(-1.2, 1.2)
             for s in args]
        for i in range(3):
            up, down = list(x), list(x)
            up[i] += h
            down[i] -= h
            grad = (loss(*up) - loss(*down)) / (2 * h)
            worst = max(worst, abs(rhs(*x)[i] + grad))
    return worst


@pytest.mark.parametrize("rule, gradient", [("bptt", True), ("tbptt", False), ("rflo", False)])
def test_exact_gradient_flow_at_symbolic_leak(rule, gradient):
    ode = derive(rule, "alpha")
    assert _exact_gradient_flow(ode) is gradient
    assert (_fd_residual(ode) < 1e-6) is gradient


def test_gradient_residual_is_a_proof_at_both_leaks():
    assert gradient_residual(1) == 0.0 and gradient_residual("alpha") == 0.0
