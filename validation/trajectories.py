"""Trajectories: online SGD on an aligned 8-mode network vs the integrated ODE, the same
runs against the other rules' ODEs (discrimination), and the shrinking of the gap as
eta -> 0.

    python validation/trajectories.py [--quick] [--out DIR] [--leak L]
"""

from __future__ import annotations

import _common as C
import numpy as np


def main() -> None:
    args = C.parse(__doc__)
    results = C.run_checks(args, "trajectory", "discrimination", "eta_scaling")
    n = len(results) // 3
    fig, axes = C.plt.subplots(3, n, figsize=(4.2 * n, 10.5))
    for j in range(n):
        case, traj = results[3 * j]
        disc, scaling = results[3 * j + 1][1], results[3 * j + 2][1]
        d = traj.details
        ax = axes[0, j]
        for k, name in enumerate("abc"):
            color = f"C{k}"
            ax.plot(d["tau"], d["ode"][:, :, k], color=color, lw=1.5)
            ax.plot(d["tau"], d["sim"][:, 0, :, k], color=color, lw=0.6, ls="--")
            ax.plot([], [], color=color, label=f"{name} (ODE solid, SGD dashed)")
        ax.set(xlabel="learning time tau = eta t", ylabel="mode parameter",
               title=f"{C.label(case)}, eta = {d['eta']:.2g}")
        ax.legend(fontsize=7)
        ax = axes[1, j]
        own = disc.details["own"]
        for name, curve in disc.details["curves"].items():
            if curve is None:
                continue
            err = disc.details["errors"][name]
            # from the first record on: zero at the common start
            ax.semilogy(disc.details["tau"][1:], curve[1:], lw=2.0 if name == own else 1.0,
                        label=f"{name} ODE: max {err:.3g}" + (" (own)" if name == own else ""))
        ax.axhline(traj.threshold, color="k", ls=":", lw=0.8, label="trajectory threshold")
        ax.set(xlabel="learning time tau", ylabel="relative error of the SGD run",
               title=f"against each rule's ODE: ratio {disc.metric:.3g}")
        ax.legend(fontsize=7)
        ax = axes[2, j]
        e = scaling.details
        ax.loglog(e["etas"], e["errors"], "o-", label=f"slope {scaling.metric:.2f}")
        ax.loglog(e["etas"], e["errors"][0] * np.sqrt(e["etas"] / e["etas"][0]), "k:",
                  label="slope 1/2")
        ax.set(xlabel="eta", ylabel="max relative error along the run")
        ax.legend(fontsize=8)
    C.save(fig, args.out, "trajectories", args.leak)
    rows = C.check_rows(results)
    rows += [[C.label(case), f"error vs {name} ODE", err, "", ""]
             for case, chk in results if chk.name == "discrimination"
             for name, err in chk.details["errors"].items()]
    C.write_table(args.out, "trajectories", args.leak, C.CHECK_HEADER, rows)


if __name__ == "__main__":
    main()
