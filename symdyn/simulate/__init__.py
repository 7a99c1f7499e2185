"""Full-matrix online learning in leaky linear RNNs (independent of the symbolic engine).

Student and teacher: h_t = (1-alpha) h_{t-1} + alpha (W h_{t-1} + U x_t), y_t = V h_t, white
inputs x_t ~ N(0, I).  Rules (`bptt` = exact online gradient via RTRL, `tbptt` with
truncation k, `rflo`) are implemented at matrix level from their definitions; nothing here
imports the derivation code, so comparing the two is an honest validation.
"""

from .engine import (
    Runner,
    SimulationTimeout,
    TrainResult,
    draw_inputs,
    expected_update_mc,
    summed_updates,
    train,
    warm_up,
)
from .networks import (
    Bases,
    Network,
    Teacher,
    UnstableNetworkError,
    aligned_network,
    project_matrices,
    project_modes,
    random_network,
    spectral_radius,
)
from .rules import RULES, jacobian

__all__ = [
    "RULES",
    "Bases",
    "Network",
    "Runner",
    "SimulationTimeout",
    "Teacher",
    "TrainResult",
    "UnstableNetworkError",
    "aligned_network",
    "draw_inputs",
    "expected_update_mc",
    "jacobian",
    "project_matrices",
    "project_modes",
    "random_network",
    "spectral_radius",
    "summed_updates",
    "train",
    "warm_up",
]
