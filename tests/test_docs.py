"""The documentation site builds with warnings as errors, and every place that states the
version agrees with ``symdyn.__version__``.

The build runs only when Sphinx and its extensions are installed (the ``docs`` extra),
except under CI, where a missing extension must fail rather than skip.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import symdyn

ROOT = Path(__file__).resolve().parents[1]
EXTENSIONS = ("sphinx", "myst_nb", "sphinxarg")
MISSING = [name for name in EXTENSIONS if importlib.util.find_spec(name) is None]
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")


@pytest.mark.skipif(bool(MISSING) and not IN_CI,
                    reason=f"the docs extra is not installed (missing {', '.join(MISSING)})")
@pytest.mark.timeout(900)
def test_site_builds_without_warnings(tmp_path):
    """``sphinx -W``: theory, gallery (notebooks executed or taken from the cache), CLI and
    API reference. A docstring that is not valid reStructuredText fails here."""
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
               "-d", str(tmp_path / "doctrees"), "docs", str(tmp_path / "html")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=850)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    html = tmp_path / "html"
    for page in ("index", "theory", "gallery", "cli", "api", "changelog"):
        assert (html / f"{page}.html").is_file(), page
    notebooks = sorted(p.stem for p in (ROOT / "derivations").glob("*.ipynb"))
    assert notebooks, "the gallery has no notebooks"
    for name in notebooks:
        page = (html / "derivations" / f"{name}.html").read_text()
        assert "cell_output" in page, f"gallery page {name} has no outputs"
    assert list((html / "_images").glob("*.png")), "the gallery's figures are missing"
    cli = (html / "cli.html").read_text()
    for command_name in ("derive", "fixed-points", "stability", "validate", "paper"):
        assert command_name in cli
    assert symdyn.__version__ in (html / "index.html").read_text()


def test_version_is_stated_once():
    """pyproject reads the version from ``symdyn.__version__``; CITATION.cff and the
    changelog state the same one."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert 'version = {attr = "symdyn.__version__"}' in pyproject
    citation = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf"^version: {re.escape(symdyn.__version__)}$", citation, re.M)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## {symdyn.__version__}" in changelog


def test_citation_cites_the_paper():
    citation = (ROOT / "CITATION.cff").read_text()
    assert "2606.00243" in citation
    assert "Dynamics and Representation Structure of Local Approximations" in citation
    for author in ("Payeur", "Williams", "Lajoie"):
        assert f"family-names: {author}" in citation
