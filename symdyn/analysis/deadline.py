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

    def check(self) -> None:
        if self.seconds is None:
            return
        if time.perf_counter() - self.start > self.seconds:
            raise SolveTimeout(
                f"{self.what} did not finish within the {self.seconds:g} s it was given; "
                "raise the time limit or fix the leak to a number"
            )
