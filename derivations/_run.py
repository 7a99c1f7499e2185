"""Shared command line of the derivation scripts: ``python derivations/NAME.py [--out DIR]``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from symdyn.reproduce import write_section


def main(module, default_out: str = "derivations-out") -> int:
    """Compute ``module``'s section, write its fragment, Markdown, JSON and figures."""
    parser = argparse.ArgumentParser(description=(module.__doc__ or "").splitlines()[0])
    parser.add_argument("--out", default=default_out, metavar="DIR")
    parser.add_argument("--quick", action="store_true", help="smaller grids and simulations")
    args = parser.parse_args()
    start = time.perf_counter()
    section = module.compute(args.quick)
    paths = write_section(section, Path(args.out))
    print(f"{section.title} ({time.perf_counter() - start:.1f} s)")
    for check, passed in section.checks.items():
        print(f"  {'pass' if passed else 'FAIL'}: {check}")
    for path in paths:
        print(f"  wrote {path}")
    return 0 if section.ok else 1
