"""Low-rank structure of RFLO's weight changes, on full non-aligned networks.

The mathematics is in the docstring of :mod:`symdyn.reproduce.low_rank`.

Stand-alone: ``python derivations/low_rank.py [--out DIR] [--quick]`` writes
``low_rank.tex`` (LaTeX fragment), ``low_rank.md``, ``low_rank.json`` and figures into ``DIR``.
The computation is :func:`symdyn.reproduce.low_rank.compute`, shared with ``symdyn paper``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _run, when run from elsewhere

from _run import main  # noqa: E402

from symdyn.reproduce import low_rank  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(low_rank))
