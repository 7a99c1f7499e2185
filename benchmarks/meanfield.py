"""Speed of the matrix mean-field ODE (symdyn.meanfield), numbers measured in one run.

1. Integrating the matrix ODE to tau = 20 (RKC, rtol 1e-3) against simulating the same
   network (N=32, D=M=4, random non-aligned, leak 1) by online SGD at eta = 2e-3
   (10 000 steps), per rule: the ratio of wall times.
2. One evaluation of the field at N = 256 (teacher's Schur factor cached, as during an
   integration), with one and two BLAS threads.
3. Cost of one evaluation against N, and the fitted exponent.

Usage: PYTHONPATH=. python benchmarks/meanfield.py [--quick] [--large]  (--large: also N=64)
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from symdyn.meanfield.field import TeacherField, field
from symdyn.meanfield.integrate import integrate_matrices
from symdyn.meanfield.rule import matrix_rule
from symdyn.simulate import random_network, train


def _pair(n: int, leak: float = 1.0, seed: int = 1):
    net, teacher = random_network(n, 4, 4, leak=leak, seed=seed)
    return ((net.W[0], net.U[0], net.V[0]), (teacher.W[0], teacher.U[0], teacher.V[0]),
            net, teacher)


def ode_vs_sgd(rule: str, tau: float = 20.0, eta: float = 2e-3, n: int = 32) -> None:
    student, target, net, teacher = _pair(n)
    t0 = time.perf_counter()
    # RKC at rtol 1e-3: about 1.5e-3 relative error in the weights (measured against RK45
    # at rtol 1e-8), far below SGD's seed-to-seed spread at this eta.
    traj = integrate_matrices(rule, student, target, tau, 1.0, feedback=net.B_fb[0],
                              truncation=2 if rule == "tbptt" else None, n_eval=11,
                              rtol=1e-3, atol=1e-5, method="RKC")
    t_ode = time.perf_counter() - t0
    t0 = time.perf_counter()
    train(net, teacher, rule=rule, eta=eta, n_steps=int(round(tau / eta)), leak=1.0,
          truncation=2, seed=0, record=("loss",), record_every=1000)
    t_sim = time.perf_counter() - t0
    print(f"  N={n} {rule:6s} ODE {t_ode:6.2f} s ({traj.n_evaluations} field evaluations, "
          f"{1e3 * t_ode / traj.n_evaluations:.1f} ms each, status {traj.status}) | SGD "
          f"{t_sim:6.2f} s ({1e3 * t_sim / round(tau / eta):.2f} ms/step) | "
          f"speed-up {t_sim / t_ode:.2f}x", flush=True)


def field_time(n: int, rule: str = "bptt", repeats: int = 3, threads: int = 1) -> float:
    student, target, net, _ = _pair(n)
    tf = TeacherField.of(target, 1.0)
    _ = tf.schur  # cached: an integration reuses the teacher's factor
    mr = matrix_rule(rule, 1.0)
    times = []
    with threadpool_limits(threads):
        for _ in range(repeats):
            t0 = time.perf_counter()
            field(mr, student, tf, net.B_fb[0])
            times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    quick = "--quick" in sys.argv
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print("1. matrix ODE to tau = 20 vs online SGD at eta = 2e-3, N=32, D=M=4, leak 1:")
    for rule in ("bptt", "tbptt", "rflo") if not quick else ("rflo",):
        ode_vs_sgd(rule)
    if "--large" in sys.argv:  # RTRL costs N^4 per step, the field about N^2-N^3
        ode_vs_sgd("bptt", n=64)
    print("2. one field evaluation at N = 256 (min of 3):")
    for rule in ("bptt", "rflo"):
        for threads in (1, 2):
            print(f"  {rule:6s} {threads} BLAS thread(s): "
                  f"{field_time(256, rule, threads=threads):.3f} s", flush=True)
    print("3. cost of one BPTT field evaluation against N (1 thread):")
    sizes = (16, 32, 64, 128, 256) if not quick else (16, 32, 64)
    times = [field_time(n) for n in sizes]
    for n, t in zip(sizes, times, strict=True):
        print(f"  N = {n:4d}: {1e3 * t:8.2f} ms")
    slope = np.polyfit(np.log(sizes[-3:]), np.log(times[-3:]), 1)[0]
    print(f"  fitted exponent over the three largest N: cost ~ N^{slope:.2f}")


if __name__ == "__main__":
    with threadpool_limits(1):  # one BLAS thread unless a measurement asks for two
        main()
