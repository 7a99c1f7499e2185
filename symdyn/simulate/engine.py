"""Online simulation: per-step SGD training and frozen-weight Monte Carlo expected updates.

Two implementations of the same loops: :class:`Runner` with the rules of ``rules.py`` is
the NumPy reference, the readable statement of each step; ``kernels.py`` (numba), driven
by ``compiled.py``, repeats its arithmetic in compiled chunks of steps, 5-25x faster at
the small sizes of the validation, with the same random streams and results equal to
rounding.  :func:`train` and :func:`expected_update_mc` choose (``_compiled_path``): the
compiled loops when numba is installed (RTRL's products by BLAS inside them from
N = kernels.BLAS_FROM_N on, and from kernels.CHUNK_MIN_N on with S kept only every
kernels.CHUNK_STEPS steps: the same numbers to rounding); the environment variable
``SYMDYN_SIMULATOR=numpy`` forces the reference.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
from threadpoolctl import threadpool_limits

from .networks import (
    Bases,
    Network,
    Teacher,
    UnstableNetworkError,
    check_leak,
    check_stable,
    project_matrices,
)
from .rules import MatrixRule, make_rule

__all__ = ["Runner", "SimulationTimeout", "TrainResult", "draw_inputs", "expected_update_mc",
           "summed_updates", "train", "warm_up"]

RECORDABLE = ("loss", "W", "U", "V")
INPUT_CHUNK = 1024  # inputs are drawn in chunks: one RNG call per chunk, not per step
#: Steps between stability (and time) checks, one batched eigvals each (~1 ms at N = 32,
#: B = 16).  The compiled loops return to Python at each check and at each input chunk's
#: end, so the two coincide: at 250 the trajectory runs of the full validation stopped 4-5
#: times per chunk (BPTT at N = 8: train CPU -10 to -20 % at 1024 instead of 250, same
#: numbers; a diverging run is stopped at most 1024 steps after it left the stable region).
CHECK_EVERY = INPUT_CHUNK
#: BLAS threads inside the hot loops.  The simulator multiplies many small matrices, on
#: which a multi-threaded BLAS only spin-waits (measured: ``symdyn validate`` twice as
#: slow); limiting it here, around the loops, leaves the rest of the process alone.
BLAS_THREADS = 1
#: Which implementation runs the loops of `train` and `expected_update_mc`: "auto" (the
#: default: compiled whenever numba is installed), "numba" (always compiled) or "numpy" (always the
#: reference).  Read at each call from the environment variable of this name.
SIMULATOR_ENV = "SYMDYN_SIMULATOR"


def warm_up() -> bool:
    """Import numba and compile (or load from numba's cache) the compiled loops now, rather
    than in the first simulation; True if the compiled path is available.

    A parent process that forks workers can call it once, so that no worker pays it
    (~1 s: import numba and the cache load; ~10 s when the cache is empty)."""
    fast = _compiled_path("rflo", 1)
    if fast is not None:
        fast.warm()
    return fast is not None


def _blas_limit(fast: ModuleType | None, rule: str, n: int) -> contextlib.AbstractContextManager:
    """The BLAS thread limit (BLAS_THREADS) around a loop that calls BLAS: the NumPy
    reference (``fast`` None) and compiled RTRL from kernels.BLAS_FROM_N hidden units on
    (its products J S, N x N by N x N^2, and those of the chunked fold go to BLAS); no
    limit (and no threadpoolctl call, ~1 ms) around the compiled loops that do not call
    BLAS.

    numba's np.dot calls the BLAS of scipy.linalg.cython_blas, loaded here first: a
    library loaded inside the ``with`` escapes its limit (measured: BLAS threads spinning,
    2-20 ms a step instead of 0.43)."""
    if fast is not None and not (rule == "bptt" and n >= fast.kernels.BLAS_FROM_N):
        return contextlib.nullcontext()
    if fast is not None:
        import scipy.linalg.cython_blas  # noqa: F401
    return threadpool_limits(limits=BLAS_THREADS, user_api="blas")


class SimulationTimeout(RuntimeError):
    """Raised when a run exceeds the wall-clock time it was given (``max_seconds``)."""


class _Inputs:
    """White Gaussian inputs x_t ~ N(0, I_D), shape (B, D) per step, reproducible from seed.

    Drawn in chunks of INPUT_CHUNK steps, the last one cut to the ``total`` steps the run
    needs when it is given (a 400-step Monte Carlo run drew 1024 steps of inputs, and the
    large-batch runs of the noise checks make hundreds of them): successive draws of one
    generator, so the inputs are the same numbers whatever the chunks.
    """

    def __init__(self, batch: int, d: int, seed: int, total: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)
        self.batch, self.d, self.left = batch, d, total
        self.buf = self._draw()
        self.i = 0

    @classmethod
    def given(cls, xs: np.ndarray, total: int, shape: tuple) -> _Inputs:
        """The inputs ``xs`` (total, B, D) of a network of ``shape`` (B, N, D, M), as if
        drawn (one chunk: ``take`` serves them in the same pieces the driver asks for)."""
        if xs.shape != (total, shape[0], shape[2]):
            raise ValueError(f"inputs must have shape {(total, shape[0], shape[2])}, "
                             f"got {xs.shape}")
        inputs = cls.__new__(cls)
        inputs.rng, inputs.batch, inputs.d, inputs.left = None, shape[0], shape[2], 0
        inputs.buf, inputs.i = xs, 0
        return inputs

    def _draw(self) -> np.ndarray:
        rows = INPUT_CHUNK if self.left is None else max(1, min(INPUT_CHUNK, self.left))
        if self.left is not None:
            self.left -= rows
        return self.rng.standard_normal((rows, self.batch, self.d))

    def next(self) -> np.ndarray:
        return self.take(1)[0]

    def take(self, n: int) -> np.ndarray:
        """The next min(n, rest of the current chunk) inputs, shape (<= n, B, D)."""
        if self.i == self.buf.shape[0]:
            self.buf = self._draw()
            self.i = 0
        m = min(n, self.buf.shape[0] - self.i)
        self.i += m
        return self.buf[self.i - m:self.i]


def _compiled_path(rule: str, n: int) -> ModuleType | None:
    """The compiled drivers (symdyn.simulate.compiled) if they should run this simulation,
    else None for the NumPy reference.

    "auto" compiles every rule (RTRL from kernels.BLAS_FROM_N hidden units on with its
    products by BLAS), and uses the reference when numba is not installed: the package
    works without numba, only slower (5-25x at the validation's sizes,
    benchmarks/simulate.py).  numba is imported here, when a simulation runs, never at the
    import of symdyn.
    """
    mode = os.environ.get(SIMULATOR_ENV, "auto").strip().lower() or "auto"
    if mode not in ("auto", "numba", "numpy"):
        raise ValueError(f"{SIMULATOR_ENV} must be auto, numba or numpy, got {mode!r}")
    if mode == "numpy":
        return None
    try:
        import numba  # noqa: F401
    except ImportError as err:
        if mode == "numba":
            raise ValueError(f"{SIMULATOR_ENV}=numba, but numba cannot be imported: {err}"
                             ) from None
        return None
    from . import compiled
    return compiled


class Runner:
    """Student + teacher + rule traces, advanced one step at a time (no weight updates).

    `step(x)` computes h_t, h*_t, advances the rule's traces, forms e_t = V* h*_t - V h_t and
    returns the raw directions (dW, dU, dV) = update / eta, plus the per-step loss ½|e_t|²
    (B,).  It reads `net`'s arrays at each call, so the caller may update them in place.
    Both networks start at rest (h_0 = h*_0 = 0).  With `label_noise` sigma > 0 the target
    is y*_t = V* h*_t + sigma xi_t, xi_t ~ N(0, I_M) white, drawn from its own generator
    seeded by `noise_seed` (so sigma = 0 leaves every other random draw unchanged).
    """

    def __init__(self, net: Network, teacher: Teacher, rule: str, leak: float,
                 truncation: int = 1, label_noise: float = 0.0, noise_seed: int = 0) -> None:
        if not np.isfinite(label_noise) or label_noise < 0:
            raise ValueError(f"label_noise must be finite and >= 0, got {label_noise}")
        self.sigma = float(label_noise)
        self.noise_rng = np.random.default_rng((noise_seed, 1))
        self.leak = check_leak(leak)
        _check_pair(net, teacher)
        b, n, d, _ = net.shape
        self.net, self.teacher, self.truncation = net, teacher, truncation
        self.rule: MatrixRule = make_rule(rule, b, n, d, self.leak, truncation)
        self.h = np.zeros((b, n))
        self.hs = np.zeros((b, n))

    def _propagate(self, W: np.ndarray, U: np.ndarray, h: np.ndarray, x: np.ndarray
                   ) -> np.ndarray:
        """(1 - alpha) h + alpha (W h + U x), batched."""
        drive = np.matmul(W, h[..., None])[..., 0] + np.matmul(U, x[..., None])[..., 0]
        return (1.0 - self.leak) * h + self.leak * drive

    def step(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        net, t = self.net, self.teacher
        h_prev = self.h
        self.h = self._propagate(net.W, net.U, h_prev, x)
        self.hs = self._propagate(t.W, t.U, self.hs, x)
        self.rule.advance(net.W, h_prev, x)
        e = np.matmul(t.V, self.hs[..., None])[..., 0] - np.matmul(net.V, self.h[..., None])[..., 0]
        if self.sigma:
            e = e + self.sigma * self.noise_rng.standard_normal(e.shape)
        dW, dU = self.rule.directions(net.V, net.B_fb, e)
        dV = e[:, :, None] * self.h[:, None, :]
        return dW, dU, dV, 0.5 * np.sum(e * e, axis=1)


def _check_pair(net: Network, teacher: Teacher) -> None:
    if net.shape != teacher.shape:
        raise ValueError(f"student shape (B,N,D,M)={net.shape} != teacher {teacher.shape}")


@dataclass
class TrainResult:
    """Output of `train`.

    steps (n_rec,): step index t at the end of each record window (t counts from 1);
    loss (n_rec, B): mean of ½|e_t|² over the window; W/U/V (n_rec, B, ...): weights after the
    update at those steps (None unless recorded); initial/final: copies of the networks.
    """

    steps: np.ndarray
    loss: np.ndarray | None
    W: np.ndarray | None
    U: np.ndarray | None
    V: np.ndarray | None
    initial: Network
    final: Network
    rule: str = ""
    eta: float = 0.0
    leak: float = 1.0
    truncation: int = 1
    meta: dict = field(default_factory=dict)


def _validate_train(rule: str, eta: float, n_steps: int, record_every: int,
                    record: Sequence[str]) -> None:
    bad = [r for r in record if r not in RECORDABLE]
    if bad:
        raise ValueError(f"cannot record {bad}; valid: {', '.join(RECORDABLE)}")
    if not np.isfinite(eta) or eta < 0:
        raise ValueError(f"eta must be finite and >= 0, got {eta}")
    if n_steps < 1 or record_every < 1:
        raise ValueError("n_steps and record_every must be >= 1")


class _Recorder:
    """Accumulates window-mean losses and weight snapshots."""

    def __init__(self, record: Sequence[str]) -> None:
        self.record = tuple(record)
        self.steps: list[int] = []
        self.loss: list[np.ndarray] = []
        self.snaps: dict[str, list[np.ndarray]] = {k: [] for k in ("W", "U", "V")}
        self.acc = 0.0
        self.count = 0

    def add_loss(self, loss: np.ndarray) -> None:
        self.acc = self.acc + loss
        self.count += 1

    def flush(self, t: int, net: Network) -> None:
        self.steps.append(t)
        self.loss.append(self.acc / self.count)
        self.acc, self.count = 0.0, 0
        for k in self.snaps:
            if k in self.record:
                self.snaps[k].append(getattr(net, k).copy())

    def arrays(self) -> dict[str, np.ndarray | None]:
        out: dict[str, np.ndarray | None] = {
            "loss": np.array(self.loss) if "loss" in self.record else None}
        for k, v in self.snaps.items():
            out[k] = np.array(v) if k in self.record else None
        return out


def train(net: Network, teacher: Teacher, *, rule: str, eta: float, n_steps: int, leak: float,
          truncation: int = 1, seed: int = 0, record_every: int = 100,
          record: Sequence[str] = RECORDABLE,
          progress: Callable[[int, int], None] | None = None,
          label_noise: float = 0.0, max_seconds: float | None = None) -> TrainResult:
    """Per-step online SGD: theta += eta * direction_t for W, U, V (B_fb and teacher fixed).

    Inputs x_t ~ N(0, I_D) from `seed`; the arguments are not mutated.  Stability
    (rho((1-alpha)I + alpha W) < 1 for student and teacher) is checked at the start and every
    CHECK_EVERY steps; violation or non-finite weights raise UnstableNetworkError naming the
    rule and step.  `progress(step, n_steps)` is called about every 5% of the run.
    `label_noise` sigma adds sigma xi_t to the target (xi seeded from `seed` too).
    A run still going after `max_seconds` (checked with the stability) raises
    SimulationTimeout, so that a diverging or mis-sized experiment fails instead of hanging.
    The loop runs compiled when numba is installed (module docstring; same results).
    """
    leak = check_leak(leak)
    _validate_train(rule, eta, n_steps, record_every, record)
    net, initial = net.copy(), net.copy()
    check_stable(teacher.W, leak, f"train(rule={rule!r}) teacher at step 0")
    check_stable(net.W, leak, f"train(rule={rule!r}) student at step 0")
    runner = Runner(net, teacher, rule, leak, truncation, label_noise, seed)
    inputs = _Inputs(net.shape[0], net.shape[2], seed, n_steps)
    rec = _Recorder(record)
    args = (net, runner, inputs, rec, eta, n_steps, record_every, progress, leak, rule,
            max_seconds)
    fast = _compiled_path(rule, net.shape[1])
    with _blas_limit(fast, rule, net.shape[1]):
        (_train_loop if fast is None else fast.train_loop)(*args)
    arr = rec.arrays()
    return TrainResult(steps=np.array(rec.steps), loss=arr["loss"], W=arr["W"], U=arr["U"],
                       V=arr["V"], initial=initial, final=net, rule=rule, eta=float(eta),
                       leak=leak, truncation=int(truncation), meta={"seed": seed})


def _train_loop(net: Network, runner: Runner, inputs: _Inputs, rec: _Recorder, eta: float,
                n_steps: int, record_every: int, progress: Callable[[int, int], None] | None,
                leak: float, rule: str, max_seconds: float | None) -> None:
    """The per-step updates of :func:`train` (in place on ``net`` and ``rec``)."""
    between = Between(n_steps, record_every, progress, leak, rule, max_seconds)
    for t in range(1, n_steps + 1):
        dW, dU, dV, loss = runner.step(inputs.next())
        net.W += eta * dW  # in place: the runner and rule see the updated weights next step
        net.U += eta * dU
        net.V += eta * dV
        rec.add_loss(loss)
        between.act(t, net, runner, rec)


class Between:
    """What the training loop does between two steps (both paths, after step ``t``): the
    stability and time check every CHECK_EVERY steps, a record flush every
    ``record_every`` steps and a progress call every 5 % of the run, each also at the end."""

    def __init__(self, n_steps: int, record_every: int,
                 progress: Callable[[int, int], None] | None, leak: float, rule: str,
                 max_seconds: float | None) -> None:
        self.n_steps, self.record_every, self.progress = n_steps, record_every, progress
        self.leak, self.rule, self.max_seconds = leak, rule, max_seconds
        self.every_progress = max(1, n_steps // 20)
        self.end = None if max_seconds is None else time.perf_counter() + max_seconds

    def act(self, t: int, net: Network, runner: Runner, rec: _Recorder,
            flush: bool | None = None) -> bool:
        """Act after step ``t``; True if the recorder was flushed (``flush``: whether to
        flush, for a caller that records the windows itself; default: at each multiple
        of ``record_every`` and at the end)."""
        last = t == self.n_steps
        if t % CHECK_EVERY == 0 or last:
            _check_running(net, runner, self.leak, self.rule, t)
            if self.end is not None and time.perf_counter() > self.end:
                raise SimulationTimeout(
                    f"train(rule={self.rule!r}) did not finish its {self.n_steps} steps "
                    f"within {self.max_seconds:g} s (stopped at {t})")
        flushed = (t % self.record_every == 0 or last) if flush is None else flush
        if flushed:
            rec.flush(t, net)
        if self.progress is not None and (t % self.every_progress == 0 or last):
            self.progress(t, self.n_steps)
        return flushed


def _check_running(net: Network, runner: Runner, leak: float, rule: str, t: int) -> None:
    """Periodic check: finite weights/activity and a stable student Jacobian."""
    what = f"train(rule={rule!r}) at step {t}"
    for name in ("U", "V"):
        if not np.all(np.isfinite(getattr(net, name))):
            raise UnstableNetworkError(f"{what}: {name} is not finite (diverged; lower eta)")
    if not np.all(np.isfinite(runner.h)):
        raise UnstableNetworkError(f"{what}: hidden state is not finite (diverged)")
    check_stable(net.W, leak, what)


def _block_stats(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error over the leading (block) axis of block means."""
    return blocks.mean(axis=0), blocks.std(axis=0, ddof=1) / np.sqrt(blocks.shape[0])


def expected_update_mc(net: Network, teacher: Teacher, *, rule: str, leak: float,
                       truncation: int = 1, n_steps: int, burn_in: int, seed: int = 0,
                       n_blocks: int = 50, bases: Bases | None = None,
                       label_noise: float = 0.0, inputs: np.ndarray | None = None,
                       keep_blocks: bool = False) -> dict:
    """Monte Carlo estimate of E_stationary[update / eta] at FROZEN weights.

    After `burn_in` steps (traces and activity reach stationarity) the per-step directions
    dW, dU, dV of `n_steps` steps are averaged.  Standard errors use batch means: the run is
    split into `n_blocks` consecutive blocks (each must be much longer than the mixing time
    ~ 1/(1 - rho)); SEM = std(block means) / sqrt(n_blocks), which accounts for
    autocorrelation.  Returns {"dW","dU","dV","loss"} (B, ...) means, the same with "_sem",
    "n_eff" (B,): median over entries of per-step variance / SEM² (an effective number of
    independent samples), "n_samples", "n_blocks".  With `bases` (aligned networks) also the
    mode projections "da","db","dc" (B, n) with "_sem", computed per block so the SEM is exact.
    ``inputs`` (burn_in + n_blocks * (n_steps // n_blocks), B, D): the inputs to use instead
    of drawing them from `seed` (:func:`draw_inputs` gives those of a seed), so that runs
    with different seeds can share one call, each on its own rows; ``keep_blocks`` adds
    "blocks", the block means, for projections per group of rows.
    The loop runs compiled when numba is installed (module docstring; same results).
    """
    if n_blocks < 2 or n_steps < n_blocks or burn_in < 0:
        raise ValueError("need n_blocks >= 2, n_steps >= n_blocks, burn_in >= 0")
    leak = check_leak(leak)
    for who, W in (("teacher", teacher.W), ("student", net.W)):
        check_stable(W, leak, f"expected_update_mc(rule={rule!r}) {who}")
    runner = Runner(net.copy(), teacher.copy(), rule, leak, truncation, label_noise, seed)
    block_len = n_steps // n_blocks
    total = burn_in + n_blocks * block_len
    if inputs is None:
        inputs = _Inputs(net.shape[0], net.shape[2], seed, total)
    else:
        inputs = _Inputs.given(np.asarray(inputs, dtype=float), total, net.shape)
    fast = _compiled_path(rule, net.shape[1])
    if fast is not None:
        with _blas_limit(fast, rule, net.shape[1]):
            blocks, sumsq = fast.mc_blocks(runner, inputs, burn_in, n_blocks, block_len)
    else:
        with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
            for _ in range(burn_in):
                runner.step(inputs.next())
            blocks, sumsq = _run_blocks(runner, inputs, n_blocks, block_len)
    out: dict = {"n_samples": n_blocks * block_len, "n_blocks": n_blocks}
    n_eff = []
    for k, b in blocks.items():
        out[k], out[k + "_sem"] = _block_stats(b)
        if k != "loss":
            var = sumsq[k] / (n_blocks * block_len) - out[k] ** 2
            ratio = var / np.maximum(out[k + "_sem"] ** 2, 1e-300)
            n_eff.append(ratio.reshape(ratio.shape[0], -1))
    out["n_eff"] = np.median(np.concatenate(n_eff, axis=1), axis=1)
    if keep_blocks:
        out["blocks"] = blocks
    if bases is not None:
        proj = project_matrices(blocks["dW"], blocks["dU"], blocks["dV"], bases)
        for k in ("a", "b", "c"):
            out["d" + k], out["d" + k + "_sem"] = _block_stats(proj[k])
    return out


def draw_inputs(batch: int, d: int, seed: int, total: int) -> np.ndarray:
    """The ``total`` inputs (total, B, D) that a run with ``seed`` draws, in one array."""
    inputs, parts, t = _Inputs(batch, d, seed, total), [], 0
    while t < total:
        parts.append(inputs.take(total - t))
        t += parts[-1].shape[0]
    return np.concatenate(parts)


#: summed_updates runs the batch in groups of this many chains, each group through all its
#: steps before the next: its inputs and label noise are drawn group after group (so the
#: random streams depend on this constant, not on the batch's size or the implementation).
#: Each group's draws are small enough to stay in the cache: the 3000-chain runs of the
#: noise_covariance check drew (1024, 3000, 4) inputs and label noise per chunk, 98 MB
#: arrays written, then copied into blocks of chains for the compiled loops (the group
#: alone: that check's CPU -12 % in one call per process, -4 % in repeated calls).
SUM_GROUP = 128
SUM_CHUNK = 256  # steps per draw within a group (a 1 MB draw at 128 chains and D = 4)


def summed_updates(runner: Runner, rng: np.random.Generator, n_steps: int, burn_in: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums of the directions (dW, dU, dV) of ``runner`` over ``n_steps`` steps after
    ``burn_in`` steps, at frozen weights (``runner``'s networks are not updated).

    ``runner`` must be at rest (as constructed): the chains are independent, so they run in
    groups of :data:`SUM_GROUP` (rows ``0:SUM_GROUP`` first), each group through all its
    steps, from a fresh runner on its rows that shares ``runner``'s label-noise generator.
    A group's inputs are ``rng``'s standard normals, one (G, D) draw per step (drawn in
    chunks: the same numbers), its label noise, if any, (G, M) per step from the runner.
    The loop runs compiled when numba is installed (module docstring; same results), else
    step by step through ``Runner.step``.
    """
    if n_steps < 1 or burn_in < 0:
        raise ValueError("need n_steps >= 1 and burn_in >= 0")
    if np.any(runner.h) or np.any(runner.hs):
        raise ValueError("summed_updates needs a runner at rest (h = h* = 0)")
    b = runner.net.shape[0]
    sums = [_group_sums(_group(runner, slice(g, g + SUM_GROUP)), rng, n_steps, burn_in)
            for g in range(0, b, SUM_GROUP)]
    return tuple(np.concatenate(parts) for parts in zip(*sums, strict=True))  # type: ignore[return-value]


def _group(runner: Runner, rows: slice) -> Runner:
    """A fresh runner on ``rows`` of ``runner``'s batch, drawing label noise from its
    generator."""
    net, t = runner.net, runner.teacher
    sub = Runner(Network(net.W[rows], net.U[rows], net.V[rows], net.B_fb[rows]),
                 Teacher(t.W[rows], t.U[rows], t.V[rows]), runner.rule.name, runner.leak,
                 runner.truncation, runner.sigma)
    sub.noise_rng = runner.noise_rng
    return sub


def _group_sums(runner: Runner, rng: np.random.Generator, n_steps: int, burn_in: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`summed_updates` of one group, all its chains at once."""
    b, n, d, _ = runner.net.shape
    fast = _compiled_path(runner.rule.name, n)
    total, t = burn_in + n_steps, 0
    if fast is not None:
        sums = fast.summed_updates_setup(runner)
        with _blas_limit(fast, runner.rule.name, n):
            while t < total:
                xs = rng.standard_normal((min(SUM_CHUNK, total - t), b, d))
                fast.summed_updates_chunk(runner, xs, t, burn_in, n_steps, sums)
                t += xs.shape[0]
        return sums[0][0][0], sums[0][1][0], sums[0][2][0]
    out = [np.zeros_like(m) for m in (runner.net.W, runner.net.U, runner.net.V)]
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        for t in range(total):
            directions = runner.step(rng.standard_normal((b, d)))[:3]
            if t >= burn_in:
                for acc, step in zip(out, directions, strict=True):
                    acc += step
    return out[0], out[1], out[2]


def _run_blocks(runner: Runner, inputs: _Inputs, n_blocks: int, block_len: int
                ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Block means of dW, dU, dV, loss (shape (n_blocks, B, ...)) and total sums of squares."""
    names = ("dW", "dU", "dV", "loss")
    blocks: dict[str, list[np.ndarray]] = {k: [] for k in names}
    sumsq: dict[str, np.ndarray | float] = {k: 0.0 for k in names[:3]}
    for _ in range(n_blocks):
        acc: list[np.ndarray | float] = [0.0, 0.0, 0.0, 0.0]
        for _ in range(block_len):
            vals = runner.step(inputs.next())
            for i, v in enumerate(vals):
                acc[i] = acc[i] + v
                if i < 3:
                    sumsq[names[i]] = sumsq[names[i]] + v * v
        for k, a in zip(names, acc, strict=True):
            blocks[k].append(np.asarray(a) / block_len)
    return {k: np.array(v) for k, v in blocks.items()}, sumsq
