"""The matrix mean-field ODE against online SGD on non-aligned networks (N=32, D=M=4).

For each rule and leak: distance of the mean of `batch` SGD runs from the ODE, relative to
the seed-to-seed spread, and the loss along the way.  Prints one line per (rule, leak).
Run: python validation/meanfield_vs_sgd.py [eta]
"""

import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from symdyn.meanfield.compare import compare_with_simulation  # noqa: E402


def main() -> None:
    eta = float(sys.argv[1]) if len(sys.argv) > 1 else 5e-4
    for rule, k in (("bptt", None), ("tbptt", 2), ("rflo", None)):
        for leak in (1.0, 0.5):
            t0 = time.time()
            r = compare_with_simulation(rule, leak, eta=eta, truncation=k)
            print(f"{rule:6s} leak {leak}: eta {eta:g} status {r['status']} "
                  f"max |mean SGD - ODE|/spread {r['worst']:.2f} "
                  f"(final distance {r['distance'][-1]:.3f}, spread {r['spread'][-1]:.3f}, "
                  f"moved {r['moved'][-1]:.3f}); loss ODE {r['loss_ode'][-1]:.4f} "
                  f"SGD {r['loss_sim'][-1]:.4f}+-{r['loss_sim_sem'][-1]:.4f}, max rel "
                  f"{r['loss_rel']:.3f} [{time.time() - t0:.0f}s]", flush=True)


if __name__ == "__main__":
    main()
