"""Validation of the derived learning ODEs against direct simulation of full networks.

Every check compares a derived result (:mod:`symdyn.ode`, :mod:`symdyn.analysis`) with an
independent numeric experiment (:mod:`symdyn.simulate`, which never imports the
derivation) and returns a :class:`Check`: one number, a threshold and a verdict
(THEORY.md section 5).  Derived results choose *where* to look (run lengths, starting
points) and are compared with the outcome; they never enter the simulated dynamics.

Checks (all in learning time ``tau = eta t``; a mode is ``(a, b, c)`` with
``a_i = r_i^T W r_i``, ``b_i = r_i^T U q_i``, ``c_i = p_i^T V r_i``):

* ``expected_update``: ``max |z|``, ``z = (MC mean - rhs) / MC standard error`` of
  ``update / eta`` at frozen random stable points.
* ``trajectory``: largest relative error along online SGD on an aligned network vs the
  integrated ODE; ``discrimination``: that error over the smallest one against the ODE
  of another rule (the same run); ``eta_scaling``: slope of ``log error`` vs
  ``log eta`` (> 0).
* ``local_rate``: fitted exponential approach to the optimal manifold vs the slowest
  non-zero eigenvalue of the Jacobian there.
* ``stability``: the optimum attracts the simulation (and, for ``rflo`` at ``a* = 0``,
  repels it when ``beta c < 0``).
* ``saddle``: plateau length at ``b = c = 0`` predicted from the saddle eigenvalue
  (``bptt``, ``tbptt``) or immediate escape (``rflo``).
* ``conserved``: drift of each derived conserved quantity, and the limit point of
  :func:`symdyn.predict_limit`.
* ``low_rank``: ``sigma_{M+1} / sigma_1`` of ``W_T - W_0`` and ``U_T - U_0`` on a dense
  non-aligned network (``<= M`` for ``rflo``, full rank otherwise).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np
import sympy as sp
from scipy import stats

from . import symbols as S
from .analysis import (
    conserved_quantities,
    limit_candidates,
    predict_limit,
    slowest_rate,
)
from .codegen import jacobian_function, loss_function, rhs_function
from .errors import SymdynError
from .integration import Trajectory, integrate
from .model import parse_leak
from .ode import LearningODE, derive
from .rules import get_rule
from .simulate import (
    aligned_network,
    expected_update_mc,
    project_matrices,
    project_modes,
    random_network,
    train,
)

__all__ = [
    "Case",
    "Check",
    "ValidationReport",
    "check_conserved",
    "check_discrimination",
    "check_eta_scaling",
    "check_expected_update",
    "check_local_rate",
    "check_low_rank",
    "check_saddle",
    "check_stability",
    "check_trajectory",
    "run_validation",
    "simulate_modes",
]

Progress = Callable[[str, float], None]
STATE_NAMES = ("a", "b", "c")


# --- results --------------------------------------------------------------------------
@dataclass
class Check:
    """One validation check: ``passed`` is ``metric < threshold`` unless
    ``details["pass_if"]`` says ``">"``.  ``details`` holds the data behind the number
    (arrays for figures included); it never enters :meth:`ValidationReport.to_dict`."""

    name: str
    metric: float
    threshold: float
    passed: bool
    details: dict = field(default_factory=dict)

    @property
    def relation(self) -> str:
        return self.details.get("pass_if", "<")


def _check(name: str, metric: float, threshold: float, sense: str = "<", **details) -> Check:
    """A Check whose verdict is ``metric < threshold`` (or ``>``); NaN always fails."""
    metric = float(metric)
    ok = metric < threshold if sense == "<" else metric > threshold
    return Check(name, metric, float(threshold), bool(ok and math.isfinite(metric)),
                 {"pass_if": sense, **details})


@dataclass
class ValidationReport:
    """The checks of one rule at one leak; ``passed`` iff every check passed."""

    rule: str
    truncation: int | None
    leak: float
    seed: int
    quick: bool
    checks: list[Check]
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict:
        """``{"rule", "truncation", "leak", "seed", "checks": [{name, metric, threshold,
        passed}]}``: the JSON shape of ``symdyn validate``."""
        return {
            "rule": self.rule, "truncation": self.truncation, "leak": self.leak,
            "seed": self.seed,
            "checks": [{"name": c.name, "metric": c.metric, "threshold": c.threshold,
                        "passed": c.passed} for c in self.checks],
        }

    def _rows(self) -> list[tuple[str, str, str, str]]:
        return [(c.name, f"{c.metric:.4g}", f"{c.relation} {c.threshold:.4g}",
                 "pass" if c.passed else "FAIL") for c in self.checks]

    @property
    def title(self) -> str:
        k = f" (k = {self.truncation})" if self.rule == "tbptt" else ""
        mode = ", quick" if self.quick else ""
        return f"validation of {self.rule}{k}, leak {self.leak:g}, seed {self.seed}{mode}"

    def table(self) -> str:
        """Aligned plain-text table with a verdict line."""
        head = ("check", "metric", "threshold", "verdict")
        rows = [head, *self._rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [self.title]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                  for r in rows]
        lines.insert(2, "  ".join("-" * w for w in widths))
        verdict = "all checks passed" if self.passed else "SOME CHECKS FAILED"
        lines.append(f"{verdict} ({self.seconds:.1f} s)")
        return "\n".join(lines)

    def markdown(self) -> str:
        """Markdown table of the checks."""
        lines = [f"**{self.title}**", "", "| check | metric | threshold | verdict |",
                 "|---|---:|---:|---|"]
        lines += [f"| {n} | {m} | {t} | {v} |" for n, m, t, v in self._rows()]
        return "\n".join(lines)


# --- the case under test --------------------------------------------------------------
@dataclass
class Case:
    """Rule, leak and sizes of one validation run.

    ``speed`` rescales learning time: at leak ``alpha`` the recurrent weight moves
    ``alpha**2`` times slower (``d lam / d tau = alpha * da/dtau`` and the gradient in ``a``
    carries another ``alpha``), so horizons scale by ``1/alpha**2`` and eta by ``1/alpha``
    to keep the number of steps, and the noise per unit of motion, comparable.
    """

    rule: str
    truncation: int | None = None
    leak: float = 1.0
    seed: int = 0
    quick: bool = False

    @cached_property
    def ode(self) -> LearningODE:
        return derive(self.rule, leak=self.leak, truncation=self.truncation)

    @property
    def k(self) -> int:
        """The simulator's truncation (ignored by bptt and rflo)."""
        return 1 if self.truncation is None else int(self.truncation)

    @property
    def horizon(self) -> float:
        return 1.0 / self.leak**2

    @property
    def eta_scale(self) -> float:
        return 1.0 / self.leak**2

    def a_of(self, lam) -> np.ndarray:
        """The recurrent weight with effective recurrence ``lam = 1 - alpha + alpha a``."""
        return (np.asarray(lam, dtype=float) - 1.0 + self.leak) / self.leak

    def params(self, modes: dict) -> dict:
        """The ODE's parameters taken from a mode dictionary."""
        return {p.name: modes[p.name] for p in self.ode.parameters}

    def rng(self, salt: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, salt])


#: Rules with a matrix-level simulator in :mod:`symdyn.simulate` and rule-specific
#: expectations (saddle, stability, rank) in the checks below.
SIMULATED_RULES = ("bptt", "tbptt", "rflo")


def _case(rule: str, truncation: int | None, leak, seed: int, quick: bool) -> Case:
    if rule not in SIMULATED_RULES:
        get_rule(rule, truncation)  # an unknown name gets the engine's own error
        raise SymdynError(f"validation simulates {', '.join(SIMULATED_RULES)}; rule {rule!r} "
                          "has no matrix-level simulator yet")
    value = parse_leak(leak)
    if value.free_symbols:
        raise SymdynError("validation simulates networks, so it needs a numeric leak in "
                          f"(0, 1], not {leak!r}")
    return Case(rule, truncation, float(value), int(seed), bool(quick))


# --- simulation helpers ---------------------------------------------------------------
@dataclass
class SimRun:
    """Projected online-SGD run: ``states[k, r, i]`` = (a, b, c) of mode i in replica r at
    ``tau[k]``; ``loss[k]`` (replica-mean window loss) at ``loss_tau[k]``."""

    tau: np.ndarray
    states: np.ndarray
    loss_tau: np.ndarray
    loss: np.ndarray
    eta: float
    steps: int


def simulate_modes(case: Case, modes: dict, *, batch: int, eta: float, tau_end: float,
                   n_rec: int = 100, seed: int = 0) -> SimRun:
    """Train an aligned network (one mode per entry of ``modes``, N = D = M) online by the
    rule and project every snapshot onto the modes."""
    n = len(np.atleast_1d(modes["a"]))
    net, teacher, bases = aligned_network(n, n, n, leak=case.leak, batch=batch, seed=seed,
                                          **modes)
    steps = max(1, int(round(tau_end / eta)))
    every = max(1, steps // n_rec)
    res = train(net, teacher, rule=case.rule, eta=eta, n_steps=steps, leak=case.leak,
                truncation=case.k, seed=seed + 1, record_every=every)
    proj = project_matrices(res.W, res.U, res.V, bases)
    start = project_modes(net, bases)
    states = np.stack([np.concatenate([start[k][None], proj[k]]) for k in STATE_NAMES], -1)
    tau = np.concatenate([[0.0], res.steps * eta])
    loss_tau = (res.steps - every / 2) * eta  # window means: centre of each window
    return SimRun(tau, states, loss_tau, res.loss.mean(axis=1), eta, steps)


def _initial(modes: dict) -> np.ndarray:
    return np.stack([np.asarray(modes[k], dtype=float) for k in STATE_NAMES], axis=-1)


def _ode_run(case: Case, modes: dict, tau: np.ndarray) -> np.ndarray:
    """ODE states (len(tau), n, 3) at the sample times ``tau`` (uniform, from 0)."""
    traj: Trajectory = integrate(case.ode, _initial(modes), case.params(modes),
                                 float(tau[-1]), n_eval=len(tau))
    return traj.states


# --- 1. expected update ---------------------------------------------------------------
def random_points(case: Case, batch: int, n: int, salt: int = 1) -> dict:
    """Random stable parameter points (batch, n): ``|lam|, |lam*| <= 0.8``, signed
    ``b, c`` of modulus in [0.3, 1.3], teacher in [0.5, 1.5], ``|beta|`` in [0.5, 1.5]."""
    rng = case.rng(salt)

    def signed(lo: float, hi: float) -> np.ndarray:
        return rng.choice([-1.0, 1.0], (batch, n)) * rng.uniform(lo, hi, (batch, n))

    return {"a": case.a_of(rng.uniform(-0.7, 0.8, (batch, n))),
            "a_star": case.a_of(rng.uniform(-0.7, 0.8, (batch, n))),
            "b": signed(0.3, 1.3), "c": signed(0.3, 1.3), "b_star": signed(0.5, 1.5),
            "c_star": signed(0.5, 1.5), "beta": signed(0.5, 1.5)}


def mc_z_scores(case: Case, points: dict, ode: LearningODE | None = None, *,
                n_steps: int, n_blocks: int) -> dict:
    """z-scores (3, batch, n) of the Monte Carlo expected update of ``case.rule`` against
    the right-hand side of ``ode`` (default: the case's own derived ODE)."""
    batch, n = np.shape(points["a"])
    net, teacher, bases = aligned_network(n, n, n, leak=case.leak, batch=batch,
                                          seed=case.seed, **points)
    mc = expected_update_mc(net, teacher, rule=case.rule, leak=case.leak, truncation=case.k,
                            n_steps=n_steps, burn_in=500, seed=case.seed + 7,
                            n_blocks=n_blocks, bases=bases)
    ode = ode or case.ode
    rhs = rhs_function(ode)(_initial(points).transpose(2, 0, 1),
                            {p.name: points[p.name] for p in ode.parameters})
    mean = np.stack([mc["da"], mc["db"], mc["dc"]])
    sem = np.stack([mc["da_sem"], mc["db_sem"], mc["dc_sem"]])
    return {"z": (mean - rhs) / sem, "mc": mean, "sem": sem, "rhs": rhs}


def check_expected_update(case: Case, ode: LearningODE | None = None) -> Check:
    """``max |z|`` over components, modes and points; threshold 4.

    With batch means over ``n_blocks`` blocks each z is Student-t with ``n_blocks - 1``
    degrees of freedom under the null; the family-wise false-alarm rate is bounded by
    ``K * P(|t| > 4)`` for ``K`` z-scores (reported in ``details``; < 1 % here).
    """
    batch, n, steps, blocks = (4, 3, 20_000, 50) if case.quick else (8, 4, 100_000, 100)
    points = random_points(case, batch, n)
    out = mc_z_scores(case, points, ode, n_steps=steps, n_blocks=blocks)
    z = out["z"]
    false_alarm = min(1.0, z.size * 2 * stats.t.sf(4.0, blocks - 1))
    return _check("expected_update", np.max(np.abs(z)), 4.0, z=z, mc=out["mc"],
                  sem=out["sem"], rhs=out["rhs"], n_steps=steps, n_blocks=blocks,
                  n_scores=z.size, false_alarm_bound=false_alarm)


# --- 2. trajectories ------------------------------------------------------------------
def trajectory_modes(case: Case, n: int = 8, lam0: float = 0.8, bc0: float = 0.8) -> dict:
    """``n`` modes with different teachers: ``lam*`` from -0.4 to 0.8, ``|b*|, |c*|`` from
    0.7 to 1.3 with mixed signs; the student starts with long memory, ``lam = lam0``
    (0.8: up to 1.2 from its teacher), ``|b| = |c| = bc0`` on the teacher's sign branch
    (away from the saddle) and ``beta = 1.5 sign(c*)`` so that ``beta c > 0`` at the
    optimum (RFLO's stable side).

    The rules differ in how they credit the recurrent weight through the memory of the
    network (trace decay ``lam`` for BPTT, one step for tBPTT k = 1, the leak alone for
    RFLO), so their fields part where ``lam`` is large: every mode starts there and the
    teachers with memory keep some modes there (with teachers at ``lam* <= 0.6`` and the
    student at 0.2, BPTT's run was within 7 % of tBPTT's ODE).  The student descends
    from high memory, a decelerating motion; rising steeply to a teacher at 0.85 turns
    the SGD noise into a timing error on a sharp transition several times larger.
    ``bc0 = 0.8`` (output gain near the teacher's) keeps ``lam`` from overshooting
    towards 1 to make up for a weak readout (to 0.90-0.93 from ``bc0 = 0.5`` at leak 1),
    so the spectral radius stays <= 0.86 along every rule's ODE.
    """
    sign = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    b_star = np.linspace(0.7, 1.3, n) * sign
    c_star = np.linspace(1.3, 0.7, n) * np.roll(sign, 1)
    return {"a": case.a_of(np.full(n, lam0)), "b": bc0 * np.sign(b_star),
            "c": bc0 * np.sign(c_star), "a_star": case.a_of(np.linspace(-0.4, 0.8, n)),
            "b_star": b_star, "c_star": c_star, "beta": 1.5 * np.sign(c_star)}


def relative_error(sim: np.ndarray, ode: np.ndarray, scale: float) -> np.ndarray:
    """Replica-RMS of ``|theta_r(tau) - theta(tau)|`` (all modes) over ``scale``, per time:
    ``sim`` is (n_t, replicas, modes, 3), ``ode`` (n_t, modes, 3)."""
    err = np.linalg.norm(sim - ode[:, None], axis=(2, 3)) / scale  # (n_t, replicas)
    return np.sqrt(np.mean(err**2, axis=1))


def trajectory_error(case: Case, eta: float, *, batch: int, tau_end: float,
                     seed: int = 0) -> dict:
    """Simulate at ``eta`` and integrate the ODE on the same grid.

    Relative error of replica ``r`` at time ``tau``: ``|theta_r(tau) - theta(tau)|`` (all
    modes) over the distance the ODE travels, ``|theta(T) - theta(0)|``.  Returns the
    replica-RMS error at the end and its maximum over time, both trajectories and the
    modes (the starting point and parameters).
    """
    modes = trajectory_modes(case)
    run = simulate_modes(case, modes, batch=batch, eta=eta, tau_end=tau_end, seed=seed)
    ode = _ode_run(case, modes, run.tau)
    scale = float(np.linalg.norm(ode[-1] - ode[0]))
    rms = relative_error(run.states, ode, scale)
    return {"eta": eta, "tau": run.tau, "sim": run.states, "ode": ode, "error": rms,
            "end_error": float(rms[-1]), "max_error": float(rms.max()), "steps": run.steps,
            "scale": scale, "modes": modes}


def _trajectory_setup(case: Case) -> tuple[list[float], int, float]:
    """(etas, batch, tau_end); the first eta (the smallest) is the main one.

    At ``lam`` ~ 0.8 BPTT's recurrent gradient is steep, and full-matrix online BPTT at
    leak 1 diverged in 15 of 20 runs (seeds) at eta = 6e-3 (none at 4e-3); the largest
    eta here, 2e-3, keeps a factor 3.
    """
    etas = [2e-3, 1e-3, 5e-4] if case.quick else [2e-3, 1e-3, 5e-4, 2.5e-4]
    etas = [e * case.eta_scale for e in etas]
    return etas[::-1], (4 if case.quick else 6), (6.0 if case.quick else 12.0) * case.horizon


def trajectory_runs(case: Case) -> list[dict]:
    """One :func:`trajectory_error` per eta, smallest eta first (cached on the case)."""
    if "trajectories" not in case.__dict__:
        etas, batch, tau_end = _trajectory_setup(case)
        case.__dict__["trajectories"] = [
            trajectory_error(case, eta, batch=batch, tau_end=tau_end, seed=case.seed + i)
            for i, eta in enumerate(etas)]
    return case.__dict__["trajectories"]


def check_trajectory(case: Case) -> Check:
    """Largest relative error along the run (end point included) at the smallest eta;
    threshold 0.06.

    The maximum over time, not the end point alone: every mode converges to the teacher,
    where the error signal and with it the SGD noise vanish, so the end point would hide a
    wrong transient.  The gap has an O(eta) bias and O(sqrt(eta)) fluctuations of one
    network: measured <= 0.03 (quick) and <= 0.017 (full) over seeds 0-7 (0-3) at leak 1
    and 0.3, while the ODEs of the other rules are >= 0.24 away from the same runs
    (:func:`check_discrimination`).  0.06 leaves a factor 2 for the noise and fails a
    field that moves the path by more than 6 % of the distance travelled (0.1 before the
    setup had memory, when one-step tBPTT's ODE passed for BPTT's run at 0.07).
    """
    run = trajectory_runs(case)[0]
    return _check("trajectory", run["max_error"], 0.06, **run)


RIVALS: tuple[tuple[str, int | None], ...] = (("bptt", None), ("tbptt", 1), ("rflo", None))


def rivals(case: Case) -> list[tuple[str, int | None]]:
    """The rules of :data:`RIVALS` (the paper's three) that the case is compared with:
    all but its own.  tBPTT with ``k > 1`` is compared with one-step tBPTT and RFLO but
    not with BPTT, its ``k -> infinity`` limit: their fields differ by the tail
    ``lam^k`` of the trace, which at ``k >= 3`` is below the SGD noise of this setup at
    leak 1 (BPTT's ODE 0.036 and 0.027 from the k = 3 and k = 5 runs, against 0.023 and
    0.026 for their own), so a failure would say nothing about the derivation."""
    name, k = case.ode.rule.name, case.ode.rule.truncation
    out = [r for r in RIVALS if r != (name, k if name == "tbptt" else None)]
    if name == "tbptt" and k > 1:
        out = [r for r in out if r[0] != "bptt"]
    return out


def rival_errors(case: Case) -> dict:
    """The main trajectory run (smallest eta) against the ODE of every rule in
    :func:`rivals`, derived with :func:`symdyn.derive` and integrated from the same
    start on the same grid: no further simulation.  All errors are relative to the
    distance the case's own ODE travels (as in :func:`check_trajectory`), so they
    compare distances in one unit.  A rival ODE that leaves its region (or fails to
    integrate) has error ``inf``.

    Returns ``{"own": label, "errors": {label: max error}, "curves": {label: error per
    time}, "odes": {label: states}}``, the own rule's label included.
    """
    run = trajectory_runs(case)[0]
    own = case.ode.rule.name
    own_label = own + (f" k={case.ode.rule.truncation}" if own == "tbptt" else "")
    errors, curves, odes = ({own_label: run["max_error"]}, {own_label: run["error"]},
                            {own_label: run["ode"]})
    initial, tau = _initial(run["modes"]), run["tau"]
    for rule, k in rivals(case):
        label = rule + (f" k={k}" if k else "")
        ode = derive(rule, leak=case.leak, truncation=k)
        params = {p.name: run["modes"][p.name] for p in ode.parameters}
        try:
            states = integrate(ode, initial, params, float(tau[-1]), n_eval=len(tau)).states
        except SymdynError:
            errors[label], curves[label], odes[label] = math.inf, None, None
            continue
        curve = relative_error(run["sim"], states, run["scale"])
        errors[label], curves[label], odes[label] = float(curve.max()), curve, states
    return {"own": own_label, "errors": errors, "curves": curves, "odes": odes}


def check_discrimination(case: Case) -> Check:
    """``(error against the own ODE) / (smallest error against another rule's ODE)`` on
    the main trajectory run (:func:`rival_errors`); threshold 0.5.

    A check that passes for the right field must fail for the wrong ones, or it does not
    validate the rule: this asks that the simulation be closer to its own ODE than to
    every other rule's by a clear factor.  Below 0.5 the rival field is off the simulated
    path by at least the own gap again (triangle inequality), i.e. the run resolves the
    difference between the rules; a rival that the run cannot tell apart gives ~1.  On
    the trajectory setup (:func:`trajectory_modes`: teachers and student with memory)
    the measured ratio is <= 0.12 at leak 1 and 0.3, quick and full, seeds 0-7; the
    nearest rival is BPTT for tBPTT and vice versa at leak 1 (errors >= 0.24 against
    own errors <= 0.03).  With the earlier setup (``lam* <= 0.6``, student at 0.2) BPTT
    gave 0.55: within a factor 2 of tBPTT's ODE.
    """
    data = rival_errors(case)
    own = data["errors"][data["own"]]
    rivals = {k: v for k, v in data["errors"].items() if k != data["own"]}
    nearest = min(rivals, key=rivals.get)
    return _check("discrimination", own / rivals[nearest], 0.5, nearest=nearest,
                  tau=trajectory_runs(case)[0]["tau"], **data)


def check_eta_scaling(case: Case) -> Check:
    """Least-squares slope of ``log(max error)`` vs ``log(eta)``; must exceed 0.25.

    Fluctuations of a single network give slope 1/2, a bias of the averaging limit slope
    1; an ODE that is wrong gives an error that does not shrink (slope ~ 0).
    """
    runs = trajectory_runs(case)
    etas = np.array([r["eta"] for r in runs])
    errors = np.array([r["max_error"] for r in runs])
    slope = np.polyfit(np.log(etas), np.log(errors), 1)[0]
    return _check("eta_scaling", slope, 0.25, ">", etas=etas, errors=errors)


# --- 3. local dynamics near the optimum -----------------------------------------------
def optimum_modes(case: Case, n: int, beta: float = 1.0, kick: float = 0.15) -> dict:
    """``n`` identical modes near the optimum of the teacher ``a* = 0, b* = c* = 1``:
    ``a = a* + kick``, ``b = 1``, ``c = 1 - kick`` (off the manifold ``bc = b* c*``)."""
    full = np.ones(n)
    return {"a": full * kick, "b": full, "c": full * (1 - kick), "a_star": 0 * full,
            "b_star": full, "c_star": full, "beta": full * beta}


def manifold_distance(states: np.ndarray, modes: dict) -> np.ndarray:
    """Distance of the replica- and mode-mean state to the optimal manifold,
    ``sqrt((a - a*)^2 + (bc - b* c*)^2)`` (identical modes), per time."""
    a, b, c = (states[..., i] for i in range(3))
    da = (a - modes["a_star"]).mean(axis=(1, 2))
    dbc = (b * c - modes["b_star"] * modes["c_star"]).mean(axis=(1, 2))
    return np.hypot(da, dbc)


def fit_rate(tau: np.ndarray, dist: np.ndarray, hi: float = 0.3, lo: float = 0.03
             ) -> tuple[float, np.ndarray]:
    """Exponential rate of ``dist`` fitted on the window where it falls from ``hi`` to
    ``lo`` times its initial value (late enough for faster modes to have died out, early
    enough to stay above the SGD noise floor).  Returns (rate, mask of the window)."""
    rel = dist / dist[0]
    start = int(np.argmax(rel < hi))
    below = np.flatnonzero(rel[start:] < lo)
    stop = start + (int(below[0]) if below.size else len(rel) - start)
    mask = np.zeros(len(tau), bool)
    mask[start:stop] = True
    if mask.sum() < 3:
        return float("nan"), mask
    return float(-np.polyfit(tau[mask], np.log(dist[mask]), 1)[0]), mask


def _rate_setup(case: Case) -> tuple[int, int, float]:
    """(modes, batch, eta): many replicas, because the fit needs the mean state to fall
    tenfold below the kick while staying above the noise floor sqrt(eta / replicas)."""
    return (4, 16, 2e-3) if case.quick else (8, 32, 1e-3)


def check_local_rate(case: Case) -> Check:
    """Relative error of the fitted approach rate vs the slowest non-zero eigenvalue at
    the point of the manifold reached; threshold 0.1 (the fit window starts at 30 % of a
    15 % kick, where the quadratic terms still shift the rate by a few per cent)."""
    n, batch, eta = _rate_setup(case)
    modes = optimum_modes(case, n)
    point = {k: 0.0 for k in ("a", "a_star")} | {"b": 1.0, "c": 1.0, "b_star": 1.0,
                                                 "c_star": 1.0}
    point |= {p.name: modes[p.name][0] for p in case.ode.parameters}
    guess = slowest_rate(case.ode, point)  # only sets the horizon: 5 e-foldings
    run = simulate_modes(case, modes, batch=batch, eta=eta * case.eta_scale,
                         tau_end=5.0 / guess, seed=case.seed + 11)
    b_end = float(run.states[-1, ..., 1].mean())
    point |= {"b": b_end, "c": 1.0 / b_end}
    predicted = slowest_rate(case.ode, point)
    dist = manifold_distance(run.states, modes)
    rate, mask = fit_rate(run.tau, dist)
    ode_dist = manifold_distance(_ode_run(case, modes, run.tau)[:, None], modes)
    ode_rate, _ = fit_rate(run.tau, ode_dist)
    return _check("local_rate", abs(rate / predicted - 1), 0.1, rate=rate,
                  predicted=predicted, ode_fit_rate=ode_rate, tau=run.tau, distance=dist,
                  ode_distance=ode_dist, window=mask, point=point)


def _leading_direction(case: Case, modes: dict, i: int) -> tuple[float, np.ndarray]:
    """At the manifold point of mode i: the largest real part among the eigenvalues of the
    Jacobian (tangent zero eigenvalue excluded; < 0 attracts, > 0 repels) and the unit
    eigenvector (real part) that carries it."""
    b = float(modes["b"][i])
    state = [float(modes["a_star"][i]), b, float(modes["b_star"][i] * modes["c_star"][i]) / b]
    params = {p.name: float(modes[p.name][i]) for p in case.ode.parameters}
    values, vectors = np.linalg.eig(jacobian_function(case.ode)(state, params))
    keep = np.argsort(np.abs(values))[1:]
    lead = keep[np.argmax(values[keep].real)]
    v = vectors[:, lead].real
    return float(values[lead].real), v / np.linalg.norm(v)


def stability_modes(case: Case, beta_sign: float, kick: float = 0.05) -> dict:
    """Modes at a* = 0, b* = c* = 1 on three points of the manifold (b = 0.7, 1, 1.4),
    ``beta = 1.5 * beta_sign`` (rflo's sign condition: stable iff beta c > 0 at a* = 0),
    each kicked off the manifold by ``kick`` along its leading eigenvector (the slowest
    decaying or fastest growing direction), so that it decays or grows at one rate.
    Also returns the predicted ``growth`` (largest non-tangent real part) per mode."""
    b = np.array([0.7, 1.0, 1.4])
    one = np.ones_like(b)
    modes = {"a": 0 * one, "b": b, "c": 1.0 / b, "a_star": 0 * one, "b_star": one,
             "c_star": one, "beta": 1.5 * beta_sign * one}
    growth = np.zeros(3)
    for i in range(3):
        growth[i], v = _leading_direction(case, modes, i)
        for j, name in enumerate(STATE_NAMES):
            modes[name] = modes[name] + kick * v[j] * (np.arange(3) == i)
    return modes | {"growth": growth}


def _subset(modes: dict, idx: list[int]) -> dict:
    return {k: np.asarray(v)[idx] for k, v in modes.items()}


def stability_run(case: Case, beta_sign: float) -> dict:
    """Simulate the kicked modes; mode i is judged at ``tau_i`` = 3 e-foldings of its
    predicted slowest decay (or 2 of its fastest growth).  Growing modes run one at a time, each
    only to its own ``tau_i``, so that none is driven out of the stable region."""
    modes = stability_modes(case, beta_sign, 0.05 if beta_sign > 0 else 0.02)
    growth = modes.pop("growth")
    horizon = np.where(growth > 0, 2.0, 3.0) / np.abs(growth)
    groups = [[0, 1, 2]] if (growth < 0).all() else [[i] for i in range(3)]
    batch, eta = (8, 2e-3) if case.quick else (16, 1e-3)
    ratio, curves = np.zeros(3), []
    for j, idx in enumerate(groups):
        sub = _subset(modes, idx)
        run = simulate_modes(case, sub, batch=batch, eta=eta * case.eta_scale,
                             tau_end=float(horizon[idx].max()),
                             seed=case.seed + 21 + 2 * j + int(beta_sign > 0))
        for k, i in enumerate(idx):
            dist = manifold_distance(run.states[:, :, k:k + 1], _subset(sub, [k]))
            at = int(np.argmin(np.abs(run.tau - horizon[i])))
            ratio[i] = dist[at] / dist[0]
            curves.append((i, run.tau, dist))
    score = np.where(growth > 0, 1.0 / ratio, ratio)  # < 1: behaved as predicted
    curves.sort(key=lambda c: c[0])
    return {"curves": [(t, d) for _, t, d in curves], "growth": growth, "ratio": ratio,
            "horizon": horizon, "score": score, "b": modes["b"], "beta": modes["beta"]}


def check_stability(case: Case) -> Check:
    """Worst agreement between predicted and simulated stability; threshold 0.3.

    For each kicked mode: ``d(T)/d(0)`` (distance to the optimal manifold) where the
    linearisation predicts attraction, ``d(0)/d(T)`` where it predicts repulsion, at
    ``T`` = 3 e-foldings of the predicted decay (2 of a growth, beyond which RFLO with the
    wrong sign of beta runs away) along the kicked eigenvector, so agreement gives
    e^-3 = 0.05 (e^-2 = 0.14); the wrong sign of the rate gives 20 (7.4).  ``rflo`` is
    run with both signs of beta.
    """
    signs = (1.0, -1.0) if case.ode.rule.name == "rflo" else (1.0,)
    runs = {s: stability_run(case, s) for s in signs}
    worst = max(float(r["score"].max()) for r in runs.values())
    return _check("stability", worst, 0.3,
                  runs={("beta>0" if s > 0 else "beta<0"): r for s, r in runs.items()})


# --- 4. the saddle at b = c = 0 -------------------------------------------------------
SADDLE_EPS = 1e-3   # initial |b| = |c|
PLATEAU_DROP = 0.1  # the plateau ends when the loss has fallen by 10 %


def saddle_modes(case: Case, n: int) -> dict:
    """``n`` identical modes at ``lam = lam* = 0.3``, ``b* = c* = 1``, ``beta = 1``,
    started at ``b = c = SADDLE_EPS``."""
    one = np.ones(n)
    return {"a": case.a_of(0.3 * one), "b": SADDLE_EPS * one, "c": SADDLE_EPS * one,
            "a_star": case.a_of(0.3 * one), "b_star": one, "c_star": one, "beta": one}


def plateau_prediction(case: Case, modes: dict) -> dict:
    """Plateau length from the linearisation at the saddle point ``(a, 0, 0)``.

    With unstable eigenvalue ``mu`` (right/left eigenvectors ``v``, ``w``, ``w.v = 1``)
    the start ``x0`` grows as ``(w.x0) v e^{mu tau}``, and the loss, stationary at the
    saddle, falls quadratically: ``L0 - L = kappa (w.x0)^2 e^{2 mu tau}`` with
    ``kappa = (L0 - L(s v)) / s^2``.  A drop by the fraction ``f`` takes
    ``tau_pred = ln(f L0 / (kappa (w.x0)^2)) / (2 mu)``.
    """
    a0 = float(modes["a"][0])
    params = {p.name: float(modes[p.name][0]) for p in case.ode.parameters}
    jac = jacobian_function(case.ode)([a0, 0.0, 0.0], params)
    values, right = np.linalg.eig(jac)
    lead = int(np.argmax(values.real))
    mu, v = float(values[lead].real), right[:, lead].real
    w = np.linalg.inv(right)[lead].real
    x0 = np.array([0.0, modes["b"][0], modes["c"][0]])
    loss = loss_function(case.ode)
    L0 = float(loss([a0, 0.0, 0.0], params))
    s = 1e-4
    kappa = (L0 - float(loss([a0 + s * v[0], s * v[1], s * v[2]], params))) / s**2
    amp = float(w @ x0)
    tau = math.log(PLATEAU_DROP * L0 / (kappa * amp**2)) / (2 * mu)
    return {"mu": mu, "eigenvalues": values, "kappa": kappa, "L0": L0, "tau_pred": tau}


def _first_below(tau: np.ndarray, loss: np.ndarray, level: float) -> float:
    """First time after which ``loss`` stays below ``level``: the last crossing, so that
    window-to-window noise on the plateau cannot end it early."""
    above = np.flatnonzero(loss >= level)
    if not above.size:
        return float(tau[0])
    return float(tau[above[-1] + 1]) if above[-1] + 1 < len(tau) else float("inf")


def check_saddle(case: Case) -> Check:
    """``bptt``/``tbptt``: ``|tau_sim / tau_pred - 1|`` for the plateau length (loss within
    10 % of its initial value), threshold 0.15: the linear prediction misses only the
    O(1) nonlinear end of a plateau of ``ln(1/eps^2)/(2 mu)``, ~14 time units per mu.
    ``rflo``: ``b = c = 0`` is no fixed point; ``|db_sim / db_ode - 1|`` over the first
    0.2 / alpha^2 of learning time, where ``db_ode`` (order ``beta b* c*``) is the derived
    velocity times that time, threshold 0.15 — it leaves at once.
    """
    if case.ode.rule.name == "rflo":
        return _saddle_escape(case)
    n, batch, eta = (4, 8, 2e-3) if case.quick else (8, 16, 1e-3)
    modes = saddle_modes(case, n)
    pred = plateau_prediction(case, modes)
    run = simulate_modes(case, modes, batch=batch, eta=eta * case.eta_scale,
                         tau_end=1.5 * pred["tau_pred"], n_rec=300, seed=case.seed + 31)
    level = (1 - PLATEAU_DROP) * run.loss[:5].mean()
    tau_sim = _first_below(run.loss_tau, run.loss, level)
    ode = _ode_run(case, _subset(modes, [0]), run.tau)[:, 0]
    params = case.params({k: v[0] for k, v in modes.items()})
    ode_loss = loss_function(case.ode)(ode.T, params) * n  # the network loss sums its modes
    tau_ode = _first_below(run.tau, ode_loss, (1 - PLATEAU_DROP) * ode_loss[0])
    return _check("saddle", abs(tau_sim / pred["tau_pred"] - 1), 0.15, tau_sim=tau_sim,
                  tau_ode=tau_ode, **pred, tau=run.tau, loss_tau=run.loss_tau,
                  loss=run.loss, ode_loss=ode_loss, b=run.states[..., 1].mean(axis=(1, 2)))


def _saddle_escape(case: Case) -> Check:
    """RFLO's immediate escape from ``b = c = 0`` (see :func:`check_saddle`)."""
    n, batch, eta = (4, 8, 1e-3) if case.quick else (8, 16, 5e-4)
    modes = saddle_modes(case, n)
    tau_end = 0.2 * case.horizon
    run = simulate_modes(case, modes, batch=batch, eta=eta * case.eta_scale,
                         tau_end=tau_end, n_rec=50, seed=case.seed + 33)
    ode = _ode_run(case, _subset(modes, [0]), run.tau)[:, 0]
    moved = run.states[-1, ..., 1].mean() - SADDLE_EPS
    expected = ode[-1, 1] - SADDLE_EPS
    return _check("saddle", abs(moved / expected - 1), 0.15, moved=moved, expected=expected,
                  beta_bc_star=1.0, tau=run.tau, b=run.states[..., 1].mean(axis=(1, 2)),
                  ode_b=ode[:, 1])


# --- 5. conserved quantities and the predicted limit ----------------------------------
def conserved_modes(n: int, case: Case) -> dict:
    """Unbalanced starts (``b != c``), so that the conserved quantity picks a non-trivial
    point of the manifold: ``(b, c)`` alternates between (0.3, 0.9) and (0.9, 0.4).
    Teachers with memory (``lam*`` from 0.4 to 0.7) keep the recurrent direction fast at
    small leak."""
    i = np.arange(n)
    b = np.where(i % 2 == 0, 0.3, 0.9)
    c = np.where(i % 2 == 0, 0.9, 0.4)
    return {"a": case.a_of(np.full(n, 0.5)), "b": b, "c": c,
            "a_star": case.a_of(np.linspace(0.4, 0.7, n)), "b_star": np.ones(n),
            "c_star": np.linspace(0.8, 1.2, n), "beta": np.full(n, 1.5)}


def conserved_run(case: Case) -> dict:
    """Long run from unbalanced starts (cached on the case), with the predicted limits and
    the derived conserved quantities evaluated along it."""
    if "conserved" in case.__dict__:
        return case.__dict__["conserved"]
    n, batch, eta = (4, 4, 2e-3) if case.quick else (6, 8, 1e-3)
    modes = conserved_modes(n, case)
    candidates = limit_candidates(case.ode)
    limits = []
    for i in range(n):
        mode = {k: float(v[i]) for k, v in modes.items()}
        params = case.params(mode)
        limits.append(predict_limit(case.ode, mode, params, candidates).point)
    # Only the run length comes from the derivation: 6 e-foldings of the slowest mode.
    slowest = min(slowest_rate(case.ode, lim | {k: float(v[i]) for k, v in
                                                 case.params(modes).items()})
                  for i, lim in enumerate(limits))
    run = simulate_modes(case, modes, batch=batch, eta=eta * case.eta_scale,
                         tau_end=6.0 / slowest, seed=case.seed + 41)
    quantities = conserved_quantities(case.ode)
    args = (*S.STATE, *case.ode.parameters)
    values = []
    for q in quantities:
        f = sp.lambdify(args, q, modules="numpy")
        extra = [modes[p.name] for p in case.ode.parameters]
        values.append(np.broadcast_to(f(*np.moveaxis(run.states, -1, 0), *extra),
                                      run.states.shape[:-1]).mean(axis=1))  # (n_t, n)
    out = {"modes": modes, "run": run, "limits": limits, "quantities": quantities,
           "values": values}
    case.__dict__["conserved"] = out
    return out


def check_conserved(case: Case) -> Check:
    """Largest drift of a derived conserved quantity (replica mean, any mode, any time)
    relative to the largest change of ``b^2 + c^2`` along the same run; threshold 0.05.

    A quantity that is not conserved changes by an amount comparable to the motion
    itself (ratio ~ 1); SGD adds only an O(eta) Ito drift and O(sqrt(eta/replicas))
    noise.  A rule without a derived quadratic invariant passes vacuously (metric 0).
    """
    data = conserved_run(case)
    if not data["quantities"]:
        return _check("conserved", 0.0, 0.05, quantities=[])
    states = data["run"].states.mean(axis=1)
    motion = np.abs(states[..., 1] ** 2 + states[..., 2] ** 2
                    - (states[0, :, 1] ** 2 + states[0, :, 2] ** 2)).max()
    drift = max(float(np.abs(v - v[0]).max()) for v in data["values"])
    return _check("conserved", drift / motion, 0.05, tau=data["run"].tau,
                  values=data["values"], quantities=[str(q) for q in data["quantities"]],
                  motion=float(motion))


def check_limit(case: Case) -> Check:
    """Largest distance between the simulated end point (replica mean) and the limit
    :func:`symdyn.predict_limit` derives from the conserved quantities, relative to the
    size of the limit point; threshold 0.03 (the run lasts 6 e-foldings of the slowest
    rate, so the remaining transient is ~3e-3)."""
    data = conserved_run(case)
    if not data["quantities"] or not all(data["limits"]):
        return _check("limit", float("nan"), 0.03, note="no predicted limit")
    end = data["run"].states[-1].mean(axis=0)  # (n, 3)
    pred = np.array([[lim[k] for k in STATE_NAMES] for lim in data["limits"]])
    err = np.linalg.norm(end - pred, axis=1) / np.linalg.norm(pred, axis=1)
    return _check("limit", err.max(), 0.03, simulated=end, predicted=pred,
                  start=_initial(data["modes"]))


# --- 6. low rank beyond alignment -----------------------------------------------------
LOW_RANK_SIZES = {"n_hidden": 32, "n_input": 4, "n_output": 2}


def low_rank_run(case: Case, rule: str) -> dict:
    """Train a dense non-aligned network (N = 32, D = 4, M = 2, student radius 0.5,
    teacher 0.8) by ``rule``; singular values of ``W_T - W_0`` and ``U_T - U_0`` and the
    loss reduction ``1 - L_end / L_start`` (first window vs the mean of the last ten).
    eta = 5e-4 / alpha keeps RFLO's dense random feedback from destabilising W (at 1e-3
    it does at leak 1)."""
    k = case.k if rule == "tbptt" else 1  # the simulator ignores k for bptt and rflo
    return _low_rank_run(rule, k, case.leak, case.seed, case.quick)


@lru_cache(maxsize=16)
def _low_rank_run(rule: str, k: int, leak: float, seed: int, quick: bool) -> dict:
    """Every rule's low-rank check trains all three rules on the same seeded network, so
    a validation of the three rules in one process trains each of them once."""
    net, teacher = random_network(leak=leak, seed=seed + 51, radius=0.5,
                                  teacher_radius=0.8, **LOW_RANK_SIZES)
    steps = 4000 if quick else 8000
    res = train(net, teacher, rule=rule, eta=5e-4 / leak, n_steps=steps, leak=leak,
                truncation=k, seed=seed + 52, record_every=100, record=("loss",))
    loss = res.loss[:, 0]
    sv = {name: np.linalg.svd(getattr(res.final, name)[0] - getattr(res.initial, name)[0],
                              compute_uv=False) for name in ("W", "U")}
    m = LOW_RANK_SIZES["n_output"]
    return {"sv": sv, "ratio": {name: float(v[m] / v[0]) for name, v in sv.items()},
            "reduction": float(1 - loss[-10:].mean() / loss[0]), "loss": loss,
            "steps": res.steps}


def check_low_rank(case: Case) -> Check:
    """``sigma_{M+1} / sigma_1`` of the weight changes on a dense non-aligned network.

    ``rflo``: the largest ratio over W and U must be < 1e-10 (its updates lie in the
    column space of B: exact rank M up to rounding).  ``bptt``/``tbptt``: the smallest
    ratio must be > 1e-3 (no such bound).  All three rules are trained for the same
    number of steps, chosen so that BPTT cuts its loss by >= 90 % (also required for a
    pass); every rule's loss reduction is in ``details``.
    """
    name = case.ode.rule.name
    runs = {r: low_rank_run(case, r) for r in ("bptt", "tbptt", "rflo")}
    mine = runs[name]["ratio"]
    reductions = {r: v["reduction"] for r, v in runs.items()}
    enough = reductions["bptt"] >= 0.9
    if name == "rflo":
        chk = _check("low_rank", max(mine.values()), 1e-10, "<", runs=runs,
                     reductions=reductions)
    else:
        chk = _check("low_rank", min(mine.values()), 1e-3, ">", runs=runs,
                     reductions=reductions)
    chk.passed = chk.passed and enough
    return chk


# --- entry point ----------------------------------------------------------------------
CHECKS: tuple[tuple[str, Callable[[Case], Check]], ...] = (
    ("expected_update", check_expected_update),
    ("trajectory", check_trajectory),
    ("discrimination", check_discrimination),
    ("eta_scaling", check_eta_scaling),
    ("local_rate", check_local_rate),
    ("stability", check_stability),
    ("saddle", check_saddle),
    ("conserved", check_conserved),
    ("limit", check_limit),
    ("low_rank", check_low_rank),
)


def run_validation(rule: str, truncation: int | None = None, leak: str | float = 1,
                   seed: int = 0, quick: bool = False,
                   progress: Progress | None = None) -> ValidationReport:
    """Run every check for ``rule`` at ``leak`` (a number: networks are simulated).

    ``progress(step_name, fraction_done)`` is called before each check and once at the
    end with ``("done", 1.0)``.  ``quick`` runs small versions (same thresholds).
    """
    case = _case(rule, truncation, leak, seed, quick)
    _ = case.ode  # derive first: a bad rule or truncation fails before any simulation
    start, checks = time.perf_counter(), []
    for i, (name, check) in enumerate(CHECKS):
        if progress is not None:
            progress(name, i / len(CHECKS))
        checks.append(check(case))
    if progress is not None:
        progress("done", 1.0)
    return ValidationReport(rule, case.ode.rule.truncation, case.leak, case.seed, quick,
                            checks, time.perf_counter() - start)
