"""From online updates to expected updates: the stationary covariance of the joint state.

Student, teacher and eligibility traces of one mode form a linear system driven by white
noise, ``z_t = F z_{t-1} + G x_t``. Its stationary covariance solves the discrete
Lyapunov equation ``Sigma = F Sigma F^T + G G^T``, and every expected update is a bilinear
form ``u^T Sigma v`` in read-out vectors ``u, v`` of the state. All of it is done in the
working variables ``lam, lam_star, kappa`` (docs/theory.md, 'Averaging'), which keeps the rational
functions small; :mod:`symdyn.ode` maps back to (a, a*).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from . import symbols as S
from .algebra import substitute_factor
from .rules import Rule


@dataclass(frozen=True)
class LinearState:
    """``z_t = F z_{t-1} + G x_t`` with named read-outs ``name -> row vector over z``."""

    F: sp.Matrix
    G: sp.Matrix
    readouts: dict[str, sp.Matrix]


def joint_state(rule: Rule, alpha: sp.Expr) -> LinearState:
    """The joint linear state of student ``h``, teacher ``h*`` and the traces of ``rule``.

    The trace decay stays the symbol ``kappa`` here; it is substituted after the solve.
    Unbounded traces are two extra states; a window of ``k`` steps is a delay line of
    past ``h`` and past ``x`` read out with weights ``alpha kappa^j``.
    """
    entries = _unbounded_traces(alpha) if rule.truncation is None else _windowed_traces(
        alpha, rule.truncation)
    names, f_rows, g_entries, readouts = entries
    n = len(names)
    F = sp.zeros(n, n)
    for i, row in enumerate(f_rows):
        for j, value in row.items():
            F[i, names.index(j)] = value
    G = sp.Matrix(g_entries)
    vectors = {}
    for key, weights in readouts.items():
        v = sp.zeros(1, n)
        for j, value in weights.items():
            v[0, names.index(j)] += value
        vectors[key] = v
    return LinearState(F, G, vectors)


def _network_part(alpha: sp.Expr) -> tuple[list, list, list]:
    names = ["h", "h*"]
    rows = [{"h": S.lam}, {"h*": S.lam_star}]
    g = [alpha * S.b, alpha * S.b_star]
    return names, rows, g


def _unbounded_traces(alpha: sp.Expr):
    names, rows, g = _network_part(alpha)
    names += ["sa", "sb"]
    rows += [{"h": alpha, "sa": S.kappa}, {"sb": S.kappa}]
    g += [0, alpha]
    readouts = {"h": {"h": 1}, "h*": {"h*": 1}, "sa": {"sa": 1}, "sb": {"sb": 1}}
    return names, rows, g, readouts


def _windowed_traces(alpha: sp.Expr, k: int):
    names, rows, g = _network_part(alpha)
    delays = [f"h{j}" for j in range(1, k + 1)]    # h_{t-j}
    inputs = [f"x{j}" for j in range(k)]           # x_{t-j}
    names += delays + inputs
    rows += [{"h": 1}] + [{delays[j - 1]: 1} for j in range(1, k)]
    rows += [{}] + [{inputs[j - 1]: 1} for j in range(1, k)]
    g += [0] * k + [1] + [0] * (k - 1)
    readouts = {
        "h": {"h": 1}, "h*": {"h*": 1},
        "sa": {delays[j]: alpha * S.kappa**j for j in range(k)},
        "sb": {inputs[j]: alpha * S.kappa**j for j in range(k)},
    }
    return names, rows, g, readouts


def stationary_covariance(F: sp.Matrix, G: sp.Matrix) -> sp.Matrix:
    """Solve ``Sigma = F Sigma F^T + G G^T`` for symmetric ``Sigma`` (see :func:`solve_stein`)."""
    return solve_stein(F, G * G.T)


def solve_stein(F: sp.Matrix, R: sp.Matrix) -> sp.Matrix:
    """Solve the Stein (discrete Lyapunov) equation ``X = F X F^T + R``, ``R`` symmetric.

    The equation is linear in the entries of X. When ``F`` is lower triangular (every
    state depends only on itself and on earlier states, as for all trace-feedback rules)
    the system is triangular too: entry (i, j) needs only entries (k, l) with k <= i,
    l <= j, and is solved by substitution in lexicographic order, dividing by
    ``1 - F_ii F_jj``. An upper triangular ``F`` is reversed into a lower one. Otherwise
    the full linear system is solved with a linear solver.
    """
    if F.is_lower:
        return _triangular_stein(F, R)
    if F.is_upper:
        n = F.rows
        order = list(range(n - 1, -1, -1))
        flip = sp.Matrix(n, n, lambda i, j: 1 if j == order[i] else 0)
        return flip * _triangular_stein(flip * F * flip, flip * R * flip) * flip
    return _general_stein(F, R)


def _triangular_stein(F: sp.Matrix, R: sp.Matrix) -> sp.Matrix:
    n = F.rows
    sigma = sp.zeros(n, n)
    support = [[k for k in range(i + 1) if F[i, k] != 0] for i in range(n)]
    for i in range(n):
        for j in range(i + 1):
            total = R[i, j]
            for k in support[i]:
                for m in support[j]:
                    if (k, m) != (i, j):
                        total += F[i, k] * F[j, m] * sigma[k, m]
            value = sp.cancel(total / (1 - F[i, i] * F[j, j]))
            sigma[i, j] = sigma[j, i] = value
    return sigma


def _general_stein(F: sp.Matrix, R: sp.Matrix) -> sp.Matrix:
    n = F.rows
    unknowns = {(i, j): sp.Dummy(f"s{i}{j}") for i in range(n) for j in range(i + 1)}
    sigma = sp.Matrix(n, n, lambda i, j: unknowns[max(i, j), min(i, j)])
    residual = sigma - F * sigma * F.T - R
    equations = [residual[i, j] for (i, j) in unknowns]
    solution = sp.linsolve(equations, list(unknowns.values()))
    (values,) = solution
    mapping = dict(zip(unknowns.values(), values, strict=True))
    return sigma.xreplace(mapping).applyfunc(sp.cancel)


@dataclass(frozen=True)
class ExpectedUpdate:
    """Expected updates per unit learning rate and the stationary loss, in working variables.

    ``rhs`` holds ``(da, db, dc)``; the trace decay is already substituted, so only
    ``lam, lam_star``, ``alpha`` and the public symbols remain.
    """

    rhs: tuple[sp.Expr, sp.Expr, sp.Expr]
    loss: sp.Expr
    #: The loss as ``c*^2/2 E[h*^2] - c c* E[h h*] + c^2/2 E[h^2]``, term by term.
    loss_terms: tuple[sp.Expr, ...] = ()


def expected_update(rule: Rule, alpha: sp.Expr, kappa: sp.Expr) -> ExpectedUpdate:
    """Average the online update of ``rule`` over the stationary joint process.

    ``kappa`` is the rule's trace decay in working variables. With ``e = c* h* - c h``::

        da/dtau = f E[e s^a],  db/dtau = f E[e s^b],  dc/dtau = E[e h],
        L = 1/2 E[e^2].
    """
    state = joint_state(rule, alpha)
    sigma = stationary_covariance(state.F, state.G)
    r = state.readouts

    def moment(u: str, v: str) -> sp.Expr:
        return (r[u] * sigma * r[v].T)[0, 0]

    def error_with(v: str) -> sp.Expr:
        return S.c_star * moment("h*", v) - S.c * moment("h", v)

    f = rule.feedback
    raw = (f * error_with("sa"), f * error_with("sb"), error_with("h"))
    # factor(cancel(...)) of these sums, computed in a field of rational functions
    loss_terms = tuple(substitute_factor(t, {}) for t in (
        S.c_star**2 * moment("h*", "h*") / 2, -S.c * S.c_star * moment("h", "h*"),
        S.c**2 * moment("h", "h") / 2))
    loss = sum(loss_terms)
    rhs = tuple(substitute_factor(e, {S.kappa: kappa}) for e in raw)
    return ExpectedUpdate(rhs, substitute_factor(loss, {}), loss_terms)

