"""Check ``limit``: the simulated end point against the limit point
:func:`symdyn.predict_limit` derives from the conserved quantities."""

from __future__ import annotations

import numpy as np

from .case import STATE_NAMES, Case, initial
from .registry import register
from .report import Check, NotApplicable, make_check

__all__ = ["check_limit"]


@register("limit", inputs=("conserved_run",), threshold=0.03)
def check_limit(case: Case, conserved_run: dict) -> Check:
    """Largest distance between the simulated end point (replica mean) and the predicted
    limit, relative to the size of the limit point; threshold 0.03 (the run lasts 6
    e-foldings of the slowest rate, so the remaining transient is ~3e-3).  Not applicable
    when the analysis finds no conserved quantity or no limit for some mode."""
    data = conserved_run
    missing = [(i, lim) for i, lim in enumerate(data["limits"]) if not isinstance(lim, dict)]
    if missing:
        i, reason = missing[0]
        raise NotApplicable(f"no predicted limit for mode {i}: {reason}")
    end = data["run"].states[-1].mean(axis=0)  # (n, 3)
    pred = np.array([[lim[k] for k in STATE_NAMES] for lim in data["limits"]])
    err = np.linalg.norm(end - pred, axis=1) / np.linalg.norm(pred, axis=1)
    return make_check("limit", err.max(), 0.03, simulated=end, predicted=pred,
                      start=initial(data["modes"]))
