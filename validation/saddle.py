"""The saddle b = c = 0: plateau of bptt/tbptt (length from the saddle eigenvalue) and
the immediate escape of rflo.

    python validation/saddle.py [--quick] [--out DIR] [--leak L]
"""

from __future__ import annotations

import _common as C


def main() -> None:
    args = C.parse(__doc__)
    results = C.run_checks(args, "saddle")
    fig, axes = C.plt.subplots(1, len(results), figsize=(4 * len(results), 3.6))
    rows = []
    for ax, (case, chk) in zip(axes, results, strict=True):
        d = chk.details
        if "loss" in d:
            ax.plot(d["loss_tau"], d["loss"] / d["loss"][:5].mean(), lw=0.8, label="SGD")
            ax.plot(d["tau"], d["ode_loss"] / d["ode_loss"][0], "k:", label="ODE")
            ax.axvline(d["tau_pred"], color="r", ls="--", label="predicted plateau end")
            ax.axhline(0.9, color="0.6", lw=0.8)
            ax.set(ylabel="loss / initial loss")
            rows.append([C.label(case), d["mu"], d["tau_pred"], d["tau_ode"], d["tau_sim"]])
        else:
            ax.plot(d["tau"], d["b"], label="SGD")
            ax.plot(d["tau"], d["ode_b"], "k:", label="ODE")
            ax.set(ylabel="b (mode mean)")
            rows.append([C.label(case), "-", "-", float(d["expected"]), float(d["moved"])])
        ax.set(xlabel="tau", title=f"{C.label(case)}: metric {chk.metric:.3g}")
        ax.legend(fontsize=7)
    C.save(fig, args.out, "saddle", args.leak)
    C.write_table(args.out, "saddle", args.leak,
                  ["rule", "saddle eigenvalue", "plateau predicted / db ODE",
                   "plateau ODE", "plateau SGD / db SGD"], rows)
    C.write_table(args.out, "saddle_checks", args.leak, C.CHECK_HEADER, C.check_rows(results))


if __name__ == "__main__":
    main()
