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
from .algebra import factored, rational_field, substitute, substitute_factor
from .factoring import Fraction, fractions
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
    rows = [[F[i, j] for j in range(n)] for i in range(n)]
    sigma = triangular_stein(rows, R.tolist(), sp.Integer(0), sp.cancel)
    return sp.Matrix(sigma)


def triangular_stein(F: list[list], R: list[list], zero, tidy=lambda x: x) -> list[list]:
    """:func:`solve_stein` for a lower triangular ``F`` given as rows of any exact
    scalars (SymPy expressions, field elements), by substitution in lexicographic order;
    ``tidy`` puts each entry in normal form (``sp.cancel`` for expressions)."""
    n = len(F)
    sigma = [[zero] * n for _ in range(n)]
    support = [[k for k in range(i + 1) if F[i][k] != 0] for i in range(n)]
    for i in range(n):
        for j in range(i + 1):
            total = R[i][j]
            for k in support[i]:
                for m in support[j]:
                    if (k, m) != (i, j):
                        total += F[i][k] * F[j][m] * sigma[k][m]
            value = tidy(total / (1 - F[i][i] * F[j][j]))
            sigma[i][j] = sigma[j][i] = value
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

    The covariance, the moments and the substitution of ``kappa`` are computed in a
    field of rational functions (:func:`~symdyn.algebra.rational_field`), whose elements
    stay cancelled without expression trees; expressions are built only for the
    factored results. With python-flint the solve and the moments keep the elements as
    pairs of FLINT polynomials cancelled by FLINT's gcd (:class:`~symdyn.factoring.Fraction`,
    the same elements; a third less CPU per derivation), turned back into the field's elements
    for the results. Rules outside that field (a square root in ``kappa``) or with a
    non-triangular joint state take the same steps on SymPy expressions.
    """
    state = joint_state(rule, alpha)
    moment = (_field_moments(state, rule.feedback, kappa)
              or _ExpressionMoments(state, rule.feedback, kappa))

    def error_with(v: str):
        return moment.c_star * moment("h*", v) - moment.c * moment("h", v)

    f = moment.feedback
    raw = (f * error_with("sa"), f * error_with("sb"), error_with("h"))
    terms = (moment.c_star**2 * moment("h*", "h*") / 2,
             -moment.c * moment.c_star * moment("h", "h*"), moment.c**2 * moment("h", "h") / 2)
    return ExpectedUpdate(tuple(moment.result(e, kappa=True) for e in raw),
                          moment.result(sum(terms)), tuple(moment.result(t) for t in terms))


class _ExpressionMoments:
    """``moment(u, v) = E[u v]`` from the stationary covariance, as SymPy expressions;
    ``result`` gives ``factor(cancel(e))``, with the rule's trace decay for ``kappa``."""

    c, c_star = S.c, S.c_star

    def __init__(self, state: LinearState, feedback: sp.Expr, kappa: sp.Expr):
        self.sigma = stationary_covariance(state.F, state.G)
        self.readouts, self.feedback, self.kappa = state.readouts, feedback, kappa

    def __call__(self, u: str, v: str) -> sp.Expr:
        return (self.readouts[u] * self.sigma * self.readouts[v].T)[0, 0]

    def result(self, e: sp.Expr, kappa: bool = False) -> sp.Expr:
        return substitute_factor(e, {S.kappa: self.kappa} if kappa else {})


class _FieldMoments:
    """The same moments as elements of a rational function field (see
    :func:`expected_update`), with the feedback, ``c``, ``c_star`` and ``kappa`` there too."""

    def __init__(self, field, sigma: list[list], readouts: dict, symbols: dict):
        self.field, self.sigma, self.readouts = field, sigma, readouts
        self.c, self.c_star = symbols["c"], symbols["c_star"]
        self.feedback, self.kappa, self.zero = symbols["f"], symbols["kappa"], symbols["zero"]

    def __call__(self, u: str, v: str):
        left, right = self.readouts[u], self.readouts[v]
        return sum((left[i] * self.sigma[i][j] * right[j] for i in range(len(left)) if left[i]
                    for j in range(len(right)) if right[j]), self.zero)

    def result(self, e, kappa: bool = False) -> sp.Expr:
        if isinstance(e, Fraction):  # FLINT's pair back to the field's element
            e = e.element()
        if kappa:
            e = substitute(e, {self.field.from_expr(S.kappa): self.kappa})
        return factored(e)


def _field_moments(state: LinearState, feedback: sp.Expr, kappa: sp.Expr) -> _FieldMoments | None:
    """:class:`_FieldMoments` of ``state``, or ``None`` when an entry, the feedback or
    ``kappa`` is not a rational function, or ``F`` is not lower triangular."""
    if not state.F.is_lower:
        return None
    extra = [feedback, kappa, S.c, S.c_star, S.kappa]
    field = rational_field([*state.F, *state.G, *extra]).field
    try:
        F = [[field.from_expr(e) for e in row] for row in state.F.tolist()]
        G = [field.from_expr(e) for e in state.G]
        readouts = {k: [field.from_expr(e) for e in v] for k, v in state.readouts.items()}
        f, k, c, c_star = (field.from_expr(e) for e in extra[:4])
    except ValueError:
        return None
    zero = field.zero
    convert = fractions(field)
    if convert is not None:  # FLINT's gcd in every cancellation (the same elements)
        F = [[convert(e) for e in row] for row in F]
        G = [convert(e) for e in G]
        readouts = {key: [convert(e) for e in v] for key, v in readouts.items()}
        f, c, c_star, zero = (convert(e) for e in (f, c, c_star, zero))
    sigma = triangular_stein(F, [[gi * gj for gj in G] for gi in G], zero)
    return _FieldMoments(field, sigma, readouts,
                         {"c": c, "c_star": c_star, "f": f, "kappa": k, "zero": zero})
