"""The ordered registry of checks and of the inputs they share, and :func:`run_validation`.

A check is a function ``check(case, **inputs) -> Check`` registered with
``@register(name, inputs=(...))``; each input is a function of the case (and of other
inputs) registered with ``@provides(name, needs=(...))``.  :func:`run_checks` computes
every input a selected check needs once, in its own scope, and passes it by keyword: the
trajectory runs feed three checks, the conserved run two.  An input or a check that
raises :class:`~symdyn.validation.report.NotApplicable` makes the check not applicable,
with the reason.
"""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from threadpoolctl import threadpool_limits

from ..errors import SymdynError
from ..simulate import SimulationTimeout
from .case import Case, RunTooLong, analyse, make_case
from .report import FAILED, NOT_APPLICABLE, Check, NotApplicable, ValidationReport

__all__ = ["CHECKS", "INPUTS", "Progress", "order_checks", "provides", "register", "run_checks",
           "run_validation"]

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class Entry:
    """A registered function and the inputs it needs, by name."""

    name: str
    function: Callable
    needs: tuple[str, ...] = ()
    threshold: float = float("nan")


#: name -> check, in the order of the report.
CHECKS: dict[str, Entry] = {}
#: name -> input shared by checks.
INPUTS: dict[str, Entry] = {}


def register(name: str, *, inputs: Iterable[str] = (), threshold: float = float("nan")
             ) -> Callable[[Callable], Callable]:
    """Decorator adding a check to the end of :data:`CHECKS`; ``threshold`` is reported
    when the check turns out not applicable."""
    def decorate(function: Callable) -> Callable:
        CHECKS[name] = Entry(name, function, tuple(inputs), threshold)
        return function
    return decorate


def describe(name: str) -> str:
    """What check ``name`` measures, in one line: the first sentence of its docstring
    (without the threshold, which the report prints in its own column)."""
    doc = inspect.getdoc(CHECKS[name].function) or name
    line = " ".join(doc.split("\n\n")[0].split())
    line = re.split(r"[;,]\s*(?:must|threshold)|(?<=[a-z)`])\.\s", line)[0].rstrip(". ")
    return line + "."


def provides(name: str, *, needs: Iterable[str] = ()) -> Callable[[Callable], Callable]:
    """Decorator registering an input ``function(case, **needs)`` for the checks."""
    def decorate(function: Callable) -> Callable:
        INPUTS[name] = Entry(name, function, tuple(needs))
        return function
    return decorate


provides("analysis")(analyse)


def order_checks(modules: list[str]) -> None:
    """Put :data:`CHECKS` in the order of the modules that define them (a module's checks
    keep their own order; checks of other modules follow)."""
    rank = {m: i for i, m in enumerate(modules)}
    entries = sorted(CHECKS.values(), key=lambda e: rank.get(e.function.__module__,
                                                             len(rank)))
    CHECKS.clear()
    CHECKS.update((e.name, e) for e in entries)


#: What an input or a check may raise instead of returning: not applicable, or a run
#: beyond its bounds (the check then fails with the reason; it is computed once either way).
_VERDICTS = (NotApplicable, RunTooLong, SimulationTimeout)


class _Inputs:
    """The inputs of one validation, each computed at most once (a failure included)."""

    def __init__(self, case: Case) -> None:
        self.case, self.values = case, {}

    def get(self, name: str):
        if name not in self.values:
            entry = INPUTS[name]
            try:
                self.values[name] = entry.function(self.case, **self.kwargs(entry.needs))
            except _VERDICTS as exc:
                self.values[name] = exc
        value = self.values[name]
        if isinstance(value, _VERDICTS):
            raise value
        return value

    def kwargs(self, names: tuple[str, ...]) -> dict:
        return {n: self.get(n) for n in names}


def _run_one(entry: Entry, inputs: _Inputs) -> Check:
    try:
        return entry.function(inputs.case, **inputs.kwargs(entry.needs))
    except NotApplicable as exc:
        return Check(entry.name, None, entry.threshold, status=NOT_APPLICABLE,
                     reason=exc.reason)
    except (RunTooLong, SimulationTimeout) as exc:
        return Check(entry.name, None, entry.threshold, status=FAILED, reason=str(exc))


def run_checks(case: Case, names: Iterable[str] | None = None,
               progress: Progress | None = None) -> list[Check]:
    """Run the checks ``names`` (default: all, in registry order) on ``case``."""
    names = list(CHECKS) if names is None else list(names)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise SymdynError(f"unknown check {unknown[0]!r}; checks are {', '.join(CHECKS)}")
    inputs, out = _Inputs(case), []
    # Everything a check computes is small (3x3 Jacobians, batched N x N products): one
    # BLAS thread, for this call only, as the simulator's own loops use.
    with threadpool_limits(limits=1, user_api="blas"):
        for i, name in enumerate(names):
            if progress is not None:
                progress(name, i / len(names))
            out.append(_run_one(CHECKS[name], inputs))
    return out


def run_validation(rule: str, truncation: int | None = None, leak: str | float = 1,
                   seed: int = 0, quick: bool = False, progress: Progress | None = None,
                   checks: Iterable[str] | None = None) -> ValidationReport:
    """Run every check (or those named in ``checks``) for ``rule`` at ``leak`` (a number:
    networks are simulated).

    ``progress(step_name, fraction_done)`` is called before each check and once at the
    end with ``("done", 1.0)``.  ``quick`` runs small versions (same thresholds).
    """
    case = make_case(rule, truncation, leak, seed, quick)  # derives: fails before simulating
    start = time.perf_counter()
    results = run_checks(case, checks, progress)
    if progress is not None:
        progress("done", 1.0)
    return ValidationReport(rule, case.ode.rule.truncation, case.leak, case.seed, quick,
                            results, time.perf_counter() - start)
