"""Run every validation script (figures and tables) and the full report per rule.

    python validation/run_all.py [--quick] [--out DIR] [--leak L] [--seed S]

Writes ``report_leak<L>.md`` with the table of every check for every rule.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import _common as C

from symdyn.validation import run_validation

SCRIPTS = ("expected_update", "trajectories", "local_rate", "stability", "saddle",
           "conserved", "low_rank")


def main() -> None:
    args = C.parse(__doc__)
    here = Path(__file__).resolve().parent
    flags = ["--out", str(args.out), "--leak", str(args.leak), "--seed", str(args.seed)]
    flags += ["--quick"] if args.quick else []
    for name in SCRIPTS:
        print(f"== {name}")
        subprocess.run([sys.executable, str(here / f"{name}.py"), *flags], check=True)
    parts, ok = [], True
    for rule, k in C.RULES:
        report = run_validation(rule, k, args.leak, args.seed, args.quick)
        print(report.table())
        parts.append(report.markdown())
        ok = ok and report.passed
    (args.out / f"report_leak{args.leak:g}.md").write_text("\n\n".join(parts) + "\n")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
