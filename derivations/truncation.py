"""Truncation sweep: tBPTT(k) for k = 1..K, between one-step tBPTT and BPTT (leak 1).

The mathematics is in the docstring of :mod:`symdyn.reproduce.truncation`.

Stand-alone: ``python derivations/truncation.py [--out DIR] [--quick]`` writes
``truncation.tex`` (LaTeX fragment), ``truncation.md``, ``truncation.json`` and figures
into ``DIR``. The computation is :func:`symdyn.reproduce.truncation.compute`, shared with
``symdyn paper``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for _run, when run from elsewhere

from _run import main  # noqa: E402

from symdyn.reproduce import truncation  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(truncation))
