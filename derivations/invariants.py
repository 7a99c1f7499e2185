"""Conserved quantities of each rule, and the limit point they predict.

The mathematics is in the docstring of :mod:`symdyn.reproduce.invariants`.

Stand-alone: ``python derivations/invariants.py [--out DIR] [--quick]`` writes
``invariants.tex`` (LaTeX fragment), ``invariants.md``, ``invariants.json``
and figures into ``DIR``.
The computation is :func:`symdyn.reproduce.invariants.compute`, shared with ``symdyn paper``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _run, when run from elsewhere

from _run import main  # noqa: E402

from symdyn.reproduce import invariants  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(invariants))
