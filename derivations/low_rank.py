"""Low-rank structure of RFLO's weight changes, on full non-aligned networks.

RFLO updates ``Delta W = eta (B e_t) p_t^T`` and ``Delta U = eta (B e_t) q_t^T`` with a
fixed ``N x M`` feedback ``B``: every update is an outer product whose left factor lies in
``col(B)``. A sum of such matrices has its columns in ``col(B)`` as well, so
``rank(W_t - W_0) <= rank(B) <= M`` and likewise for ``U``, for every ``t``, whatever the
alignment. BPTT and tBPTT back-propagate through ``V^T`` and ``W``, which change, so no such
bound holds. Shown by simulation: singular values of ``W_T - W_0`` per rule.

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
