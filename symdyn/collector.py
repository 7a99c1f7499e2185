"""Python's cyclic garbage collector, paused around work that makes many long-lived or
short-lived objects at once (imports before a fork, drawing a figure).

Imports neither SymPy, NumPy nor matplotlib: :mod:`symdyn.paper` uses it before it loads
them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, then back as it was.

    A figure is tens of thousands of objects, alive while it is drawn and garbage after.
    With the collector on, the young collections that its allocations trigger keep
    finding it alive and promote it, step by step, to the oldest generation, where it
    counts towards a full collection: one that walks every object of the process (in a
    paper worker, the analyses' hundreds of thousands, about 0.3 s each). Paused, the
    figure stays young and is freed by the first young collection after the block.
    Measured in one process that computes each section of the quick paper and draws its
    figures (CPU s, four runs each): time in the collector while drawing the eleven
    figures 0.40-0.51 -> 0.23-0.31; each run without the pause had one full collection
    (0.26-0.34 s) while drawing, none with it.

    Imports are the opposite case, objects that live as long as the process: the
    collector's full collections walk them again and again while the heap grows. Paused
    around ``symdyn paper``'s preload (the steps' modules, matplotlib, numba's loops),
    whose objects the forked workers then freeze (``gc.freeze``): 2.0-2.8 -> 1.6-2.2 CPU s,
    four alternating runs each."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
