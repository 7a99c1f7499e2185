"""Local rate: exponential approach to the optimal manifold in simulation vs the slowest
non-zero eigenvalue of the derived Jacobian.

    python validation/local_rate.py [--quick] [--out DIR] [--leak L]
"""

from __future__ import annotations

import _common as C
import numpy as np


def main() -> None:
    args = C.parse(__doc__)
    results = C.run_checks(args, "local_rate")
    fig, axes = C.plt.subplots(1, len(results), figsize=(4 * len(results), 3.6))
    for ax, (case, chk) in zip(axes, results, strict=True):
        d = chk.details
        tau, w = d["tau"], d["window"]
        ax.semilogy(tau, d["distance"], label="simulation")
        ax.semilogy(tau, d["ode_distance"], "k:", label="ODE")
        t0 = tau[w][0]
        ref = d["distance"][w][0] * np.exp(-d["predicted"] * (tau - t0))
        ax.semilogy(tau, ref, "r--", lw=1, label=f"predicted rate {d['predicted']:.3g}")
        ax.axvspan(tau[w][0], tau[w][-1], color="0.9", label="fit window")
        ax.set(xlabel="tau", ylabel="distance to optimal manifold",
               title=f"{C.label(case)}: fit {d['rate']:.3g}")
        ax.legend(fontsize=7)
    C.save(fig, args.out, "local_rate", args.leak)
    rows = [[*r, c.details["rate"], c.details["ode_fit_rate"], c.details["predicted"]]
            for r, (_, c) in zip(C.check_rows(results), results, strict=True)]
    C.write_table(args.out, "local_rate", args.leak,
                  [*C.CHECK_HEADER, "fitted (SGD)", "fitted (ODE)", "eigenvalue"], rows)


if __name__ == "__main__":
    main()
