"""An independent Monte Carlo of one mode's online update, from its definition
(docs/theory.md, 'Learning rules').

It implements the trace-feedback definition directly (no symdyn import): many independent
chains of the scalar student/teacher recursion, the traces, and the per-step updates
``dc = e h``, ``da = f e s^a``, ``db = f e s^b``. The chains are independent, so the
standard error of the mean update is the spread of the per-chain time averages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScalarRule:
    """``kappa(lam, alpha)`` and ``feedback(c, beta)`` as plain functions; window k."""

    kappa: object
    feedback: object
    window: int | None = None


def monte_carlo_update(rule: ScalarRule, a, b, c, a_star, b_star, c_star, beta, alpha,
                       n_chains: int = 2000, n_steps: int = 3000, burn_in: int = 300,
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of (da, db, dc) per unit learning rate, and of the loss."""
    rng = np.random.default_rng(seed)
    lam, lam_star = 1 - alpha + alpha * a, 1 - alpha + alpha * a_star
    kappa, f = rule.kappa(lam, alpha), rule.feedback(c, beta)
    h = np.zeros(n_chains)
    hs = np.zeros(n_chains)
    sa = np.zeros(n_chains)
    sb = np.zeros(n_chains)
    k = rule.window
    past_h = np.zeros((k or 1, n_chains))   # h_{t-1}, ..., h_{t-k}
    past_x = np.zeros((k or 1, n_chains))   # x_t, ..., x_{t-k+1}
    weights = alpha * kappa ** np.arange(k or 1)
    sums = np.zeros((4, n_chains))
    for t in range(burn_in + n_steps):
        x = rng.standard_normal(n_chains)
        h_prev = h
        h = lam * h + alpha * b * x
        hs = lam_star * hs + alpha * b_star * x
        if k is None:
            sa = kappa * sa + alpha * h_prev
            sb = kappa * sb + alpha * x
        else:
            past_h = np.roll(past_h, 1, axis=0)
            past_h[0] = h_prev
            past_x = np.roll(past_x, 1, axis=0)
            past_x[0] = x
            sa = weights @ past_h
            sb = weights @ past_x
        if t >= burn_in:
            e = c_star * hs - c * h
            sums += np.stack([f * e * sa, f * e * sb, e * h, 0.5 * e * e])
    chain_means = sums / n_steps
    mean = chain_means.mean(axis=1)
    sem = chain_means.std(axis=1, ddof=1) / np.sqrt(n_chains)
    return mean, sem
