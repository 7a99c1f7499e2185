"""Per-mode learning ODEs of BPTT, one-step tBPTT and RFLO (THEORY.md sections 2-3).

The mathematics is in the docstring of :mod:`symdyn.reproduce.odes`.

Stand-alone: ``python derivations/odes.py [--out DIR] [--quick]`` writes
``odes.tex`` (LaTeX fragment), ``odes.md``, ``odes.json`` and figures into ``DIR``.
The computation is :func:`symdyn.reproduce.odes.compute`, shared with ``symdyn paper``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _run, when run from elsewhere

from _run import main  # noqa: E402

from symdyn.reproduce import odes  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(odes))
