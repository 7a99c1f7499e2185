"""Check ``expected_update``: the derived right-hand side against the Monte Carlo mean of
the rule's update at frozen random stable points."""

from __future__ import annotations

import numpy as np
from scipy.special import stdtr

from ..codegen import rhs_function
from ..ode import LearningODE
from ..simulate import aligned_network, expected_update_mc
from .case import Case, initial
from .registry import register
from .report import Check, make_check

__all__ = ["check_expected_update", "mc_z_scores", "random_points"]


def random_points(case: Case, batch: int, n: int, salt: int = 1) -> dict:
    """Random stable parameter points (batch, n): ``|lam|, |lam*| <= 0.8``, signed
    ``b, c`` of modulus in [0.3, 1.3], teacher in [0.5, 1.5], ``|beta|`` in [0.5, 1.5]."""
    rng = case.rng(salt)

    def signed(lo: float, hi: float) -> np.ndarray:
        return rng.choice([-1.0, 1.0], (batch, n)) * rng.uniform(lo, hi, (batch, n))

    return {"a": case.a_of(rng.uniform(-0.7, 0.8, (batch, n))),
            "a_star": case.a_of(rng.uniform(-0.7, 0.8, (batch, n))),
            "b": signed(0.3, 1.3), "c": signed(0.3, 1.3), "b_star": signed(0.5, 1.5),
            "c_star": signed(0.5, 1.5), "beta": signed(0.5, 1.5)}


def mc_z_scores(case: Case, points: dict, ode: LearningODE | None = None, *,
                n_steps: int, n_blocks: int) -> dict:
    """z-scores (3, batch, n) of the Monte Carlo expected update of ``case.rule`` against
    the right-hand side of ``ode`` (default: the case's own derived ODE)."""
    batch, n = np.shape(points["a"])
    net, teacher, bases = aligned_network(n, n, n, leak=case.leak, batch=batch,
                                          seed=case.seed, **points)
    mc = expected_update_mc(net, teacher, rule=case.rule, leak=case.leak, truncation=case.k,
                            n_steps=n_steps, burn_in=500, seed=case.seed + 7,
                            n_blocks=n_blocks, bases=bases)
    ode = ode or case.ode
    rhs = rhs_function(ode)(initial(points).transpose(2, 0, 1),
                            {p.name: points[p.name] for p in ode.parameters})
    mean = np.stack([mc["da"], mc["db"], mc["dc"]])
    sem = np.stack([mc["da_sem"], mc["db_sem"], mc["dc_sem"]])
    return {"z": (mean - rhs) / sem, "mc": mean, "sem": sem, "rhs": rhs}


@register("expected_update", threshold=4.0)
def check_expected_update(case: Case, ode: LearningODE | None = None) -> Check:
    """``max |z|``, the largest z-score of the simulated mean update against the derived
    right-hand side over components, modes and points; threshold 4.

    With batch means over ``n_blocks`` blocks each z is Student-t with ``n_blocks - 1``
    degrees of freedom under the null; the family-wise false-alarm rate is bounded by
    ``K * P(|t| > 4)`` for ``K`` z-scores (reported in ``details``; < 1 % here).
    """
    batch, n, steps, blocks = (4, 3, 20_000, 50) if case.quick else (8, 4, 100_000, 100)
    points = random_points(case, batch, n)
    out = mc_z_scores(case, points, ode, n_steps=steps, n_blocks=blocks)
    z = out["z"]
    # P(|t| > 4) = 2 stdtr(df, -4), as scipy.stats.t.sf computes it, without importing
    # scipy.stats (0.5-0.7 s in every worker process that runs this check)
    false_alarm = min(1.0, z.size * 2 * stdtr(blocks - 1, -4.0))
    return make_check("expected_update", np.max(np.abs(z)), 4.0, z=z, mc=out["mc"],
                      sem=out["sem"], rhs=out["rhs"], n_steps=steps, n_blocks=blocks,
                      n_scores=z.size, false_alarm_bound=false_alarm)
