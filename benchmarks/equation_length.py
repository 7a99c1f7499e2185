"""Characters of each printed equation, before and after the theorist's form (#10).

"before" is ``str`` of the expression as :func:`symdyn.derive` stores it (public symbols,
numerator expanded); "after" is the text of :meth:`LearningODE.equations` in the form
``lambda`` (working variables) and ``a`` (public symbols), as ``symdyn derive`` prints it.
Run ``python benchmarks/equation_length.py``; the headline is RFLO's ``da/dtau`` with a
symbolic leak.
"""

from __future__ import annotations

import sympy as sp

from symdyn import derive
from symdyn.pretty import text

CASES = (("rflo", "alpha"), ("bptt", "alpha"), ("tbptt", "alpha"), ("bptt", "1"))


def lengths(rule: str, leak: str) -> list[tuple[str, int, int, int]]:
    """(equation, before, after in lambda, after in a) for one rule and leak."""
    ode = derive(rule, leak)
    before = {s.name: ode.rhs[i] for i, s in enumerate(ode.state)} | {"loss": ode.loss}
    in_lambda, in_a = ode.equations("lambda"), ode.equations("a")
    return [(key, len(sp.sstr(before[key])), len(text(in_lambda[key])), len(text(in_a[key])))
            for key in before]


def main() -> None:
    print(f"{'rule':6} {'leak':5} {'eq':5} {'before':>7} {'lambda':>7} {'a':>7}")
    for rule, leak in CASES:
        for key, before, lam, a in lengths(rule, leak):
            print(f"{rule:6} {leak:5} {key:5} {before:7d} {lam:7d} {a:7d}")


if __name__ == "__main__":
    main()
