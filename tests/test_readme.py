"""The README's examples run: every ```python block in order, and the cheap shell ones."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
#: Shell lines not run here: installs, the full paper (tests/test_paper.py covers it).
SKIP = ("pip install", "symdyn paper")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def shell_commands() -> list[str]:
    lines = [line.strip() for block in blocks("bash") for line in block.splitlines()]
    return [line for line in lines if line and not any(s in line for s in SKIP)]


def test_readme_starts_with_the_two_commands():
    first = blocks("bash")[:2]
    assert first[0].strip() == "python3 -m pip install . && symdyn paper"
    assert first[1].strip() == 'python3 -m pip install -e ".[test,docs]" && python3 -m pytest -q'
    # Nothing but a sentence before the first code block.
    head = README.read_text().split("```")[0]
    assert "python3" not in head


def test_python_snippets_run_in_order(capsys):
    namespace: dict = {"__name__": "readme"}
    snippets = blocks("python")
    assert len(snippets) >= 5
    for i, code in enumerate(snippets):
        try:
            exec(compile(code, f"README.md python block {i + 1}", "exec"), namespace)
        except Exception as error:  # pragma: no cover - the message names the block
            pytest.fail(f"README python block {i + 1} failed: {error!r}\n{code}")
    out = capsys.readouterr().out
    assert "optimal manifold" in out and "beta*c" in out


@pytest.mark.parametrize("command", shell_commands())
def test_shell_snippets_run(command):
    argv = shlex.split(command)
    assert argv[0] == "symdyn"
    # Through the interpreter running the tests, so the checkout under test is used.
    result = subprocess.run([sys.executable, "-m", "symdyn.cli", *argv[1:]],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip()
