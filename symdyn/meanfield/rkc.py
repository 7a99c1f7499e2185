"""Runge-Kutta-Chebyshev (RKC, second order; Sommeijer, Shampine & Verwer 1998) for the
stiff matrix ODE.

The matrix field is stiff: readout and recurrent directions relax at rates tens of times
faster than the slow learning modes (measured: fastest Jacobian eigenvalue about -16 at
N = 16, against slow rates of order 0.1-1), so RK45 is limited by stability, not accuracy
(about 1000 evaluations to tau = 20 at any tolerance).  RKC's ``s`` stages stretch the
real stability interval to ``~0.65 s^2``: the stage count follows the spectral radius,
estimated by a power iteration on finite-difference Jacobian-vector products, and the step
follows the accuracy.  Valid when the stiff eigenvalues lie near the negative real axis.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPS_DAMP = 2.0 / 13.0


def _coefficients(s: int) -> tuple[np.ndarray, ...]:
    """mu, nu, mu~, gamma~ (index j = 1..s) and the stage times c_j of RKC2."""
    w0 = 1.0 + EPS_DAMP / s**2
    T, dT, ddT = np.zeros(s + 1), np.zeros(s + 1), np.zeros(s + 1)
    T[0], T[1], dT[1] = 1.0, w0, 1.0
    for j in range(2, s + 1):
        T[j] = 2 * w0 * T[j - 1] - T[j - 2]
        dT[j] = 2 * T[j - 1] + 2 * w0 * dT[j - 1] - dT[j - 2]
        ddT[j] = 4 * dT[j - 1] + 2 * w0 * ddT[j - 1] - ddT[j - 2]
    w1 = dT[s] / ddT[s]
    b = np.empty(s + 1)
    b[2:] = ddT[2:] / dT[2:] ** 2
    b[0] = b[1] = b[2]
    a = 1 - b * T
    mu, nu, mut, gt = (np.zeros(s + 1) for _ in range(4))
    mut[1] = b[1] * w1
    for j in range(2, s + 1):
        mu[j] = 2 * b[j] * w0 / b[j - 1]
        nu[j] = -b[j] / b[j - 2]
        mut[j] = 2 * b[j] * w1 / b[j - 1]
        gt[j] = -a[j - 1] * mut[j]
    return mu, nu, mut, gt


def spectral_radius(f: Callable, y: np.ndarray, fy: np.ndarray, iters: int = 12) -> float:
    """Largest ``|eigenvalue|`` of ``df/dy`` by power iteration on finite differences."""
    rng = np.random.default_rng(0)
    v = rng.standard_normal(y.shape)
    scale = np.sqrt(np.finfo(float).eps) * max(1.0, np.linalg.norm(y))
    rho = 0.0
    for _ in range(iters):
        v /= np.linalg.norm(v)
        w = (f(y + scale * v) - fy) / scale
        if not np.all(np.isfinite(w)):
            break
        rho = float(np.linalg.norm(w))
        v = w
    return rho


def rkc_step(f: Callable, y: np.ndarray, fy: np.ndarray, h: float, s: int) -> np.ndarray:
    mu, nu, mut, gt = _coefficients(s)
    y_prev2, y_prev = y, y + mut[1] * h * fy
    for j in range(2, s + 1):
        y_new = ((1 - mu[j] - nu[j]) * y + mu[j] * y_prev + nu[j] * y_prev2
                 + mut[j] * h * f(y_prev) + gt[j] * h * fy)
        y_prev2, y_prev = y_prev, y_new
    return y_prev


def integrate_rkc(f: Callable, y0: np.ndarray, times: np.ndarray, rtol: float, atol: float,
                  budget: int) -> tuple[list[np.ndarray], str, int]:
    """Integrate to each of ``times`` (steps land on them); returns the states reached,
    ``"ok"``, ``"stalled"`` (the step collapsed: the field returned NaN, e.g. outside the
    stable region) or ``"budget"``, and the number of evaluations."""
    count = [0]

    def fc(y: np.ndarray) -> np.ndarray:
        count[0] += 1
        return f(y)

    y, t, out = y0.copy(), times[0], [y0.copy()]
    fy = fc(y)
    rho = spectral_radius(fc, y, fy)
    h = min(1e-2, 0.1 / max(rho, 1e-12))
    k, since_rho = 1, 0
    while k < len(times):
        if count[0] > budget:
            return out, "budget", count[0]
        h_try = min(h, times[k] - t)
        s = max(2, int(1 + np.sqrt(1 + 1.54 * h_try * 1.2 * rho)))
        y_new = rkc_step(fc, y, fy, h_try, s)
        f_new = fc(y_new)
        est = (12 * (y - y_new) + 6 * h_try * (fy + f_new)) / 15
        err = np.sqrt(np.mean((est / (atol + rtol * np.maximum(np.abs(y), np.abs(y_new))))
                              ** 2))
        if not np.isfinite(err) or err > 1:
            h = h_try * (0.1 if not np.isfinite(err) else max(0.1, 0.8 * err ** (-1 / 3)))
            if h < 1e-12 * max(1.0, abs(times[-1])):
                return out, "stalled", count[0]
            continue
        y, fy, t = y_new, f_new, t + h_try
        h = h_try * min(10.0, max(0.1, 0.8 * max(err, 1e-10) ** (-1 / 3)))
        since_rho += 1
        if since_rho >= 20:
            rho, since_rho = spectral_radius(fc, y, fy), 0
        if t >= times[k] - 1e-12 * max(1.0, abs(times[k])):
            out.append(y.copy())
            k += 1
    return out, "ok", count[0]
