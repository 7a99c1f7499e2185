"""The case under test (rule, leak, seed, size), what the analysis expects of it, and the
simulation runs the checks compare with.

Every run is a plain function of the case whose result the registry passes to the checks
that need it (:mod:`symdyn.validation.registry`); nothing is cached on the case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from .. import symbols as S
from ..analysis import FixedPointReport, FixedPointSet, conserved_quantities, fixed_points
from ..errors import SymdynError
from ..integration import integrate
from ..model import parse_leak, weight_from_recurrence
from ..ode import LearningODE, derive
from ..rules import get_rule
from ..simulate import RULES as SIMULATED_RULES
from ..simulate import aligned_network, project_matrices, project_modes, train

__all__ = ["MAX_STEPS", "STATE_NAMES", "SIMULATED_RULES", "Analysis", "Case", "RunTooLong",
           "SimRun", "analyse", "initial", "make_case", "ode_run", "simulate_modes", "subset"]

STATE_NAMES = ("a", "b", "c")
#: Bounds on one simulated run.  Horizons come from derived rates, and a wrong field can
#: predict a rate near zero (a horizon near infinity): such a run fails its check with the
#: reason instead of running for hours.  The largest run of a full validation takes 48 000
#: steps; a quick one finishes in well under a minute.
MAX_STEPS = 400_000
MAX_SECONDS = {True: 120.0, False: 900.0}


class RunTooLong(SymdynError):
    """A simulated run would exceed :data:`MAX_STEPS`; the check that needs it fails."""


@dataclass(frozen=True)
class Case:
    """Rule, leak and sizes of one validation run, and the rule's derived ODE (derived
    from the rule unless given: tests pass a wrong one on purpose).

    ``eta_scale`` rescales the learning rate with the leak ``alpha``.  The recurrent
    weight enters the dynamics as ``lam = 1 - alpha + alpha a`` and the input as
    ``alpha b``, so each gradient carries a factor ``alpha`` and moves its effective
    parameter (``lam``, ``alpha b``) by another: in learning time ``tau = eta t`` the
    motion is ``alpha**2`` times slower.  Horizons therefore scale by ``1/alpha**2``, and
    eta by ``1/alpha**2`` too, so that a run keeps its number of steps and each step moves
    the effective parameters (signal and SGD noise alike) as far as at leak 1.
    """

    rule: str
    truncation: int | None = None
    leak: float = 1.0
    seed: int = 0
    quick: bool = False
    ode: LearningODE = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.ode is None:
            object.__setattr__(self, "ode", derive(self.rule, leak=self.leak,
                                                   truncation=self.truncation))

    @property
    def k(self) -> int:
        """The simulator's truncation (ignored by bptt and rflo)."""
        return 1 if self.truncation is None else int(self.truncation)

    @property
    def label(self) -> str:
        return self.rule + (f" k={self.k}" if self.rule == "tbptt" else "")

    @property
    def horizon(self) -> float:
        return 1.0 / self.leak**2

    @property
    def eta_scale(self) -> float:
        return 1.0 / self.leak**2

    def a_of(self, lam) -> np.ndarray:
        """The recurrent weight with effective recurrence ``lam = 1 - alpha + alpha a``."""
        return weight_from_recurrence(np.asarray(lam, dtype=float), self.leak)

    def params(self, modes: dict) -> dict:
        """The ODE's parameters taken from a mode dictionary."""
        return {p.name: modes[p.name] for p in self.ode.parameters}

    def rng(self, salt: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, salt])


def make_case(rule: str, truncation: int | None, leak, seed: int, quick: bool) -> Case:
    """A checked :class:`Case`: a rule the simulator runs and a numeric leak."""
    if rule not in SIMULATED_RULES:
        get_rule(rule, truncation)  # an unknown name gets the engine's own error
        raise SymdynError(f"validation simulates {', '.join(SIMULATED_RULES)}; rule {rule!r} "
                          "has no matrix-level simulator yet")
    value = parse_leak(leak)
    if value.free_symbols:
        raise SymdynError("validation simulates networks, so it needs a numeric leak in "
                          f"(0, 1], not {leak!r}")
    return Case(rule, truncation, float(value), int(seed), bool(quick))


# --- what the analysis expects --------------------------------------------------------
@dataclass(frozen=True)
class Analysis:
    """What the derivation says about the case's ODE, from which the checks take their
    expectations: its fixed-point sets and its conserved quantities."""

    fixed_points: FixedPointReport
    conserved: list[sp.Expr]

    @property
    def optimal(self) -> FixedPointSet:
        return self.fixed_points["optimal"]

    @property
    def saddles(self) -> list[FixedPointSet]:
        return [s for s in self.fixed_points if s.classification == "saddle"]

    def saddle_at(self, point: dict) -> FixedPointSet | None:
        """The saddle set that contains ``point`` (state and parameters by name), if any."""
        subs = {S.PUBLIC[k]: v for k, v in point.items() if k in S.PUBLIC}
        for s in self.saddles:
            if all(abs(complex(sp.sympify(e).subs(subs))) < 1e-12 for e in s.equations):
                return s
        return None

    def stability_depends_on(self, name: str) -> bool:
        """Whether the optimal set's stability conditions involve the parameter ``name``."""
        return any(S.PUBLIC[name] in g.free_symbols for g in self.optimal.conditions)


def analyse(case: Case) -> Analysis:
    """Fixed points and conserved quantities of the case's ODE."""
    return Analysis(fixed_points(case.ode), conserved_quantities(case.ode))


# --- simulation runs ------------------------------------------------------------------
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
                   n_rec: int = 100, seed: int = 0, label_noise: float = 0.0) -> SimRun:
    """Train an aligned network (one mode per entry of ``modes``, N = D = M) online by the
    rule and project every snapshot onto the modes (``label_noise``: sigma of the target)."""
    n = len(np.atleast_1d(modes["a"]))
    net, teacher, bases = aligned_network(n, n, n, leak=case.leak, batch=batch, seed=seed,
                                          **modes)
    steps = max(1, int(round(tau_end / eta))) if np.isfinite(tau_end / eta) else MAX_STEPS + 1
    if steps > MAX_STEPS:
        raise RunTooLong(f"the run to tau = {tau_end:.3g} at eta = {eta:.3g} would take "
                         f"{steps} steps, more than the {MAX_STEPS} allowed")
    every = max(1, steps // n_rec)
    res = train(net, teacher, rule=case.rule, eta=eta, n_steps=steps, leak=case.leak,
                truncation=case.k, seed=seed + 1, record_every=every, label_noise=label_noise,
                max_seconds=MAX_SECONDS[case.quick])
    proj = project_matrices(res.W, res.U, res.V, bases)
    start = project_modes(net, bases)
    states = np.stack([np.concatenate([start[k][None], proj[k]]) for k in STATE_NAMES], -1)
    tau = np.concatenate([[0.0], res.steps * eta])
    loss_tau = (res.steps - every / 2) * eta  # window means: centre of each window
    return SimRun(tau, states, loss_tau, res.loss.mean(axis=1), eta, steps)


def initial(modes: dict) -> np.ndarray:
    """The modes' states (n, 3)."""
    return np.stack([np.asarray(modes[k], dtype=float) for k in STATE_NAMES], axis=-1)


def ode_run(case: Case, modes: dict, tau: np.ndarray) -> np.ndarray:
    """ODE states (len(tau), n, 3) at the sample times ``tau`` (uniform, from 0)."""
    return integrate(case.ode, initial(modes), case.params(modes), float(tau[-1]),
                     n_eval=len(tau)).require_completed().states


def subset(modes: dict, idx: list[int]) -> dict:
    """The modes with indices ``idx``."""
    return {k: np.asarray(v)[idx] for k, v in modes.items()}
