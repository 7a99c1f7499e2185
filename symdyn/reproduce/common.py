"""What every derivation returns, and the helpers they share.

A derivation is a function ``compute(quick) -> Section``. A :class:`Section` is pure data
(text, JSON-able numbers and expression strings, figure data as NumPy arrays), so that it
pickles into the paper's cache and :mod:`symdyn.plots` can draw it without recomputing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import sympy as sp

from .. import derive, fixed_points
from ..analysis import FixedPointReport
from ..latex import wrap
from ..model import leak_text
from ..ode import LearningODE
from ..rules import COMPARED

#: The rules the paper compares (their labels and colours: :mod:`symdyn.plots`).
RULES = tuple(name for name, _ in COMPARED)
#: The teacher used for every numeric illustration (b* c* = 1).
TEACHER = {"a_star": 0.5, "b_star": 1.0, "c_star": 1.0}


@dataclass
class FigureData:
    """A figure to draw: ``kind`` names a function of :mod:`symdyn.plots`."""

    name: str
    kind: str
    data: dict
    caption: str


@dataclass
class Section:
    """One analytical result: LaTeX and Markdown bodies, JSON data, figures, checks.

    ``checks`` maps a sentence to whether it held; the paper is ``ok`` when all do.
    """

    key: str
    title: str
    latex: str
    markdown: str
    data: dict
    figures: list[FigureData] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(self.checks.values())


def analysed(rule: str, leak: object = 1, a_star: float | None = None,
             ) -> tuple[LearningODE, FixedPointReport]:
    """The ODE of ``rule`` (``a_star`` pinned if given) and its fixed points, computed once."""
    # One memo entry per analysis: lru_cache keys on the arguments as passed, so
    # analysed("bptt", 1) missed the entry of analysed("bptt", 1, None) that the paper's
    # warm-up made, and read the report again from disk into new objects (whose SymPy
    # assumptions, asked again when printing, cost more than the reading).
    return _analysed(rule, leak, a_star)


@lru_cache(maxsize=32)
def _analysed(rule: str, leak: object, a_star: float | None,
              ) -> tuple[LearningODE, FixedPointReport]:
    ode = derive(rule, leak)
    if a_star is not None:
        ode = ode.specialize({"a_star": a_star})
    # The eigenvalues' expressions are built before the report is cached, so that the
    # sections printing them (in other worker processes) read them instead of each
    # building them again.
    return ode, fixed_points(ode, eigenvalues=True)


def align(rows: list[str]) -> str:
    """A numbered ``align`` environment from rows ``lhs &= rhs``."""
    return wrap(" \\\\\n".join(rows), "align")


def md_math(latex_body: str) -> str:
    """A display equation for Markdown: ``align`` bodies become ``aligned`` in ``$$``."""
    body = re.sub(r"\\begin\{align\*?\}", r"\\begin{aligned}", latex_body)
    body = re.sub(r"\\end\{align\*?\}", r"\\end{aligned}", body)
    body = body.replace(r"\notag", "")
    return f"$$\n{body}\n$$"


def tex_text(text: str) -> str:
    """Escape the few characters of plain text that LaTeX treats specially."""
    return text.replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")


def tex_mixed(text: str) -> str:
    """Text with ``$...$`` math: escape only the plain parts (captions)."""
    parts = text.split("$")
    return "$".join(p if i % 2 else tex_text(p) for i, p in enumerate(parts))


def plain_text(text: str) -> str:
    """Text with ``$...$`` math reduced to readable plain text (Markdown image alt text)."""
    text = re.sub(r"\\(mathrm|text|operatorname)\{([^}]*)\}", r"\2", text)
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text)
    return re.sub(r"[${}^]", "", text).replace("  ", " ")


def leak_heading(leak: sp.Expr) -> str:
    """The leak for headings, in math: ``$\\alpha$`` or the number."""
    return r"$\alpha$" if leak_text(leak) == "alpha" else leak_text(leak)


def jsonable(obj):
    """Turn NumPy scalars/arrays and SymPy objects into JSON types (recursively)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        return float(obj) if np.isfinite(obj) else str(float(obj))
    if isinstance(obj, sp.Basic):
        return str(obj)
    return obj


def write_section(section: Section, out: Path) -> list[Path]:
    """Write a section alone: ``KEY.tex`` fragment, ``KEY.md``, ``KEY.json``, figures."""
    from ..plots import save_figure

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{section.key}.tex", out / f"{section.key}.md", out / f"{section.key}.json"]
    paths[0].write_text(section.latex + "\n")
    paths[1].write_text(f"## {section.title}\n\n{section.markdown}\n")
    payload = {"title": section.title, "data": section.data, "checks": section.checks}
    paths[2].write_text(json.dumps(jsonable(payload), indent=2) + "\n")
    for figure in section.figures:
        paths += save_figure(figure, out / "figures")
    return paths
