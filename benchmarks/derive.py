"""Seconds to derive, find fixed points and analyse stability, per rule and leak (cold).

Each measurement runs in a fresh Python process with an empty symdyn cache, so nothing is
warm: ``python benchmarks/derive.py``. Imports (SymPy, NumPy, symdyn's modules) are
excluded; the derivation and the whole fixed-point analysis are included. Both wall and
CPU time are printed: on a shared machine CPU time is the steadier of the two.

``--baseline DIR`` runs the same measurements on another checkout (e.g. ``/work/main``),
interleaved with this one, and prints the ratio: on a loaded machine only a ratio taken
in one run is meaningful. ``--repeat N`` keeps the fastest of ``N`` cold runs (load only
ever adds time). ``--profile`` prints, under each run, the top cumulative entries of a
cProfile of symdyn's own functions (the profiler inflates the times, not their order).

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
import cProfile, io, json, pstats, time
import sympy, numpy
import symdyn.ode, symdyn.analysis
import symdyn as sd
profiler = cProfile.Profile() if {profile} else None
if profiler:
    profiler.enable()
t0, c0 = time.perf_counter(), time.process_time()
ode = sd.derive({rule!r}, {leak!r})
t1, c1 = time.perf_counter(), time.process_time()
report = sd.fixed_points(ode)
t2, c2 = time.perf_counter(), time.process_time()
text = ''
if profiler:
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats('cumulative').print_stats('symdyn/', {top})
    text = stream.getvalue()
print(json.dumps(dict(derive=t1 - t0, analyse=t2 - t1, cpu=c2 - c0, profile=text,
                      sets=[s.name + ' (' + s.classification + ')' for s in report])))
"""


def measure(rule: str, leak: str, root: Path, profile: int = 0) -> dict:
    """One cold run in a fresh process, on the checkout at ``root`` (with a cProfile of
    the ``profile`` top cumulative entries of symdyn's functions when ``profile > 0``)."""
    code = CHILD.format(rule=rule, leak=leak, profile=profile > 0, top=profile)
    with tempfile.TemporaryDirectory(prefix="symdyn-bench-") as cache:
        env = {**os.environ, "PYTHONPATH": str(root), "SYMDYN_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, "-c", code],
                             capture_output=True, text=True, check=True, env=env, cwd=root)
    return json.loads(out.stdout)


def fastest(rule: str, leak: str, root: Path, repeat: int) -> dict:
    """The fastest (by wall time) of ``repeat`` cold runs."""
    runs = [measure(rule, leak, root) for _ in range(repeat)]
    return min(runs, key=lambda m: m["derive"] + m["analyse"])


def profile_lines(text: str) -> list[str]:
    """The table of a pstats printout, paths shortened to ``symdyn/...``."""
    table = text[text.index("ncalls"):] if "ncalls" in text else ""
    return ["    " + line.replace(str(HERE) + "/", "") for line in table.splitlines() if line]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, default=None, metavar="DIR",
                        help="another checkout to measure in the same run (before)")
    parser.add_argument("--leak", choices=LEAKS, action="append",
                        help="leak(s) to measure (default: both)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="keep the fastest of N cold runs per measurement (default 1)")
    parser.add_argument("--profile", type=int, nargs="?", const=25, default=0, metavar="TOP",
                        help="print the TOP (default 25) cumulative entries of a cProfile "
                             "of symdyn's functions under each run (a separate run)")
    args = parser.parse_args()
    roots = {"after": HERE} | ({"before": args.baseline.resolve()} if args.baseline else {})
    totals = {(name, leak): [0.0, 0.0] for name in roots for leak in LEAKS}
    print(f"{'rule':<7}{'leak':<7}{'code':<8}{'derive s':>9}{'analyse s':>10}{'wall s':>8}"
          f"{'cpu s':>7}  sets")
    for leak in args.leak or LEAKS:
        for rule in RULES:
            for name, root in reversed(roots.items()):
                m = fastest(rule, leak, root, args.repeat)
                wall = m["derive"] + m["analyse"]
                totals[name, leak][0] += wall
                totals[name, leak][1] += m["cpu"]
                print(f"{rule:<7}{leak:<7}{name:<8}{m['derive']:>9.2f}{m['analyse']:>10.2f}"
                      f"{wall:>8.2f}{m['cpu']:>7.2f}  {', '.join(m['sets'])}", flush=True)
                if args.profile:
                    lines = profile_lines(measure(rule, leak, root, args.profile)["profile"])
                    print("\n".join(lines), flush=True)
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
