"""Convergence rates at the optimum, and where RFLO is the slower learner (leak 1).

The rate is ``r = -max Re(mu)`` over the non-zero Jacobian eigenvalues on the optimal
manifold (``symdyn.convergence_rate``). With ``a* = 0`` the spectra are
``{-b^2 c^2, -(b^2 + c^2)}`` (BPTT) and ``{-b^2 beta c, -(b^2 + beta c)}`` (RFLO). Where
RFLO is slower is derived, not assumed: each RFLO eigenvalue is paired with the BPTT
eigenvalue it equals at some beta, ``mu_rflo > mu_bptt`` is solved for beta with
``sp.solve_univariate_inequality`` (c > 0 and c < 0 separately), and when every pair gives
the same set, ``max mu_rflo > max mu_bptt`` holds exactly there. For general ``a*`` the
region is mapped numerically in the ``(beta, b)`` plane.

Stand-alone: ``python derivations/rates.py [--out DIR] [--quick]`` writes
``rates.tex`` (LaTeX fragment), ``rates.md``, ``rates.json`` and figures into ``DIR``.
The computation is :func:`symdyn.reproduce.rates.compute`, shared with ``symdyn paper``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _run, when run from elsewhere

from _run import main  # noqa: E402

from symdyn.reproduce import rates  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(rates))
