"""``LearningODE``: the averaged per-mode learning dynamics of one rule.

In learning time ``tau = eta t`` the parameters of one mode follow
``d(a, b, c)/dtau = E_stationary[update / eta]`` (docs/theory.md, 'Averaging'). ``derive`` builds
it from a rule's definition; the object holds the right-hand side and the stationary loss
both in public symbols and in the working variables ``lam, lam_star`` used by the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import sympy as sp

from . import symbols as S
from .algebra import change_variables, substitute_factor
from .averaging import expected_update
from .errors import SymdynError, UnknownSymbolError, UnstableError
from .model import ModeModel, leak_text, parse_leak, recurrence
from .rules import Rule, get_rule
from .values import exact


@dataclass(frozen=True, eq=False)
class LearningODE:
    """``d(a, b, c)/dtau = rhs`` for one mode under ``rule`` with leak ``model.leak``.

    ``working_rhs`` is the same field in the coordinates ``(lam, b, c)`` with
    ``lam = 1 - alpha + alpha a``: its first component is ``alpha * da/dtau``.
    """

    rule: Rule
    model: ModeModel
    rhs: tuple[sp.Expr, sp.Expr, sp.Expr]
    loss: sp.Expr
    working_rhs: tuple[sp.Expr, sp.Expr, sp.Expr]
    working_loss: sp.Expr
    #: Parameters pinned by :meth:`specialize`: public symbol -> value.
    fixed: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()
    #: The working loss term by term (teacher power, cross term, student power): the
    #: readable form, ``L = 1/2 c*^2 E[h*^2] - c c* E[h h*] + 1/2 c^2 E[h^2]``.
    working_loss_terms: tuple[sp.Expr, ...] = ()

    state = S.STATE
    working_state = (S.lam, S.b, S.c)

    @property
    def leak(self) -> sp.Expr:
        return self.model.leak

    @cached_property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Symbols other than the state: teacher, feedback, and alpha when symbolic
        (cached: numeric code asks for them on every evaluation)."""
        free = set().union(*(e.free_symbols for e in self.rhs)) | self.loss.free_symbols
        return tuple(sorted(free - set(self.state), key=lambda s: s.name))

    @property
    def loss_terms(self) -> tuple[sp.Expr, ...]:
        """The loss term by term in public symbols (their sum is :attr:`loss`)."""
        return tuple(self.from_working(t) for t in self.working_loss_terms)

    @property
    def rhs_dict(self) -> dict[sp.Symbol, sp.Expr]:
        return dict(zip(self.state, self.rhs, strict=True))

    @cached_property
    def jacobian(self) -> sp.Matrix:
        """``d rhs / d(a, b, c)``, each entry a cancelled rational function."""
        return sp.Matrix(3, 3, lambda i, j: sp.cancel(sp.diff(self.rhs[i], self.state[j])))

    @cached_property
    def working_jacobian(self) -> sp.Matrix:
        """Jacobian in ``(lam, b, c)``; similar to :attr:`jacobian`, so same eigenvalues."""
        return sp.Matrix(3, 3, lambda i, j: sp.diff(self.working_rhs[i], self.working_state[j]))

    def to_working(self, expr: sp.Expr) -> sp.Expr:
        """Rewrite an expression in (a, a*) into the working variables (lam, lam*)."""
        return sp.sympify(expr).subs(self.model.to_working())

    def to_public_state(self, expr: sp.Expr) -> sp.Expr:
        """Replace ``lam`` and ``lam_star`` by their expressions in ``a`` and ``a_star``."""
        return sp.sympify(expr).subs(self.model.from_working())

    def from_working(self, expr: sp.Expr) -> sp.Expr:
        """Rewrite an expression in the working variables back into (a, a*), factored
        (factor by factor: :func:`symdyn.algebra.change_variables`)."""
        return change_variables(expr, self.model.from_working())

    def specialize(self, values: dict) -> LearningODE:
        """The same dynamics with some teacher or feedback parameters fixed.

        ``values`` maps public symbols or their names (``a_star``, ``b_star``, ``c_star``,
        ``beta``) to numbers (int, float, NumPy scalar, Fraction, text) or expressions,
        e.g. ``ode.specialize({"a_star": 0.5})``. Floats become the exact rationals they
        print as (0.5 -> 1/2), so the analysis stays exact; NaN and infinities are refused.
        """
        public = _parameter_values(values)
        working = self._working_values(public)
        lam_star = working.get(S.lam_star)
        if lam_star is not None and lam_star.is_number and abs(lam_star) >= 1:
            raise UnstableError(f"a_star = {public[S.a_star]} gives |lambda_star| = "
                                f"{abs(lam_star)} >= 1: the teacher has no stationary process")
        from . import cache

        # Kept on disk like a derivation: every process that pins the same values (the
        # paper's sections at a* = 0) reads it instead of cancelling and factoring again.
        key = (*self.cache_key(), tuple((s.name, sp.srepr(v)) for s, v in public.items()))
        return cache.cached("specialize", key,
                            lambda: _with_key(self._specialized(public, working)))

    def _specialized(self, public: dict[sp.Symbol, sp.Expr],
                     working: dict[sp.Symbol, sp.Expr]) -> LearningODE:
        # substitute_factor: ``sp.factor(sp.cancel(e.subs(values)))``, computed in a field
        return LearningODE(
            self.rule, self.model,
            tuple(substitute_factor(e, public) for e in self.rhs),
            substitute_factor(self.loss, public),
            tuple(substitute_factor(e, working) for e in self.working_rhs),
            substitute_factor(self.working_loss, working),
            tuple({**dict(self.fixed), **public}.items()),
            tuple(sp.factor(t.subs(working)) for t in self.working_loss_terms),
        )

    def _working_values(self, public: dict[sp.Symbol, sp.Expr]) -> dict[sp.Symbol, sp.Expr]:
        working = {k: v for k, v in public.items() if k is not S.a_star}
        if S.a_star in public:
            working[S.lam_star] = sp.expand(recurrence(public[S.a_star], self.leak))
        return working

    def cache_key(self) -> tuple:
        """What determines this ODE's analysis, as text, for :mod:`symdyn.cache`: the
        rule's definition, the leak, the pinned parameters and (for ODEs built by hand) a
        digest of the working right-hand side and loss, which are all the analysis reads
        (the public forms are their images under the leak map; printing them as well
        took three times as long). Computed once per ODE: a worker asks for it on every
        cached analysis of the same ODE."""
        return self._cache_key

    @cached_property
    def _cache_key(self) -> tuple:
        from hashlib import sha256

        # The arguments in their stored (canonical) order, not sorted again for display:
        # the same text for equal expressions, at a quarter of the cost (0.08 -> 0.02 CPU s
        # for the paper's eleven derived ODEs)
        body = sp.srepr((self.working_rhs, self.working_loss), order="none")
        return (*rule_key(self.rule), sp.srepr(self.leak), sp.srepr(self.fixed),
                sha256(body.encode()).hexdigest())

    @property
    def fixed_working(self) -> dict[sp.Symbol, sp.Expr]:
        """The pinned parameters in working variables (``a_star`` becomes ``lam_star``)."""
        return self._working_values(dict(self.fixed))

    def mode(self, i: int) -> tuple[dict[sp.Symbol, sp.Expr], sp.Expr]:
        """Right-hand side and loss of mode ``i`` of a multi-mode network, in the symbols
        ``a_i, b_i, c_i, a_star_i, ...`` (docs/theory.md, 'Symbols and conventions')."""
        names = S.mode_symbols(i)
        rhs = {names[s]: e.xreplace(names) for s, e in zip(self.state, self.rhs, strict=True)}
        return rhs, self.loss.xreplace(names)

    def system(self, n_modes: int) -> tuple[dict[sp.Symbol, sp.Expr], sp.Expr]:
        """The ``3 n`` ODEs of ``n`` independent modes and their total loss (modes 1..n)."""
        rhs: dict[sp.Symbol, sp.Expr] = {}
        loss = sp.Integer(0)
        for i in range(1, n_modes + 1):
            mode_rhs, mode_loss = self.mode(i)
            rhs.update(mode_rhs)
            loss += mode_loss
        return rhs, loss

    # --- printing -------------------------------------------------------------------
    @property
    def title(self) -> str:
        k = "" if self.rule.truncation is None else f" (k = {self.rule.truncation})"
        pinned = "".join(f", {s.name} = {v}" for s, v in self.fixed)
        return f"{self.rule.name}{k}, leak {leak_text(self.leak)}{pinned}"

    def default_form(self) -> str:
        """``"lambda"`` when the leak is not 1 (the working variables are then shorter),
        else ``"a"`` (at leak 1, ``lambda = a`` and both forms coincide)."""
        return "a" if self.leak == 1 else "lambda"

    def equations(self, form: str | None = None) -> dict[str, sp.Expr]:
        """The right-hand sides and the loss as a theorist writes them (grouped, factored,
        ``1 - lambda^2`` kept), keyed ``"a", "b", "c", "loss"``; values equal :attr:`rhs`.

        ``form="lambda"`` writes them in ``lambda = 1 - alpha + alpha a`` and ``lambda*``
        (the key ``"a"`` then still holds ``da/dtau``); ``form="a"`` in the public
        symbols; the default is :meth:`default_form`.
        """
        from .pretty import theorist

        form = form or self.default_form()
        if form not in ("lambda", "a"):
            raise SymdynError(f"form must be 'lambda' or 'a', got {form!r}")
        if form == "lambda":
            rhs = (self.working_rhs[0] / self.leak, *self.working_rhs[1:])
            terms = self.working_loss_terms or (self.working_loss,)
        else:
            rhs, terms = self.rhs, self.loss_terms or (self.loss,)
        out = {s.name: theorist(e) for s, e in zip(self.state, rhs, strict=True)}
        out["loss"] = sp.Add(*(theorist(t) for t in terms), evaluate=False)
        return out

    def text(self, form: str | None = None, equation: str | None = None) -> str:
        """The equations as text, one per line, with a ``where lambda = ...`` line when
        they use the working variables; ``equation`` (``a``, ``b``, ``c``, ``loss``)
        picks one."""
        from .pretty import text, theorist

        form = form or self.default_form()
        equations = _pick(self.equations(form), equation)
        lines = [f"Learning dynamics of {self.title}:"]
        lines += [f"  {_lhs(k)} = {text(e)}" for k, e in equations.items()]
        if form == "lambda" and any(e.has(S.lam, S.lam_star) for e in equations.values()):
            lines.append(f"  where lambda = {text(theorist(self.model.lam))}, "
                         f"lambda_star = {text(theorist(self.model.lam_star))}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"LearningODE({self.title})"

    def _repr_latex_(self) -> str:
        from .latex import ode_latex

        return "$$" + ode_latex(self, environment="aligned") + "$$"

    def to_dict(self) -> dict:
        """The JSON shape of ``symdyn derive --format json``."""
        return to_dicts([self])[0]


def to_dicts(odes: list[LearningODE]) -> list[dict]:
    """``[ode.to_dict() for ode in odes]`` with one printer for all of them
    (:func:`symdyn.pretty.strings`): the rules share their loss at a leak and parts of
    their fields, each printed once (six ODEs of the paper: 0.13 -> 0.08 s)."""
    from .pretty import strings

    printed = iter(strings([e for ode in odes for e in (*ode.rhs, ode.loss)]))
    return [{
        "rule": ode.rule.name,
        "truncation": ode.rule.truncation,
        "leak": leak_text(ode.leak),
        "state": [s.name for s in ode.state],
        "rhs": {s.name: next(printed) for s in ode.state},
        "loss": next(printed),
    } for ode in odes]


def _lhs(key: str) -> str:
    return "loss" if key == "loss" else f"d{key}/dtau"


def _pick(equations: dict[str, sp.Expr], equation: str | None) -> dict[str, sp.Expr]:
    """All equations, or the one named ``equation`` (a clear error for another name)."""
    if equation is None:
        return equations
    if equation not in equations:
        raise SymdynError(f"equation must be one of {', '.join(equations)}, got {equation!r}")
    return {equation: equations[equation]}


SPECIALIZABLE = (S.a_star, S.b_star, S.c_star, S.beta)


def _parameter_values(values: dict) -> dict[sp.Symbol, sp.Expr]:
    """Names or symbols -> exact values (floats become the rationals they print as)."""
    out = {}
    for key, value in values.items():
        symbol = S.by_name(key) if isinstance(key, str) else key
        if symbol not in SPECIALIZABLE:
            names = ", ".join(s.name for s in SPECIALIZABLE)
            raise UnknownSymbolError(f"cannot fix {symbol}: only {names} can be fixed")
        out[symbol] = exact(value, symbol.name)
    return out


def derive(rule: str | Rule, leak: object = 1, truncation: int | None = None,
           cache: bool = True) -> LearningODE:
    """Derive the per-mode learning ODE of ``rule`` by averaging (cached).

    ``rule`` is a name (``bptt``, ``tbptt``, ``rflo``, ``feedback_alignment``,
    ``rflo_symmetric``) or a :class:`~symdyn.rules.Rule`; ``leak`` is ``"alpha"`` for a
    symbolic leak or a number in (0, 1]; ``truncation`` is tBPTT's window ``k``.
    Results are kept in memory and on disk (:mod:`symdyn.cache`); ``cache=False`` skips
    the disk.
    """
    return _derive(get_rule(rule, truncation), parse_leak(leak), cache)


def rule_key(rule: Rule) -> tuple:
    """Everything that defines a rule, as text: the part of a cache key it owns."""
    return (rule.name, sp.srepr(rule.trace_decay), sp.srepr(rule.feedback), rule.truncation,
            rule.description)


def working_rule(rule: Rule, leak: sp.Expr) -> Rule:
    """``rule`` with its trace decay and feedback in the working variables at this leak.

    Raises :class:`UnstableError` for an unbounded trace with a numeric ``|kappa| >= 1``.
    """
    model = ModeModel(leak)
    kappa = rule.trace_decay.subs(model.to_working()).subs(S.alpha, leak)
    if rule.truncation is None and kappa.is_number and abs(kappa) >= 1:
        raise UnstableError(
            f"trace decay kappa = {kappa} of rule {rule.name!r} has |kappa| >= 1: an "
            "unbounded eligibility trace then has no stationary statistics (use a window k)")
    feedback = rule.feedback.subs(model.to_working()).subs(S.alpha, leak)
    return Rule(rule.name, kappa, feedback, rule.truncation, rule.description)


@lru_cache(maxsize=64)
def _derive(rule: Rule, leak: sp.Expr, use_cache: bool = True) -> LearningODE:
    from . import cache

    return cache.cached("derive", (*rule_key(rule), sp.srepr(leak)),
                        lambda: _with_key(_derivation(rule, leak)), use_cache)


def _with_key(ode: LearningODE) -> LearningODE:
    """``ode`` with its :meth:`~LearningODE.cache_key` and parameters computed, so that
    they are pickled with it: every process that reads it from disk would otherwise print
    the whole working field again (``srepr``) before looking up its first analysis."""
    ode.cache_key()
    ode.parameters  # noqa: B018 -- a cached property, computed for the pickle
    return ode


def _derivation(rule: Rule, leak: sp.Expr) -> LearningODE:
    model = ModeModel(leak)
    rule_here = working_rule(rule, leak)
    update = expected_update(rule_here, leak, rule_here.trace_decay)
    working = (update.rhs[0] * leak, update.rhs[1], update.rhs[2])
    back = model.from_working()
    # update.rhs and update.loss are factored: map them factor by factor.
    rhs = tuple(change_variables(e, back) for e in update.rhs)
    loss = change_variables(update.loss, back)
    return LearningODE(rule, model, rhs, loss, working, update.loss, (), update.loss_terms)
