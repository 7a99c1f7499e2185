"""Sphinx configuration of the symdyn documentation.

Build (warnings are errors): ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.

MyST-NB renders both the Markdown pages and the gallery notebooks: one parser for text,
math and notebooks, and it executes the notebooks (stored without outputs) at build time,
caching the results per notebook so that a rebuild re-runs only what changed.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document this checkout, whatever else is installed

import symdyn  # noqa: E402

project = "symdyn"
author = "the symdyn developers"
copyright = "2026, the symdyn developers"
release = symdyn.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinxarg.ext",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# --- MyST and notebooks ----------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "substitution"]
myst_substitutions = {"version": release}
myst_heading_anchors = 3
nb_execution_mode = "cache"
# Kernels inherit this process's environment; the test suite sets MPLBACKEND=Agg, which
# would keep every figure out of the pages. Let the kernel use its inline backend.
os.environ.pop("MPLBACKEND", None)
# One cache wherever the HTML goes (the test suite builds into a temporary directory).
nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache")
nb_execution_timeout = 60          # seconds per cell; each notebook runs in well under 60 s
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# --- API reference ---------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
napoleon_google_docstring = True
napoleon_numpy_docstring = True
nitpicky = False


def escape_bars(app, what, name, obj, options, lines) -> None:  # noqa: ARG001 - Sphinx hook
    """Docstrings write math as plain text, with ``|x|`` for an absolute value; to
    reStructuredText ``|x|`` is a substitution. Escape such bars outside inline literals."""
    for i, line in enumerate(lines):
        parts = line.split("``")
        parts[::2] = [ABSOLUTE.sub(r"\\|\1\\|", part) for part in parts[::2]]
        lines[i] = "``".join(parts)


ABSOLUTE = re.compile(r"(?<![\\|])\|([^|\s][^|]*?)\|(?!\|)")


def setup(app) -> None:
    app.connect("autodoc-process-docstring", escape_bars)

# --- HTML ------------------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"symdyn {release}"
html_theme_options = {
    "description": f"version {release}",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "240px",
}

# --- the gallery: derivations/*.ipynb are its sources ------------------------------------
GALLERY = DOCS / "derivations"


def copy_gallery() -> None:
    """Copy the notebooks of ``derivations/`` into the source tree as ``docs/derivations/``.

    In the repository a notebook links to the theory as ``../docs/theory.md``; inside the
    site the page sits in ``docs/derivations/``, so the link becomes ``../theory.md``.
    Unchanged notebooks are not rewritten, so the execution cache stays valid.
    """
    GALLERY.mkdir(exist_ok=True)
    sources = sorted((ROOT / "derivations").glob("*.ipynb"))
    for stale in set(GALLERY.glob("*.ipynb")) - {GALLERY / s.name for s in sources}:
        stale.unlink()
    for source in sources:
        text = re.sub(r"\(\.\./docs/", "(../", source.read_text())
        target = GALLERY / source.name
        if not target.exists() or target.read_text() != text:
            target.write_text(text)


copy_gallery()

