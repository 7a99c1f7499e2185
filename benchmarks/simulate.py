"""Throughput of symdyn.simulate.train: network-steps per second (steps × batch / s).

Setting: N=32 hidden, D=M=4, batch 16, random non-aligned student/teacher, leak 0.5.
eta is small because RFLO with random dense feedback slowly raises the spectral radius of W
on these non-aligned networks (at eta=2e-4 some runs become unstable within ~1000 steps).
Besides the three rules, one row times tBPTT with the window a truncated-BPTT
implementation of exact `bptt` would need for a 1e-8 tail at the teacher's spectral radius,
to show why `bptt` is implemented by RTRL.

Usage (from the repo root, or with symdyn installed):
    PYTHONPATH=. python benchmarks/simulate.py [n_steps]
"""

from __future__ import annotations

# The per-batch gemms of RTRL are small (32x32 by 32x1024): on a loaded machine a
# multi-threaded OpenBLAS spin-waits (measured 55 ms/step instead of ~1 ms), so train()
# runs its loop with one BLAS thread (threadpoolctl, symdyn.simulate.engine.BLAS_THREADS).
import subprocess
import sys
import time

import numpy as np

from symdyn.simulate import random_network, spectral_radius, train

N, D, M, BATCH, LEAK, ETA = 32, 4, 4, 16, 0.5, 5e-5


def bench(rule: str, truncation: int, n_steps: int, repeat: int = 2) -> tuple[float, float]:
    """(network-steps per second, final mean loss); best of `repeat` runs (shared machine)."""
    net, teacher = random_network(N, D, M, leak=LEAK, batch=BATCH, seed=0)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = train(net, teacher, rule=rule, eta=ETA, n_steps=n_steps, leak=LEAK,
                    truncation=truncation, record=("loss",), record_every=n_steps)
        best = min(best, time.perf_counter() - t0)
    return n_steps * BATCH / best, float(res.loss[-1].mean())


def main() -> None:
    n_steps = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    _, teacher = random_network(N, D, M, leak=LEAK, batch=BATCH, seed=0)
    rho = float(spectral_radius(teacher.W, LEAK).max())
    k_exact = int(np.ceil(np.log(1e-8) / np.log(rho)))
    rows = [("bptt (RTRL)", "bptt", 1), ("tbptt k=1", "tbptt", 1), ("rflo", "rflo", 1),
            (f"tbptt k={k_exact} (1e-8 tail)", "tbptt", k_exact)]
    print(f"N={N} D={D} M={M} batch={BATCH} leak={LEAK} steps={n_steps}")
    print(f"{'rule':<26}{'net-steps/s':>14}{'us/step':>10}{'loss':>10}")
    for label, rule, k in rows:
        rate, loss = bench(rule, k, n_steps)
        print(f"{label:<26}{rate:>14,.0f}{1e6 * BATCH / rate:>10.1f}{loss:>10.4f}")
    print(f"one full `symdyn validate --rule rflo`: {time_validate():.1f} s (target < 60 s)")


def time_validate() -> float:
    """Wall time of the command a user runs, in a fresh process."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "symdyn.cli", "validate", "--rule", "rflo"],
                   check=True, capture_output=True)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
