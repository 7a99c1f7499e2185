"""Shared plumbing of the validation scripts: arguments, cases, figure and table output.

Every script computes its numbers through :mod:`symdyn.validation` and plots the arrays the
checks return in ``Check.details``; nothing here does mathematics.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path

# One BLAS thread: the simulator's small batched gemms stall under multi-threaded
# OpenBLAS spin-waits (measured by the simulator's benchmark); must precede numpy.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from symdyn.validation import Case, Check  # noqa: E402
from symdyn.validation import run_checks as run_case_checks  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "output"
RULES = (("bptt", None), ("tbptt", 1), ("rflo", None))


def parse(description: str) -> argparse.Namespace:
    """``--quick``, ``--out DIR``, ``--leak`` (default 1) and ``--seed``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small, fast versions")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--leak", type=float, default=1.0, help="leak alpha in (0, 1]")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def cases(args: argparse.Namespace) -> list[Case]:
    """One case per rule (tBPTT with k = 1) at the requested leak."""
    return [Case(rule, k, args.leak, args.seed, args.quick) for rule, k in RULES]


def label(case: Case) -> str:
    k = f" k={case.k}" if case.rule == "tbptt" else ""
    return f"{case.rule}{k}"


def run_checks(args: argparse.Namespace, *names: str) -> list[tuple[Case, Check]]:
    """Run the named checks for every rule (rule by rule, the runs they share computed
    once per rule), printing one line each."""
    out = []
    for case in cases(args):
        for result in run_case_checks(case, names):
            print(f"{label(case):10s} {result.name}: " + " ".join(result.row()[1:]))
            out.append((case, result))
    return out


def save(fig: plt.Figure, out: Path, stem: str, leak: float) -> None:
    """Write ``stem_leak<L>.png`` and ``.pdf``."""
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(out / f"{stem}_leak{leak:g}.{ext}", dpi=150)
    plt.close(fig)


def write_table(out: Path, stem: str, leak: float, header: Iterable[str],
                rows: Iterable[Iterable[object]]) -> Path:
    """Markdown table ``stem_leak<L>.md``; numbers printed with 4 significant digits."""
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    path = out / f"{stem}_leak{leak:g}.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def check_rows(results: list[tuple[Case, Check]]) -> list[list[object]]:
    """Rows ``rule, check, metric, threshold, verdict``."""
    return [[label(c), *r.row()] for c, r in results]


CHECK_HEADER = ("rule", "check", "metric", "threshold", "verdict")
