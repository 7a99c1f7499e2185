"""The paper's analytical results, one module per result, each ``compute(quick) -> Section``.

Both ``symdyn paper`` (:mod:`symdyn.paper`) and the stand-alone scripts in
``derivations/`` call these functions; they use only the public symdyn API.
"""

import importlib

from .common import FigureData, Section, write_section

#: (name, module) in the order of the paper: the step names without importing the steps.
SECTION_MODULES = (("odes", "odes"), ("fixed_points", "fixed_points"),
                   ("stability", "spectra"), ("rates", "rates"),
                   ("truncation", "truncation"), ("invariants", "conserved"),
                   ("low_rank", "low_rank"), ("dynamics", "dynamics"),
                   ("beyond", "beyond"), ("noise", "noise"))


def __getattr__(name: str):
    # SECTIONS, (name, module) in the paper's order, is loaded on first use (PEP 562):
    # the steps import SciPy, matplotlib and the simulator, which ``symdyn paper`` loads
    # only after it has started the shared symbolic analyses (symdyn.paper).
    if name == "SECTIONS":
        return tuple((key, importlib.import_module(f".{module}", __name__))
                     for key, module in SECTION_MODULES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SECTIONS", "SECTION_MODULES", "FigureData", "Section", "write_section"]
