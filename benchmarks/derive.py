"""Seconds to derive, find fixed points and analyse stability, per rule and leak.

Each measurement runs in a fresh Python process, so no cache is warm:
``python benchmarks/derive.py``. The issue's target: the three rules with a symbolic
leak, derived and analysed, in under 10 s in total.
"""

from __future__ import annotations

import json
import subprocess
import sys

RULES = ("bptt", "tbptt", "rflo")
LEAKS = ("1", "alpha")

CHILD = """
import json, time
t0 = time.perf_counter()
import symdyn as sd
t1 = time.perf_counter()
ode = sd.derive({rule!r}, {leak!r})
t2 = time.perf_counter()
report = sd.fixed_points(ode)
t3 = time.perf_counter()
print(json.dumps(dict(import_s=t1 - t0, derive_s=t2 - t1, analyse_s=t3 - t2,
                      sets=[s.name + ' (' + s.classification + ')' for s in report])))
"""


def measure(rule: str, leak: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(rule=rule, leak=leak)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    print(f"{'rule':<7}{'leak':<7}{'import s':>10}{'derive s':>10}{'fixed pts+stab s':>18}"
          f"{'total s':>9}  sets")
    totals = {leak: 0.0 for leak in LEAKS}
    for leak in LEAKS:
        for rule in RULES:
            m = measure(rule, leak)
            work = m["derive_s"] + m["analyse_s"]
            totals[leak] += work
            print(f"{rule:<7}{leak:<7}{m['import_s']:>10.2f}{m['derive_s']:>10.2f}"
                  f"{m['analyse_s']:>18.2f}{work:>9.2f}  {', '.join(m['sets'])}")
    for leak, total in totals.items():
        print(f"all three rules, leak {leak}: {total:.2f} s (derive + analyse, "
              "imports excluded)")


if __name__ == "__main__":
    main()
