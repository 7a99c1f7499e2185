"""Check ``critical_rate``: a large-batch simulation of the mean map
``theta <- theta + eta f(theta)`` converges at ``0.8 eta_c`` and does not at
``1.25 eta_c``, at the teacher ``a* = 0`` for each rule.

Each step of the large-batch simulation freezes the weights, lets ``chains`` replicas of
the network reach stationarity and averages the simulator's update directions
(:func:`~symdyn.simulate.expected_update_mc`): ``f`` is estimated by simulation, never
taken from the derivation. The run starts off the manifold by ``KICK`` and converges if
its distance to the manifold falls below ``KICK / 10``.
"""

from __future__ import annotations

import numpy as np

from ..analysis.fluctuations import critical_learning_rate
from ..simulate import (
    Bases,
    Network,
    Teacher,
    UnstableNetworkError,
    aligned_network,
    draw_inputs,
    expected_update_mc,
    project_matrices,
)
from .case import Case
from .noise_setup import manifold_point
from .registry import register
from .report import Check, make_check

__all__ = ["check_critical_rate", "large_batch_run", "large_batch_runs"]

KICK = 0.05
MODE_KEYS = ("a", "b", "c", "a_star", "b_star", "c_star", "beta")
FACTORS_QUICK = (0.8, 1.25)
FACTORS_FULL = (0.8, 0.9, 0.95, 1.05, 1.1, 1.25)


def large_batch_run(case: Case, point: dict, eta: float, *, iterations: int, chains: int,
                    steps: int, seed: int) -> np.ndarray:
    """Distances to the optimal manifold along the large-batch mean map (inf once the
    network becomes unstable)."""
    return large_batch_runs(case, point, [eta], iterations=iterations, chains=chains,
                            steps=steps, seeds=[seed])[0]


def large_batch_runs(case: Case, point: dict, etas: list[float], *, iterations: int,
                     chains: int, steps: int, seeds: list[int]) -> list[np.ndarray]:
    """:func:`large_batch_run` at each ``(eta, seed)``, side by side: each iteration of
    every run still going is one call of the simulator, each run on its own ``chains``
    rows with its own network and inputs, so each gets the numbers it gets alone (rows
    do not interact).  Iteration ``it`` of a run draws its inputs from ``seed + it``: the
    runs' seeds are consecutive, so most draws serve several runs and are drawn once.

    The networks of all runs are built on the bases of the first seed, in one call per
    iteration (and projected in one): a one-mode network's bases are signs, and flipping
    them flips the signs of the hidden state, output and error exactly (IEEE arithmetic
    is symmetric under negation), so a run's projected updates are the same numbers on
    any bases; one call instead of one per run and iteration took a tenth of the check."""
    thetas = [np.array([point["a"] + KICK, point["b"], point["c"] - KICK]) for _ in etas]
    out: list[list[float]] = [[] for _ in etas]
    going = list(range(len(etas)))
    burn_in, n_blocks = 100, 10
    total = burn_in + (steps // n_blocks) * n_blocks  # the inputs expected_update_mc reads
    drawn: dict[int, np.ndarray] = {}
    bases = _bases(case, point, seeds[0])
    for it in range(iterations):
        for r in going:
            out[r].append(np.hypot(thetas[r][0] - point["a_star"], thetas[r][1] * thetas[r][2]
                                   - point["b_star"] * point["c_star"]))
        stable, net, tea = _stable_networks(case, point, thetas, going, chains, bases)
        for r in set(going) - set(stable):
            out[r] += [np.inf] * (iterations - it)
        going = stable
        if not going:
            break
        drawn = {s: drawn.get(s) if s in drawn else draw_inputs(chains, 1, s, total)
                 for s in (seeds[r] + it for r in going)}
        mc = expected_update_mc(net, tea, rule=case.rule, leak=case.leak,
                                truncation=case.k, n_steps=steps, burn_in=burn_in,
                                n_blocks=n_blocks, keep_blocks=True,
                                inputs=np.concatenate([drawn[seeds[r] + it] for r in going],
                                                      axis=1))
        blocks = mc["blocks"]
        proj = project_matrices(blocks["dW"], blocks["dU"], blocks["dV"], bases)
        # each run's mean over blocks, then over its chains: (runs, 3)
        means = np.stack([proj[k].mean(axis=0).reshape(len(going), chains).mean(axis=1)
                           for k in ("a", "b", "c")], axis=1)
        for i, r in enumerate(going):
            thetas[r] = thetas[r] + etas[r] * means[i]
    return [np.array(o) for o in out]


def _bases(case: Case, point: dict, seed: int) -> Bases:
    """The bases of a one-mode network drawn from ``seed`` (at the manifold point)."""
    return aligned_network(1, 1, 1, leak=case.leak, seed=seed,
                           **{k: point[k] for k in MODE_KEYS})[2]


def _networks(case: Case, point: dict, thetas: list[np.ndarray], chains: int, bases: Bases
              ) -> tuple[Network, Teacher]:
    """The one-mode networks at ``thetas``, each on ``chains`` rows, with the teacher."""
    state = {k: np.repeat([theta[i] for theta in thetas], chains)[:, None]
             for i, k in enumerate("abc")}
    net, teacher, _ = aligned_network(1, 1, 1, leak=case.leak, batch=chains * len(thetas),
                                      bases=bases, **state,
                                      **{k: point[k] for k in MODE_KEYS[3:]})
    return net, teacher


def _stable_networks(case: Case, point: dict, thetas: list[np.ndarray], going: list[int],
                     chains: int, bases: Bases) -> tuple[list[int], Network | None,
                                                         Teacher | None]:
    """The runs of ``going`` whose network at their ``theta`` is stable, and their networks
    (:func:`_networks`; ``None`` if no run is): all in one call, run by run only when
    a network is not stable (once per diverging run)."""
    try:
        return list(going), *_networks(case, point, [thetas[r] for r in going], chains, bases)
    except UnstableNetworkError:
        pass
    stable = []
    for r in going:
        try:
            _networks(case, point, [thetas[r]], 1, bases)
            stable.append(r)
        except UnstableNetworkError:
            continue
    if not stable:
        return stable, None, None
    return stable, *_networks(case, point, [thetas[r] for r in stable], chains, bases)


@register("critical_rate", threshold=0.5)
def check_critical_rate(case: Case) -> Check:
    """Pass iff the run at ``0.8 eta_c`` ends below ``KICK/10`` from the manifold and the
    run at ``1.25 eta_c`` does not; the metric is the ratio of their final distances
    (threshold 0.5). The full mode also runs 0.9, 0.95, 1.05, 1.1 eta_c and reports the
    empirical threshold (``details['sharpness']``)."""
    point = manifold_point(case, a_star=0.0)
    eta_c = critical_learning_rate(case.ode, point).eta_c
    factors = FACTORS_QUICK if case.quick else FACTORS_FULL
    iterations, chains, steps = (30, 64, 300) if case.quick else (60, 128, 600)
    runs = large_batch_runs(case, point, [f * eta_c for f in factors], iterations=iterations,
                            chains=chains, steps=steps,
                            seeds=[case.seed * 100 + i for i in range(len(factors))])
    finals = {factor: float(dist[-1]) for factor, dist in zip(factors, runs, strict=True)}
    converged = {f: d < KICK / 10 for f, d in finals.items()}
    ok = converged[0.8] and not converged[1.25]
    stable = [f for f in factors if converged[f]]
    unstable = [f for f in factors if not converged[f]]
    sharp = (max(stable) if stable else None, min(unstable) if unstable else None)
    metric = finals[0.8] / finals[1.25] if np.isfinite(finals[1.25]) else 0.0
    return make_check("critical_rate", metric, 0.5,
                      require=(ok, "0.8 eta_c must converge and 1.25 eta_c must not"),
                      eta_c=eta_c, final_distance=finals, converged=converged,
                      sharpness=sharp)
