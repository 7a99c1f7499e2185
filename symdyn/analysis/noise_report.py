"""One point's finite-learning-rate summary: what ``symdyn noise`` prints.

At any point: the update-noise covariance ``D``. At a fixed point: the critical learning
rate of the mean map (0 when unstable). At a stable fixed point of a one-dimensional set
(the optimal manifold), also the stationary transverse covariance, the excess loss and
the diffusion along the set (see :mod:`symdyn.analysis.fluctuations`); elsewhere those
are ``None`` with a note.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SymdynError
from ..model import leak_text
from ..ode import LearningODE
from ..update_noise import complete_point, noise_covariance
from .fluctuations import (
    check_fixed,
    critical_learning_rate,
    jacobian_at,
    manifold_diffusion,
    stationary_fluctuations,
)


@dataclass(frozen=True)
class NoiseReport:
    ode: LearningODE
    point: dict
    sigma: float
    eta: float
    noise_covariance: np.ndarray
    critical_learning_rate: float | None
    stationary_covariance: np.ndarray | None
    excess_loss: float | None
    manifold_diffusion: float | None
    note: str = ""

    def to_dict(self) -> dict:
        """The JSON shape of ``symdyn noise --format json``."""
        def listed(m):
            return None if m is None else np.asarray(m, dtype=float).tolist()

        return {"rule": self.ode.rule.name, "truncation": self.ode.rule.truncation,
                "leak": leak_text(self.ode.leak), "point": self.point, "sigma": self.sigma,
                "eta": self.eta, "critical_learning_rate": self.critical_learning_rate,
                "noise_covariance": listed(self.noise_covariance),
                "stationary_covariance": listed(self.stationary_covariance),
                "excess_loss": self.excess_loss, "manifold_diffusion": self.manifold_diffusion,
                "note": self.note}

    def __str__(self) -> str:
        def block(m):
            return "\n".join("    " + "  ".join(f"{x: .6g}" for x in row) for row in m)

        lines = [f"Finite learning rate, {self.ode.title}, sigma = {self.sigma:g}, "
                 f"eta = {self.eta:g}",
                 "  update-noise covariance D (long-run, over a, b, c):",
                 block(self.noise_covariance)]
        if self.critical_learning_rate is not None:
            lines.append("  critical learning rate of the mean map: "
                         f"{self.critical_learning_rate:.6g}")
        if self.stationary_covariance is not None:
            lines += ["  stationary covariance transverse to the set (LNA):",
                      block(self.stationary_covariance),
                      f"  excess loss 1/2 tr(H S): {self.excess_loss:.6g}",
                      "  diffusion along the set l^T D l (per unit tau and eta): "
                      f"{self.manifold_diffusion:.6g}"]
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)


def noise_report(ode: LearningODE, point: dict, sigma: float = 0.0,
                 eta: float = 0.01) -> NoiseReport:
    """Evaluate everything ``symdyn noise`` shows at ``point``."""
    if not (np.isfinite(eta) and eta > 0):
        raise SymdynError(f"--eta must be a finite number > 0, got {eta}")
    full = complete_point(ode, point)
    D = noise_covariance(ode, full, sigma)
    try:
        check_fixed(ode, full, jacobian_at(ode, full))
    except SymdynError as error:
        return NoiseReport(ode, full, sigma, eta, D, None, None, None, None, str(error))
    rate = critical_learning_rate(ode, full)
    try:
        fluct = stationary_fluctuations(ode, full, sigma, eta)
        diff = manifold_diffusion(ode, full, sigma)
    except SymdynError as error:
        return NoiseReport(ode, full, sigma, eta, D, rate.eta_c, None, None, None,
                           str(error))
    return NoiseReport(ode, full, sigma, eta, D, rate.eta_c, fluct.covariance,
                       fluct.excess_loss, diff.coefficient)
