"""Cost of the numeric Jacobian and loss Hessian: symbolic derivative against forward mode.

For each rule at leak 1 and with a symbolic leak: the one-off cost of differentiating,
printing and compiling the symbolic Jacobian of the right-hand side (``sp.diff`` +
``lambdify`` with cse, as ``symdyn.codegen`` did for every ODE in every process) and the
loss Hessian (``sp.hessian`` + ``lambdify``), against the per-call cost of one evaluation
of each: compiled symbolic, and forward mode on the lambdified right-hand side or loss
(:mod:`symdyn.autodiff`, what ``symdyn.codegen`` uses for rational ODEs), at one point
and at 8 modes; then the break-even number of calls (compile / (forward - compiled)),
and the largest relative difference between the two.  Also one evaluation of the
right-hand side at one point through ``bound_functions`` (what an ODE solver calls).

Times are CPU times of this process (``time.process_time``), best of 5 for the per-call
costs; the compile costs are single runs (SymPy caches make a second one cheaper).

Usage: PYTHONPATH=. python benchmarks/codegen.py
"""

from __future__ import annotations

import time

import numpy as np
import sympy as sp

from symdyn import autodiff, derive
from symdyn.codegen import _compiled, bound_functions

VALUES = {"a_star": 0.3, "b_star": 1.0, "c_star": 0.8, "beta": 1.3, "alpha": 0.6}
ONE = [0.1, 0.5, 0.4]
MODES = [np.linspace(-0.3, 0.3, 8), np.full(8, 0.5), np.full(8, 0.4)]


def once(f) -> tuple[object, float]:
    t = time.process_time()
    out = f()
    return out, time.process_time() - t


def per_call(f, n: int = 200) -> float:
    """Best of 5 runs of ``n`` calls, in microseconds per call."""
    best = np.inf
    for _ in range(5):
        t = time.process_time()
        for _ in range(n):
            f()
        best = min(best, (time.process_time() - t) / n)
    return best * 1e6


def row(label: str, compile_s: float, symbolic, forward, point) -> str:
    cost_sym, cost_fwd = per_call(lambda: symbolic(point)), per_call(lambda: forward(point))
    diff = np.max(np.abs(symbolic(point) - forward(point)) / (1 + np.abs(symbolic(point))))
    even = (f"{compile_s * 1e6 / (cost_fwd - cost_sym):8.0f} calls" if cost_fwd > cost_sym
            else "   never (forward faster)")
    return (f"  {label:<24} compile {compile_s:6.3f} s   per call: compiled {cost_sym:7.1f} us,"
            f" forward {cost_fwd:7.1f} us   break-even {even}   diff {diff:.1e}")


def _full(flat: list, shape: tuple) -> np.ndarray:
    """A flat list of 9 lambdified outputs as a (3, 3, ...) array."""
    return np.array([np.broadcast_to(np.asarray(e, float), shape) for e in flat]
                    ).reshape((3, 3) + shape)


def report(rule: str, leak) -> None:
    ode = derive(rule, leak)
    args = (*ode.state, *ode.parameters)
    params = [VALUES[p.name] for p in ode.parameters]
    rhs, loss = _compiled(ode, "rhs", "numpy"), _compiled(ode, "loss", "numpy")
    jac, t_jac = once(lambda: sp.lambdify(
        args, [sp.diff(r, s) for r in ode.rhs for s in ode.state], "numpy", cse=True))
    hess, t_hess = once(lambda: sp.lambdify(
        args, list(sp.hessian(ode.loss, ode.state)), "numpy"))
    print(f"{rule}, leak {leak}:")
    for where, point in (("1 point", ONE), ("8 modes", MODES)):
        print(row(f"Jacobian, {where}", t_jac,
                  lambda x: _full(jac(*x, *params), np.shape(x[0])),
                  lambda x: autodiff.jacobian(rhs, x, params), point))
        print(row(f"loss Hessian, {where}", t_hess,
                  lambda x: _full(hess(*x, *params), np.shape(x[0])),
                  lambda x: autodiff.hessian(loss, x, params), point))
    f, _ = bound_functions(ode, {p.name: v for p, v in zip(ode.parameters, params, strict=True)})
    y = np.array(ONE)
    print(f"  rhs at one point (bound_functions): {per_call(lambda: f(y)):.1f} us")


def main() -> None:
    for rule in ("bptt", "tbptt", "rflo"):
        for leak in (1, "alpha"):
            report(rule, leak)


if __name__ == "__main__":
    main()
