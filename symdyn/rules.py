"""Learning rules as data, in trace-feedback form (docs/theory.md, 'Learning rules').

Every rule updates the readout by the delta rule, ``dc = eta e_t h_t``, and the recurrent
and input weights by feedback signal x error x eligibility trace::

    da = eta f e_t s^a_t,   s^a_t = sum_{j<k} kappa^j alpha h_{t-1-j}
    db = eta f e_t s^b_t,   s^b_t = sum_{j<k} kappa^j alpha x_{t-j}

With an unbounded window (``k = None``) the traces obey ``s_t = kappa s_{t-1} + input``.
A rule is therefore the pair (trace decay ``kappa``, feedback ``f``) plus a window ``k``.
``kappa`` may use the working symbol ``lam`` (= 1 - alpha + alpha a) and ``alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from . import symbols as S
from .errors import SymdynError, UnknownRuleError, UnknownSymbolError
from .values import parse_text

#: Names a user may write in a rule's trace decay or feedback signal.
RULE_NAMES: dict[str, sp.Symbol] = {**S.PUBLIC, "lam": S.lam}


@dataclass(frozen=True)
class Rule:
    """A learning rule: eligibility-trace decay ``kappa``, feedback ``f``, window ``k``.

    ``truncation=None`` means an exponentially decaying trace of unbounded length;
    an integer ``k >= 1`` keeps only the last ``k`` terms of the trace sum.
    """

    name: str
    trace_decay: sp.Expr
    feedback: sp.Expr
    truncation: int | None = None
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "trace_decay", _parse(self.trace_decay, "trace decay"))
        object.__setattr__(self, "feedback", _parse(self.feedback, "feedback"))
        k = self.truncation
        if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < 1):
            raise SymdynError(f"the truncation window k must be a whole number >= 1, got "
                              f"{k!r} (leave it out for an unbounded trace)")

    def __str__(self) -> str:
        window = "" if self.truncation is None else f", window k = {self.truncation}"
        return f"{self.name}: trace decay {self.trace_decay}, feedback {self.feedback}{window}"

    def _repr_latex_(self) -> str:
        window = "" if self.truncation is None else rf",\ k = {self.truncation}"
        return (rf"$\text{{{self.name}}}:\ \kappa = {sp.latex(self.trace_decay)},\ "
                rf"f = {sp.latex(self.feedback)}{window}$")


def _parse(value: object, what: str) -> sp.Expr:
    """Read a trace decay or feedback given as text or SymPy, over the known names only
    (``lambda`` is read as ``lam``)."""
    if isinstance(value, str):
        try:
            expr = parse_text(value, RULE_NAMES)
        except SymdynError as error:
            raise SymdynError(
                f"the {what}: {error}; write it as a polynomial or rational expression in "
                f"{', '.join(RULE_NAMES)}") from None
    else:
        expr = sp.sympify(value)
    # Floats would turn the exact rational algebra downstream into floating-point
    # polynomials; 0.5 means 1/2.
    expr = sp.nsimplify(expr, rational=True) if expr.atoms(sp.Float) else expr
    unknown = sorted(s.name for s in expr.free_symbols if s not in set(RULE_NAMES.values()))
    if unknown:
        valid = ", ".join(RULE_NAMES)
        raise UnknownSymbolError(f"unknown symbol {unknown[0]!r} in the {what}; use {valid}")
    return expr


def bptt() -> Rule:
    """Backpropagation through time (= RTRL in expectation): exact traces, feedback c."""
    return Rule("bptt", S.lam, S.c, None, "exact gradient of the stationary loss")


def tbptt(k: int = 1) -> Rule:
    """BPTT truncated to the last ``k`` steps; ``k = 1`` is one-step tBPTT."""
    return Rule("tbptt", S.lam, S.c, k, f"BPTT truncated to {k} step(s)")


def rflo() -> Rule:
    """Random-feedback local online learning (Murray 2019): leak-only traces, feedback beta."""
    return Rule("rflo", 1 - S.alpha, S.beta, None, "random feedback, local traces")


def feedback_alignment() -> Rule:
    """Feedback alignment with exact traces: kappa = lam, feedback beta."""
    return Rule("feedback_alignment", S.lam, S.beta, None, "exact traces, random feedback")


def rflo_symmetric() -> Rule:
    """RFLO with symmetric feedback: leak-only traces, feedback c."""
    return Rule("rflo_symmetric", 1 - S.alpha, S.c, None, "local traces, symmetric feedback")


NAMED_RULES = {
    "bptt": bptt,
    "tbptt": tbptt,
    "rflo": rflo,
    "feedback_alignment": feedback_alignment,
    "rflo_symmetric": rflo_symmetric,
}


#: The rules the paper compares (and validates against each other), with their windows:
#: a selection of :data:`NAMED_RULES`, not a second list.
COMPARED: tuple[tuple[str, int | None], ...] = (("bptt", None), ("tbptt", 1), ("rflo", None))


def get_rule(rule: str | Rule, truncation: int | None = None) -> Rule:
    """The rule called ``rule`` (``truncation`` only for ``tbptt``), or ``rule`` itself."""
    if isinstance(rule, Rule):
        return rule
    if rule not in NAMED_RULES:
        raise UnknownRuleError(
            f"unknown rule {rule!r}; known rules are {', '.join(NAMED_RULES)}"
        )
    if rule == "tbptt":
        return tbptt(1 if truncation is None else truncation)
    if truncation is not None:
        raise SymdynError(f"--truncation applies to tbptt only, not to {rule!r}")
    return NAMED_RULES[rule]()
