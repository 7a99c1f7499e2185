"""Low rank beyond alignment: singular values of W_T - W_0 and U_T - U_0 on a dense
non-aligned network (N = 32, D = 4, M = 2) for each rule.

    python validation/low_rank.py [--quick] [--out DIR] [--leak L]
"""

from __future__ import annotations

import _common as C
import numpy as np


def main() -> None:
    args = C.parse(__doc__)
    results = C.run_checks(args, "low_rank")
    runs = results[0][1].details["runs"]  # every check trains all three rules alike
    fig, axes = C.plt.subplots(1, 2, figsize=(9, 3.8))
    for ax, key in zip(axes, ("W", "U"), strict=True):
        for rule, run in runs.items():
            sv = run["sv"][key]
            ax.semilogy(np.arange(1, len(sv) + 1), np.maximum(sv / sv[0], 1e-17), "o-",
                        ms=3, label=f"{rule} (loss -{100 * run['reduction']:.0f}%)")
        ax.axvline(2.5, color="0.6", ls=":", label="rank(B) = M = 2")
        ax.set(xlabel="index i", ylabel=f"sigma_i / sigma_1 of {key}_T - {key}_0")
        ax.legend(fontsize=7)
    C.save(fig, args.out, "low_rank", args.leak)
    rows = [[*r, c.details["reductions"][case.rule]]
            for r, (case, c) in zip(C.check_rows(results), results, strict=True)]
    C.write_table(args.out, "low_rank", args.leak, [*C.CHECK_HEADER, "loss reduction"], rows)


if __name__ == "__main__":
    main()
