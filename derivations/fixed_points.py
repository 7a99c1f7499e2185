"""Fixed-point sets of each rule (THEORY.md section 4, "Fixed points").

The mathematics is in the docstring of :mod:`symdyn.reproduce.fixed_points`.

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
