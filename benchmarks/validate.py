"""Wall time of ``symdyn.validation.run_validation`` per rule, quick and full.

Usage (from the repo root):
    python benchmarks/validate.py [--leak L] [--seed S] [--rules rflo] [--quick-only]
                                  [--blas-threads N|none]

``--blas-threads none`` lifts the simulator's limit on BLAS threads around its loops
(threadpoolctl, :data:`symdyn.simulate.engine.BLAS_THREADS`), to measure what it saves.

The derivation of each rule is done (and cached) before timing, so the numbers are the
checks themselves: simulation, integration and the symbolic limit prediction.
"""

from __future__ import annotations

import argparse
import time

import symdyn as sd
from symdyn.rules import COMPARED
from symdyn.simulate import engine
from symdyn.validation import run_validation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leak", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rules", nargs="*", default=[r for r, _ in COMPARED])
    parser.add_argument("--quick-only", action="store_true")
    parser.add_argument("--blas-threads", default="1")
    args = parser.parse_args()
    engine.BLAS_THREADS = None if args.blas_threads == "none" else int(args.blas_threads)
    print(f"run_validation wall time, leak {args.leak:g}, seed {args.seed}, "
          f"BLAS threads in the simulator's loops: {engine.BLAS_THREADS or 'unlimited'}")
    print(f"{'rule':<12}{'quick [s]':>11}{'full [s]':>10}  verdict (quick, full)")
    for rule, k in [(r, k) for r, k in COMPARED if r in args.rules]:
        sd.derive(rule, leak=args.leak, truncation=k)
        times, verdicts = [float("nan")] * 2, ["-"] * 2
        for i, quick in enumerate((True,) if args.quick_only else (True, False)):
            t0 = time.perf_counter()
            report = run_validation(rule, k, args.leak, args.seed, quick)
            times[i] = time.perf_counter() - t0
            verdicts[i] = "pass" if report.passed else "FAIL"
        name = rule + (f" k={k}" if k else "")
        print(f"{name:<12}{times[0]:>11.1f}{times[1]:>10.1f}  {', '.join(verdicts)}")


if __name__ == "__main__":
    main()
