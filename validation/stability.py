"""Stability of the optimal manifold in simulation (rflo: both signs of beta).

    python validation/stability.py [--quick] [--out DIR] [--leak L]
"""

from __future__ import annotations

import _common as C


def main() -> None:
    args = C.parse(__doc__)
    results = C.run_checks(args, "stability")
    fig, axes = C.plt.subplots(1, len(results), figsize=(4 * len(results), 3.6))
    rows = []
    for ax, (case, chk) in zip(axes, results, strict=True):
        for key, run in chk.details["runs"].items():
            for i, (tau, dist) in enumerate(run["curves"]):
                ls = "-" if key == "beta>0" else "--"
                ax.semilogy(tau, dist / dist[0], ls=ls, color=f"C{i}",
                            label=f"{key}, b={run['b'][i]:g}, pred {run['growth'][i]:+.2g}")
                rows.append([C.label(case), key, float(run["b"][i]),
                             float(run["growth"][i]), float(run["ratio"][i])])
        ax.set(xlabel="tau", ylabel="d(tau) / d(0) (distance to manifold)",
               title=f"{C.label(case)}: worst {chk.metric:.3g}")
        ax.legend(fontsize=6)
    C.save(fig, args.out, "stability", args.leak)
    C.write_table(args.out, "stability", args.leak,
                  ["rule", "feedback", "b", "predicted growth", "d(T)/d(0)"], rows)
    C.write_table(args.out, "stability_checks", args.leak, C.CHECK_HEADER,
                  C.check_rows(results))


if __name__ == "__main__":
    main()
