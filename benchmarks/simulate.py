"""Throughput of symdyn.simulate: the NumPy reference against the compiled (numba) loops.

Prints microseconds per time step (the whole batch) of ``train`` for each rule, on the
reference path (``SYMDYN_SIMULATOR=numpy``) and the compiled path (``=numba``), with their
ratio, at the sizes the validation and the paper use (aligned networks N = D = M = 4 with
batch 8 and N = 1 with batch 128; the frozen-weight Monte Carlo of ``expected_update_mc``
at N = 1 with 64 chains) and at N = 32, D = M = 4, batch 16 (random networks, leak 0.5),
where the compiled RTRL (`bptt`) keeps S only every kernels.CHUNK_STEPS steps and hands
its fold to BLAS (kernels.CHUNK_MIN_N; the reference's J S every step).  Then the one-time
costs of the compiled path, each in a fresh process: ``import numba``, the first call with
an empty numba cache (compilation) and with a warm one (loading the cache).

eta is small at N = 32 because RFLO with random dense feedback slowly raises the spectral
radius of W on these non-aligned networks.  Best of ``--repeat`` runs (shared machine).

Usage (from the repo root):  PYTHONPATH=. python benchmarks/simulate.py [--steps N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from symdyn.simulate import aligned_network, expected_update_mc, random_network, train
from symdyn.simulate.engine import SIMULATOR_ENV

ROOT = Path(__file__).resolve().parent.parent
RULES = (("bptt", 1), ("tbptt", 1), ("tbptt", 2), ("rflo", 1))
MODES = dict(a=0.2, b=0.5, c=0.4, a_star=0.5, b_star=1.0, c_star=1.0, beta=0.5)


def _aligned(n: int, batch: int, leak: float = 0.5) -> tuple:
    return aligned_network(n, n, n, **MODES, leak=leak, batch=batch, seed=0)[:2]


def _random(batch: int) -> tuple:
    return random_network(32, 4, 4, leak=0.5, batch=batch, seed=0)


def per_step_us(mode: str, run, n_steps: int, repeat: int) -> float:
    """Best wall time of run(n_steps) per step, in microseconds, with SYMDYN_SIMULATOR=mode."""
    os.environ[SIMULATOR_ENV] = mode
    run(10)  # compile or load the kernels outside the timing
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        run(n_steps)
        best = min(best, time.perf_counter() - t0)
    return 1e6 * best / n_steps


def train_runner(net, teacher, rule: str, k: int, eta: float):
    def run(n_steps: int) -> None:
        train(net, teacher, rule=rule, truncation=k, eta=eta, n_steps=n_steps, leak=0.5,
              record=("loss",), record_every=100)
    return run


def mc_runner(net, teacher, rule: str, k: int):
    def run(n_steps: int) -> None:
        expected_update_mc(net, teacher, rule=rule, truncation=k, leak=0.5, burn_in=0,
                           n_steps=max(n_steps, 10), n_blocks=10)
    return run


def table(steps: int, repeat: int) -> None:
    print(f"{'case':<34}{'reference':>11}{'compiled':>11}{'ratio':>8}   (us per step)")
    cases = [("train N=4 batch 8", _aligned(4, 8), 1e-3, steps, train_runner),
             ("train N=1 batch 128", _aligned(1, 128), 1e-3, steps, train_runner),
             ("expected_update_mc N=1 chains 64", _aligned(1, 64), None, steps, mc_runner),
             ("train N=32 D=M=4 batch 16", _random(16), 5e-5, max(steps // 10, 100),
              train_runner)]
    for label, (net, teacher), eta, n, make in cases:
        for rule, k in RULES:
            run = (make(net, teacher, rule, k) if eta is None
                   else make(net, teacher, rule, k, eta))
            ref = per_step_us("numpy", run, n, repeat)
            fast = per_step_us("numba", run, max(n, 2000) if n >= 1000 else n, repeat)
            name = f"{label}, {rule}" + (f" k={k}" if rule == "tbptt" else "")
            print(f"{name:<34}{ref:>11.1f}{fast:>11.2f}{ref / fast:>8.1f}", flush=True)
    os.environ.pop(SIMULATOR_ENV, None)


FIRST_CALL = """
import time
t0 = time.perf_counter()
import numba
t1 = time.perf_counter()
from symdyn.simulate import aligned_network, train
net, teacher, _ = aligned_network(1, 1, 1, a=0.2, b=0.5, c=0.4, a_star=0.5, b_star=1.0,
                                  c_star=1.0, beta=0.5, leak=0.5, batch=2, seed=0)
t2 = time.perf_counter()
train(net, teacher, rule="rflo", eta=1e-3, n_steps=10, leak=0.5)
print(t1 - t0, time.perf_counter() - t2)
"""


def one_time_costs() -> None:
    """import numba; first train() with an empty numba cache, then with the cache written."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": cache,
               SIMULATOR_ENV: "numba"}
        rows = []
        for label in ("cold (compile)", "warm (load cache)"):
            out = subprocess.run([sys.executable, "-c", FIRST_CALL], env=env, check=True,
                                 capture_output=True, text=True).stdout.split()
            rows.append((label, float(out[0]), float(out[1])))
    print(f"\n{'fresh process':<20}{'import numba':>14}{'first train()':>15}   (s)")
    for label, imp, first in rows:
        print(f"{label:<20}{imp:>14.2f}{first:>15.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    table(args.steps, args.repeat)
    one_time_costs()


if __name__ == "__main__":
    main()
