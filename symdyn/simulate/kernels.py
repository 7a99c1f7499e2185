"""Compiled per-step loops of the simulator (numba): the arithmetic of the NumPy reference.

The reference implementation is :class:`~symdyn.simulate.engine.Runner` with the rules of
:mod:`symdyn.simulate.rules`, whose docstrings state each rule; this module repeats the
same operations, in the same order of floating-point operations where that is cheap, as
explicit loops, so that a chunk of steps runs in one call instead of ~20 NumPy calls per
step (at the sizes of the validation, N <= 8, each NumPy call costs more than its
arithmetic).  Results agree with the reference to rounding (~1e-13 relative after
thousands of steps; tests/test_simulate.py checks 1e-10 for every rule, leak and mode).

One step of one batch element (engine.Runner.step, then the update of engine.train):

    h_t = (1-alpha) h_{t-1} + alpha (W h_{t-1} + U x_t),   likewise the teacher's h*_t
    advance the rule's traces with (W, h_{t-1}, x_t)
    e_t = V* h*_t - V h_t (+ sigma xi_t),   loss = ½|e_t|²
    (dW, dU) from the rule,  dV = e_t h_t^T

Rule state, one layout for all rules so that one compiled signature serves them (``s1``
and ``s2`` have a leading batch axis B):

    bptt   s1 = S^W (B, N, N*N), s2 = S^U (B, N, N*D)   RTRL sensitivities
    tbptt  s1 = H (B, k, N),     s2 = X (B, k, D)       ring buffers, ``pos`` the newest slot
    rflo   s1 = p (B, 1, N),     s2 = q (B, 1, D)       leak-filtered presynaptic traces

This module imports numba at import time; :mod:`symdyn.simulate.engine` imports it only
when a simulation runs, and falls back to the reference when numba is missing.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["RULE_CODES", "run_chunk"]

BPTT, TBPTT, RFLO = 0, 1, 2
Array = np.ndarray
RULE_CODES = {"bptt": BPTT, "tbptt": TBPTT, "rflo": RFLO}


@njit(cache=True)
def _forward(W: Array, U: Array, h: Array, x: Array, leak: float, out: Array) -> None:
    """out = (1-alpha) h + alpha (W h + U x) for one batch element."""
    for i in range(W.shape[0]):
        s = 0.0
        for j in range(W.shape[1]):
            s += W[i, j] * h[j]
        u = 0.0
        for j in range(U.shape[1]):
            u += U[i, j] * x[j]
        out[i] = (1.0 - leak) * h[i] + leak * (s + u)


@njit(cache=True)
def _jacobian(W: Array, leak: float, J: Array) -> None:
    """J = alpha W + (1-alpha) I, built as rules.jacobian builds it."""
    n = W.shape[0]
    for i in range(n):
        for j in range(n):
            J[i, j] = leak * W[i, j]
        J[i, i] += 1.0 - leak


@njit(cache=True)
def _propagate_sens(J: Array, S: Array, tmp: Array) -> None:
    """S <- J S (S: (N, C)), summing over the contracted index in order."""
    n, c = S.shape
    for k in range(n):
        for col in range(c):
            tmp[k, col] = 0.0
        for m in range(n):
            jk = J[k, m]
            for col in range(c):
                tmp[k, col] += jk * S[m, col]
    for k in range(n):
        for col in range(c):
            S[k, col] = tmp[k, col]


@njit(cache=True)
def _advance(
    rule: int,
    leak: float,
    W: Array,
    hp: Array,
    x: Array,
    s1: Array,
    s2: Array,
    pos: int,
    J: Array,
    tmp1: Array,
    tmp2: Array,
) -> None:
    """Advance one batch element's traces from t-1 to t (rules.*.advance)."""
    n, d = hp.shape[0], x.shape[0]
    if rule == BPTT:
        _jacobian(W, leak, J)
        _propagate_sens(J, s1, tmp1)
        _propagate_sens(J, s2, tmp2)
        for i in range(n):  # immediate term alpha e_i h_{t-1}^T (alpha e_i x_t^T for U)
            for j in range(n):
                s1[i, i * n + j] += leak * hp[j]
            for j in range(d):
                s2[i, i * d + j] += leak * x[j]
    elif rule == TBPTT:
        for j in range(n):
            s1[pos, j] = hp[j]
        for j in range(d):
            s2[pos, j] = x[j]
    else:
        for j in range(n):
            s1[0, j] = s1[0, j] * (1.0 - leak) + leak * hp[j]
        for j in range(d):
            s2[0, j] = s2[0, j] * (1.0 - leak) + leak * x[j]


@njit(cache=True)
def _error(
    V: Array, TV: Array, h: Array, hs: Array, noise_row: Array, sigma: float, e: Array
) -> float:
    """e = V* h* - V h (+ sigma xi); returns ½|e|²."""
    loss = 0.0
    for m in range(V.shape[0]):
        a = 0.0
        b = 0.0
        for j in range(V.shape[1]):
            a += TV[m, j] * hs[j]
            b += V[m, j] * h[j]
        e[m] = a - b
        if sigma != 0.0:
            e[m] = e[m] + sigma * noise_row[m]
        loss += e[m] * e[m]
    return 0.5 * loss


@njit(cache=True)
def _tbptt_deltas(W: Array, leak: float, g: Array, pos: int, J: Array, deltas: Array) -> None:
    """deltas[(pos - j) mod k] = (J^T)^j g for j < k (TBPTT.directions)."""
    k, n = deltas.shape
    _jacobian(W, leak, J)
    d = g.copy()
    nxt = np.empty(n)
    for jj in range(k):
        s = (pos - jj + k) % k
        for i in range(n):
            deltas[s, i] = d[i]
        for i in range(n):
            acc = 0.0
            for m in range(n):
                acc += J[m, i] * d[m]
            nxt[i] = acc
        d[:] = nxt


@njit(cache=True)
def _outer_sum(leak: float, a: Array, s: Array, out: Array) -> None:
    """out[i, j] = alpha sum_slot a[slot, i] s[slot, j] (the tBPTT window sum)."""
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            acc = 0.0
            for r in range(a.shape[0]):
                acc += a[r, i] * s[r, j]
            out[i, j] = leak * acc


@njit(cache=True)
def _directions(
    rule: int,
    leak: float,
    W: Array,
    V: Array,
    Bf: Array,
    e: Array,
    s1: Array,
    s2: Array,
    pos: int,
    J: Array,
    g: Array,
    deltas: Array,
    dW: Array,
    dU: Array,
) -> None:
    """(dW, dU) of one batch element (rules.*.directions); g is scratch (N,)."""
    n, d = dW.shape[0], dU.shape[1]
    if rule == RFLO:  # f = B e, dW = f p^T, dU = f q^T
        for i in range(n):
            f = 0.0
            for m in range(e.shape[0]):
                f += Bf[i, m] * e[m]
            for j in range(n):
                dW[i, j] = f * s1[0, j]
            for j in range(d):
                dU[i, j] = f * s2[0, j]
        return
    for i in range(n):  # g = V^T e
        acc = 0.0
        for m in range(e.shape[0]):
            acc += e[m] * V[m, i]
        g[i] = acc
    if rule == BPTT:  # dW = sum_k g_k S^W[k], likewise dU
        dW[:] = 0.0
        dU[:] = 0.0
        fw = dW.reshape(n * n)
        fu = dU.reshape(n * d)
        for k in range(n):
            for c in range(n * n):
                fw[c] += g[k] * s1[k, c]
            for c in range(n * d):
                fu[c] += g[k] * s2[k, c]
    elif s1.shape[0] == 1:  # tbptt k = 1: alpha g h_{t-1}^T without a backward pass
        for i in range(n):
            gh = leak * g[i]
            for j in range(n):
                dW[i, j] = gh * s1[0, j]
            for j in range(d):
                dU[i, j] = gh * s2[0, j]
    else:
        _tbptt_deltas(W, leak, g, pos, J, deltas)
        _outer_sum(leak, deltas, s1, dW)
        _outer_sum(leak, deltas, s2, dU)


@njit(cache=True)
def _accumulate(acc: Array, sq: Array, d: Array) -> None:
    """acc += d; sq += d * d (elementwise, 2-D)."""
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            acc[i, j] += d[i, j]
            sq[i, j] += d[i, j] * d[i, j]


@njit(cache=True)
def _apply(eta: float, M: Array, d: Array) -> None:
    """M += eta d (elementwise, 2-D)."""
    for i in range(d.shape[0]):
        for j in range(d.shape[1]):
            M[i, j] += eta * d[i, j]


@njit(cache=True)
def _step(rule: int, leak: float, sigma: float, net: tuple, teacher: tuple, h: Array, hs: Array,
          s1: Array, s2: Array, pos: int, x: Array, xi: Array, scratch: tuple) -> float:
    """One step of one batch element: h, hs and the traces advance in place, the scratch
    directions (dW, dU, dV) are filled and ½|e_t|² is returned."""
    W, U, V, Bf = net
    hp, hn, hsn, g, e, J, deltas, tmp1, tmp2, dW, dU, dV = scratch
    hp[:] = h
    _forward(W, U, hp, x, leak, hn)
    _forward(teacher[0], teacher[1], hs, x, leak, hsn)
    _advance(rule, leak, W, hp, x, s1, s2, pos, J, tmp1, tmp2)
    loss = _error(V, teacher[2], hn, hsn, xi, sigma, e)
    _directions(rule, leak, W, V, Bf, e, s1, s2, pos, J, g, deltas, dW, dU)
    for i in range(dV.shape[0]):
        for j in range(dV.shape[1]):
            dV[i, j] = e[i] * hn[j]
    h[:] = hn
    hs[:] = hsn
    return loss


@njit(cache=True)
def _scratch(n: int, d: int, m: int, k: int, c1: int, c2: int) -> tuple:
    """Work arrays of one step (see _step)."""
    e2 = np.empty
    return (e2(n), e2(n), e2(n), e2(n), e2(m), e2((n, n)), e2((k, n)), e2((n, c1)),
            e2((n, c2)), e2((n, n)), e2((n, d)), e2((m, n)))


@njit(cache=True)
def run_chunk(rule: int, leak: float, eta: float, sigma: float, net: tuple, teacher: tuple,
              h: Array, hs: Array, s1: Array, s2: Array, pos0: int, X: Array, noise: Array,
              loss_acc: Array, start: int, burn_in: int, block_len: int, blocks: tuple,
              block_loss: Array, squares: tuple) -> int:
    """Advance every batch element by X.shape[0] steps in place; returns the new tBPTT slot.

    ``net`` = (W, U, V, B_fb) and ``teacher`` = (W*, U*, V*), each (B, ...); h, hs (B, N);
    traces s1, s2 and slot ``pos0`` as in the module docstring; inputs X (T, B, D); label
    noise (T, B, M), read only if sigma != 0.  Training (``block_loss`` has no blocks):
    after each step W, U, V += eta (dW, dU, dV) and ``loss_acc`` (B,) gains ½|e_t|².
    Frozen-weight Monte Carlo (``block_loss`` (n_blocks, B)): the weights stay fixed; step
    ``start + t`` of the run, once past ``burn_in``, adds its (dW, dU, dV) to block
    ``(start + t - burn_in) // block_len`` of ``blocks`` (each (n_blocks, B, ...)), its loss
    to ``block_loss`` and the squares of its directions to ``squares`` (each (B, ...)).
    """
    n_t, nb = X.shape[0], X.shape[1]
    W, U, V = net[0], net[1], net[2]
    k = s1.shape[1]
    mc = block_loss.shape[0] > 0
    scratch = _scratch(W.shape[1], U.shape[2], V.shape[1], k, s1.shape[2], s2.shape[2])
    dW, dU, dV = scratch[9], scratch[10], scratch[11]
    pos = pos0
    for b in range(nb):
        pos = pos0
        net_b = (W[b], U[b], V[b], net[3][b])
        teacher_b = (teacher[0][b], teacher[1][b], teacher[2][b])
        for t in range(n_t):
            if rule == TBPTT:
                pos = (pos + 1) % k
            xi = noise[t, b] if sigma != 0.0 else dV[0]
            loss = _step(rule, leak, sigma, net_b, teacher_b, h[b], hs[b], s1[b], s2[b], pos,
                         X[t, b], xi, scratch)
            if not mc:
                _apply(eta, W[b], dW)
                _apply(eta, U[b], dU)
                _apply(eta, V[b], dV)
                loss_acc[b] += loss
            elif start + t >= burn_in:
                blk = (start + t - burn_in) // block_len
                _accumulate(blocks[0][blk, b], squares[0][b], dW)
                _accumulate(blocks[1][blk, b], squares[1][b], dU)
                _accumulate(blocks[2][blk, b], squares[2][b], dV)
                block_loss[blk, b] += loss
    return pos
