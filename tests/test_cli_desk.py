"""The complete command line (#10): --set, a custom rule from the shell, one equation and
its form, ``symdyn rates`` and ``symdyn invariants``, help on every option.

Outputs are checked against hand-derived values: RFLO's spectrum at a* = 0 on the optimum
is {-b^2 beta c, -(b^2 + beta c)}; BPTT at leak 1 has db/dtau = -c E, dc/dtau = -b E with
E = b c / (1 - a^2) - b* c* / (1 - a a*).
"""

from __future__ import annotations

import argparse
import json

import pytest
import sympy as sp

import symdyn as sd
from symdyn import symbols as S
from symdyn.cli import build_parser, main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_rates_at_a_star_0_match_hand_derived_eigenvalues(capsys):
    code, out, _ = run(capsys, "rates", "--rule", "rflo", "--set", "a_star=0", "--format",
                       "json", "--at", "a=0,b=1,c=2,a_star=0,b_star=1,c_star=2,beta=0.5")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"rule", "truncation", "leak", "fixed", "rate",
                         "slowest_eigenvalue", "at"}
    assert data["fixed"] == {"a_star": "0"}
    b, c, beta = S.b, S.c, S.beta
    rate = S.sympify(data["rate"])
    for values in ({b: 1.0, c: 2.0, beta: 0.5}, {b: 0.7, c: 1.3, beta: 2.0},
                   {b: -1.2, c: -0.4, beta: 0.3}):
        hand = min(float((b**2 * beta * c).subs(values)), float((b**2 + beta * c).subs(values)))
        assert float(rate.subs(values)) == pytest.approx(hand, rel=1e-12)
    # b = 1, c = 2, beta = 0.5: eigenvalues -1 and -2, so r = 1 (numeric eigenvalues).
    assert data["at"]["rate"] == pytest.approx(1.0, rel=1e-9)


def test_invariants_of_bptt_are_conserved_by_the_hand_written_field(capsys):
    code, out, _ = run(capsys, "invariants", "--rule", "bptt", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["degree"] == 2 and len(data["invariants"]) == 1
    a, b, c = S.a, S.b, S.c
    e = b * c / (1 - a**2) - S.b_star * S.c_star / (1 - a * S.a_star)
    field = {b: -c * e, c: -b * e}  # Q has no a: da/dtau is not needed
    q = S.sympify(data["invariants"][0])
    assert sp.diff(q, a) == 0
    assert sp.cancel(sum(sp.diff(q, v) * f for v, f in field.items())) == 0
    assert sp.expand(q) != 0


def test_set_specialises_fixed_points(capsys):
    code, out, _ = run(capsys, "fixed-points", "--rule", "rflo", "--set", "a_star=0")
    assert code == 0 and "stable iff beta*c > 0" in out and "a_star = 0" in out


def test_custom_rule_from_the_shell_equals_the_named_rule(capsys):
    code, out, _ = run(capsys, "derive", "--rule", "mine", "--trace-decay", "lam",
                       "--feedback", "c", "--leak", "0.5", "--format", "json")
    assert code == 0
    data = json.loads(out)
    bptt = sd.derive("bptt", "0.5")
    assert data["rule"] == "mine"
    for i, key in enumerate("abc"):
        assert sp.cancel(S.sympify(data["rhs"][key]) - bptt.rhs[i]) == 0


def test_one_equation_in_either_form(capsys):
    code, out, _ = run(capsys, "derive", "--rule", "rflo", "--leak", "alpha", "--equation",
                       "b", "--format", "latex", "--form", "a")
    assert code == 0
    assert "\\frac{db}{d\\tau}" in out and "\\frac{da}{d\\tau}" not in out
    assert "lambda" not in out
    code, out, _ = run(capsys, "derive", "--rule", "rflo", "--leak", "alpha", "--equation",
                       "c")
    assert "dc/dtau" in out and "where lambda = 1 - alpha + alpha*a" in out


@pytest.mark.parametrize("args,message", [
    (("--set", "a_star"), "not of the form name=value"),
    (("--set", "alpha=1"), "cannot fix"),
    (("--trace-decay", "0"), "needs both --trace-decay and --feedback"),
])
def test_bad_options_give_one_line_errors(capsys, args, message):
    code, _, err = run(capsys, "derive", "--rule", "rflo", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_every_option_has_help_and_every_command_an_example():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        assert f"symdyn {name} " in parser.epilog, name
        for action in command._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, (name, action.option_strings)
