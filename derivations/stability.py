"""Jacobian spectra on the fixed-point sets and RFLO's stability conditions (leak 1).

On the optimal manifold (dimension 1) the Jacobian has one zero eigenvalue; the other two
are the roots of the reduced characteristic polynomial ``x^2 + p_1 x + p_0``, stable iff
``p_1 > 0`` and ``p_0 > 0`` (Routh-Hurwitz). BPTT and tBPTT satisfy both everywhere; RFLO's
conditions depend on signs. With ``a* = 0`` (``ode.specialize({"a_star": 0})``) the
spectrum splits: ``-b^2 beta c`` and ``-(b^2 + beta c)``, so RFLO is stable iff
``beta c > 0``. The symbolic conditions are checked against numeric eigenvalues on a grid
of the ``(b, beta)`` plane at ``a = a*``, ``c = b* c*/b``.

Stand-alone: ``python derivations/stability.py [--out DIR] [--quick]`` writes
``stability.tex`` (LaTeX fragment), ``stability.md``, ``stability.json`` and figures into ``DIR``.
The computation is :func:`symdyn.reproduce.stability.compute`, shared with ``symdyn paper``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _run, when run from elsewhere

from _run import main  # noqa: E402

from symdyn.reproduce import stability  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(stability))
