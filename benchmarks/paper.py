"""Wall time of ``symdyn paper``: cold (empty cache), warm (second run), quick cold.

Each run is a fresh ``symdyn paper`` process, as a user would start it (imports included).
Targets on a 2-core machine: cold < 180 s, warm < 20 s, quick cold < 60 s.

Usage (from the repo root, or with symdyn installed):
    python benchmarks/paper.py [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"cold": 180.0, "warm": 20.0, "quick cold": 60.0}


def run(out: Path, quick: bool) -> float:
    """Seconds for one ``symdyn paper`` process writing into ``out``."""
    argv = [sys.executable, "-m", "symdyn.cli", "paper", "--out", str(out)]
    start = time.perf_counter()
    result = subprocess.run(argv + (["--quick"] if quick else []), capture_output=True,
                            text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-2000:], file=sys.stderr)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="directory to keep (default: temporary)")
    args = parser.parse_args()
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="symdyn-paper-"))
    full, quick = root / "full", root / "quick"
    for path in (full, quick):
        shutil.rmtree(path, ignore_errors=True)
    timings = {"cold": run(full, False), "warm": run(full, False),
               "quick cold": run(quick, True)}
    for name, seconds in timings.items():
        verdict = "ok" if seconds < TARGETS[name] else "OVER TARGET"
        print(f"{name:<11} {seconds:7.1f} s   (target < {TARGETS[name]:.0f} s: {verdict})")
    if not args.out:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if all(timings[k] < TARGETS[k] for k in TARGETS) else 1


if __name__ == "__main__":
    sys.exit(main())
