"""symdyn sweep: a small grid on a two-worker local Dask cluster, resumed after a cut."""

from __future__ import annotations

import csv

import pytest

from symdyn.cli import main
from symdyn.errors import SymdynError
from symdyn.sweep import grid_points, point_key, read_rows, run_point, run_sweep


@pytest.mark.timeout(120)
def test_sweep_runs_resumes_and_draws(tmp_path):
    grid = {"rule": ["bptt", "rflo"], "beta": [-1.0, 1.0], "a_star": [0.5], "leak": [1.0]}
    out = tmp_path / "sweep.csv"
    seen: list[str] = []
    rows = run_sweep(grid, out, n_workers=2, tau_end=1.0,
                     progress=lambda n, total, key: seen.append(key))
    assert len(rows) == 4 and len(seen) == 4
    assert {r["key"] for r in rows} == {point_key(p) for p in grid_points(grid)}
    # an interrupted sweep: keep two rows; the rerun computes exactly the two missing points
    with out.open() as handle:
        lines = handle.readlines()
    out.write_text("".join(lines[:3]))
    kept = {r["key"] for r in read_rows(out)}
    code = main(["sweep", "--rules", "bptt,rflo", "--beta=-1,1", "--a-star", "0.5",
                 "--leak", "1", "--tau", "1", "--out", str(tmp_path), "--workers", "2"])
    assert code == 0
    rows = read_rows(out)
    assert len(rows) == 4 and len({r["key"] for r in rows}) == 4
    assert kept <= {r["key"] for r in rows}
    assert (tmp_path / "phase_diagram.png").stat().st_size > 1000
    with out.open() as handle:
        assert next(csv.reader(handle))[:4] == ["rule", "beta", "a_star", "leak"]


def test_point_is_the_matrix_ode():
    """A grid point integrates the matrix ODE from a perturbed aligned start: BPTT and
    RFLO (beta = 1) learn the teacher, and the perturbation off alignment shrinks."""
    for rule in ("bptt", "rflo"):
        row = run_point({"rule": rule, "beta": 1.0, "a_star": 0.0, "leak": 1.0}, tau_end=8.0)
        assert row["status"] == "ok" and row["loss_end"] < 1e-3 * row["loss_start"]
        assert row["residual_end"] < 0.8 * row["residual_start"]


def test_grid_needs_every_axis():
    with pytest.raises(SymdynError, match="a_star"):
        grid_points({"rule": ["bptt"], "beta": [1.0], "leak": [1.0]})
