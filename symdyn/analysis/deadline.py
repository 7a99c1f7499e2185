"""Cooperative time limits for symbolic solves.

SymPy calls cannot be interrupted safely, so long computations check a deadline between
their steps and raise :class:`~symdyn.errors.SolveTimeout` with a sentence saying what
did not finish and how long it was given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..errors import SolveTimeout


@dataclass
class Deadline:
    """``seconds`` from creation; ``None`` means no limit."""

    seconds: float | None
    what: str = "the symbolic solve"
    start: float = field(default_factory=time.perf_counter)
    symbolic_leak: bool = False

    def check(self) -> None:
        if self.seconds is None:
            return
        if time.perf_counter() - self.start > self.seconds:
            raise SolveTimeout(timeout_message(self.what, self.seconds, self.symbolic_leak))


def timeout_message(what: str, seconds: float, symbolic_leak: bool) -> str:
    """One sentence for a solve that ran out of time, with the remedies that apply."""
    remedy = "raise the timeout" + (" or fix the leak to a number" if symbolic_leak else "")
    return f"{what} did not finish within the {seconds:g} s it was given; {remedy}"
