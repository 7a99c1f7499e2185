"""The ``symdyn`` command line: argument parsing and formatting only, no mathematics.

Contract: every bad value ends in one sentence on stderr and exit code 2 (argparse's
errors included); a command that solves takes ``--timeout`` seconds, enforced by a
``SIGALRM`` timer that interrupts the computation wherever it is; a solve that runs for
more than a few seconds prints a progress line on stderr every few seconds. Only known
user errors (:class:`~symdyn.errors.SymdynError`) become exit code 2: anything else is a
bug and keeps its traceback. This module imports neither SymPy nor NumPy when loaded, so
``symdyn --help`` and ``symdyn --version`` answer at once.

The module is longer than the others (about 440 lines) because it holds the parser of
every command and their thin ``cmd_*`` functions side by side; option parsing helpers live
in :mod:`symdyn.cliopts` and the time limit and progress in :mod:`symdyn.clitools`.

A new subcommand is a function ``cmd_NAME(args) -> exit code``, an entry in
:data:`COMMANDS` and its options in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import atexit
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import NoReturn

from . import __version__
from .cliopts import (
    add_equation_options,
    add_invariants_parser,
    add_model_options,
    add_rates_parser,
    invariants_payload,
    ode_from_args,
    rates_payload,
)
from .clitools import Expired, Progress, time_limit
from .errors import SymdynError

FORMATS = ("text", "latex", "json")
MAX_TRUNCATION = 1000     # a window beyond this cannot be derived in any sensible time
MAX_SEED = 2**32 - 1      # NumPy's legacy seeding accepts no more
MAX_TIMEOUT = 1e6
#: Default --timeout (seconds) of each command that solves.
TIMEOUTS = {"derive": 300.0, "fixed-points": 120.0, "stability": 120.0, "validate": 1800.0,
            "paper": 3600.0, "sweep": 3600.0,
            "noise": 300.0, "rates": 300.0, "invariants": 300.0}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the sentence and where to look)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def one_line(text: str) -> str:
    """``text`` with line breaks shown as ``\\n``: a value typed with a newline in it must
    not split the one-line error message."""
    return "".join(c.encode("unicode_escape").decode() if len(f"a{c}b".splitlines()) > 1
                   else c for c in text)


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT):
        raise argparse.ArgumentTypeError(f"must be a number of seconds in (0, {MAX_TIMEOUT:g}]"
                                         f", got {text!r}")
    return value


def _common(parser: argparse.ArgumentParser, formats: Sequence[str] = FORMATS,
            analyses: bool = True) -> None:
    parser.add_argument("--rule", required=True,
                        help="bptt, tbptt, rflo, feedback_alignment or rflo_symmetric")
    parser.add_argument("--truncation", type=_whole(1, MAX_TRUNCATION), default=None,
                        metavar="K", help="truncation window k of tbptt (default 1)")
    parser.add_argument("--leak", default="1", metavar="X",
                        help="'alpha' for a symbolic leak, or a number in (0, 1] (default 1)")
    parser.add_argument("--format", choices=formats, default="text",
                        help="output format (default text)")
    if analyses:  # validation simulates named rules: no custom rule or fixed parameters
        add_model_options(parser)
    _no_cache(parser)


def _no_cache(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-cache", action="store_true",
                        help="neither read nor write the on-disk cache of results")


def _timeout(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("--timeout", type=_seconds, default=TIMEOUTS[command], metavar="S",
                        help=f"seconds the command may take (default {TIMEOUTS[command]:g})")


EXAMPLES = """examples, one per command:
  symdyn derive --rule rflo --leak alpha --equation a --format latex
  symdyn fixed-points --rule rflo --set a_star=0
  symdyn stability --rule bptt --at "a=0.5,b=1,c=1,a_star=0.5,b_star=1,c_star=1"
  symdyn rates --rule rflo --set a_star=0 --format json
  symdyn invariants --rule bptt --leak alpha
  symdyn derive --rule myrule --trace-decay 0 --feedback "beta*c"
  symdyn noise --rule rflo --at "a=0,b=1,c=1,a_star=0,b_star=1,c_star=1,beta=1" --sigma 0.1
  symdyn validate --rule tbptt --quick
  symdyn sweep --rules bptt,rflo --beta=-1,1 --out symdyn-sweep
  symdyn paper --quick --out symdyn-paper
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="symdyn",
        description="Derive, analyse and check the learning dynamics of BPTT, truncated "
                    "BPTT and RFLO in data-aligned linear RNNs.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"symdyn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    derive = sub.add_parser("derive", help="the per-mode learning ODE of a rule")
    _common(derive)
    add_equation_options(derive)
    _timeout(derive, "derive")
    fixed = sub.add_parser("fixed-points", help="fixed-point sets, spectra and stability")
    _common(fixed)
    _timeout(fixed, "fixed-points")
    stab = sub.add_parser("stability", help="numeric eigenvalues at a point")
    _common(stab)
    stab.add_argument("--at", required=True, metavar="POINT",
                      help='the point, e.g. "a=0.5,b=1.2,c=0.8,a_star=0.5,b_star=1,c_star=1"')
    _timeout(stab, "stability")
    val = sub.add_parser("validate", help="check the derived dynamics against simulation")
    _common(val, formats=("text", "json"), analyses=False)
    val.add_argument("--seed", type=_whole(0, MAX_SEED), default=0,
                     help="seed of every random draw (default 0)")
    val.add_argument("--quick", action="store_true", help="small, fast simulations")
    _timeout(val, "validate")
    noise = sub.add_parser("noise", help="update noise, critical learning rate and "
                           "stationary fluctuations at a point")
    _common(noise, formats=("text", "json"))
    noise.add_argument("--at", required=True, metavar="POINT",
                       help='the point, e.g. "a=0,b=1,c=1,a_star=0,b_star=1,c_star=1,beta=1"')
    noise.add_argument("--sigma", type=_finite, default=0.0, metavar="S",
                       help="label-noise amplitude sigma (default 0)")
    noise.add_argument("--eta", type=_finite, default=0.01, metavar="E",
                       help="learning rate of the stationary fluctuations (default 0.01)")
    _timeout(noise, "noise")
    paper = sub.add_parser("paper", help="reproduce the paper's analysis end to end")
    paper.add_argument("--out", default="symdyn-paper", metavar="DIR",
                       help="output directory (default symdyn-paper)")
    paper.add_argument("--quick", action="store_true",
                       help="smaller simulations, same derivations, PNG figures only")
    _no_cache(paper)
    _timeout(paper, "paper")
    for add, name in ((add_rates_parser, "rates"), (add_invariants_parser, "invariants")):
        _timeout(add(sub, _common), name)
    _sweep_parser(sub)
    return parser


def _sweep_parser(sub) -> None:
    sweep = sub.add_parser("sweep", help="a grid of matrix mean-field runs on Dask, "
                                         "a resumable CSV and a phase diagram")
    sweep.add_argument("--rules", default="bptt,rflo", help="comma-separated rule names")
    sweep.add_argument("--beta", default="-1,-0.5,0.5,1",
                       help="feedback values (write --beta=-1,1 for a leading minus)")
    sweep.add_argument("--a-star", default="-0.5,0,0.5", help="teacher recurrences a*")
    sweep.add_argument("--leak", default="1", help="leak values in (0, 1]")
    sweep.add_argument("--tau", type=_finite, default=10.0, help="learning time of each run")
    sweep.add_argument("--out", default="symdyn-sweep", metavar="DIR",
                       help="output directory (default symdyn-sweep)")
    sweep.add_argument("--workers", type=_whole(1, 256), default=2,
                       help="local Dask worker processes")
    sweep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="an existing Dask scheduler instead of a local cluster")
    # Not --timeout's SIGALRM: Dask must close its cluster in order, so the sweep stops
    # itself when the time is up and keeps every finished point for the next run.
    sweep.add_argument("--timeout", dest="budget", type=_seconds, default=TIMEOUTS["sweep"],
                       metavar="S", help="seconds the sweep may take; finished points are "
                       f"kept and a second run resumes (default {TIMEOUTS['sweep']:g})")


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


# --- values ---------------------------------------------------------------------------
def _number(name: str, text: str) -> float:
    """A finite number from ``--at`` text: decimal or ``p/q``."""
    try:
        value = float(text)
    except ValueError:
        try:
            value = float(Fraction(text.strip()))
        except (ValueError, ZeroDivisionError, OverflowError):
            raise SymdynError(f"--at value of {name!r} is not a number: {text!r}") from None
    if not math.isfinite(value):
        raise SymdynError(f"--at value of {name!r} must be a finite number, got {text!r}")
    return value


def parse_point(text: str) -> dict[str, float]:
    """``"a=0.5,b=1.2"`` -> ``{"a": 0.5, "b": 1.2}``, with a clear error on bad items,
    non-finite values and names given twice (names are checked against the ODE later)."""
    point: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = (s.strip() for s in item.partition("="))
        if not sep or not name:
            raise SymdynError(f"--at item {item!r} is not of the form name=value")
        if name in point:
            raise SymdynError(f"--at gives {name!r} twice")
        point[name] = _number(name, value)
    if not point:
        raise SymdynError("--at gives no point; write it as name=value pairs, e.g. "
                          '"a=0.5,b=1,c=1,a_star=0.5,b_star=1,c_star=1"')
    return point


def output_directory(text: str) -> Path:
    """The ``--out`` directory, created and checked writable, or one sentence why not."""
    if not text.strip():
        raise SymdynError("--out is empty; give a directory, e.g. --out symdyn-paper")
    out = Path(text)
    if out.exists() and not out.is_dir():
        raise SymdynError(f"--out {text!r} is an existing file, not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SymdynError(f"cannot write into --out {text!r}: {reason}") from None
    return out


def _print(payload: dict | str) -> None:
    if isinstance(payload, dict):
        print(json.dumps(payload, indent=2))
    else:
        print(payload)


def _timeout_message(args: argparse.Namespace, stage: str) -> str:
    remedy = f"raise --timeout (it was {args.timeout:g} s)"
    if str(getattr(args, "leak", "1")).strip() == "alpha":
        remedy += " or fix the leak to a number, e.g. --leak 1"
    return f"{stage} did not finish in time; {remedy}"


def _answer(args: argparse.Namespace, render: Callable[[], dict | str]) -> str:
    """The printed answer of a derivation command; a repeated command is answered from
    the on-disk cache (:mod:`symdyn.cache`) without importing SymPy."""
    from .cache import cached

    def text() -> str:
        payload = render()
        return json.dumps(payload, indent=2) if isinstance(payload, dict) else payload

    parts = (args.command, args.rule, args.truncation, args.leak, args.format,
             *(str(getattr(args, k, None)) for k in ("set", "trace_decay", "feedback",
                                                     "equation", "form", "degree", "at")))
    return cached("answer", parts, text)


# --- commands -----------------------------------------------------------------------------
def _title(args: argparse.Namespace) -> str:
    k = f" (k = {args.truncation})" if args.truncation is not None else ""
    return f"{args.rule}{k} at leak {args.leak}"


def _derive(args: argparse.Namespace, progress: Progress):
    progress.stage = f"deriving the learning ODE of {_title(args)}"
    return ode_from_args(args)


def cmd_derive(args: argparse.Namespace, progress: Progress) -> int:
    def render() -> dict | str:
        from . import latex

        ode = _derive(args, progress)
        equation, form = args.equation, args.form
        return {"text": lambda: ode.text(form, equation), "json": ode.to_dict,
                "latex": lambda: latex.ode_latex(ode, form=form, equation=equation)
                }[args.format]()

    print(_answer(args, render))
    return 0


def cmd_fixed_points(args: argparse.Namespace, progress: Progress) -> int:
    def render() -> dict | str:
        from . import latex
        from .analysis import fixed_points

        ode = _derive(args, progress)
        progress.stage = f"finding and classifying the fixed points of {_title(args)}"
        report = fixed_points(ode, timeout=args.timeout)
        return {"text": lambda: str(report), "json": report.to_dict,
                "latex": lambda: latex.fixed_points_latex(report)}[args.format]()

    print(_answer(args, render))
    return 0


def cmd_stability(args: argparse.Namespace, progress: Progress) -> int:
    from .analysis import stability_at

    point = parse_point(args.at)   # bad values fail before any derivation
    ode = _derive(args, progress)
    progress.stage = f"eigenvalues and fixed-point sets of {_title(args)}"
    result = stability_at(ode, point, timeout=args.timeout)
    _print({"text": lambda: str(result), "json": result.to_dict,
            "latex": result.latex}[args.format]())
    return 0


def cmd_validate(args: argparse.Namespace, progress: Progress) -> int:
    from .validation import run_validation

    progress.stage = f"validating {_title(args)}"
    report = run_validation(args.rule, truncation=args.truncation, leak=args.leak,
                            seed=args.seed, quick=args.quick,
                            progress=progress.report("validate"))
    _print(report.to_dict() if args.format == "json" else report.table())
    return 0 if report.passed else 1


def cmd_noise(args: argparse.Namespace, progress: Progress) -> int:
    from .analysis.noise_report import noise_report

    point = parse_point(args.at)
    ode = _derive(args, progress)
    progress.stage = f"update noise of {_title(args)}"
    report = noise_report(ode, point, args.sigma, args.eta)
    _print(report.to_dict() if args.format == "json" else str(report))
    return 0


def _numbers(text: str, what: str) -> list[float]:
    values = []
    for item in (x for x in text.split(",") if x.strip()):
        try:
            values.append(float(item))
        except ValueError:
            raise SymdynError(f"--{what} must be comma-separated numbers, got {text!r}") \
                from None
        if not math.isfinite(values[-1]):
            raise SymdynError(f"--{what} must be finite numbers, got {text!r}")
    return values


def cmd_sweep(args: argparse.Namespace, progress: Progress) -> int:
    grid = {"rule": [r.strip() for r in args.rules.split(",") if r.strip()],
            "beta": _numbers(args.beta, "beta"), "a_star": _numbers(args.a_star, "a-star"),
            "leak": _numbers(args.leak, "leak")}
    out = output_directory(args.out)
    from .sweep import phase_diagram, run_sweep

    progress.stage = f"sweeping {len(grid['rule'])} rules on Dask"
    rows = run_sweep(grid, out / "sweep.csv", scheduler=args.scheduler,
                     n_workers=args.workers, tau_end=args.tau, timeout=args.budget)
    figure = phase_diagram(rows, out / "phase_diagram.png")
    failed = sum(r["status"] != "ok" for r in rows)
    print(f"{len(rows)} grid points in {out / 'sweep.csv'} ({failed} not ok); figure {figure}")
    return 0


def cmd_rates(args: argparse.Namespace, progress: Progress) -> int:
    point = parse_point(args.at) if args.at else None
    progress.stage = f"the convergence rate of {_title(args)}"
    text, data, tex = rates_payload(args, point)
    _print({"text": text, "json": data, "latex": tex}[args.format])
    return 0


def cmd_invariants(args: argparse.Namespace, progress: Progress) -> int:
    progress.stage = f"the conserved quantities of {_title(args)}"
    print(_answer(args, lambda: dict(zip(("text", "json", "latex"),
                                         invariants_payload(args), strict=True))[args.format]))
    return 0


def cmd_paper(args: argparse.Namespace, progress: Progress) -> int:
    out = output_directory(args.out)   # before the heavy imports: a bad path fails at once
    from .paper import run_paper

    with progress.paused():  # the steps' worker processes fork from a single thread
        result = run_paper(out, quick=args.quick, progress=progress.report("paper"))
    print(result.summary())
    return 0 if result.ok else 1


COMMANDS: dict[str, Callable[[argparse.Namespace, Progress], int]] = {
    "derive": cmd_derive, "fixed-points": cmd_fixed_points, "stability": cmd_stability,
    "validate": cmd_validate, "paper": cmd_paper, "sweep": cmd_sweep, "noise": cmd_noise,
    "rates": cmd_rates, "invariants": cmd_invariants}


def _error(message: str) -> int:
    print(f"symdyn: error: {one_line(message)}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "no_cache", False):  # the environment reaches every layer (and children)
        os.environ["SYMDYN_NO_CACHE"] = "1"
    progress = Progress(f"running symdyn {args.command}")
    try:
        with progress, time_limit(getattr(args, "timeout", None)):
            return COMMANDS[args.command](args, progress)
    except Expired:
        return _error(_timeout_message(args, progress.stage))
    except SymdynError as error:
        return _error(str(error.args[0]) if error.args else str(error))
    except KeyboardInterrupt:
        print("symdyn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `head`) closed the pipe: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def run() -> NoReturn:
    """The ``symdyn`` script and ``python -m symdyn``: :func:`main`, then a quick exit.

    After the command the interpreter would tear itself down object by object (every
    module's namespace, SymPy's caches, a final garbage collection): 0.7 to 1.2 s after
    ``symdyn paper``, measured, against nothing when the operating system takes the
    process's memory back at once. So the exit handlers run (``atexit``: multiprocessing
    removes its temporary directories there), the output is flushed, and the process
    ends with ``os._exit``. Where ``atexit`` lacks the hook to run its handlers, the
    ordinary exit."""
    code = main()
    run_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_handlers is None:
        sys.exit(code)
    run_handlers()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader left: nothing more to say, as in main
        code = code or 141
    os._exit(code)


if __name__ == "__main__":
    run()
