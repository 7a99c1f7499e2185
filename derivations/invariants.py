"""Conserved quantities of each rule, and the limit point they predict.

``symdyn.conserved_quantities(ode)`` finds every quadratic ``Q(a, b, c)`` with
``grad Q . rhs = 0`` identically (a linear null-space problem). BPTT conserves the balance
``b^2 - c^2``; the other rules conserve different quadratics, so the balance itself is
broken. With one invariant, the limit on the optimal manifold (a curve) is the point where
the invariant keeps its initial value: ``symdyn.analysis.limit_candidates`` solves for it,
``symdyn.predict_limit`` picks the branch, and ``symdyn.integrate`` checks it.

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
