"""Drivers of the compiled path: the loops of ``train`` and ``expected_update_mc`` in chunks.

:func:`symdyn.simulate.kernels.run_chunk` advances the whole batch by a chunk of steps in one
call; the driver here stops it wherever the reference loop (engine._train_loop,
engine._run_blocks) acts between steps: the stability and time check every CHECK_EVERY
steps, the record flushes, the progress calls, and the end of each chunk of INPUT_CHUNK
inputs.  The state lives in the reference :class:`~symdyn.simulate.engine.Runner` (h, h*,
the rule's traces, the label-noise generator), which the kernel updates in place, and the
random streams are drawn exactly as the reference draws them: inputs from the same
``_Inputs`` chunks, label noise from ``Runner.noise_rng`` as (T, B, M) blocks, which give
the numbers of T successive (B, M) draws.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import kernels
from .engine import CHECK_EVERY, Between, Runner, _Inputs, _Recorder
from .networks import Network, Teacher
from .rules import RFLO, RTRL, TBPTT

__all__ = ["mc_blocks", "summed_updates_chunk", "summed_updates_setup", "train_loop",
           "warm"]

_NO_BLOCKS = np.zeros((0, 0))  # training: no Monte Carlo blocks (the kernel's types kept)
_NO_MC = ((np.zeros((0, 0, 0, 0)),) * 3, _NO_BLOCKS, (np.zeros((0, 0, 0)),) * 3)
_NO_RECORD = (0, (np.zeros((0, 0, 0, 0)),) * 3, _NO_BLOCKS)  # Monte Carlo: no snapshots


def _traces(runner: Runner) -> tuple[np.ndarray, np.ndarray, int]:
    """The rule's state in the kernel's layout (views: the kernel updates the runner's)."""
    rule, b = runner.rule, runner.h.shape[0]
    if isinstance(rule, RTRL):  # S^W with its padded rows whole (kernels._propagate_blas)
        return (rule.SW if rule.SW.flags.c_contiguous else rule.SW.base), rule.SU, 0
    if isinstance(rule, TBPTT):
        return rule.H, rule.X, rule.pos
    assert isinstance(rule, RFLO)
    return rule.p.reshape(b, 1, -1), rule.q.reshape(b, 1, -1), 0


def _contiguous(net: Network) -> tuple[np.ndarray, ...]:
    """net's arrays, made C-contiguous in place (the kernel updates them through views)."""
    for name in ("W", "U", "V", "B_fb"):
        setattr(net, name, np.ascontiguousarray(getattr(net, name)))
    return net.W, net.U, net.V, net.B_fb


#: A batch of networks with more than one unit whose state (weights, activities, traces)
#: takes more than CACHE_BYTES runs through the kernel in blocks of CHAIN_BLOCK chains, each
#: through the chunk's steps in turn: the kernel loops over the batch inside each of its
#: some twenty helpers per step, which then streams the whole state through the cache
#: every time.  Chains are independent, so the numbers are the same.  Measured on the
#: noise_covariance check, CPU s for the 3 rules: full (3000 chains, N = 4, 5.8 MB for
#: BPTT) 8.2 unblocked, 4.6 in blocks of 128, 6.1 of 32, 6.0 of 256; quick (600 chains,
#: N = 2, 0.2 MB) 0.19 unblocked, 0.27 in blocks of 128.
CHAIN_BLOCK = 128
CACHE_BYTES = 1 << 20


def _columns(m: np.ndarray, rows: slice) -> np.ndarray:
    """``m[:, rows]`` (axis 1 is the batch) as a C-contiguous array: a copy unless ``rows``
    is the whole batch."""
    return np.ascontiguousarray(m[:, rows])


def _chunk(runner: Runner, eta: float, xs: np.ndarray, loss_acc: np.ndarray,
           mc: tuple = (0, 0, 1) + _NO_MC, record: tuple = _NO_RECORD) -> None:
    """Advance `runner` by len(xs) steps (training with `eta`, or Monte Carlo with `mc` =
    (start, burn_in, block_len, blocks, block_loss, squares)), in blocks of
    :data:`CHAIN_BLOCK` chains where the batch's state is large (:data:`CACHE_BYTES`).
    In training, ``mc[0]`` is the number of steps already taken and ``record`` =
    (every, snapshots of W, U, V, window losses) what the kernel records (kernels.run_chunk).
    """
    s1, s2, pos = _traces(runner)
    noise = (runner.noise_rng.standard_normal(xs.shape[:2] + (runner.net.V.shape[1],))
             if runner.sigma else xs)
    teacher = tuple(np.ascontiguousarray(m) for m in (runner.teacher.W, runner.teacher.U,
                                                         runner.teacher.V))
    net = _contiguous(runner.net)
    start, burn_in, block_len, blocks, block_loss, squares = mc
    every, snaps, snap_loss = record
    nb = xs.shape[1]
    state = sum(m.nbytes for m in (*net, *teacher, s1, s2, runner.h, runner.hs))
    size = CHAIN_BLOCK if state > CACHE_BYTES and net[0].shape[1] > 1 else nb
    mc_run = block_loss.shape[0] > 0
    # the kernel's outputs with a batch axis 1, filled per block of chains and copied back
    filled = (*blocks, block_loss) if mc_run else (*snaps, snap_loss)
    for b0 in range(0, nb, size):
        rows = slice(b0, b0 + size)
        own = tuple(_columns(m, rows) if m.shape[0] else m for m in filled)
        mc_out = (own[:3], own[3]) if mc_run else (blocks, block_loss)
        record_out = (snaps, snap_loss) if mc_run else (own[:3], own[3])
        pos_out = kernels.run_chunk(
            kernels.RULE_CODES[runner.rule.name], runner.leak, float(eta), runner.sigma,
            tuple(m[rows] for m in net), tuple(m[rows] for m in teacher), runner.h[rows],
            runner.hs[rows], s1[rows], s2[rows], pos, _columns(xs, rows),
            _columns(noise, rows), loss_acc[rows], start, burn_in, block_len, *mc_out,
            tuple(q[rows] if q.shape[0] else q for q in squares), every, *record_out)
        if size < nb:
            for whole, part in zip(filled, own, strict=True):
                if whole.shape[0]:
                    whole[:, rows] = part
    if isinstance(runner.rule, TBPTT):
        runner.rule.pos = pos_out


def _next_stop(t: int, n_steps: int, periods: tuple[int, ...]) -> int:
    """The first step after t at which the driver acts (a multiple of a period, or the end)."""
    return min([n_steps] + [(t // p + 1) * p for p in periods])


def train_loop(net: Network, runner: Runner, inputs: _Inputs, rec: _Recorder, eta: float,
               n_steps: int, record_every: int, progress: Callable[[int, int], None] | None,
               leak: float, rule: str, max_seconds: float | None) -> None:
    """engine._train_loop, in compiled chunks (same arguments, same effects).

    The kernel records every ``record_every`` steps itself (loss window means and weight
    snapshots, :func:`_windows`); the driver stops only where it acts itself, at the
    stability check, the progress calls and the ends of input chunks (noise runs
    recording every ~20 steps went back to Python ~200 times a run for the records)."""
    between = Between(n_steps, record_every, progress, leak, rule, max_seconds)
    periods = (CHECK_EVERY,) + ((between.every_progress,) if progress else ())
    loss_acc = np.zeros(runner.h.shape[0])
    t = 0
    while t < n_steps:
        xs = inputs.take(_next_stop(t, n_steps, periods) - t)
        record = _windows(net, rec, t, xs.shape[0], record_every)
        _chunk(runner, eta, xs, loss_acc, (t, 0, 1) + _NO_MC, record)
        _keep(rec, record, t, xs.shape[0])
        t += xs.shape[0]
        rec.acc, rec.count = loss_acc, t % record_every
        # the kernel recorded the multiples of record_every; the end of the run is left
        between.act(t, net, runner, rec, flush=t == n_steps and t % record_every != 0)


def _windows(net: Network, rec: _Recorder, start: int, steps: int, every: int) -> tuple:
    """The kernel's ``record`` argument for steps ``start + 1`` to ``start + steps``: room
    for the window losses and the recorded weights at each multiple of ``every``."""
    n = (start + steps) // every - start // every
    snaps = tuple(np.empty((n,) + getattr(net, k).shape) if k in rec.record else
                  np.empty((0, 0, 0, 0)) for k in ("W", "U", "V"))
    return every, snaps, np.empty((n, net.shape[0]))


def _keep(rec: _Recorder, record: tuple, start: int, steps: int) -> None:
    """The kernel's records of steps ``start + 1`` to ``start + steps`` into ``rec``, as
    its flushes keep them."""
    every, snaps, snap_loss = record
    first = (start // every + 1) * every
    rec.steps.extend(range(first, start + steps + 1, every))
    rec.loss.extend(snap_loss)
    for k, snap in zip(("W", "U", "V"), snaps, strict=True):
        if k in rec.record:
            rec.snaps[k].extend(snap)


def mc_blocks(runner: Runner, inputs: _Inputs, burn_in: int, n_blocks: int, block_len: int
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """engine's burn-in and _run_blocks in compiled chunks: block means of dW, dU, dV, loss
    (n_blocks, B, ...) and the total sums of squares of dW, dU, dV."""
    shapes = [m.shape for m in (runner.net.W, runner.net.U, runner.net.V)]
    blocks = tuple(np.zeros((n_blocks,) + s) for s in shapes)
    squares = tuple(np.zeros(s) for s in shapes)
    block_loss = np.zeros((n_blocks, shapes[0][0]))
    total, t = burn_in + n_blocks * block_len, 0
    while t < total:
        xs = inputs.take(total - t)
        _chunk(runner, 0.0, xs, block_loss[0],
               (t, burn_in, block_len, blocks, block_loss, squares))
        t += xs.shape[0]
    names = ("dW", "dU", "dV", "loss")
    means = {k: a / block_len for k, a in zip(names, blocks + (block_loss,), strict=True)}
    return means, dict(zip(names[:3], squares, strict=True))


def summed_updates_setup(runner: Runner) -> tuple:
    """The accumulators of engine.summed_updates: one Monte Carlo block per direction,
    (1, B, ...), its loss (1, B) and no squares."""
    shapes = [m.shape for m in (runner.net.W, runner.net.U, runner.net.V)]
    return (tuple(np.zeros((1,) + s) for s in shapes), np.zeros((1, shapes[0][0])),
            (np.zeros((0, 0, 0)),) * 3)


def summed_updates_chunk(runner: Runner, xs: np.ndarray, start: int, burn_in: int,
                         n_steps: int, sums: tuple) -> None:
    """Steps ``start`` to ``start + len(xs)`` of engine.summed_updates: the directions of
    the steps past ``burn_in`` summed into the single block of ``sums``."""
    blocks, block_loss, squares = sums
    _chunk(runner, 0.0, xs, block_loss[0],
           (start, burn_in, n_steps, blocks, block_loss, squares))


def warm() -> None:
    """Compile the kernel, or load it from numba's cache, with a one-step run (one compiled
    signature serves every rule and both modes)."""
    zero = np.zeros((1, 1, 1))
    runner = Runner(Network(zero, zero, zero, zero), Teacher(zero, zero, zero), "rflo", 1.0)
    _chunk(runner, 0.0, zero, np.zeros(1))
