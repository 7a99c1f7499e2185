"""Phase portraits of each rule, and learning curves of the ODE against simulation.

Phase portrait: the ``(b, c)`` components of the derived field on the slice ``a = a*``,
with the optimal set ``b c = b* c*`` (a hyperbola), the saddle point ``b = c = 0`` where
the rule has the saddle manifold, and trajectories of the full 3-d ODE (projected on
``(b, c)``). Learning curves: online SGD of a
data-aligned network (``symdyn.simulate``, which never sees the derivation), its loss
against the sum of the modes' stationary losses along the integrated ODE, ``tau = eta t``.

Stand-alone: ``python derivations/dynamics.py [--out DIR] [--quick]`` writes
``dynamics.tex`` (LaTeX fragment), ``dynamics.md``, ``dynamics.json`` and figures into ``DIR``.
The computation is :func:`symdyn.reproduce.dynamics.compute`, shared with ``symdyn paper``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _run, when run from elsewhere

from _run import main  # noqa: E402

from symdyn.reproduce import dynamics  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(dynamics))
