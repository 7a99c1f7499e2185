"""Validation of the derived learning ODEs against direct simulation of full networks.

Every check compares a derived result (:mod:`symdyn.ode`, :mod:`symdyn.analysis`) with an
independent numeric experiment (:mod:`symdyn.simulate`, which never imports the
derivation) and returns a :class:`Check`: one number, a threshold and a status
(see docs/theory.md, 'Validation').  Derived results choose *where* to look (run lengths,
starting points) and what to expect (a plateau where the analysis finds a saddle, a
limit point where it finds a conserved quantity); they never enter the simulated
dynamics.  A check whose expectation the analysis does not provide (no conserved
quantity, no predicted limit, no saddle) is *not applicable*, with the reason.

All in learning time ``tau = eta t``; a mode is ``(a, b, c)`` with ``a_i = r_i^T W r_i``,
``b_i = r_i^T U q_i``, ``c_i = p_i^T V r_i``.  The checks, in report order (one module
each):

* ``expected_update``: ``max |z|`` of the Monte Carlo mean update against the rhs.
* ``trajectory``: online SGD on an aligned network against the integrated ODE;
  ``discrimination``: against the ODEs of other rules; ``eta_scaling``: the gap shrinks
  with eta.
* ``local_rate``: the approach to the optimal manifold against the slowest eigenvalue.
* ``stability``: the optimal manifold attracts or repels as the linearisation says.
* ``saddle``: the plateau at ``b = c = 0`` predicted from the saddle eigenvalue, or the
  immediate escape where ``b = c = 0`` is no fixed point.
* ``conserved`` and ``limit``: drift of the derived conserved quantities, and the limit
  point of :func:`symdyn.predict_limit`.
* ``low_rank``: ``sigma_{M+1} / sigma_1`` of the weight changes on a dense network.
* ``meanfield``: the matrix mean-field ODE against SGD on a dense non-aligned network.
* finite learning rate, with label noise (#8): ``noise_covariance`` (``max |z|`` of the
  simulated long-run update covariance against ``D``), ``noise_stationary`` and
  ``excess_loss`` (the linear-noise approximation at 3 etas x 2 sigmas),
  ``manifold_diffusion`` (spread along the optimal manifold), ``learning_curve_spread``
  (spread across seeds along a trajectory) and ``critical_rate`` (the large-batch mean map
  at 0.8 and 1.25 eta_c).

Adding a check: write a module ``symdyn/validation/NAME.py`` with a function
``check(case, **inputs) -> Check`` decorated by
``@register("NAME", inputs=("trajectory_runs", ...), threshold=...)`` (the inputs are the
shared runs registered with :func:`provides`, and ``"analysis"``), and add ``"NAME"`` to
:data:`CHECK_MODULES` below, whose order is the order of the report.  Raise
:class:`NotApplicable` with a reason when the rule lacks what the check needs.
"""

import importlib

from .case import SIMULATED_RULES, Analysis, Case, SimRun, analyse, make_case, simulate_modes
from .registry import CHECKS, INPUTS, order_checks, provides, register, run_checks, run_validation
from .report import Check, NotApplicable, ValidationReport, make_check, not_applicable

#: The modules that register checks, in the order of the report.
CHECK_MODULES = ("expected_update", "trajectory", "discrimination", "eta_scaling",
                 "local_rate", "stability", "saddle", "conserved", "limit", "low_rank",
                 "meanfield", "noise_covariance", "noise_stationary", "noise_diffusion",
                 "noise_spread", "critical_rate")

for _name in CHECK_MODULES:
    importlib.import_module(f"{__name__}.{_name}")
order_checks([f"{__name__}.{m}" for m in CHECK_MODULES])

__all__ = ["CHECKS", "CHECK_MODULES", "INPUTS", "SIMULATED_RULES", "Analysis", "Case", "Check",
           "NotApplicable", "SimRun", "ValidationReport", "analyse", "make_case",
           "make_check", "not_applicable", "provides", "register", "run_checks",
           "run_validation", "simulate_modes"]
