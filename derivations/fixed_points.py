"""Fixed-point sets of each rule (THEORY.md section 4, "Fixed points").

``symdyn.fixed_points(ode)`` solves ``rhs = 0`` by factoring the numerators, discards
roots where a denominator vanishes (no stationary process there) and keeps components
meeting ``|lam| < 1``. Expected: the optimal manifold ``{a = a*, b c = b* c*}`` for every
rule; the saddle manifold ``{b = c = 0}`` for BPTT and tBPTT only, since under RFLO
``db/dtau = beta b* c* (...) != 0`` at ``b = c = 0``.

Stand-alone: ``python derivations/fixed_points.py [--out DIR] [--quick]`` writes
``fixed_points.tex`` (LaTeX fragment), ``fixed_points.md``, ``fixed_points.json``
and figures into ``DIR``.
The computation is :func:`symdyn.reproduce.fixed_points.compute`, shared with ``symdyn paper``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _run, when run from elsewhere

from _run import main  # noqa: E402

from symdyn.reproduce import fixed_points  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(fixed_points))
