"""Wall time of ``symdyn.validation.run_validation`` per rule, quick and full.

Usage (from the repo root):
    python benchmarks/validate.py [--leak L] [--seed S]

The derivation of each rule is done (and cached) before timing, so the numbers are the
checks themselves: simulation, integration and the symbolic limit prediction.
"""

from __future__ import annotations

import argparse
import os
import time

# One BLAS thread (see benchmarks/simulate.py): must be set before numpy loads OpenBLAS.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import symdyn as sd  # noqa: E402
from symdyn.validation import run_validation  # noqa: E402

RULES = (("bptt", None), ("tbptt", 1), ("rflo", None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leak", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"run_validation wall time, leak {args.leak:g}, seed {args.seed}")
    print(f"{'rule':<12}{'quick [s]':>11}{'full [s]':>10}  verdict (quick, full)")
    for rule, k in RULES:
        sd.derive(rule, leak=args.leak, truncation=k)
        times, verdicts = [], []
        for quick in (True, False):
            t0 = time.perf_counter()
            report = run_validation(rule, k, args.leak, args.seed, quick)
            times.append(time.perf_counter() - t0)
            verdicts.append("pass" if report.passed else "FAIL")
        name = rule + (f" k={k}" if k else "")
        print(f"{name:<12}{times[0]:>11.1f}{times[1]:>10.1f}  {', '.join(verdicts)}")


if __name__ == "__main__":
    main()
