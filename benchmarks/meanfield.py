"""Speed of the matrix mean-field ODE (symdyn.meanfield), numbers measured in one run.

1. N = 32, D = M = 4, random non-aligned network, leak 1, per rule: integrating the
   matrix ODE to tau = 20 (RKC, rtol 1e-3; its error against RK45 at rtol 1e-8) against
   simulating the same network by online SGD at eta = 2e-3 (10 000 steps): wall times
   and their ratio.
2. The same against N (32, 64; 128 with --large): evaluations and cost of one field
   evaluation, cost of one SGD step, the ratio, and how many evaluations a 100x ratio
   would allow.  SGD steps are timed on a prefix with frozen weights (eta = 0: the same
   arithmetic per step, and no divergence to cut the measurement short) and scaled to
   10 000 steps; section 1 checks this against the full run at N = 32.
3. One field evaluation at N = 256 (teacher factored once, as during an integration),
   doubling, eigenbasis and Schur routes, one and two BLAS threads.
4. Cost of one BPTT field evaluation against N for the three routes, fitted exponents.

The ratio is ``(tau / eta) c_sgd(N) / (n_eval(N) c_field(N))``: SGD's cost is
proportional to 1/eta, the ODE's is not.  Per step, RFLO and tBPTT cost O(N^2) (Python
overhead dominates at N <~ 100), BPTT's RTRL O(N^4); a field evaluation costs O(N^3)
(doubling's products, or an eigendecomposition; Python overhead below N ~ 32).  So
BPTT's ratio grows with N, RFLO's shrinks, and the evaluation count, set by the
stiffness (see symdyn/meanfield/rkc.py), is the lever left.

Times are CPU times of this process (``time.process_time``; one BLAS thread, so equal to
wall times on a quiet machine), which other processes on a shared machine disturb far
less than wall times; only the two-thread timings of section 3 are wall times.

Usage: PYTHONPATH=. python benchmarks/meanfield.py [--quick] [--large]
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from symdyn.meanfield import modal
from symdyn.meanfield.field import TeacherField, field, moments
from symdyn.meanfield.integrate import integrate_matrices
from symdyn.meanfield.rule import matrix_rule
from symdyn.simulate import random_network, train

TAU, ETA, RULES = 20.0, 2e-3, ("bptt", "tbptt", "rflo")


def _pair(n: int, seed: int = 1):
    net, teacher = random_network(n, 4, 4, leak=1.0, seed=seed)
    return ((net.W[0], net.U[0], net.V[0]), (teacher.W[0], teacher.U[0], teacher.V[0]),
            net, teacher)


def _truncation(rule: str) -> int | None:
    return 2 if rule == "tbptt" else None


def integrate(rule: str, n: int, method: str = "RKC", rtol: float = 1e-3):
    student, target, net, _ = _pair(n)
    t0 = time.process_time()
    traj = integrate_matrices(rule, student, target, TAU, 1.0, feedback=net.B_fb[0],
                              truncation=_truncation(rule), n_eval=11, rtol=rtol,
                              atol=1e-2 * rtol, method=method)
    return traj, time.process_time() - t0


def sgd_time(rule: str, n: int, n_steps: int, eta: float = ETA) -> float:
    _, _, net, teacher = _pair(n)
    t0 = time.process_time()
    train(net, teacher, rule=rule, eta=eta, n_steps=n_steps, leak=1.0, truncation=2, seed=0,
          record=("loss",), record_every=max(1, n_steps // 10))
    return time.process_time() - t0


def _error(traj, ref) -> tuple[float, float]:
    """Largest relative error over the outputs: of (W, U, V) together, and of W entrywise."""
    def vec(tr, k):
        return np.concatenate([tr.W[k].ravel(), tr.U[k].ravel(), tr.V[k].ravel()])
    k_all = range(min(len(traj.tau), len(ref.tau)))
    whole = max(np.linalg.norm(vec(traj, k) - vec(ref, k)) / np.linalg.norm(vec(ref, k))
                for k in k_all)
    entry = max(np.max(np.abs(traj.W[k] - ref.W[k])) / np.max(np.abs(ref.W[k])) for k in k_all)
    return whole, entry


def section_one() -> dict[str, float]:
    print(f"1. matrix ODE to tau = {TAU:g} vs online SGD at eta = {ETA:g}, N=32, D=M=4, leak 1:")
    per_step = {}
    for rule in RULES:
        traj, t_ode = integrate(rule, 32)
        ref, t_ref = integrate(rule, 32, "RK45", 1e-8)
        whole, entry = _error(traj, ref)
        n_steps = int(round(TAU / ETA))
        t_sim = sgd_time(rule, 32, n_steps)
        per_step[rule] = t_sim / n_steps
        print(f"  {rule:6s} ODE {t_ode:5.2f} s ({traj.n_evaluations} evaluations, "
              f"{1e3 * t_ode / traj.n_evaluations:.2f} ms each, {traj.status}; error vs RK45 "
              f"rtol 1e-8 [{ref.n_evaluations} evaluations, {t_ref:.1f} s]: {whole:.1e} "
              f"whole, {entry:.1e} W entrywise) | SGD {t_sim:5.2f} s "
              f"({1e3 * t_sim / n_steps:.3f} ms/step) | {t_sim / t_ode:.2f}x", flush=True)
    return per_step


def field_time(n: int, rule: str = "bptt", repeats: int = 3, threads: int = 1,
               route: str = "field") -> float:
    """Fastest of ``repeats`` evaluations: ``route="field"`` as field() chooses (doubling
    from N = 16), ``"modal"`` the eigenbasis route, ``"schur"`` the Schur route."""
    student, target, net, _ = _pair(n)
    tf = TeacherField.of(target, 1.0)
    _, _ = tf.schur, tf.modal  # cached: an integration reuses the teacher's factors
    mr = matrix_rule(rule, 1.0, _truncation(rule))
    times = []
    clock = time.process_time if threads == 1 else time.perf_counter  # CPU time sums threads
    field_module = sys.modules["symdyn.meanfield.field"]  # the package exports field()
    minimum, field_module.DOUBLING_MIN_N = field_module.DOUBLING_MIN_N, (
        10**9 if route == "modal" else field_module.DOUBLING_MIN_N)
    try:
        with threadpool_limits(threads):
            for _ in range(repeats):
                t0 = clock()
                m = moments(student, tf) if route == "schur" else None
                field(mr, student, tf, net.B_fb[0], m=m)
                times.append(clock() - t0)
    finally:
        field_module.DOUBLING_MIN_N = minimum
    return min(times)


def section_two(sizes: tuple[int, ...], full_run: dict[str, float]) -> None:
    n_steps = int(round(TAU / ETA))
    rows: dict[str, list[tuple[float, ...]]] = {rule: [] for rule in RULES}
    print(f"2. against N (min of 2 runs; SGD per step from a prefix at eta = 0, times "
          f"{n_steps} steps; '100x needs': evaluations a 100x ratio would allow):")
    for n in sizes:
        for rule in RULES:
            runs = [integrate(rule, n) for _ in range(2 if n <= 64 else 1)]
            traj, t_ode = runs[0][0], min(t for _, t in runs)
            c_field = field_time(n, rule)
            prefix = max(20, min(2000, int(2000 * (32 / n) ** (4 if rule == "bptt" else 2))))
            c_sgd = min(sgd_time(rule, n, prefix, eta=0.0) for _ in range(2)) / prefix
            t_sgd = c_sgd * n_steps
            check = (f", full run {1e3 * full_run[rule]:.3f}" if n == 32 and rule in full_run
                     else "")
            print(f"  N={n:4d} {rule:6s} ODE {t_ode:7.2f} s ({traj.n_evaluations:4d} evaluations"
                  f", {traj.status}; field {1e3 * c_field:7.2f} ms) | SGD step "
                  f"{1e3 * c_sgd:7.3f} ms ({prefix} steps{check}) -> {t_sgd:8.2f} s | "
                  f"{t_sgd / t_ode:6.2f}x | 100x needs <= {t_sgd / (100 * c_field):7.1f} "
                  "evaluations", flush=True)
            rows[rule].append((n, c_sgd, c_field, traj.n_evaluations, t_sgd / t_ode))
    _limits(rows)


def _limits(rows: dict[str, list[tuple[float, ...]]]) -> None:
    """Power laws between the smallest and largest N measured, and where they lead."""
    print("  limit: ratio = (tau/eta) c_sgd / (n_eval c_field); exponents between the "
          "smallest and largest N measured (extrapolation, not measurement):")
    for rule, r in rows.items():
        (n0, s0, f0, e0, q0), (n1, s1, f1, e1, q1) = r[0], r[-1]
        logn = np.log(n1 / n0)
        k = np.log(q1 / q0) / logn
        reach = (f"100x near N ~ {n1 * (100 / q1) ** (1 / k):.0f}" if k > 0 and q1 < 100
                 else "100x not reached by growing N" if q1 < 100 else "100x reached")
        print(f"  {rule:6s} c_sgd ~ N^{np.log(s1 / s0) / logn:.2f}, c_field ~ "
              f"N^{np.log(f1 / f0) / logn:.2f}, n_eval ~ N^{np.log(e1 / e0) / logn:.2f} -> "
              f"ratio ~ N^{k:.2f}; {reach}; at N = {n1}, 100x for eta <= {ETA * q1 / 100:.1e}")


def section_three_four(quick: bool) -> None:
    routes = ("field", "modal", "schur")
    print("3. one field evaluation at N = 256 (min of 5), doubling | eigenbasis | Schur route:")
    for rule in ("bptt", "rflo"):
        for threads in (1, 2):
            t = [field_time(256, rule, repeats=5, threads=threads, route=r) for r in routes]
            print(f"  {rule:6s} {threads} BLAS thread(s): " + " | ".join(f"{x:.3f} s" for x in t),
                  flush=True)
    print("4. cost of one BPTT field evaluation against N (1 thread), doubling | eigenbasis | "
          "Schur:")
    sizes = (16, 32, 64, 128, 256) if not quick else (16, 32, 64)
    costs = [[field_time(n, repeats=5, route=r) for n in sizes] for r in routes]
    for i, n in enumerate(sizes):
        print(f"  N = {n:4d}: " + " | ".join(f"{1e3 * c[i]:8.2f} ms" for c in costs))
    for name, t in zip(("doubling", "eigenbasis", "Schur"), costs, strict=True):
        slope = np.polyfit(np.log(sizes[-3:]), np.log(t[-3:]), 1)[0]
        print(f"  {name} route, fitted over the three largest N: cost ~ N^{slope:.2f}")
    print(f"  (the eigenbasis route declines above cond_1(P) = {modal.MAX_CONDITION:g})")


def warm_up() -> None:
    """One-off costs (SymPy's translation of each rule, first calls into LAPACK and the
    simulator) are paid here, outside the timings."""
    for rule in RULES:
        student, target, net, teacher = _pair(8)
        integrate_matrices(rule, student, target, 0.1, feedback=net.B_fb[0],
                           truncation=_truncation(rule), n_eval=2, method="RKC")
        train(net, teacher, rule=rule, eta=0.0, n_steps=10, leak=1.0, truncation=2,
              record=("loss",))


def main() -> None:
    quick = "--quick" in sys.argv
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    warm_up()
    full_run = section_one() if not quick else {}
    section_two((32, 64, 128) if "--large" in sys.argv else (32, 64), full_run)
    section_three_four(quick)


if __name__ == "__main__":
    with threadpool_limits(1):  # one BLAS thread unless a measurement asks for two
        main()
