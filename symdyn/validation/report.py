"""Results of a validation: one :class:`Check` per comparison, a :class:`ValidationReport`
per rule and leak.

A check has a status: ``passed`` (``metric < threshold``, or ``>`` when its ``sense`` says
so), ``failed`` (the comparison went the wrong way, or the metric is not finite), or
``not_applicable`` (the rule lacks what the check needs, e.g. a conserved quantity or a
saddle; ``reason`` says what, and the metric is ``None``).  A report passes when no check
failed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["PASSED", "FAILED", "NOT_APPLICABLE", "Check", "NotApplicable", "ValidationReport",
           "make_check", "not_applicable"]

PASSED, FAILED, NOT_APPLICABLE = "passed", "failed", "not_applicable"


class NotApplicable(Exception):  # noqa: N818 (a verdict, not an error)
    """Raised by a check or by one of its inputs when the rule lacks what the check needs;
    the registry turns it into a ``not_applicable`` :class:`Check` with this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Check:
    """One validation check.  ``details`` holds the data behind the number (arrays for the
    figures of ``validation/``); it never enters :meth:`ValidationReport.to_dict`."""

    name: str
    metric: float | None
    threshold: float
    sense: str = "<"
    status: str = PASSED
    reason: str | None = None
    details: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    @property
    def applicable(self) -> bool:
        return self.status != NOT_APPLICABLE

    @property
    def relation(self) -> str:
        return self.sense

    def to_dict(self) -> dict:
        """``{"name", "metric", "threshold", "passed", "status", "reason"}``; a check that
        does not apply has ``metric`` and ``passed`` null."""
        return {"name": self.name, "metric": self.metric, "threshold": self.threshold,
                "passed": None if not self.applicable else self.passed,
                "status": self.status, "reason": self.reason}

    def row(self) -> tuple[str, str, str, str]:
        """(check, metric, threshold, verdict) as printed in tables."""
        if not self.applicable:
            return (self.name, "-", f"{self.sense} {self.threshold:.4g}",
                    f"n/a: {self.reason}")
        verdict = "pass" if self.passed else "FAIL" + (f": {self.reason}" if self.reason else "")
        metric = "-" if self.metric is None else f"{self.metric:.4g}"
        return (self.name, metric, f"{self.sense} {self.threshold:.4g}", verdict)


def make_check(name: str, metric: float, threshold: float, sense: str = "<", *,
               require: tuple[bool, str] | None = None, **details) -> Check:
    """A Check whose verdict is ``metric < threshold`` (or ``>``); NaN always fails.
    ``require=(ok, reason)`` adds a condition the pass also needs (``reason`` if not)."""
    metric = float(metric)
    ok = bool((metric < threshold if sense == "<" else metric > threshold)
              and math.isfinite(metric))
    reason = None if math.isfinite(metric) else "the metric is not finite"
    if require is not None and not require[0]:
        ok, reason = False, require[1]
    return Check(name, metric, float(threshold), sense, PASSED if ok else FAILED, reason,
                 details)


def not_applicable(name: str, threshold: float, reason: str, sense: str = "<") -> Check:
    """A check that does not apply to the rule, with the reason."""
    return Check(name, None, float(threshold), sense, NOT_APPLICABLE, reason)


@dataclass
class ValidationReport:
    """The checks of one rule at one leak; ``passed`` iff no check failed."""

    rule: str
    truncation: int | None
    leak: float
    seed: int
    quick: bool
    checks: list[Check]
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not any(c.failed for c in self.checks)

    def to_dict(self) -> dict:
        """``{"rule", "truncation", "leak", "seed", "checks": [{"name", "metric",
        "threshold", "passed", "status", "reason"}]}``: the JSON shape of
        ``symdyn validate``."""
        return {"rule": self.rule, "truncation": self.truncation, "leak": self.leak,
                "seed": self.seed, "checks": [c.to_dict() for c in self.checks]}

    @property
    def title(self) -> str:
        k = f" (k = {self.truncation})" if self.rule == "tbptt" else ""
        mode = ", quick" if self.quick else ""
        return f"validation of {self.rule}{k}, leak {self.leak:g}, seed {self.seed}{mode}"

    def table(self) -> str:
        """Aligned plain-text table with a verdict line."""
        rows = [("check", "metric", "threshold", "verdict"), *(c.row() for c in self.checks)]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [self.title]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                  for r in rows]
        lines.insert(2, "  ".join("-" * w for w in widths))
        skipped = sum(not c.applicable for c in self.checks)
        verdict = "all checks passed" if self.passed else "SOME CHECKS FAILED"
        if self.passed and skipped:
            verdict = f"all applicable checks passed, {skipped} not applicable"
        lines.append(f"{verdict} ({self.seconds:.1f} s)")
        return "\n".join(lines)

    def markdown(self) -> str:
        """Markdown table of the checks."""
        lines = [f"**{self.title}**", "", "| check | metric | threshold | verdict |",
                 "|---|---:|---:|---|"]
        lines += ["| {} | {} | {} | {} |".format(*c.row()) for c in self.checks]
        return "\n".join(lines)
