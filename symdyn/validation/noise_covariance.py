"""Check ``noise_covariance``: the derived long-run update covariance ``D`` against the
simulator's per-step updates at frozen random points, with label noise."""

from __future__ import annotations

import numpy as np

from ..simulate import Runner, aligned_network, project_matrices, summed_updates
from ..update_noise import noise_covariance
from .case import Case
from .expected_update import random_points
from .registry import register
from .report import Check, make_check

__all__ = ["check_noise_covariance", "long_run_covariance_sim"]

SIGMA = 0.5
#: Steps from rest before the sums start.  The points have ``|lam|, |lam*| <= 0.8`` on
#: normal (aligned) networks, so activity and BPTT's traces forget the start as
#: ``t 0.8^t`` (~2e-8 after 100 steps); RFLO's traces as ``(1 - alpha)^t``, as fast at
#: the paper's leaks (1, 0.3), slower below alpha = 0.2.  Either way the start enters
#: ``Var(sum g) / T`` divided by T: at full size even burn_in = 0 stays within the
#: sampling error (~2 %) at leaks 1 to 0.05; 300 steps (27 % of the full run, half of the
#: quick one) bought nothing.
BURN_IN = 100


def long_run_covariance_sim(case: Case, points: dict, *, chains: int, steps: int,
                            burn_in: int = BURN_IN, sigma: float = SIGMA) -> tuple:
    """``(D, sem)`` per point, shape (3, 3, n): ``Var(sum_{t<T} g_t) / T`` over ``chains``
    independent replicas of each mode (the mode projections of dW, dU, dV summed), after
    ``burn_in`` steps from rest."""
    n = len(points["a"])
    tiled = {k: np.tile(np.asarray(v, float)[None], (chains, 1)) for k, v in points.items()}
    net, teacher, bases = aligned_network(n, n, n, leak=case.leak, batch=chains,
                                          seed=case.seed, **tiled)
    runner = Runner(net, teacher, case.rule, case.leak, case.k, sigma, case.seed + 5)
    sums = summed_updates(runner, np.random.default_rng([case.seed, 21]), steps, burn_in)
    proj = project_matrices(*sums, bases)
    g = np.stack([proj["a"], proj["b"], proj["c"]])           # (3, chains, n)
    g = g - g.mean(axis=1, keepdims=True)
    products = g[:, None] * g[None, :] / steps                 # (3, 3, chains, n)
    return products.mean(axis=2) * chains / (chains - 1), \
        products.std(axis=2, ddof=1) / np.sqrt(chains)


@register("noise_covariance", threshold=4.5)
def check_noise_covariance(case: Case) -> Check:
    """``max |z|`` of the simulated long-run covariance of the update against ``D``
    (label noise ``sigma = 0.5``, random points as for ``expected_update``). Each entry's
    estimate is a mean of ``chains`` independent products, so z is close to normal; 4.5
    keeps the family-wise false alarm < 0.1 % for the 6 x n entries."""
    n, chains, steps = (2, 600, 300) if case.quick else (4, 3000, 800)
    batch_points = random_points(case, 1, n, salt=9)
    points = {k: v[0] for k, v in batch_points.items()}
    D_sim, sem = long_run_covariance_sim(case, points, chains=chains, steps=steps)
    theory = np.stack([noise_covariance(case.ode, {k: float(points[k][i]) for k in points},
                                        SIGMA) for i in range(n)], axis=-1)
    z = (D_sim - theory) / sem
    iu = np.triu_indices(3)
    z_upper = z[iu[0], iu[1]]
    return make_check("noise_covariance", float(np.max(np.abs(z_upper))), 4.5,
                      z=z_upper, simulated=D_sim, theory=theory, sem=sem, chains=chains,
                      steps=steps, sigma=SIGMA)
