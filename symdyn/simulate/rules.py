"""Matrix-level online learning rules, each implemented from its own definition.

Every rule keeps its eligibility state and, per step, returns the raw update *direction*
(the update divided by eta) for W and U.  The readout always uses the delta rule
ΔV = eta e_t h_t^T, which is exactly -eta dL_t/dV for L_t = ½|e_t|², e_t = y*_t - V h_t.

Step order (shared by all rules, see engine.Runner): with the weights of the current step,
h_t is computed from h_{t-1} and x_t, the traces are advanced with (h_{t-1}, x_t), the error
e_t is formed, and only then are the updates applied.  J = (1 - alpha) I + alpha W is the
one-step Jacobian dh_t/dh_{t-1}.
"""

from __future__ import annotations

import numpy as np

#: The rules this simulator implements (the derivation's named rules are in symdyn.rules,
#: which the simulator does not import).
RULES = ("bptt", "tbptt", "rflo")


def _mv(A: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Batched matrix-vector product A (B,n,m) @ v (B,m) -> (B,n)."""
    return np.matmul(A, v[..., None])[..., 0]


def jacobian(W: np.ndarray, leak: float) -> np.ndarray:
    """J = (1 - alpha) I + alpha W, batched (a new array, at alpha = 1 too)."""
    J = leak * W
    idx = np.arange(W.shape[-1])
    J[..., idx, idx] += 1.0 - leak
    return J


def _step_jacobian(W: np.ndarray, leak: float) -> np.ndarray:
    """:func:`jacobian` for the rules' steps, which only read it: at alpha = 1 W itself,
    no copy (the same numbers). Not the public function: a caller of that may write into
    its J, which must not be the caller's W."""
    return W if leak == 1.0 else jacobian(W, leak)


class MatrixRule:
    """Interface: `advance` the eligibility state by one step, then `directions`.

    The simulator's own rule objects, on full matrices; deliberately independent of
    :class:`symdyn.rules.Rule` (the rule as data for the derivation), so that validation
    compares two implementations."""

    name = "rule"

    def __init__(self, batch: int, n: int, d: int, leak: float) -> None:
        self.batch, self.n, self.d, self.leak = batch, n, d, leak

    def advance(self, W: np.ndarray, h_prev: np.ndarray, x: np.ndarray) -> None:
        """Advance the traces from step t-1 to t given W, h_{t-1} (B,N), x_t (B,D)."""
        raise NotImplementedError

    def directions(self, V: np.ndarray, B_fb: np.ndarray, e: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(dW, dU) = update / eta at step t, given the current V, feedback B_fb and e_t."""
        raise NotImplementedError


class RTRL(MatrixRule):
    """`bptt`: exact online gradient of ½|e_t|² by real-time recurrent learning.

    Sensitivities S^W_t[k,i,j] = dh_t[k]/dW[i,j] and S^U_t[k,i,j] = dh_t[k]/dU[i,j] obey

        S^W_t = J S^W_{t-1} + alpha e_i h_{t-1}^T,    S^U_t = J S^U_{t-1} + alpha e_i x_t^T

    (e_i: unit vector, the immediate term) and the update direction is
    dW = sum_k g_k S^W_t[k] with g = V^T e_t (= -dL_t/dW), likewise dU.

    Why RTRL rather than truncated BPTT through a ring buffer (measured at N=32, B=16, see
    benchmarks/simulate.py): one RTRL step is a single batched (N×N)·(N×N²) matmul,
    ~0.55-0.9 ms, BLAS-bound and independent of the spectral radius, with zero truncation
    error.  A window long enough for a 1e-8 tail needs K = log(1e-8)/log(rho) backward steps
    of ~4 us each (Python-level batched matvecs): ~0.35 ms at rho=0.8 (K=83), ~0.7 ms at
    rho=0.9 (K=175), ~7 ms at rho=0.99 (K=1833); a power-doubling backward pass was no
    better.  So the window wins by <= 2x only while rho(J) <= 0.8, is even at 0.9 and loses
    badly as rho -> 1, which is where learning drives the student when the teacher is slow.
    RTRL also needs no window re-estimation while W changes, and propagates the trace with
    the current J at every step, exactly the trace form s_t = lam s_{t-1} + alpha h_{t-1}.
    The compiled loops (kernels.py) give the same numbers from kernels.CHUNK_MIN_N hidden
    units on with S kept only every kernels.CHUNK_STEPS steps (exact; about 6x fewer
    multiply-adds and 4x less CPU per step at N = 32: kernels.CHUNK_MIN_N).
    Performance note: on a loaded machine multi-threaded OpenBLAS can spin-wait on these
    small gemms (measured 55 ms/step), so the engine's loops run with one BLAS thread
    (``threadpoolctl``, see ``engine.BLAS_THREADS``).
    """

    name = "bptt"

    def __init__(self, batch: int, n: int, d: int, leak: float) -> None:
        super().__init__(batch, n, d, leak)
        # Flattened (B, N, N*N) / (B, N, N*D) so that J @ S is one batched matmul; two buffers
        # each so the matmul can write into preallocated memory (out= may not alias inputs).
        self.SW, self._SW = _rows(batch, n, n * n), _rows(batch, n, n * n)
        self.SU, self._SU = np.zeros((batch, n, n * d)), np.zeros((batch, n, n * d))
        # Views of the entries S[:, k, k, :] of each buffer, which the immediate term
        # changes (a strided view: fancy indexing cost a tenth of a step at N = 32).
        self.dW, self._dW = _diagonal(self.SW, n), _diagonal(self._SW, n)
        self.dU, self._dU = _diagonal(self.SU, d), _diagonal(self._SU, d)

    def advance(self, W: np.ndarray, h_prev: np.ndarray, x: np.ndarray) -> None:
        J = _step_jacobian(W, self.leak)
        np.matmul(J, self.SW, out=self._SW)
        np.matmul(J, self.SU, out=self._SU)
        self.SW, self._SW, self.dW, self._dW = self._SW, self.SW, self._dW, self.dW
        self.SU, self._SU, self.dU, self._dU = self._SU, self.SU, self._dU, self.dU
        # Immediate term: dh_t[k]/dW[k, j] gains alpha h_{t-1}[j] (and alpha x_t[j] for U).
        self.dW += self.leak * h_prev[:, None, :]
        self.dU += self.leak * x[:, None, :]

    def directions(self, V: np.ndarray, B_fb: np.ndarray, e: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        g = np.matmul(e[:, None, :], V)  # (B,1,N) = (V^T e)^T
        dW = np.matmul(g, self.SW).reshape(self.batch, self.n, self.n)
        dU = np.matmul(g, self.SU).reshape(self.batch, self.n, self.d)
        return dW, dU


#: Rows of S^W are padded by this many doubles from N = PAD_MIN_N on, the sizes at which
#: RTRL's product J @ S^W goes to BLAS (here, and in the compiled loops from
#: kernels.BLAS_MIN_N = 17 on, which take the padded buffer whole: compiled._traces).
#: At N = 32 a row is N^2 doubles = 8 KiB: rows a multiple
#: of 4 KiB apart share their L1 cache sets, and the product J @ S^W reads all N rows at
#: once.  Padded, a step of `train` (N = 32, B = D = M = 4, one BLAS thread, 1000 steps,
#: 8 alternating runs in one process) took a median 0.54 ms against 0.66 ms, with bitwise
#: equal results; pads of 4-32 doubles gave the same.
ROW_PAD = 8
PAD_MIN_N = 17


def _rows(b: int, n: int, m: int) -> np.ndarray:
    """Zeros of shape (b, n, m): a C-contiguous array for n < PAD_MIN_N, else a view into
    rows of m + ROW_PAD doubles (see ROW_PAD)."""
    if n < PAD_MIN_N:
        return np.zeros((b, n, m))
    return np.zeros((b, n, m + ROW_PAD))[:, :, :m]


def _diagonal(S: np.ndarray, m: int) -> np.ndarray:
    """The view ``S.reshape(B, N, N, m)[:, k, k, :]`` (shape (B, N, m)) of a sensitivity
    buffer S (B, N, N m) whose last axis is contiguous: entries (k, k, j), writeable."""
    sb, sk, sj = S.strides
    b, n = S.shape[:2]
    return np.lib.stride_tricks.as_strided(S, (b, n, m), (sb, sk + m * sj, sj))


class TBPTT(MatrixRule):
    """`tbptt` with truncation k: backpropagate g = V^T e_t through only the last k steps.

        dW = alpha sum_{j<k} (J^T)^j g h_{t-1-j}^T,    dU = alpha sum_{j<k} (J^T)^j g x_{t-j}^T

    with J built from the current W.  The last k values of h_{t-1-j} and x_{t-j} live in a
    ring buffer; before the start the network is at rest (h = 0, x = 0), so empty slots are 0.
    """

    name = "tbptt"

    def __init__(self, batch: int, n: int, d: int, leak: float, k: int) -> None:
        super().__init__(batch, n, d, leak)
        self.k = k
        self.H = np.zeros((batch, k, n))
        self.X = np.zeros((batch, k, d))
        self.deltas = np.zeros((batch, k, n))
        self.pos = -1
        self.W = np.zeros((batch, n, n))

    def advance(self, W: np.ndarray, h_prev: np.ndarray, x: np.ndarray) -> None:
        self.pos = (self.pos + 1) % self.k
        self.H[:, self.pos] = h_prev
        self.X[:, self.pos] = x
        self.W = W  # J for the backward pass: the weights that produced h_t

    def directions(self, V: np.ndarray, B_fb: np.ndarray, e: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        g = np.matmul(e[:, None, :], V)[:, 0]  # (B,N)
        if self.k == 1:  # dW = alpha g h_{t-1}^T without any backward pass
            gh = self.leak * g[:, :, None]
            return gh * self.H[:, 0, None, :], gh * self.X[:, 0, None, :]
        JT = _step_jacobian(self.W, self.leak).transpose(0, 2, 1)
        # deltas in ring order: slot (pos - j) mod k holds (J^T)^j g, matching H and X slots.
        slots = (self.pos - np.arange(self.k)) % self.k
        d = g
        for s in slots:
            self.deltas[:, s] = d
            d = _mv(JT, d)
        DT = self.deltas.transpose(0, 2, 1)
        return self.leak * np.matmul(DT, self.H), self.leak * np.matmul(DT, self.X)


class RFLO(MatrixRule):
    """`rflo` (Murray 2019): feedback B e_t times leak-filtered presynaptic traces.

        p_t = (1-alpha) p_{t-1} + alpha h_{t-1},   q_t = (1-alpha) q_{t-1} + alpha x_t
        dW = (B e_t) p_t^T,                        dU = (B e_t) q_t^T

    Both lie in the column space of B, hence rank(W_t - W_0) <= rank(B) <= M.
    """

    name = "rflo"

    def __init__(self, batch: int, n: int, d: int, leak: float) -> None:
        super().__init__(batch, n, d, leak)
        self.p = np.zeros((batch, n))
        self.q = np.zeros((batch, d))

    def advance(self, W: np.ndarray, h_prev: np.ndarray, x: np.ndarray) -> None:
        self.p *= 1.0 - self.leak
        self.p += self.leak * h_prev
        self.q *= 1.0 - self.leak
        self.q += self.leak * x

    def directions(self, V: np.ndarray, B_fb: np.ndarray, e: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        f = _mv(B_fb, e)[:, :, None]  # (B,N,1)
        return f * self.p[:, None, :], f * self.q[:, None, :]


def make_rule(rule: str, batch: int, n: int, d: int, leak: float, truncation: int = 1,
              ) -> MatrixRule:
    """Instantiate a rule by name; ValueError for unknown names or truncation < 1."""
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; valid rules: {', '.join(RULES)}")
    if rule == "tbptt":
        if int(truncation) != truncation or truncation < 1:
            raise ValueError(f"truncation must be an integer >= 1, got {truncation}")
        return TBPTT(batch, n, d, leak, int(truncation))
    return {"bptt": RTRL, "rflo": RFLO}[rule](batch, n, d, leak)
