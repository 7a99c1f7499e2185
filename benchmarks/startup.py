"""Wall time of ``symdyn --help`` and ``symdyn --version`` (fresh processes).

Neither may import SymPy, NumPy or matplotlib; the script checks that too, and prints a
bare ``python -c pass`` beside them: on a loaded machine the interpreter's own start-up
is most of what is left. ``python benchmarks/startup.py [--repeat N]``; the median of N.

Target (issue #12): under 0.3 s each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET = 0.3
HERE = Path(__file__).resolve().parent.parent
HEAVY = ("sympy", "numpy", "matplotlib")
CHECK = ("import sys, runpy; sys.argv = ['symdyn', {flag!r}]\n"
         "try:\n    runpy.run_module('symdyn.cli', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         "print('HEAVY', [m for m in {heavy!r} if m in sys.modules], file=sys.stderr)")


def seconds(argv: list[str], repeat: int) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    times, code = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        code = subprocess.run(argv, capture_output=True, env=env, cwd=HERE).returncode
        times.append(time.perf_counter() - start)
    return statistics.median(times), code


def heavy_imports(flag: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    out = subprocess.run([sys.executable, "-c", CHECK.format(flag=flag, heavy=HEAVY)],
                         capture_output=True, text=True, env=env, cwd=HERE)
    return next((line[6:] for line in out.stderr.splitlines() if line.startswith("HEAVY")),
                "?")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bare, _ = seconds([sys.executable, "-c", "pass"], args.repeat)
    print(f"{'python -c pass':<18}{bare:7.3f} s   (the interpreter alone)")
    ok = True
    for flag in ("--help", "--version"):
        wall, code = seconds([sys.executable, "-m", "symdyn.cli", flag], args.repeat)
        verdict = "ok" if wall < TARGET else "OVER"
        ok &= wall < TARGET
        note = "" if code == 0 else f", exit {code} (flag not supported by this checkout)"
        print(f"symdyn {flag:<11}{wall:7.3f} s   (target < {TARGET} s: {verdict}; "
              f"{wall - bare:+.3f} s over the bare interpreter; heavy imports: "
              f"{heavy_imports(flag)}{note})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
