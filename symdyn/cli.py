"""The ``symdyn`` command line: argument parsing and formatting only, no mathematics."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from .errors import SymdynError

FORMATS = ("text", "latex", "json")


def _common(parser: argparse.ArgumentParser, formats: Sequence[str] = FORMATS) -> None:
    parser.add_argument("--rule", required=True,
                        help="bptt, tbptt, rflo, feedback_alignment or rflo_symmetric")
    parser.add_argument("--truncation", type=int, default=None, metavar="K",
                        help="truncation window k of tbptt (default 1)")
    parser.add_argument("--leak", default="1", metavar="X",
                        help="'alpha' for a symbolic leak, or a number in (0, 1] (default 1)")
    parser.add_argument("--format", choices=formats, default="text")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symdyn",
        description="Derive, analyse and check the learning dynamics of BPTT, truncated "
                    "BPTT and RFLO in data-aligned linear RNNs.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    derive = sub.add_parser("derive", help="the per-mode learning ODE of a rule")
    _common(derive)
    fixed = sub.add_parser("fixed-points", help="fixed-point sets, spectra and stability")
    _common(fixed)
    fixed.add_argument("--timeout", type=float, default=120.0,
                       help="seconds the symbolic solve may take (default 120)")
    stab = sub.add_parser("stability", help="numeric eigenvalues at a point")
    _common(stab)
    stab.add_argument("--at", required=True, metavar="POINT",
                      help='the point, e.g. "a=0.5,b=1.2,c=0.8,a_star=0.5,b_star=1,c_star=1"')
    val = sub.add_parser("validate", help="check the derived dynamics against simulation")
    _common(val, formats=("text", "json"))
    val.add_argument("--seed", type=int, default=0)
    val.add_argument("--quick", action="store_true", help="small, fast simulations")
    noise = sub.add_parser("noise", help="update noise, critical learning rate and "
                           "stationary fluctuations at a point")
    _common(noise, formats=("text", "json"))
    noise.add_argument("--at", required=True, metavar="POINT",
                       help='the point, e.g. "a=0,b=1,c=1,a_star=0,b_star=1,c_star=1,beta=1"')
    noise.add_argument("--sigma", type=float, default=0.0, metavar="S",
                       help="label-noise amplitude sigma (default 0)")
    noise.add_argument("--eta", type=float, default=0.01, metavar="E",
                       help="learning rate of the stationary fluctuations (default 0.01)")
    paper = sub.add_parser("paper", help="reproduce the paper's analysis end to end")
    paper.add_argument("--out", default="symdyn-paper", metavar="DIR")
    paper.add_argument("--quick", action="store_true",
                       help="smaller simulations, same derivations")
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
    sweep.add_argument("--tau", type=float, default=10.0, help="learning time of each run")
    sweep.add_argument("--out", default="symdyn-sweep", metavar="DIR")
    sweep.add_argument("--workers", type=int, default=2, help="local Dask worker processes")
    sweep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="an existing Dask scheduler instead of a local cluster")


def parse_point(text: str) -> dict[str, float]:
    """``"a=0.5,b=1.2"`` -> ``{"a": 0.5, "b": 1.2}``, with a clear error on bad items."""
    point: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise SymdynError(f"--at item {item!r} is not of the form name=value")
        try:
            point[name.strip()] = float(value)
        except ValueError:
            raise SymdynError(f"--at value of {name.strip()!r} is not a number: {value!r}")\
                from None
    return point


def _print(payload: dict | str) -> None:
    if isinstance(payload, dict):
        print(json.dumps(payload, indent=2))
    else:
        print(payload)


def cmd_derive(args: argparse.Namespace) -> int:
    from . import latex
    from .ode import derive

    ode = derive(args.rule, args.leak, args.truncation)
    _print({"text": lambda: str(ode), "json": ode.to_dict,
            "latex": lambda: latex.ode_latex(ode)}[args.format]())
    return 0


def cmd_fixed_points(args: argparse.Namespace) -> int:
    from . import latex
    from .analysis import fixed_points
    from .ode import derive

    report = fixed_points(derive(args.rule, args.leak, args.truncation), timeout=args.timeout)
    _print({"text": lambda: str(report), "json": report.to_dict,
            "latex": lambda: latex.fixed_points_latex(report)}[args.format]())
    return 0


def cmd_stability(args: argparse.Namespace) -> int:
    from .analysis import stability_at
    from .ode import derive

    result = stability_at(derive(args.rule, args.leak, args.truncation), parse_point(args.at))
    _print({"text": lambda: str(result), "json": result.to_dict,
            "latex": result.latex}[args.format]())
    return 0


def _progress_printer(prefix: str) -> Callable[[str, float], None]:
    def report(step: str, fraction: float) -> None:
        print(f"[{prefix} {100 * fraction:5.1f}%] {step}", file=sys.stderr, flush=True)

    return report


def cmd_validate(args: argparse.Namespace) -> int:
    from .validation import run_validation

    report = run_validation(args.rule, truncation=args.truncation, leak=args.leak,
                            seed=args.seed, quick=args.quick,
                            progress=_progress_printer("validate"))
    _print(report.to_dict() if args.format == "json" else report.table())
    return 0 if report.passed else 1


def cmd_noise(args: argparse.Namespace) -> int:
    from .analysis.noise_report import noise_report
    from .ode import derive

    report = noise_report(derive(args.rule, args.leak, args.truncation), parse_point(args.at),
                          args.sigma, args.eta)
    _print(report.to_dict() if args.format == "json" else str(report))
    return 0


def cmd_paper(args: argparse.Namespace) -> int:
    from .paper import run_paper

    result = run_paper(args.out, quick=args.quick, progress=_progress_printer("paper"))
    print(result.summary())
    return 0 if result.ok else 1


def _numbers(text: str, what: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SymdynError(f"--{what} must be comma-separated numbers, got {text!r}") from None


def cmd_sweep(args: argparse.Namespace, progress=None) -> int:
    from pathlib import Path

    from .sweep import phase_diagram, run_sweep

    grid = {"rule": [r.strip() for r in args.rules.split(",") if r.strip()],
            "beta": _numbers(args.beta, "beta"), "a_star": _numbers(args.a_star, "a-star"),
            "leak": _numbers(args.leak, "leak")}
    out = Path(args.out)
    rows = run_sweep(grid, out / "sweep.csv", scheduler=args.scheduler,
                     n_workers=args.workers, tau_end=args.tau)
    figure = phase_diagram(rows, out / "phase_diagram.png")
    failed = sum(r["status"] != "ok" for r in rows)
    print(f"{len(rows)} grid points in {out / 'sweep.csv'} ({failed} not ok); figure {figure}")
    return 0


COMMANDS = {"derive": cmd_derive, "fixed-points": cmd_fixed_points,
            "stability": cmd_stability, "validate": cmd_validate, "paper": cmd_paper,
            "sweep": cmd_sweep, "noise": cmd_noise}


def _single_threaded_blas() -> None:
    """The simulator multiplies many small matrices, where a multi-threaded BLAS only
    spin-waits (measured: ``symdyn validate`` 24 s instead of 11 s). This must happen
    before NumPy is first imported; an explicit setting in the environment wins."""
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")


def main(argv: Sequence[str] | None = None) -> int:
    _single_threaded_blas()
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (SymdynError, KeyError) as error:
        message = error.args[0] if error.args else str(error)
        print(f"symdyn: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("symdyn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `head`) closed the pipe: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
