"""Seconds to derive, find fixed points and analyse stability, per rule and leak (cold).

Each measurement runs in a fresh Python process with an empty symdyn cache, so nothing is
warm: ``python benchmarks/derive.py``. Imports (SymPy, NumPy, symdyn's modules) are
excluded; the derivation and the whole fixed-point analysis are included. Both wall and
CPU time are printed: on a shared machine CPU time is the steadier of the two.

``--baseline DIR`` runs the same measurements on another checkout (e.g. ``/work/main``),
interleaved with this one, and prints the ratio: on a loaded machine only a ratio taken
in one run is meaningful.

Target (issue #12): the three rules with a symbolic leak in under 3 s in total.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

RULES = ("bptt", "tbptt", "rflo")
LEAKS = ("1", "alpha")
TARGET = 3.0
HERE = Path(__file__).resolve().parent.parent

CHILD = """
import json, time
import sympy, numpy
import symdyn.ode, symdyn.analysis
import symdyn as sd
t0, c0 = time.perf_counter(), time.process_time()
ode = sd.derive({rule!r}, {leak!r})
t1, c1 = time.perf_counter(), time.process_time()
report = sd.fixed_points(ode)
t2, c2 = time.perf_counter(), time.process_time()
print(json.dumps(dict(derive=t1 - t0, analyse=t2 - t1, cpu=c2 - c0,
                      sets=[s.name + ' (' + s.classification + ')' for s in report])))
"""


def measure(rule: str, leak: str, root: Path) -> dict:
    """One cold run in a fresh process, on the checkout at ``root``."""
    with tempfile.TemporaryDirectory(prefix="symdyn-bench-") as cache:
        env = {**os.environ, "PYTHONPATH": str(root), "SYMDYN_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, "-c", CHILD.format(rule=rule, leak=leak)],
                             capture_output=True, text=True, check=True, env=env, cwd=root)
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, default=None, metavar="DIR",
                        help="another checkout to measure in the same run (before)")
    parser.add_argument("--leak", choices=LEAKS, action="append",
                        help="leak(s) to measure (default: both)")
    args = parser.parse_args()
    roots = {"after": HERE} | ({"before": args.baseline.resolve()} if args.baseline else {})
    totals = {(name, leak): [0.0, 0.0] for name in roots for leak in LEAKS}
    print(f"{'rule':<7}{'leak':<7}{'code':<8}{'derive s':>9}{'analyse s':>10}{'wall s':>8}"
          f"{'cpu s':>7}  sets")
    for leak in args.leak or LEAKS:
        for rule in RULES:
            for name, root in reversed(roots.items()):
                m = measure(rule, leak, root)
                wall = m["derive"] + m["analyse"]
                totals[name, leak][0] += wall
                totals[name, leak][1] += m["cpu"]
                print(f"{rule:<7}{leak:<7}{name:<8}{m['derive']:>9.2f}{m['analyse']:>10.2f}"
                      f"{wall:>8.2f}{m['cpu']:>7.2f}  {', '.join(m['sets'])}", flush=True)
    for leak in args.leak or LEAKS:
        for name in roots:
            wall, cpu = totals[name, leak]
            verdict = "" if leak != "alpha" else (
                f"   (target < {TARGET:g} s: {'ok' if wall < TARGET else 'OVER'})")
            print(f"three rules, leak {leak}, {name}: {wall:.2f} s wall, {cpu:.2f} s cpu"
                  f"{verdict}")
        if "before" in roots:
            (w0, c0), (w1, c1) = totals["before", leak], totals["after", leak]
            print(f"three rules, leak {leak}: after/before = {w1 / w0:.2f} (wall), "
                  f"{c1 / c0:.2f} (cpu); before / after = {w0 / w1:.1f}x (wall)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
