"""Wall time of a repeated ``symdyn fixed-points --rule rflo --leak alpha`` (warm cache).

Each run is a fresh process, interpreter start-up included, as a user would type it. The
first run fills a private, empty cache directory (cold); the next ones are answered
from it (warm). ``python benchmarks/cache.py [--repeat N] [--rule R] [--leak L]``.

Target (issue #12): a warm repeat under 1 s of wall time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.0
HERE = Path(__file__).resolve().parent.parent


def run(argv: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=HERE, check=True)
    return time.perf_counter() - start, out.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rule", default="rflo")
    parser.add_argument("--leak", default="alpha")
    args = parser.parse_args()
    argv = [sys.executable, "-m", "symdyn.cli", "fixed-points", "--rule", args.rule,
            "--leak", args.leak]
    with tempfile.TemporaryDirectory(prefix="symdyn-cache-bench-") as folder:
        env = {**os.environ, "PYTHONPATH": str(HERE), "SYMDYN_CACHE_DIR": folder}
        env.pop("SYMDYN_NO_CACHE", None)
        cold, first = run(argv, env)
        warm = [run(argv, env) for _ in range(args.repeat)]
        bare, _ = run([sys.executable, "-c", "pass"], env)
    same = all(out == first for _, out in warm)
    median = statistics.median(t for t, _ in warm)
    print(f"cold (empty cache)   {cold:7.2f} s")
    print(f"warm (median of {args.repeat})  {median:7.2f} s   (target < {TARGET:g} s: "
          f"{'ok' if median < TARGET else 'OVER'}; same output as cold: {same})")
    print(f"python -c pass       {bare:7.2f} s   (the interpreter alone, for scale)")
    return 0 if median < TARGET and same else 1


if __name__ == "__main__":
    sys.exit(main())
