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


#: What each README shell command must print (checked against the hand-derived or documented
#: result, not only the exit code), keyed by a substring of the command.
EXPECTED = {
    "derive --rule tbptt --truncation 1 --format latex": r"\\frac\{d",
    "validate --rule rflo --quick": r"all (applicable )?checks passed",
    # the a form: no lambda anywhere, the leak map written out as 2 - alpha - (1 - alpha) a
    "--equation b --form a --format latex": (r"^(?![\s\S]*lambda)\\begin\{align\}\s*"
                                             r"\\frac\{db\}\{d\\tau\}[\s\S]*"
                                             r"2 - \\alpha - \\left\(1 - \\alpha\\right\) a"),
    # RFLO at a* = 0: eigenvalues -b^2 beta c and -(b^2 + beta c) (hand-derived)
    "rates --rule rflo --set a_star=0": r"r = -Max\(-b\*\*2\*beta\*c, -b\*\*2 - beta\*c\)",
    # BPTT conserves b^2 - c^2 at any leak
    "invariants --rule bptt --leak alpha --format json":
        r'"invariants": \[\s*"\(b - c\)\*\(b \+ c\)"\s*\]',
    # trace decay 0: da = beta c E[e h_{t-1}], with E[h_t h_{t-1}] = a b^2/(1 - a^2) and
    # E[h*_t h_{t-1}] = a* b b*/(1 - a a*) (hand-derived at leak 1)
    "--trace-decay 0 --feedback": (r"da/dtau = -b\*beta\*c\*\(b\*c\*a\*\(1 - a\*a_star\) - "
                                   r"b_star\*c_star\*\(1 - a\*\*2\)\*a_star\)/"
                                   r"\(\(1 - a\*\*2\)\*\(1 - a\*a_star\)\)"),
    # RFLO at a* = 0 on the optimum b = c = 1: eigenvalues -b^2 beta c = +1 and
    # -(b^2 + beta c) = 0 besides the tangent zero (hand-derived at beta = -1): a positive
    # eigenvalue, so unstable whatever the zeros are.
    # 2 rules x 2 betas x 2 teachers, every run finishing inside the stationary region.
    "sweep --rules bptt,rflo --beta=-1,1 --a-star 0,0.5": r"^8 grid points in .* \(0 not ok\)",
    "stability --rule rflo --at": (r"a fixed point \(optimal manifold\)[\s\S]*eigenvalue \+?1\n"
                                   r"[\s\S]*classification: unstable"),
}


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
    expected = [pattern for key, pattern in EXPECTED.items() if key in command]
    assert expected, f"no expected output registered for the README command {command!r}"
    assert re.search(expected[0], result.stdout), result.stdout[-2000:]


def documented_shapes() -> dict[str, set[str]]:
    """The top-level keys the README documents for each command's JSON (``symdyn X``)."""
    section = README.read_text().split("### JSON shapes of the command line")[1]
    section = section.split("###")[0]
    shapes = {}
    for item in re.split(r"\n- ", section):
        command = re.match(r"`symdyn ([\w-]+)", item.strip("- \n"))
        brace = re.search(r"`\{(.*?)\}(?:`|;)", item, flags=re.S)
        if command and brace:
            depth, keys, text = 0, set(), brace.group(1)
            for token in re.finditer(r'[{}\[\]]|"(\w+)"', text):
                if token.group(0) in "{[":
                    depth += 1
                elif token.group(0) in "}]":
                    depth -= 1
                elif depth == 0:
                    keys.add(token.group(1))
            shapes[command.group(1)] = keys
    return shapes


def test_documented_json_shapes_match_the_commands():
    """Every command's JSON has exactly the top-level keys the README documents."""
    import json

    from symdyn.validation import ValidationReport, make_check

    shapes = documented_shapes()
    assert set(shapes) == {"derive", "fixed-points", "stability", "rates", "invariants",
                           "validate", "paper"}
    outputs = {
        "derive": ["derive", "--rule", "rflo", "--format", "json"],
        "fixed-points": ["fixed-points", "--rule", "bptt", "--format", "json"],
        "stability": ["stability", "--rule", "bptt", "--format", "json", "--at",
                      "a=0.5,b=1,c=1,a_star=0.5,b_star=1,c_star=1"],
        "rates": ["rates", "--rule", "bptt", "--format", "json"],
        "invariants": ["invariants", "--rule", "bptt", "--format", "json"],
    }
    for name, argv in outputs.items():
        result = subprocess.run([sys.executable, "-m", "symdyn.cli", *argv],
                                capture_output=True, text=True, timeout=300)
        assert set(json.loads(result.stdout)) == shapes[name], name
    # symdyn validate prints ValidationReport.to_dict(); the paper's keys: test_paper.py
    report = ValidationReport("rflo", None, 1.0, 0, True, [make_check("x", 1.0, 2.0)])
    assert set(report.to_dict()) == shapes["validate"]
