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

__all__ = ["check_critical_rate", "critical_rate_checks", "large_batch_groups",
           "large_batch_run", "large_batch_runs"]

KICK = 0.05
MODE_KEYS = ("a", "b", "c", "a_star", "b_star", "c_star", "beta")
FACTORS_QUICK = (0.8, 1.25)
FACTORS_FULL = (0.8, 0.9, 0.95, 1.05, 1.1, 1.25)
#: (iterations of the mean map, chains, Monte Carlo steps per iteration), full and quick.
#: At the manifold every update is zero (no label noise), so the Monte Carlo error of the
#: mean map shrinks with the distance and the runs' verdicts hardly depend on the samples;
#: the iterations set how far the slowest mode converges.  Quick, calibrated over seeds
#: 0-7 (every one passes): at (30, 64, 300) the 0.8 eta_c run ended at <= 2.3e-8 at leak
#: 1 and <= 1.8e-3 at leak 0.3 (tBPTT), at (30, 32, 200) at <= 2.8e-8 and <= 1.9e-3
#: (converged: below KICK / 10 = 5e-3); 15 iterations left tBPTT at leak 0.3 at 1.1e-2.
SIZES = {False: (60, 128, 600), True: (30, 32, 200)}


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
    return large_batch_groups([(case, point, etas, seeds)], iterations=iterations,
                              chains=chains, steps=steps)[0]


def large_batch_groups(groups: list[tuple], *, iterations: int, chains: int, steps: int
                       ) -> list[list[np.ndarray]]:
    """:func:`large_batch_runs` of each group ``(case, point, etas, seeds)``, in step: the
    groups' iterations alternate, so that groups with the same seeds (the three rules of
    the critical-rate check) share each iteration's draws, drawn once and held only while
    an iteration needs them (:class:`_Window`); each run gets the numbers it gets alone."""
    burn_in, n_blocks = 100, 10
    total = burn_in + (steps // n_blocks) * n_blocks  # the inputs expected_update_mc reads
    runs = [_Runs(case, point, etas, seeds, chains) for case, point, etas, seeds in groups]
    window = _Window(chains, total)
    for it in range(iterations):
        for group in runs:
            group.record()
        window.keep([s for group in runs for s in group.seeds_at(it)])
        for group in runs:
            # the runs in the order of their inputs' slots: when all of them are going
            # they read the window's buffer as it is, without a copy (_Window.rows)
            group.going.sort(key=lambda r, g=group: window.slot[g.seeds[r] + it])
            net, teacher = group.networks(it, iterations)
            if not group.going:
                continue
            mc = expected_update_mc(net, teacher, rule=group.case.rule, leak=group.case.leak,
                                    truncation=group.case.k, n_steps=steps, burn_in=burn_in,
                                    n_blocks=n_blocks, keep_blocks=True,
                                    inputs=window.rows(group.seeds_at(it)))
            group.advance(mc["blocks"])
    return [[np.array(o) for o in group.out] for group in runs]


class _Window:
    """The inputs of the seeds one iteration needs, ``(total, chains, 1)`` each, in the
    slots of one buffer ``(total, slots * chains, 1)``: a seed keeps its slot while it is
    needed (a run's next iteration reads the next seed, which its neighbour read), so each
    iteration draws one new seed and writes one slot, and runs reading every slot in order
    read the buffer itself (concatenating the six runs' inputs each iteration cost a
    tenth of the check)."""

    def __init__(self, chains: int, total: int) -> None:
        self.chains, self.total = chains, total
        self.buf = np.empty((total, 0, 1))
        self.slot: dict[int, int] = {}

    def keep(self, seeds: list[int]) -> None:
        """Hold the inputs of ``seeds`` (drawing the new ones), and no others."""
        need = set(seeds)
        self.slot = {s: k for s, k in self.slot.items() if s in need}
        free = sorted(set(range(len(need))) - set(self.slot.values()))
        if len(need) * self.chains > self.buf.shape[1]:
            grown = np.empty((self.total, len(need) * self.chains, 1))
            grown[:, :self.buf.shape[1]] = self.buf
            self.buf = grown
        for s in sorted(need - set(self.slot)):
            k = self.slot[s] = free.pop(0)
            self.buf[:, k * self.chains:(k + 1) * self.chains] = draw_inputs(
                self.chains, 1, s, self.total)

    def rows(self, seeds: list[int]) -> np.ndarray:
        """The inputs of ``seeds`` side by side: the buffer itself where they are its slots
        in order, else a copy."""
        slots = [self.slot[s] for s in seeds]
        if slots == list(range(self.buf.shape[1] // self.chains)):
            return self.buf
        return np.concatenate([self.buf[:, k * self.chains:(k + 1) * self.chains]
                               for k in slots], axis=1)


class _Runs:
    """The runs of one group of :func:`large_batch_groups`: their weights ``thetas``, their
    distances to the manifold ``out`` and the runs still ``going``."""

    def __init__(self, case: Case, point: dict, etas: list[float], seeds: list[int],
                 chains: int) -> None:
        self.case, self.point, self.etas, self.seeds, self.chains = (case, point, etas,
                                                                     seeds, chains)
        self.thetas = [np.array([point["a"] + KICK, point["b"], point["c"] - KICK])
                       for _ in etas]
        self.out: list[list[float]] = [[] for _ in etas]
        self.going = list(range(len(etas)))
        self.bases = _bases(case, point, seeds[0])

    def seeds_at(self, it: int) -> list[int]:
        """The seeds of the runs going at iteration ``it``, in the order of ``going``."""
        return [self.seeds[r] + it for r in self.going]

    def record(self) -> None:
        """Each going run's distance to the manifold."""
        point = self.point
        for r in self.going:
            theta = self.thetas[r]
            self.out[r].append(np.hypot(theta[0] - point["a_star"], theta[1] * theta[2]
                                        - point["b_star"] * point["c_star"]))

    def networks(self, it: int, iterations: int) -> tuple[Network | None, Teacher | None]:
        """Drop the runs whose network turned unstable (their distances inf from here on)
        and build the others' networks, in the order of ``going``."""
        if not self.going:
            return None, None
        stable, net, teacher = _stable_networks(self.case, self.point, self.thetas,
                                                self.going, self.chains, self.bases)
        for r in set(self.going) - set(stable):
            self.out[r] += [np.inf] * (iterations - it)
        self.going = stable
        return net, teacher

    def advance(self, blocks: dict) -> None:
        """One step of the mean map for each going run, from its block means."""
        proj = project_matrices(blocks["dW"], blocks["dU"], blocks["dV"], self.bases)
        # each run's mean over blocks, then over its chains: (runs, 3)
        means = np.stack([proj[k].mean(axis=0).reshape(len(self.going), self.chains)
                          .mean(axis=1) for k in ("a", "b", "c")], axis=1)
        for i, r in enumerate(self.going):
            self.thetas[r] = self.thetas[r] + self.etas[r] * means[i]


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
    return critical_rate_checks([case])[0]


def critical_rate_checks(cases: list[Case]) -> list[Check]:
    """:func:`check_critical_rate` of each case, the cases' runs side by side
    (:func:`large_batch_groups`: cases with the same seed and size share their draws);
    each check is the one its case gets alone."""
    out: dict[int, Check] = {}
    for quick in {case.quick for case in cases}:
        mine = [i for i, case in enumerate(cases) if case.quick == quick]
        factors = FACTORS_QUICK if quick else FACTORS_FULL
        iterations, chains, steps = SIZES[quick]
        points = [manifold_point(cases[i], a_star=0.0) for i in mine]
        eta_cs = [critical_learning_rate(cases[i].ode, p).eta_c
                  for i, p in zip(mine, points, strict=True)]
        groups = [(cases[i], p, [f * eta_c for f in factors],
                   [cases[i].seed * 100 + j for j in range(len(factors))])
                  for i, p, eta_c in zip(mine, points, eta_cs, strict=True)]
        runs = large_batch_groups(groups, iterations=iterations, chains=chains, steps=steps)
        for i, eta_c, dists in zip(mine, eta_cs, runs, strict=True):
            out[i] = _verdict(eta_c, factors, dists)
    return [out[i] for i in range(len(cases))]


def _verdict(eta_c: float, factors: tuple[float, ...], runs: list[np.ndarray]) -> Check:
    """The check of :func:`check_critical_rate` from the distances of its runs."""
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
