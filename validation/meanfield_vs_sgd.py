"""The matrix mean-field ODE against online SGD on non-aligned networks (N=32, D=M=4).

For each rule and leak: distance of the mean of ``batch`` SGD runs from the ODE, relative
to the seed-to-seed spread, and the loss along the way (``symdyn.meanfield.compare``).
Prints one line per (rule, leak); ``--quick`` runs a small network (CI runs it so)::

    python validation/meanfield_vs_sgd.py [--quick] [--eta ETA]
"""

from __future__ import annotations

import sys
import time

from threadpoolctl import threadpool_limits

from symdyn.meanfield.compare import compare_with_simulation

RULES = (("bptt", None), ("tbptt", 2), ("rflo", None))
LEAKS = (1.0, 0.5)


def main(quick: bool = False, eta: float = 5e-4) -> list[dict]:
    """Every rule at every leak (quick: N = 8, tau = 1, one leak); the comparisons."""
    size = {"n_hidden": 8, "tau_end": 1.0, "n_points": 4} if quick else {}
    results = []
    for rule, k in RULES:
        for leak in LEAKS[:1] if quick else LEAKS:
            t0 = time.time()
            r = compare_with_simulation(rule, leak, eta=eta, truncation=k, **size)
            results.append(r)
            print(f"{rule:6s} leak {leak}: eta {eta:g} status {r['status']} "
                  f"max |mean SGD - ODE|/spread {r['worst']:.2f} "
                  f"(final distance {r['distance'][-1]:.3f}, spread {r['spread'][-1]:.3f}, "
                  f"moved {r['moved'][-1]:.3f}); loss ODE {r['loss_ode'][-1]:.4f} "
                  f"SGD {r['loss_sim'][-1]:.4f}+-{r['loss_sim_sem'][-1]:.4f}, max rel "
                  f"{r['loss_rel']:.3f} [{time.time() - t0:.0f}s]", flush=True)
    return results


if __name__ == "__main__":
    args = sys.argv[1:]
    eta = float(args[args.index("--eta") + 1]) if "--eta" in args else 5e-4
    with threadpool_limits(1):  # small products: a multi-threaded BLAS only spin-waits
        main(quick="--quick" in args, eta=eta)
