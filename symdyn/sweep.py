"""Sweeps: a grid of matrix mean-field runs on dask.distributed, a resumable tidy CSV and a
phase diagram.

One grid point = one (rule, beta, a_star, leak): a data-aligned student/teacher pair with
3 modes (N = 6, D = M = 3, every mode with teacher recurrence ``a_star`` and feedback
``beta``), pushed off alignment by a small seeded perturbation, integrated by the matrix
ODE to ``tau_end``.  Its row records the final loss, the off-mode residual (does the run
return to alignment?) and the integration status.

Resuming: rows are appended (and flushed) as points finish; a rerun reads the CSV and
submits only the keys it does not hold.
"""

from __future__ import annotations

import csv
import itertools
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from .errors import SymdynError

AXES = ("rule", "beta", "a_star", "leak")
COLUMNS = (*AXES, "key", "status", "loss_start", "loss_end", "residual_start",
           "residual_end", "n_evaluations", "seconds")


def point_key(point: Mapping) -> str:
    """Stable identifier of a grid point, e.g. ``rule=rflo|beta=0.5|a_star=0|leak=1``."""
    return "|".join(f"{a}={_fmt(point[a])}" for a in AXES)


def _fmt(value) -> str:
    return value if isinstance(value, str) else f"{float(value):g}"


def grid_points(grid: Mapping[str, Iterable]) -> list[dict]:
    """The Cartesian product of the axes (all four must be given)."""
    missing = [a for a in AXES if a not in grid]
    if missing:
        raise SymdynError(f"the sweep grid needs the axes {', '.join(missing)}")
    values = [list(grid[a]) for a in AXES]
    return [dict(zip(AXES, combo, strict=True)) for combo in itertools.product(*values)]


def run_point(point: Mapping, tau_end: float = 10.0, seed: int = 0,
              perturbation: float = 0.05) -> dict:
    """Integrate the matrix ODE at one grid point (runs on a worker)."""
    import numpy as np

    from .meanfield.integrate import integrate_matrices
    from .simulate import aligned_network, project_matrices

    t0 = time.perf_counter()
    leak = float(point["leak"])
    net, teacher, bases = aligned_network(
        6, 3, 3, a=0.0, b=0.3, c=0.3, a_star=float(point["a_star"]), b_star=1.0, c_star=1.0,
        beta=float(point["beta"]), leak=leak, seed=seed)
    rng = np.random.default_rng(seed + 1)
    start = [m[0] + perturbation * rng.standard_normal(m[0].shape) / np.sqrt(m.shape[-1])
             for m in (net.W, net.U, net.V)]
    row = {**{a: point[a] for a in AXES}, "key": point_key(point)}
    try:
        traj = integrate_matrices(str(point["rule"]), start,
                                  (teacher.W[0], teacher.U[0], teacher.V[0]), tau_end, leak,
                                  feedback=net.B_fb[0], n_eval=11, rtol=1e-5, atol=1e-8)
    except SymdynError as error:  # e.g. the perturbed start is already unstable
        return {**row, "status": f"error: {error}", "seconds": time.perf_counter() - t0}
    res = project_matrices(traj.W, traj.U, traj.V, bases)["residual"]
    return {**row, "status": traj.status, "loss_start": traj.loss[0], "loss_end": traj.loss[-1],
            "residual_start": res[0], "residual_end": res[-1],
            "n_evaluations": traj.n_evaluations, "seconds": time.perf_counter() - t0}


def read_rows(path: Path) -> list[dict]:
    """Rows already in a sweep CSV (none if the file does not exist)."""
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _append(path: Path, row: Mapping) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow({c: row.get(c, "") for c in COLUMNS})
        handle.flush()


def _stderr_progress(done: int, total: int, key: str) -> None:
    print(f"[sweep {done}/{total}] {key}", file=sys.stderr, flush=True)


def run_sweep(grid: Mapping[str, Iterable], out: Path, *, scheduler: str | None = None,
              n_workers: int = 2, tau_end: float = 10.0, seed: int = 0,
              progress: Callable[[int, int, str], None] | None = _stderr_progress,
              timeout: float | None = None) -> list[dict]:
    """Run every grid point not yet in ``out`` (CSV) on Dask; return all rows.

    ``scheduler``: address of an existing cluster; default a LocalCluster of
    ``n_workers`` single-threaded processes on this machine. ``timeout`` (seconds): past
    it the sweep stops with a :class:`~symdyn.errors.SymdynError`; the points finished by
    then are in ``out``, and a second call resumes from them.
    """
    from dask.distributed import Client, LocalCluster, as_completed

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {r["key"] for r in read_rows(out)}
    todo = [p for p in grid_points(grid) if point_key(p) not in done]
    total = len(done) + len(todo)
    if todo:
        cluster = None if scheduler else LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True,
            dashboard_address=None)
        client = Client(scheduler or cluster)
        try:
            futures = [client.submit(run_point, p, tau_end, seed, key=f"sweep-{point_key(p)}",
                                     pure=False) for p in todo]
            finished = len(done)
            for finished, future in enumerate(as_completed(futures, timeout=timeout),
                                              start=len(done) + 1):
                row = future.result()
                _append(out, row)
                if progress is not None:
                    progress(finished, total, row["key"])
        except TimeoutError:
            raise SymdynError(
                f"the sweep did not finish in {timeout:g} s; {finished} of {total} points "
                f"are saved in {out}: run it again to resume, or raise --timeout") from None
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    return read_rows(out)


def phase_diagram(rows: list[dict], out: Path) -> Path:
    """Heat maps of log10(final loss) over (beta, a_star), one panel per (rule, leak)."""
    import numpy as np
    from matplotlib.figure import Figure

    from .plots import LABELS

    panels = sorted({(r["rule"], r["leak"]) for r in rows})
    if not panels:
        raise SymdynError("no sweep rows to draw")
    fig = Figure(figsize=(3.2 * len(panels), 3.0), constrained_layout=True)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (rule, leak) in zip(axes, panels, strict=True):
        sel = [r for r in rows if r["rule"] == rule and r["leak"] == leak]
        betas = sorted({float(r["beta"]) for r in sel})
        stars = sorted({float(r["a_star"]) for r in sel})
        z = np.full((len(stars), len(betas)), np.nan)
        for r in sel:
            if r["status"] == "ok" and r["loss_end"] not in ("", None):
                z[stars.index(float(r["a_star"])), betas.index(float(r["beta"]))] = \
                    np.log10(max(float(r["loss_end"]), 1e-16))
        image = ax.imshow(z, origin="lower", aspect="auto", cmap="viridis",
                          extent=_extent(betas, stars))
        ax.set(title=f"{LABELS.get(rule, rule)}, leak {leak}", xlabel="beta",
               ylabel="a*")
        fig.colorbar(image, ax=ax, label="log10 final loss (blank: unstable)")
    fig.savefig(out, dpi=120)
    return Path(out)


def _extent(xs: list[float], ys: list[float]) -> tuple[float, float, float, float]:
    def edges(v: list[float]) -> tuple[float, float]:
        half = (v[-1] - v[0]) / (2 * max(len(v) - 1, 1)) or 0.5
        return v[0] - half, v[-1] + half

    return (*edges(xs), *edges(ys))
