"""Jacobian spectra on the fixed-point sets and RFLO's stability conditions (leak 1).

The mathematics is in the docstring of :mod:`symdyn.reproduce.stability`.

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
