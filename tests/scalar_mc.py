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


class _Chains:
    """Independent chains of one mode's student, teacher and traces (docs/theory.md,
    'Learning rules'), with label noise ``sigma`` on the target; the parameters may
    differ per chain."""

    def __init__(self, rule: ScalarRule, alpha, sigma, n_chains: int, rng) -> None:
        self.rule, self.alpha, self.sigma, self.rng = rule, alpha, sigma, rng
        self.h, self.hs, self.sa, self.sb = (np.zeros(n_chains) for _ in range(4))
        k = rule.window or 1
        self.past_h = np.zeros((k, n_chains))
        self.past_x = np.zeros((k, n_chains))

    def step(self, a, b, c, a_star, b_star, c_star, beta) -> np.ndarray:
        """Advance one step; return the per-step update (da, db, dc) per unit eta."""
        alpha, n = self.alpha, self.h.shape[0]
        lam, lam_star = 1 - alpha + alpha * a, 1 - alpha + alpha * a_star
        kappa, f = self.rule.kappa(lam, alpha), self.rule.feedback(c, beta)
        x = self.rng.standard_normal(n)
        h_prev = self.h
        self.h = lam * self.h + alpha * b * x
        self.hs = lam_star * self.hs + alpha * b_star * x
        if self.rule.window is None:
            self.sa = kappa * self.sa + alpha * h_prev
            self.sb = kappa * self.sb + alpha * x
        else:
            self.past_h = np.roll(self.past_h, 1, axis=0)
            self.past_h[0] = h_prev
            self.past_x = np.roll(self.past_x, 1, axis=0)
            self.past_x[0] = x
            weights = alpha * np.power.outer(np.broadcast_to(kappa, (n,)),
                                             np.arange(self.rule.window)).T
            self.sa = np.sum(weights * self.past_h, axis=0)
            self.sb = np.sum(weights * self.past_x, axis=0)
        e = c_star * self.hs + self.sigma * self.rng.standard_normal(n) - c * self.h
        return np.stack([f * e * self.sa, f * e * self.sb, e * self.h])


def long_run_covariance_mc(rule: ScalarRule, a, b, c, a_star, b_star, c_star, beta, alpha,
                           sigma=0.0, n_chains=2000, n_steps=2000, burn_in=300, seed=0):
    """Monte Carlo of ``D = lim Var(sum_{t<T} g_t) / T`` at frozen parameters.

    Each chain's sum over ``n_steps`` stationary steps is one sample; ``D`` is their
    covariance over ``T``, its standard error the spread of the centred products. Also
    returns the lag-0 covariance of ``v = (f s^a, f s^b, h)`` times ``sigma^2``.
    """
    rng = np.random.default_rng(seed)
    chains = _Chains(rule, alpha, sigma, n_chains, rng)
    params = (a, b, c, a_star, b_star, c_star, beta)
    for _ in range(burn_in):
        chains.step(*params)
    total = np.zeros((3, n_chains))
    vv = np.zeros((3, 3))
    for _ in range(n_steps):
        total += chains.step(*params)
        f = rule.feedback(c, beta)
        v = np.stack([f * chains.sa, f * chains.sb, chains.h])
        vv += v @ v.T / n_chains
    centred = total - total.mean(axis=1, keepdims=True)
    products = centred[:, None, :] * centred[None, :, :] / n_steps
    D = products.mean(axis=2) * n_chains / (n_chains - 1)
    sem = products.std(axis=2, ddof=1) / np.sqrt(n_chains)
    return D, sem, sigma**2 * vv / n_steps


def online_sgd(rule: ScalarRule, theta0, a_star, b_star, c_star, beta, alpha, sigma, eta,
               n_steps, n_chains, seed=0, record_every=10):
    """Per-step online SGD of one mode, independent chains from ``theta0``.

    Returns the recorded steps and the parameters, shape ``(n_records, 3, n_chains)``.
    """
    rng = np.random.default_rng(seed)
    chains = _Chains(rule, alpha, sigma, n_chains, rng)
    theta = np.tile(np.asarray(theta0, dtype=float)[:, None], (1, n_chains))
    steps, path = [], []
    for t in range(1, n_steps + 1):
        theta = theta + eta * chains.step(*theta, a_star, b_star, c_star, beta)
        if t % record_every == 0:
            steps.append(t)
            path.append(theta.copy())
    return np.array(steps), np.array(path)
