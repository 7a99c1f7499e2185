"""Expected update at frozen parameters: Monte Carlo mean of update/eta vs the derived rhs.

    python validation/expected_update.py [--quick] [--out DIR] [--leak L]
"""

from __future__ import annotations

import _common as C
import numpy as np


def main() -> None:
    args = C.parse(__doc__)
    results = C.run_checks(args, "expected_update")
    fig, axes = C.plt.subplots(1, len(results), figsize=(4 * len(results), 3.8))
    for ax, (case, chk) in zip(axes, results, strict=True):
        d = chk.details
        for i, name in enumerate(("da", "db", "dc")):
            ax.errorbar(d["rhs"][i].ravel(), d["mc"][i].ravel(), yerr=d["sem"][i].ravel(),
                        fmt="o", ms=3, label=name)
        lim = np.abs(np.concatenate([d["rhs"].ravel(), d["mc"].ravel()])).max() * 1.05
        ax.plot([-lim, lim], [-lim, lim], "k:", lw=1)
        ax.set(xlabel="derived d/dtau (rhs)", ylabel="Monte Carlo mean of update / eta",
               title=f"{C.label(case)}: max|z| = {chk.metric:.2f}")
        ax.legend(fontsize=8)
    C.save(fig, args.out, "expected_update", args.leak)
    rows = [[*r, c.details["n_scores"], c.details["false_alarm_bound"]]
            for r, (_, c) in zip(C.check_rows(results), results, strict=True)]
    C.write_table(args.out, "expected_update", args.leak,
                  [*C.CHECK_HEADER, "z-scores", "false-alarm bound"], rows)


if __name__ == "__main__":
    main()
