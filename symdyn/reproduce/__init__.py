"""The paper's analytical results, one module per result, each ``compute(quick) -> Section``.

Both ``symdyn paper`` (:mod:`symdyn.paper`) and the stand-alone scripts in
``derivations/`` call these functions; they use only the public symdyn API.
"""

from . import (
    beyond,
    conserved,
    dynamics,
    fixed_points,
    low_rank,
    noise,
    odes,
    rates,
    spectra,
    truncation,
)
from .common import FigureData, Section, write_section

#: (name, module) in the order of the paper.
SECTIONS = (("odes", odes), ("fixed_points", fixed_points), ("stability", spectra),
            ("rates", rates), ("truncation", truncation), ("invariants", conserved),
            ("low_rank", low_rank), ("dynamics", dynamics), ("beyond", beyond),
            ("noise", noise))

__all__ = ["SECTIONS", "FigureData", "Section", "write_section"]
