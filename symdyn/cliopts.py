"""Command-line options shared by the analysing commands, and the ``rates`` and
``invariants`` commands (#10): a rule by name or from the shell, ``--set`` to specialise
parameters, one equation and its form. Parsing and formatting only, no mathematics.
"""

from __future__ import annotations

import argparse

from .errors import SymdynError


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """``--set``, ``--trace-decay`` and ``--feedback`` (a custom rule named by ``--rule``)."""
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="fix a parameter before the analysis (a_star, b_star, c_star or beta), "
             "e.g. --set a_star=0; repeat for several")
    parser.add_argument(
        "--trace-decay", default=None, metavar="EXPR",
        help="custom rule: eligibility-trace decay kappa, in lam (= 1 - alpha + alpha a), "
             "alpha and the public symbols, e.g. 'lam' (BPTT) or 0 (RFLO at leak 1); "
             "--rule then names the rule")
    parser.add_argument(
        "--feedback", default=None, metavar="EXPR",
        help="custom rule: feedback signal f, e.g. c (exact gradient) or beta (random "
             "feedback); needs --trace-decay")


def parse_sets(items: list[str]) -> dict[str, str]:
    """``["a_star=0", "beta=2"]`` -> ``{"a_star": "0", "beta": "2"}`` (values stay text,
    so ``1/2`` stays exact)."""
    values: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise SymdynError(f"--set {item!r} is not of the form name=value")
        values[name.strip()] = value.strip()
    return values


def rule_from_args(args: argparse.Namespace):
    """The rule name, or a :class:`~symdyn.rules.Rule` built from ``--trace-decay`` and
    ``--feedback`` (with ``--truncation`` as its window)."""
    from .rules import Rule

    custom = (getattr(args, "trace_decay", None), getattr(args, "feedback", None))
    if custom == (None, None):
        return args.rule
    if None in custom:
        raise SymdynError("a custom rule needs both --trace-decay and --feedback")
    return Rule(args.rule, custom[0], custom[1], args.truncation,
                "custom rule from the command line")


def ode_from_args(args: argparse.Namespace):
    """The learning ODE the options describe: derived, then specialised by ``--set``."""
    from .ode import derive
    from .rules import Rule

    rule = rule_from_args(args)
    truncation = None if isinstance(rule, Rule) else args.truncation
    ode = derive(rule, args.leak, truncation)
    sets = parse_sets(getattr(args, "set", []) or [])
    try:
        return ode.specialize(sets) if sets else ode
    except KeyError as error:  # an unknown name: one sentence, not a traceback
        raise SymdynError(str(error.args[0])) from None


def add_equation_options(parser: argparse.ArgumentParser) -> None:
    """``--equation`` and ``--form`` of ``symdyn derive``."""
    parser.add_argument("--equation", choices=("a", "b", "c", "loss"), default=None,
                        help="print only this equation (da/dtau, db/dtau, dc/dtau or the "
                             "loss)")
    parser.add_argument("--form", choices=("lambda", "a"), default=None,
                        help="write the equations in lambda = 1 - alpha + alpha a and "
                             "lambda* (default when the leak is not 1) or in a and a*")


def add_rates_parser(sub, common) -> argparse.ArgumentParser:
    rates = sub.add_parser(
        "rates", help="closed-form convergence rate on the optimal manifold",
        description="The rate r = -max Re(mu) over the non-zero Jacobian eigenvalues on "
                    "the optimal manifold, in closed form; --at evaluates it numerically.")
    common(rates)
    rates.add_argument("--at", default=None, metavar="POINT",
                       help='a point of the optimal manifold, e.g. '
                            '"a=0,b=1,c=1,a_star=0,b_star=1,c_star=1,beta=1"')
    return rates


def add_invariants_parser(sub, common) -> argparse.ArgumentParser:
    inv = sub.add_parser(
        "invariants", help="polynomials in (a, b, c) conserved by the learning dynamics",
        description="A basis of the polynomial conserved quantities of degree <= --degree "
                    "(constants dropped); e.g. BPTT conserves b^2 - c^2 at leak 1.")
    common(inv)
    inv.add_argument("--degree", type=int, default=2, metavar="D",
                     help="largest total degree searched (default 2)")
    return inv


def _header(ode) -> dict:
    from .model import leak_text

    return {"rule": ode.rule.name, "truncation": ode.rule.truncation,
            "leak": leak_text(ode.leak), "fixed": {s.name: str(v) for s, v in ode.fixed}}


def rates_payload(args: argparse.Namespace, point: dict[str, float] | None):
    """(text, json dict, latex) of ``symdyn rates``."""
    from .analysis import convergence_rate, fixed_points
    from .latex import rows_for, wrap
    from .pretty import text, theorist

    ode = ode_from_args(args)
    report = fixed_points(ode, timeout=args.timeout)
    rate = convergence_rate(ode, report["optimal"])
    if point:  # a parameter fixed by --set may be repeated in the point: it is known
        fixed = {s.name for s, _ in ode.fixed}
        point = {k: v for k, v in point.items() if k not in fixed}
    value = rate.at(point) if point else None
    data = {**_header(ode), "rate": str(rate.rate),
            "slowest_eigenvalue": str(rate.slowest_eigenvalue),
            "at": None if point is None else {"point": point, "rate": value}}
    # A rational rate is printed as a theorist writes it; one with sqrt or Max as is.
    shown = text(theorist(rate.rate)) if rate.rate.is_rational_function() else str(rate.rate)
    lines = [f"convergence rate of {ode.title} at the optimum:", f"  r = {shown}"]
    if point:
        lines.append(f"  at {point}: r = {value:.10g}")
    return "\n".join(lines), data, wrap("\n".join(rows_for("r", rate.rate)))


def invariants_payload(args: argparse.Namespace):
    """(text, json dict, latex) of ``symdyn invariants``."""
    import sympy as sp

    from .analysis import conserved_quantities
    from .latex import tex, wrap

    if args.degree < 1:
        raise SymdynError(f"--degree must be at least 1, got {args.degree}")
    ode = ode_from_args(args)
    found = conserved_quantities(ode, args.degree)
    data = {**_header(ode), "degree": args.degree, "invariants": [str(q) for q in found]}
    lines = [f"conserved quantities of {ode.title} (degree <= {args.degree}):"]
    lines += [f"  {sp.expand(q)}" for q in found] or ["  none"]
    rows = " \\\\\n".join(f"Q_{{{i + 1}}} &= {tex(q)}" for i, q in enumerate(found))
    return "\n".join(lines), data, wrap(rows or r"&\text{none}")
