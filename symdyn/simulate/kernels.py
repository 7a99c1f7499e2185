"""Compiled per-step loops of the simulator (numba): the arithmetic of the NumPy reference.

The reference implementation is :class:`~symdyn.simulate.engine.Runner` with the rules of
:mod:`symdyn.simulate.rules`, whose docstrings state each rule; this module repeats the
same operations, in the same order of floating-point operations where that is cheap, as
explicit loops, so that a chunk of steps runs in one call instead of ~20 NumPy calls per
step (at the sizes of the validation, N <= 8, each NumPy call costs more than its
arithmetic).  BPTT's RTRL from :data:`CHUNK_MIN_N` hidden units on groups the same sums
otherwise (the sensitivities kept only every :data:`CHUNK_STEPS` steps).  Results agree
with the reference to rounding (~1e-13 relative after thousands of steps;
tests/test_simulate.py checks 1e-10 for every rule, leak and mode).

One step of one batch element (engine.Runner.step, then the update of engine.train):

    h_t = (1-alpha) h_{t-1} + alpha (W h_{t-1} + U x_t),   likewise the teacher's h*_t
    advance the rule's traces with (W, h_{t-1}, x_t)
    e_t = V* h*_t - V h_t (+ sigma xi_t),   loss = ½|e_t|²
    (dW, dU) from the rule,  dV = e_t h_t^T

Rule state, one layout for all rules so that one compiled signature serves them (``s1``
and ``s2`` have a leading batch axis B)::

    bptt   s1 = S^W (B, N, N*N), s2 = S^U (B, N, N*D)   RTRL sensitivities (from
           CHUNK_MIN_N on advanced in chunks of steps, whole again at each return)
    tbptt  s1 = H (B, k, N),     s2 = X (B, k, D)       ring buffers, ``pos`` the newest slot
    rflo   s1 = p (B, 1, N),     s2 = q (B, 1, D)       leak-filtered presynaptic traces

From N = 17 on, the rows of S^W are padded: N*N + rules.ROW_PAD columns, the pad 0
throughout.

One hidden unit, input and output (N = D = M = 1: the noise checks' networks, batches of
64-3000 replicas) take a fused loop, :func:`_run_scalar`: the same operations, one loop
over the batch per step instead of some twenty.  It lives here, not in a module of its
own, because numba's cache of ``run_chunk`` would not notice a change to another file.

This module imports numba at import time; :mod:`symdyn.simulate.engine` imports it only
when a simulation runs, and falls back to the reference when numba is missing.
"""

from __future__ import annotations

import numpy as np
from numba import config as numba_config
from numba import njit

from ..cache import user_directory

__all__ = ["RULE_CODES", "run_chunk"]

# numba caches compiled code beside its source, which after `pip install .` is inside
# site-packages: files that no uninstall removes, and that then make a `symdyn` namespace
# package there, shadowing a later editable install. These loops are cached in the user's
# symdyn cache instead (not $SYMDYN_CACHE_DIR: an empty symdyn cache must not mean a new
# compile). numba fixes a function's cache place when it is decorated, so the setting is
# restored at the end of this module and other code's numba cache stays where it was. A
# NUMBA_CACHE_DIR of the user's wins; a place that cannot be written falls back to numba's.
_NUMBA_CACHE_DIR = numba_config.CACHE_DIR
numba_config.CACHE_DIR = _NUMBA_CACHE_DIR or str(user_directory() / "numba")

BPTT, TBPTT, RFLO = 0, 1, 2
Array = np.ndarray
RULE_CODES = {"bptt": BPTT, "tbptt": TBPTT, "rflo": RFLO}


@njit(cache=True)
def _matvec(A: Array, v: Array, transpose: bool, out: Array) -> None:
    """out[b, i] = sum_j A[b, i, j] v[b, j] (A[b, j, i] if transpose), summed in order of j.

    Wide batches of small matrices (N = 1, batch 128: the noise checks) loop over the
    batch innermost, a long vectorised loop; otherwise batch element by batch element,
    each sum in a register (N = 4, batch 8: the other checks); same result either way."""
    nb = A.shape[0]
    rows, cols = (A.shape[2], A.shape[1]) if transpose else (A.shape[1], A.shape[2])
    if nb <= 8 * rows * cols:
        for b in range(nb):  # 1-d rows: loops numba compiles tighter
            Ab, vb, ob = A[b], v[b], out[b]
            for i in range(rows):
                acc = 0.0
                for j in range(cols):
                    acc += (Ab[j, i] if transpose else Ab[i, j]) * vb[j]
                ob[i] = acc
        return
    for i in range(rows):
        for b in range(nb):
            out[b, i] = 0.0
        for j in range(cols):
            for b in range(nb):
                out[b, i] += (A[b, j, i] if transpose else A[b, i, j]) * v[b, j]


@njit(cache=True)
def _forward(W: Array, U: Array, h: Array, x: Array, leak: float, out: Array,
             acc: Array) -> None:
    """out = (1-alpha) h + alpha (W h + U x), batched: W (B,N,N), h (B,N), x (B,D); acc
    (2, B, >= N) is scratch."""
    _matvec(W, h, False, acc[0])
    _matvec(U, x, False, acc[1])
    for b in range(W.shape[0]):
        for i in range(W.shape[1]):
            out[b, i] = (1.0 - leak) * h[b, i] + leak * (acc[0, b, i] + acc[1, b, i])


@njit(cache=True)
def _jacobian(W: Array, leak: float, J: Array) -> None:
    """J = alpha W + (1-alpha) I, batched, built as rules.jacobian builds it."""
    nb = W.shape[0]
    for i in range(W.shape[1]):
        for j in range(W.shape[2]):
            for b in range(nb):
                J[b, i, j] = leak * W[b, i, j]
        for b in range(nb):
            J[b, i, i] += 1.0 - leak


@njit(cache=True)
def _propagate_sens(J: Array, S: Array, tmp: Array) -> None:
    """S[b] <- J[b] S[b] (S: (B, N, C)); below BLAS_MIN_N summing over the contracted
    index in order, from it on by BLAS (:func:`_propagate_blas`, whose order of the sums
    is BLAS's: equal to the loops to rounding).

    ``tmp`` is scratch of shape (N, C, w) (:func:`_sens_scratch`): with w = 1, batch
    element by batch element, the inner loop over contiguous columns (vectorised); with
    w = B (:func:`_wide`: long batches of tiny sensitivities, N = 1 in the noise checks,
    where the loops per element cost more than their arithmetic) over the batch
    innermost.  Same sums in the same order either way."""
    nb, n, c = S.shape[0], S.shape[1], S.shape[2]
    if n >= BLAS_MIN_N:
        _propagate_blas(J, S, tmp)
        return
    if tmp.shape[2] == nb and nb > 1:
        for k in range(n):
            for col in range(c):
                for b in range(nb):
                    tmp[k, col, b] = 0.0
                for m in range(n):
                    for b in range(nb):
                        tmp[k, col, b] += J[b, k, m] * S[b, m, col]
        for k in range(n):
            for col in range(c):
                for b in range(nb):
                    S[b, k, col] = tmp[k, col, b]
        return
    t2 = tmp.reshape(n, c)
    for b in range(nb):
        Sb, Jb = S[b], J[b]
        for k in range(n):
            tk = t2[k]
            for col in range(c):
                tk[col] = 0.0
            for m in range(n):
                jk, sm = Jb[k, m], Sb[m]
                for col in range(c):
                    tk[col] += jk * sm[col]
        for k in range(n):
            sk, tk = Sb[k], t2[k]
            for col in range(c):
                sk[col] = tk[col]


#: From this N on, a product J S or P S goes to BLAS (:func:`_propagate_blas`): since the
#: chunked RTRL (:data:`CHUNK_MIN_N` < BLAS_MIN_N) that is the chunk's fold, not a
#: step-by-step J S.  At N = 32 the product is (N x N) @ (N x N^2 + N D) per batch element,
#: which BLAS runs near the machine's peak and these loops do not.  Measured before the
#: chunking, train(bptt, N = 32, B = 4, leak 1), CPU per step: NumPy reference ~0.55 ms,
#: compiled with BLAS each step ~0.43 ms (B = 1: 0.15 -> 0.09 ms).
BLAS_MIN_N = 17


@njit(cache=True)
def _propagate_blas(J: Array, S: Array, tmp: Array) -> None:
    """S[b] <- J[b] S[b] by BLAS (np.dot: dgemm) into the scratch ``tmp`` (N, C, 1), then
    copied back.  S must be C-contiguous: np.dot copies a strided operand first (measured
    1.8x slower), so S^W comes with its padded rows whole (compiled._traces), the pad
    columns taking part (zeros times J stay zero)."""
    t2 = tmp.reshape(S.shape[1], S.shape[2])
    for b in range(S.shape[0]):
        np.dot(J[b], S[b], t2)
        S[b] = t2


#: Largest number of multiply-adds per batch element for which the RTRL loops run over
#: the batch innermost (measured: 2.2x faster at N = 1, batch 128; slower from N = 4 on).
WIDE_WORK = 4


@njit(cache=True)
def _wide(nb: int, work: int) -> bool:
    """Whether a loop of ``work`` multiply-adds per element of a batch of ``nb`` runs over
    the batch innermost: tiny work, and a batch long enough (> 8 work, as in _matvec)."""
    return work <= WIDE_WORK and nb > 8 * work


@njit(cache=True)
def _sens_scratch(S: Array) -> Array:
    """The scratch of :func:`_propagate_sens` for S (B, N, C): (N, C, B) for the batch
    innermost (:func:`_wide`), else (N, C, 1)."""
    nb, n, c = S.shape[0], S.shape[1], S.shape[2]
    return np.empty((n, c, nb if _wide(nb, n * n * c) else 1))


@njit(cache=True)
def _advance(rule: int, leak: float, J: Array, hp: Array, x: Array, s1: Array, s2: Array,
             pos: int, tmp1: Array, tmp2: Array) -> None:
    """Advance the traces from t-1 to t (rules.*.advance) given J, h_{t-1} and x_t."""
    nb, n, d = hp.shape[0], hp.shape[1], x.shape[1]
    if rule == BPTT:
        _propagate_sens(J, s1, tmp1)
        _propagate_sens(J, s2, tmp2)
        for b in range(nb):  # immediate term alpha e_i h_{t-1}^T (alpha e_i x_t^T for U)
            for i in range(n):
                for j in range(n):
                    s1[b, i, i * n + j] += leak * hp[b, j]
                for j in range(d):
                    s2[b, i, i * d + j] += leak * x[b, j]
        return
    store = rule == TBPTT  # tbptt stores into its ring buffer, rflo filters
    for j in range(n):
        for b in range(nb):
            s1[b, pos if store else 0, j] = (hp[b, j] if store else
                                             s1[b, 0, j] * (1.0 - leak) + leak * hp[b, j])
    for j in range(d):
        for b in range(nb):
            s2[b, pos if store else 0, j] = (x[b, j] if store else
                                             s2[b, 0, j] * (1.0 - leak) + leak * x[b, j])


@njit(cache=True)
def _error(V: Array, TV: Array, h: Array, hs: Array, xi: Array, sigma: float, e: Array,
           loss: Array, acc: Array) -> None:
    """e = V* h* - V h (+ sigma xi) and loss = ½|e|², batched; acc (2, B, >= M) is
    scratch."""
    _matvec(TV, hs, False, acc[0])
    _matvec(V, h, False, acc[1])
    for b in range(V.shape[0]):
        sq = 0.0
        for m in range(V.shape[1]):
            e[b, m] = acc[0, b, m] - acc[1, b, m]
            if sigma != 0.0:
                e[b, m] = e[b, m] + sigma * xi[b, m]
            sq += e[b, m] * e[b, m]
        loss[b] = 0.5 * sq


@njit(cache=True)
def _outer(f: Array, s: Array, scale: float, out: Array) -> None:
    """out[b, i, j] = (scale f[b, i]) s[b, 0, j] (rflo, tbptt k = 1, and dV = e h^T);
    loop order as in _matvec."""
    nb, rows, cols = out.shape
    if nb <= 8 * rows * cols:
        for b in range(nb):
            ob, sb = out[b], s[b, 0]
            for i in range(rows):
                fi, oi = scale * f[b, i], ob[i]
                for j in range(cols):
                    oi[j] = fi * sb[j]
        return
    for i in range(rows):
        for j in range(cols):
            for b in range(nb):
                out[b, i, j] = (scale * f[b, i]) * s[b, 0, j]


@njit(cache=True)
def _rtrl_directions(g: Array, S: Array, out: Array) -> None:
    """out[b].flat[c] = sum_k g[b, k] S[b, k, c] (dW = sum_k g_k S^W[k])."""
    cols = out.shape[1] * out.shape[2]
    flat = out.reshape(out.shape[0], cols)
    nb = out.shape[0]
    if _wide(nb, S.shape[1] * cols):  # the batch innermost
        for c in range(cols):
            for b in range(nb):
                flat[b, c] = 0.0
            for k in range(S.shape[1]):
                for b in range(nb):
                    flat[b, c] += g[b, k] * S[b, k, c]
        return
    for b in range(out.shape[0]):  # 1-d rows: loops numba compiles tighter
        fb, Sb = flat[b], S[b]
        for c in range(cols):
            fb[c] = 0.0
        for k in range(S.shape[1]):
            gk, sk = g[b, k], Sb[k]
            for c in range(cols):
                fb[c] += gk * sk[c]


#: From this N on, the compiled RTRL keeps the sensitivities S only every CHUNK_STEPS
#: steps ("chunked exact RTRL") instead of S <- J S + E each step, N^2 (N^2 + N D)
#: multiply-adds a step.  Within a chunk that starts at t0, with P_{t,s} = J_t ... J_{s+1}
#: (P_{t,t} = I) and E_s the immediate term of step s,
#:
#:     S_t = P_{t,t0} S_{t0} + sum_{t0 < s <= t} P_{t,s} E_s,  so
#:     g^T S_t = (P_{t,t0}^T g)^T S_{t0} + alpha sum_s (P_{t,s}^T g) [h_{s-1}, x_s]^T:
#:
#: g goes back through the chunk's stored J's (N^2 each, :func:`_chunk_directions`) and
#: meets S_{t0} once (N C), and at the chunk's end S is folded forward once, S <- P S_{t0}
#: plus the propagated immediate terms (:func:`_fold_chunk`: one N^2 C product and
#: ~2 CHUNK_STEPS N^3 by BLAS per chunk).  The same sums grouped otherwise: equal to the
#: step-by-step form to rounding (~1e-14 relative over 300 training steps at N = 32).
#: Measured, CPU per step of train(bptt, D = M = 4, B = 4), step-by-step -> chunked:
#: N = 8 13 -> 14-15 us (not used), 12 30 -> 18-28, 16 73 -> 33-47, 32 560 -> 137
#: (B = 1: 143 -> 38); chunks of 8-24 steps were within the noise of 16 at N = 12-32.
CHUNK_MIN_N = 12
CHUNK_STEPS = 16
#: From this N on, the compiled RTRL calls BLAS (the chunked fold's products of J's and
#: its rank-one sums from CHUNK_MIN_N, its P S from BLAS_MIN_N): engine._blas_limit
#: limits its threads.
BLAS_FROM_N = min(BLAS_MIN_N, CHUNK_MIN_N)


@njit(cache=True)
def _chunk_steps(n: int) -> int:
    """Steps between the folds of S in chunked RTRL (1: S advanced every step)."""
    return CHUNK_STEPS if n >= CHUNK_MIN_N else 1


@njit(cache=True)
def _chunk_store(Hs: Array, Xs: Array, live: int, hp: Array, x: Array) -> None:
    """Hs[b, live] = h_{t-1}[b], Xs[b, live] = x_t[b]: the chunk's immediate terms."""
    for b in range(hp.shape[0]):
        for j in range(hp.shape[1]):
            Hs[b, live, j] = hp[b, j]
        for j in range(x.shape[1]):
            Xs[b, live, j] = x[b, j]


@njit(cache=True)
def _chunk_directions(leak: float, Js: Array, Hs: Array, Xs: Array, live: int, g: Array,
                      s1: Array, s2: Array, vec: Array, dW: Array, dU: Array) -> None:
    """dW = sum_k g_k S^W_t[k] (likewise dU) in chunked RTRL: the ``live`` steps of the
    chunk (Js[s], Hs[:, s], Xs[:, s], s = 0 the first) on top of S_{t0} in s1, s2.
    ``vec`` (2, N) is scratch."""
    nb, n, d = dW.shape[0], dW.shape[1], dU.shape[2]
    v, w = vec[0], vec[1]
    for b in range(nb):
        dWb, dUb = dW[b], dU[b]
        for i in range(n):
            v[i] = g[b, i]
            for j in range(n):
                dWb[i, j] = 0.0
            for j in range(d):
                dUb[i, j] = 0.0
        for s in range(live - 1, -1, -1):  # v = P_{t,s}^T g
            hs, xs = Hs[b, s], Xs[b, s]
            for i in range(n):
                c, rw, ru = leak * v[i], dWb[i], dUb[i]
                for j in range(n):
                    rw[j] += c * hs[j]
                for j in range(d):
                    ru[j] += c * xs[j]
            Jb = Js[s, b]
            for j in range(n):
                w[j] = 0.0
            for i in range(n):
                vi, Ji = v[i], Jb[i]
                for j in range(n):
                    w[j] += Ji[j] * vi
            for j in range(n):
                v[j] = w[j]
        fw, fu = dWb.reshape(n * n), dUb.reshape(n * d)
        for k in range(n):  # + (P_{t,t0}^T g)^T S_{t0}
            vk, sw, su = v[k], s1[b, k], s2[b, k]
            for c in range(n * n):
                fw[c] += vk * sw[c]
            for c in range(n * d):
                fu[c] += vk * su[c]


@njit(cache=True)
def _fold_chunk(leak: float, Js: Array, Hs: Array, Xs: Array, live: int, Q: Array,
                P: Array, s1: Array, s2: Array, tmp1: Array, tmp2: Array) -> None:
    """S <- S at the chunk's last step, from S_{t0} and the ``live`` steps stored:
    Q[b, s] = P_{t1,s} (Q[b, live-1] = I, Q[b, s-1] = Q[b, s] J_s), P = Q[b, 0] J_0,
    S <- P S (:func:`_propagate_sens`), then S^W[k, (i, j)] += alpha sum_s Q_s[k, i]
    h_{s-1}[j] and S^U[k, (i, j)] += alpha sum_s Q_s[k, i] x_s[j]."""
    nb, n, d = Hs.shape[0], Hs.shape[2], Xs.shape[2]
    for b in range(nb):
        Qb = Q[b]
        last = Qb[live - 1]
        for i in range(n):
            for j in range(n):
                last[i, j] = 0.0
            last[i, i] = 1.0
        for s in range(live - 1, 0, -1):
            np.dot(Qb[s], Js[s, b], Qb[s - 1])
        np.dot(Qb[0], Js[0, b], P[b])
    _propagate_sens(P, s1, tmp1)
    _propagate_sens(P, s2, tmp2)
    # the rank-one terms, one product (N^2 x live) (live x N), and (live x D)
    RW, RU = np.empty((n * n, n)), np.empty((n * n, d))
    for b in range(nb):
        Qs = Q[b, :live].reshape(live, n * n).T
        np.dot(Qs, Hs[b, :live], RW)
        np.dot(Qs, Xs[b, :live], RU)
        for k in range(n):
            sw, su = s1[b, k], s2[b, k]
            for i in range(n):
                rw, ru = RW[k * n + i], RU[k * n + i]
                for j in range(n):
                    sw[i * n + j] += leak * rw[j]
                for j in range(d):
                    su[i * d + j] += leak * ru[j]


@njit(cache=True)
def _tbptt_directions(leak: float, J: Array, g: Array, s1: Array, s2: Array, pos: int,
                      deltas: Array, dW: Array, dU: Array) -> None:
    """dW = alpha sum_j (J^T)^j g h_{t-1-j}^T, likewise dU, over the ring buffers; g is
    overwritten.  deltas (k, B, N): deltas[(pos - j) mod k] = (J^T)^j g, matching the
    buffer slots."""
    k = deltas.shape[0]
    for jj in range(k):
        row = (pos - jj + k) % k
        _add(g, deltas[row], 0.0)
        _matvec(J, deltas[row], True, g)
    _window_sum(leak, deltas, s1, dW)
    _window_sum(leak, deltas, s2, dU)


@njit(cache=True)
def _window_sum(leak: float, deltas: Array, s: Array, out: Array) -> None:
    """out[b, i, j] = alpha sum_slot deltas[slot, b, i] s[b, slot, j]; loop order as in
    _matvec (the sum over slots in order either way)."""
    nb, rows, cols = out.shape
    if nb <= 8 * rows * cols:
        for b in range(nb):
            for i in range(rows):
                for j in range(cols):
                    acc = 0.0
                    for r in range(deltas.shape[0]):
                        acc += deltas[r, b, i] * s[b, r, j]
                    out[b, i, j] = leak * acc
        return
    for i in range(rows):
        for j in range(cols):
            for b in range(nb):
                out[b, i, j] = 0.0
            for r in range(deltas.shape[0]):
                for b in range(nb):
                    out[b, i, j] += deltas[r, b, i] * s[b, r, j]
            for b in range(nb):
                out[b, i, j] = leak * out[b, i, j]


@njit(cache=True)
def _directions(rule: int, leak: float, J: Array, V: Array, Bf: Array, e: Array, s1: Array,
                s2: Array, pos: int, g: Array, deltas: Array, dW: Array, dU: Array) -> None:
    """(dW, dU) = update / eta of every rule (rules.*.directions)."""
    if rule == RFLO:  # f = B e, dW = f p^T, dU = f q^T
        _matvec(Bf, e, False, g)
        _outer(g, s1, 1.0, dW)
        _outer(g, s2, 1.0, dU)
        return
    _matvec(V, e, True, g)  # g = V^T e
    if rule == BPTT:
        _rtrl_directions(g, s1, dW)
        _rtrl_directions(g, s2, dU)
    elif s1.shape[1] == 1:  # tbptt k = 1: alpha g h_{t-1}^T without a backward pass
        _outer(g, s1, leak, dW)
        _outer(g, s2, leak, dU)
    else:
        _tbptt_directions(leak, J, g, s1, s2, pos, deltas, dW, dU)


@njit(cache=True)
def _fold(scale: float, M: Array, d: Array, sq: Array) -> None:
    """M += scale d, and sq += d * d unless sq is empty (elementwise on C-contiguous
    arrays of the same shape, as one flat loop)."""
    m, v, q = M.reshape(M.size), d.reshape(d.size), sq.reshape(sq.size)
    for i in range(v.shape[0]):
        m[i] += scale * v[i]
        if q.shape[0] > 0:
            q[i] += v[i] * v[i]


@njit(cache=True)
def _add(src: Array, dst: Array, keep: float) -> None:
    """dst = keep dst + src, elementwise: keep = 1 adds, keep = 0 copies (explicit loops:
    slice assignment costs seconds of compilation)."""
    s, d = src.reshape(src.size), dst.reshape(dst.size)
    for i in range(s.shape[0]):
        d[i] = s[i] if keep == 0.0 else d[i] + s[i]


@njit(cache=True)
def _record(step: int, start: int, every: int, net: tuple, loss_acc: Array, snaps: tuple,
            snap_loss: Array) -> None:
    """After training step ``step`` of the run (counted from 1), if it is a multiple of
    ``every`` (> 0): the window's mean loss ``loss_acc / every`` into row ``i`` of
    ``snap_loss`` and ``loss_acc`` back to 0, and copies of W, U, V into row ``i`` of
    each non-empty ``snaps`` (row 0 is the chunk's first multiple after ``start``): what
    engine._Recorder.flush keeps, without a return to Python per window."""
    if every <= 0 or step % every != 0:
        return
    i = step // every - start // every - 1
    for b in range(loss_acc.shape[0]):
        snap_loss[i, b] = loss_acc[b] / every
        loss_acc[b] = 0.0
    if snaps[0].shape[0] > 0:
        _add(net[0], snaps[0][i], 0.0)
    if snaps[1].shape[0] > 0:
        _add(net[1], snaps[1][i], 0.0)
    if snaps[2].shape[0] > 0:
        _add(net[2], snaps[2][i], 0.0)


@njit(cache=True)
def _one_mode(W: Array, U: Array, V: Array) -> bool:
    """Whether the networks have one hidden unit, one input and one output (N = D = M = 1):
    the noise checks' networks, whose steps :func:`_run_scalar` fuses."""
    return W.shape[1] == 1 and U.shape[2] == 1 and V.shape[1] == 1


@njit(cache=True)
def _run_scalar(rule: int, leak: float, eta: float, sigma: float, net: tuple,
                teacher: tuple, h: Array, hs: Array, s1: Array, s2: Array, X: Array,
                noise: Array, loss_acc: Array, start: int, burn_in: int, block_len: int,
                blocks: tuple, block_loss: Array, squares: tuple, every: int,
                snaps: tuple, snap_loss: Array) -> None:
    """:func:`run_chunk` for N = D = M = 1 (and tBPTT k = 1), same arguments: every step
    of every batch element in one loop, each quantity a scalar.  The same floating-point
    operations in the same order as the helpers above at N = 1 (each of their sums has one
    term, added to 0.0 as they add it), so the same numbers (2.5x faster)."""
    W, U, V, Bf = net
    TW, TU, TV = teacher
    mc = block_loss.shape[0] > 0
    squared = squares[0].shape[0] > 0
    one = 1.0 - leak
    for t in range(X.shape[0]):
        blk = (start + t - burn_in) // block_len if mc and start + t >= burn_in else -1
        for b in range(h.shape[0]):
            x, hp, hsp = X[t, b, 0], h[b, 0], hs[b, 0]
            w, u, v = W[b, 0, 0], U[b, 0, 0], V[b, 0, 0]
            hn = one * hp + leak * ((0.0 + w * hp) + (0.0 + u * x))
            hsn = one * hsp + leak * ((0.0 + TW[b, 0, 0] * hsp) + (0.0 + TU[b, 0, 0] * x))
            if rule == BPTT:
                jac = leak * w
                jac += one
                s1[b, 0, 0] = 0.0 + jac * s1[b, 0, 0]
                s2[b, 0, 0] = 0.0 + jac * s2[b, 0, 0]
                s1[b, 0, 0] += leak * hp
                s2[b, 0, 0] += leak * x
            elif rule == TBPTT:
                s1[b, 0, 0] = hp
                s2[b, 0, 0] = x
            else:
                s1[b, 0, 0] = s1[b, 0, 0] * one + leak * hp
                s2[b, 0, 0] = s2[b, 0, 0] * one + leak * x
            e = (0.0 + TV[b, 0, 0] * hsn) - (0.0 + v * hn)
            if sigma != 0.0:
                e = e + sigma * noise[t, b, 0]
            loss = 0.5 * (0.0 + e * e)
            if rule == RFLO:
                g = 0.0 + Bf[b, 0, 0] * e
                dw, du = (1.0 * g) * s1[b, 0, 0], (1.0 * g) * s2[b, 0, 0]
            elif rule == BPTT:
                g = 0.0 + v * e
                dw, du = 0.0 + g * s1[b, 0, 0], 0.0 + g * s2[b, 0, 0]
            else:
                g = 0.0 + v * e
                dw, du = (leak * g) * s1[b, 0, 0], (leak * g) * s2[b, 0, 0]
            dv = (1.0 * e) * hn
            h[b, 0], hs[b, 0] = hn, hsn
            if not mc:
                W[b, 0, 0] = w + eta * dw
                U[b, 0, 0] = u + eta * du
                V[b, 0, 0] = v + eta * dv
                loss_acc[b] = loss_acc[b] + loss
            elif blk >= 0:
                blocks[0][blk, b, 0, 0] += 1.0 * dw
                blocks[1][blk, b, 0, 0] += 1.0 * du
                blocks[2][blk, b, 0, 0] += 1.0 * dv
                if squared:
                    squares[0][b, 0, 0] += dw * dw
                    squares[1][b, 0, 0] += du * du
                    squares[2][b, 0, 0] += dv * dv
                block_loss[blk, b] = block_loss[blk, b] + loss
        if not mc:
            _record(start + t + 1, start, every, net, loss_acc, snaps, snap_loss)


@njit(cache=True)
def run_chunk(rule: int, leak: float, eta: float, sigma: float, net: tuple, teacher: tuple,
              h: Array, hs: Array, s1: Array, s2: Array, pos: int, X: Array, noise: Array,
              loss_acc: Array, start: int, burn_in: int, block_len: int, blocks: tuple,
              block_loss: Array, squares: tuple, every: int, snaps: tuple,
              snap_loss: Array) -> int:
    """Advance every batch element by X.shape[0] steps in place; returns the new tBPTT slot.

    ``net`` = (W, U, V, B_fb) and ``teacher`` = (W*, U*, V*), each (B, ...); h, hs (B, N);
    traces s1, s2 and slot ``pos`` as in the module docstring; inputs X (T, B, D); label
    noise (T, B, M), read only if sigma != 0.  Training (``block_loss`` has no blocks):
    after each step W, U, V += eta (dW, dU, dV) and ``loss_acc`` (B,) gains ½|e_t|².
    Frozen-weight Monte Carlo (``block_loss`` (n_blocks, B)): the weights stay fixed; step
    ``start + t`` of the run, once past ``burn_in``, adds its (dW, dU, dV) to block
    ``(start + t - burn_in) // block_len`` of ``blocks`` (each (n_blocks, B, ...)), its loss
    to ``block_loss`` and the squares of its directions to ``squares`` (each (B, ...)).
    In training, step ``start + t`` counts the run's steps from 0: with ``every`` > 0 each
    multiple of it is recorded (:func:`_record`: the window's mean loss into ``snap_loss``
    (n, B), W, U, V into ``snaps`` (each (n, B, ...), or empty if not recorded)).
    Every helper loops over the batch inside, so that its call costs (reference counts of
    its array arguments) are paid once per step, not once per batch element.
    """
    W, U, V, Bf = net
    nb, n, d, m, k = W.shape[0], W.shape[1], U.shape[2], V.shape[1], s1.shape[1]
    if _one_mode(W, U, V) and k == 1:
        _run_scalar(rule, leak, eta, sigma, net, teacher, h, hs, s1, s2, X, noise, loss_acc,
                    start, burn_in, block_len, blocks, block_loss, squares, every, snaps,
                    snap_loss)
        return 0 if rule == TBPTT and X.shape[0] > 0 else pos
    chunk = _chunk_steps(n) if rule == BPTT else 1
    chunked, live = chunk > 1, 0  # chunked RTRL (CHUNK_MIN_N), steps since the last fold
    Js, deltas = np.empty((chunk, nb, n, n)), np.empty((k, nb, n))
    Hs, Xs = np.empty((nb, chunk, n)), np.empty((nb, chunk, d))
    Q, vec = np.empty((nb, chunk if chunked else 0, n, n)), np.empty((2, n))
    P = np.empty((nb if chunked else 0, n, n))
    tmp1, tmp2 = _sens_scratch(s1), _sens_scratch(s2)
    hp, hn, hsn, g = np.empty((nb, n)), np.empty((nb, n)), np.empty((nb, n)), np.empty((nb, n))
    e, loss, acc = np.empty((nb, m)), np.empty(nb), np.empty((2, nb, max(n, m)))
    dW, dU, dV = np.empty((nb, n, n)), np.empty((nb, n, d)), np.empty((nb, m, n))
    mc = block_loss.shape[0] > 0
    no_sq = np.empty((0, 0, 0))
    for t in range(X.shape[0]):
        if rule == TBPTT:
            pos = (pos + 1) % k
        x = X[t]
        _add(h, hp, 0.0)
        _forward(W, U, hp, x, leak, hn, acc)
        _forward(teacher[0], teacher[1], hs, x, leak, hsn, acc)
        J = Js[live]
        if rule != RFLO:
            _jacobian(W, leak, J)
        if chunked:
            _chunk_store(Hs, Xs, live, hp, x)
            live += 1
        else:
            _advance(rule, leak, J, hp, x, s1, s2, pos, tmp1, tmp2)
        _error(V, teacher[2], hn, hsn, noise[t] if sigma != 0.0 else e, sigma, e, loss, acc)
        if chunked:
            _matvec(V, e, True, g)
            _chunk_directions(leak, Js, Hs, Xs, live, g, s1, s2, vec, dW, dU)
            if live == chunk:
                _fold_chunk(leak, Js, Hs, Xs, live, Q, P, s1, s2, tmp1, tmp2)
                live = 0
        else:
            _directions(rule, leak, J, V, Bf, e, s1, s2, pos, g, deltas, dW, dU)
        _outer(e, hn.reshape(nb, 1, n), 1.0, dV)
        _add(hn, h, 0.0)
        _add(hsn, hs, 0.0)
        if not mc:
            _fold(eta, W, dW, no_sq)
            _fold(eta, U, dU, no_sq)
            _fold(eta, V, dV, no_sq)
            _add(loss.reshape(1, nb), loss_acc.reshape(1, nb), 1.0)
            _record(start + t + 1, start, every, net, loss_acc, snaps, snap_loss)
        elif start + t >= burn_in:
            blk = (start + t - burn_in) // block_len
            _fold(1.0, blocks[0][blk], dW, squares[0])
            _fold(1.0, blocks[1][blk], dU, squares[1])
            _fold(1.0, blocks[2][blk], dV, squares[2])
            _add(loss.reshape(1, nb), block_loss[blk:blk + 1], 1.0)
    if live > 0:  # S whole again for the caller (and the next call)
        _fold_chunk(leak, Js, Hs, Xs, live, Q, P, s1, s2, tmp1, tmp2)
    return pos


numba_config.CACHE_DIR = _NUMBA_CACHE_DIR  # see the top of the module
