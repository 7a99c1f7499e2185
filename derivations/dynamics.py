"""Phase portraits of each rule, and learning curves of the ODE against simulation.

The mathematics is in the docstring of :mod:`symdyn.reproduce.dynamics`.

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
