"""Conserved quantities in the full simulation and the limit point they predict.

    python validation/conserved.py [--quick] [--out DIR] [--leak L]
"""

from __future__ import annotations

import _common as C


def main() -> None:
    args = C.parse(__doc__)
    results = C.run_checks(args, "conserved", "limit")
    n = len(results) // 2
    fig, axes = C.plt.subplots(2, n, figsize=(4.2 * n, 7))
    for j in range(n):
        case, cons = results[2 * j]
        lim = results[2 * j + 1][1].details
        d = cons.details
        ax = axes[0, j]
        for v in d.get("values", []):
            ax.plot(d["tau"], v - v[0], lw=1)
        ax.set(xlabel="tau", ylabel="Q(tau) - Q(0) per mode",
               title=f"{C.label(case)}: Q = {', '.join(d.get('quantities', [])) or 'none'}")
        ax = axes[1, j]
        if "simulated" in lim:
            ax.plot(lim["start"][:, 1], lim["start"][:, 2], "k.", label="start (b, c)")
            ax.plot(lim["predicted"][:, 1], lim["predicted"][:, 2], "rx", ms=9,
                    label="predict_limit")
            ax.plot(lim["simulated"][:, 1], lim["simulated"][:, 2], "o", mfc="none",
                    label="SGD end")
        ax.set(xlabel="b", ylabel="c")
        ax.legend(fontsize=7)
    C.save(fig, args.out, "conserved", args.leak)
    C.write_table(args.out, "conserved", args.leak, C.CHECK_HEADER, C.check_rows(results))


if __name__ == "__main__":
    main()
