"""Convergence rates at the optimum, and where RFLO is the slower learner (leak 1).

The mathematics is in the docstring of :mod:`symdyn.reproduce.rates`.

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
