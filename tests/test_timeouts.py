"""--timeout on the long commands (paper, sweep): they end in time with one sentence."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from symdyn.errors import SymdynError


@pytest.mark.timeout(120)
def test_paper_timeout_ends_the_run_and_its_background_worker(tmp_path):
    env = {**os.environ, "SYMDYN_CACHE_DIR": str(tmp_path / "cache")}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "symdyn", "paper", "--quick", "--out",
                           str(tmp_path / "out"), "--timeout", "4"], capture_output=True,
                          text=True, timeout=100, env=env)
    elapsed = time.monotonic() - start
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("symdyn: error:") and "did not finish in time" in last, last
    assert "Traceback" not in done.stderr
    # the process (and its spawned validation worker) ended soon after the limit; the
    # interpreter start and imports are in the measured time too
    assert elapsed < 40, elapsed


@pytest.mark.timeout(180)
def test_sweep_timeout_keeps_finished_points_and_says_so(tmp_path):
    from symdyn.sweep import run_sweep

    grid = {"rule": ["bptt"], "beta": [1.0], "a_star": [0.0, 0.25, 0.5], "leak": [1.0]}
    with pytest.raises(SymdynError, match="did not finish in 0.01 s; .* run it again"):
        run_sweep(grid, tmp_path / "sweep.csv", n_workers=1, tau_end=50.0, timeout=0.01,
                  progress=None)
