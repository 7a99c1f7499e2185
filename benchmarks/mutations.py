"""Mutation probe: does the fast test subset catch deliberate one-line mistakes in the core?

Each mutation is a small text edit of the core mathematics (see issue #11): the script
copies the repository to a temporary directory, applies one mutation there, runs
``python -m pytest -m core`` in the copy (``PYTHONPATH`` pointing at it, a time limit per
run) and reports which tests failed.  A mutation that no test catches "survives"; a run
that exceeds the time limit is reported as a timeout, which is no catch either.

Mutations are located by text anchors (regular expressions) searched in every file of a
glob, so they survive moved code; an anchor must match exactly as often as the mutation
says, anywhere in those files, or the script stops with an error naming it (a mutation
that silently applies nowhere would report a false "survives").

Usage::

    python benchmarks/mutations.py                 # all mutations, stop at first failure
    python benchmarks/mutations.py --all-failures  # list every test that catches each
    python benchmarks/mutations.py --only rflo_feedback_sign --marker core
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache",
                                "symdyn-paper*", "*.egg-info", "build", "dist", "_build")


@dataclass(frozen=True)
class Edit:
    """Replace ``pattern`` (a multiline regex) by ``replacement`` in files of ``glob``;
    it must match exactly ``count`` times in total."""

    glob: str
    pattern: str
    replacement: str
    count: int = 1


@dataclass(frozen=True)
class Mutation:
    name: str
    description: str
    edits: tuple[Edit, ...]


MUTATIONS = (
    Mutation("specialize_leak_map",
             "specialize maps a* to lam* = a* (instead of 1 - alpha + alpha a*)",
             (Edit("symdyn/**/*.py", r"(working\[S\.lam_star\]\s*=\s*).+$",
                   r"\1public[S.a_star]"),)),
    Mutation("leak_map_without_one_minus_alpha",
             "lam = alpha a instead of 1 - alpha + alpha a, in both directions",
             (Edit("symdyn/model.py", r"return 1 - alpha \+ alpha \* a\b", "return alpha * a"),
              Edit("symdyn/model.py", r"return \(lam - 1 \+ alpha\) / alpha",
                   "return lam / alpha"))),
    Mutation("rflo_feedback_sign", "RFLO feedback beta -> -beta",
             (Edit("symdyn/rules.py", r'(Rule\(\s*"rflo",\s*1 - S\.alpha,\s*)S\.beta',
                   r"\1-S.beta"),)),
    Mutation("tbptt_trace_decay", "tBPTT trace decay lam -> 1 - alpha (matters for k >= 2)",
             (Edit("symdyn/rules.py", r'(Rule\(\s*"tbptt",\s*)S\.lam\b', r"\g<1>1 - S.alpha"),)),
    Mutation("trace_memory_dropped",
             "the memory term of the eligibility trace dropped in the averaging",
             (Edit("symdyn/averaging.py", r'\{"h": alpha, "sa": S\.kappa\}', '{"h": alpha}'),)),
    Mutation("stable_with_any", "numeric classification: stable when ANY real part < 0",
             (Edit("symdyn/analysis/*.py",
                   r'np\.all\(([^()\n]*<[^()\n]*)\)(:\s*\n\s*return "stable")',
                   r"np.any(\1)\2"),)),
    Mutation("routh_hurwitz_dropped",
             "one Routh-Hurwitz condition dropped (p_0 > 0 of a quadratic)",
             (Edit("symdyn/analysis/*.py", r"return \[p\[0\], p\[1\]\]", "return [p[0]]"),)),
)


class AnchorError(RuntimeError):
    """An anchor matched a number of times other than the one expected."""


def apply(mutation: Mutation, root: Path) -> list[str]:
    """Apply every edit of ``mutation`` to the tree at ``root``; the files changed."""
    changed = []
    for edit in mutation.edits:
        regex = re.compile(edit.pattern, re.MULTILINE)
        files = sorted(p for p in root.glob(edit.glob) if p.is_file())
        hits = {p: len(regex.findall(p.read_text())) for p in files}
        total = sum(hits.values())
        if total != edit.count:
            where = {str(p.relative_to(root)): n for p, n in hits.items() if n}
            raise AnchorError(f"mutation {mutation.name!r}: anchor {edit.pattern!r} matched "
                              f"{total} times in {edit.glob} (expected {edit.count}): {where}")
        for path, n in hits.items():
            if n:
                path.write_text(regex.sub(edit.replacement, path.read_text()))
                changed.append(str(path.relative_to(root)))
    return changed


def check_anchors() -> None:
    """Apply every mutation to a scratch copy, so a stale anchor fails before any test run."""
    for mutation in MUTATIONS:
        with tempfile.TemporaryDirectory(prefix="symdyn-anchor-") as tmp:
            copy = Path(tmp) / "repo"
            for edit in mutation.edits:
                for path in ROOT.glob(edit.glob):
                    target = copy / path.relative_to(ROOT)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)
            apply(mutation, copy)


def run_tests(root: Path, marker: str, timeout: float, stop_first: bool) -> dict:
    """Run the marked tests in the copy at ``root``; status, failed tests, seconds."""
    env = {**os.environ, "PYTHONPATH": str(root), "MPLBACKEND": "Agg"}
    # One process (-n 0): under pytest-xdist, -x ends the run as "interrupted" (exit 2),
    # which would read as no catch.
    cmd = [sys.executable, "-m", "pytest", "-m", marker, "-q", "-p", "no:cacheprovider",
           "-n", "0", "-rf", "--no-header"] + (["-x"] if stop_first else [])
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "failed": [], "seconds": time.perf_counter() - start,
                "tail": ""}
    seconds = time.perf_counter() - start
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", proc.stdout, re.MULTILINE)
    status = {0: "passed", 1: "failed"}.get(proc.returncode, f"exit {proc.returncode}")
    tail = "\n".join(proc.stdout.strip().splitlines()[-3:])
    return {"status": status, "failed": failed, "seconds": seconds, "tail": tail}


def probe(mutation: Mutation | None, marker: str, timeout: float, stop_first: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="symdyn-mutant-") as tmp:
        copy = Path(tmp) / "repo"
        shutil.copytree(ROOT, copy, ignore=IGNORE)
        changed = apply(mutation, copy) if mutation else []
        return run_tests(copy, marker, timeout, stop_first) | {"changed": changed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--marker", default="core", help="pytest marker expression (core)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds per pytest run (default 300)")
    parser.add_argument("--only", action="append", default=[],
                        help="run only this mutation (repeatable)")
    parser.add_argument("--all-failures", action="store_true",
                        help="run every marked test instead of stopping at the first failure")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the run on the unmutated copy")
    args = parser.parse_args(argv)
    unknown = set(args.only) - {m.name for m in MUTATIONS}
    if unknown:
        parser.error(f"unknown mutation {sorted(unknown)[0]!r}; "
                     f"known: {', '.join(m.name for m in MUTATIONS)}")
    check_anchors()
    stop_first = not args.all_failures
    if not args.no_baseline:
        base = probe(None, args.marker, args.timeout, stop_first)
        print(f"baseline (no mutation): {base['status']} in {base['seconds']:.1f} s"
              + (f"; failing: {', '.join(base['failed'])}" if base["failed"] else ""))
        if base["status"] != "passed":
            print(base["tail"])
            print("the unmutated suite does not pass: fix that first")
            return 2
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    print(f"\n| mutation | result | seconds | caught by (-m {args.marker}) |")
    print("|---|---|---:|---|")
    survivors = 0
    for mutation in chosen:
        result = probe(mutation, args.marker, args.timeout, stop_first)
        caught = result["status"] == "failed" and result["failed"]
        survivors += not caught
        verdict = "caught" if caught else ("TIMEOUT" if result["status"] == "timeout"
                                           else f"SURVIVES ({result['status']})")
        print(f"| {mutation.description} | {verdict} | {result['seconds']:.1f} | "
              f"{', '.join(result['failed']) or '-'} |", flush=True)
    print(f"\n{len(chosen) - survivors} of {len(chosen)} mutations caught")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
