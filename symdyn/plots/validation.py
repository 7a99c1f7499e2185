"""Figures of the validation studies, from the ``details`` of the checks (no recomputation).

Every function takes ``cases``: a list of ``(label, checks)`` with ``checks`` the
:class:`~symdyn.validation.Check` objects of one rule by check name, and draws one column
per case.  A check without details (not applicable, or a run beyond its bounds) gets an
empty panel titled with its status and reason.  :data:`STUDIES` names the checks each
figure needs.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .base import subplots
from .layout import layout

#: figure name -> the checks it draws (the studies of ``validation/``).
STUDIES = {
    "expected_update": ("expected_update",),
    "trajectories": ("trajectory", "discrimination", "eta_scaling"),
    "local_rate": ("local_rate",),
    "stability": ("stability",),
    "saddle": ("saddle",),
    "conserved": ("conserved", "limit"),
    "low_rank": ("low_rank",),
}


def _grid(cases: list, rows: int, height: float) -> tuple[Figure, np.ndarray]:
    fig, axes = subplots(rows, len(cases), figsize=(4.2 * len(cases), height * rows),
                         squeeze=False)
    return fig, axes


def _missing(ax, label: str, check) -> bool:
    """Title an empty panel when ``check`` has nothing to draw; True if so."""
    if check is not None and check.details:
        return False
    status = "missing" if check is None else check.status.replace("_", " ")
    reason = "" if check is None or not check.reason else f"\n{check.reason[:60]}"
    ax.set_title(f"{label}: {status}{reason}", fontsize=8)
    ax.set_axis_off()
    return True


def expected_update(cases: list) -> Figure:
    """Monte Carlo mean of update / eta against the derived right-hand side."""
    fig, axes = _grid(cases, 1, 3.8)
    for ax, (label, checks) in zip(axes[0], cases, strict=True):
        chk = checks.get("expected_update")
        if _missing(ax, label, chk):
            continue
        d = chk.details
        for i, name in enumerate(("da", "db", "dc")):
            ax.errorbar(d["rhs"][i].ravel(), d["mc"][i].ravel(), yerr=d["sem"][i].ravel(),
                        fmt="o", ms=3, label=name)
        lim = np.abs(np.concatenate([d["rhs"].ravel(), d["mc"].ravel()])).max() * 1.05
        ax.plot([-lim, lim], [-lim, lim], "k:", lw=1)
        ax.set(xlabel="derived d/dtau (rhs)", ylabel="Monte Carlo mean of update / eta",
               title=f"{label}: max|z| = {chk.metric:.2f}")
        ax.legend(fontsize=8)
    layout(fig)
    return fig


def trajectories(cases: list) -> Figure:
    """SGD against the ODE; the same run against every rule's ODE; the gap against eta."""
    fig, axes = _grid(cases, 3, 3.5)
    for j, (label, checks) in enumerate(cases):
        traj, disc, scaling = (checks.get(n) for n in STUDIES["trajectories"])
        if not _missing(axes[0, j], label, traj):
            d = traj.details
            for k, name in enumerate("abc"):
                axes[0, j].plot(d["tau"], d["ode"][:, :, k], color=f"C{k}", lw=1.5)
                axes[0, j].plot(d["tau"], d["sim"][:, 0, :, k], color=f"C{k}", lw=0.6, ls="--")
                axes[0, j].plot([], [], color=f"C{k}", label=f"{name} (ODE solid, SGD dashed)")
            axes[0, j].set(xlabel="learning time tau = eta t", ylabel="mode parameter",
                           title=f"{label}, eta = {d['eta']:.2g}")
            axes[0, j].legend(fontsize=7)
        if not _missing(axes[1, j], label, disc):
            d = disc.details
            for name, curve in d["curves"].items():
                if curve is not None:  # from the first record on: zero at the common start
                    own = name == d["own"]
                    axes[1, j].semilogy(d["tau"][1:], curve[1:], lw=2.0 if own else 1.0,
                                        label=f"{name} ODE: max {d['errors'][name]:.3g}"
                                        + (" (own)" if own else ""))
            axes[1, j].set(xlabel="learning time tau", ylabel="relative error of the SGD run",
                           title=f"against each rule's ODE: ratio {disc.metric:.3g}")
            axes[1, j].legend(fontsize=7)
        if not _missing(axes[2, j], label, scaling):
            e = scaling.details
            axes[2, j].loglog(e["etas"], e["errors"], "o-", label=f"slope {scaling.metric:.2f}")
            axes[2, j].loglog(e["etas"], e["errors"][0] * np.sqrt(e["etas"] / e["etas"][0]),
                              "k:", label="slope 1/2")
            axes[2, j].set(xlabel="eta", ylabel="max relative error along the run")
            axes[2, j].legend(fontsize=8)
    layout(fig)
    return fig


def local_rate(cases: list) -> Figure:
    """Distance to the optimal manifold: simulation, ODE and the predicted rate."""
    fig, axes = _grid(cases, 1, 3.6)
    for ax, (label, checks) in zip(axes[0], cases, strict=True):
        chk = checks.get("local_rate")
        if _missing(ax, label, chk):
            continue
        d = chk.details
        tau, w = d["tau"], d["window"]
        ax.semilogy(tau, d["distance"], label="simulation")
        ax.semilogy(tau, d["ode_distance"], "k:", label="ODE")
        ref = d["distance"][w][0] * np.exp(-d["predicted"] * (tau - tau[w][0]))
        ax.semilogy(tau, ref, "r--", lw=1, label=f"predicted rate {d['predicted']:.3g}")
        ax.axvspan(tau[w][0], tau[w][-1], color="0.9", label="fit window")
        ax.set(xlabel="tau", ylabel="distance to optimal manifold",
               title=f"{label}: fit {d['rate']:.3g}")
        ax.legend(fontsize=7)
    layout(fig)
    return fig


def stability(cases: list) -> Figure:
    """Kicked modes on the optimal manifold: distance over its start, per sign of beta."""
    fig, axes = _grid(cases, 1, 3.6)
    for ax, (label, checks) in zip(axes[0], cases, strict=True):
        chk = checks.get("stability")
        if _missing(ax, label, chk):
            continue
        for key, run in chk.details["runs"].items():
            for i, (tau, dist) in enumerate(run["curves"]):
                ax.semilogy(tau, dist / dist[0], ls="-" if key == "beta>0" else "--",
                            color=f"C{i}",
                            label=f"{key}, b={run['b'][i]:g}, pred {run['growth'][i]:+.2g}")
        ax.set(xlabel="tau", ylabel="d(tau) / d(0) (distance to manifold)",
               title=f"{label}: worst {chk.metric:.3g}")
        ax.legend(fontsize=6)
    layout(fig)
    return fig


def saddle(cases: list) -> Figure:
    """The plateau at the saddle (loss) or the escape from b = c = 0 (b)."""
    fig, axes = _grid(cases, 1, 3.6)
    for ax, (label, checks) in zip(axes[0], cases, strict=True):
        chk = checks.get("saddle")
        if _missing(ax, label, chk):
            continue
        d = chk.details
        if "loss" in d:
            ax.plot(d["loss_tau"], d["loss"] / d["loss"][:5].mean(), lw=0.8, label="SGD")
            ax.plot(d["tau"], d["ode_loss"] / d["ode_loss"][0], "k:", label="ODE")
            ax.axvline(d["tau_pred"], color="r", ls="--", label="predicted plateau end")
            ax.axhline(0.9, color="0.6", lw=0.8)
            ax.set(ylabel="loss / initial loss")
        else:
            ax.plot(d["tau"], d["b"], label="SGD")
            ax.plot(d["tau"], d["ode_b"], "k:", label="ODE")
            ax.set(ylabel="b (mode mean)")
        ax.set(xlabel="tau", title=f"{label}: metric {chk.metric:.3g}")
        ax.legend(fontsize=7)
    layout(fig)
    return fig


def conserved(cases: list) -> Figure:
    """Drift of the conserved quantities; simulated end points against predict_limit."""
    fig, axes = _grid(cases, 2, 3.5)
    for j, (label, checks) in enumerate(cases):
        cons, lim = checks.get("conserved"), checks.get("limit")
        if not _missing(axes[0, j], label, cons):
            d = cons.details
            for v in d["values"]:
                axes[0, j].plot(d["tau"], v - v[0], lw=1)
            names = ", ".join(str(q) for q in d["quantities"])
            axes[0, j].set(xlabel="tau", ylabel="Q(tau) - Q(0) per mode",
                           title=f"{label}: Q = {names}")
        if not _missing(axes[1, j], label, lim):
            d = lim.details
            axes[1, j].plot(d["start"][:, 1], d["start"][:, 2], "k.", label="start (b, c)")
            axes[1, j].plot(d["predicted"][:, 1], d["predicted"][:, 2], "rx", ms=9,
                            label="predict_limit")
            axes[1, j].plot(d["simulated"][:, 1], d["simulated"][:, 2], "o", mfc="none",
                            label="SGD end")
            axes[1, j].set(xlabel="b", ylabel="c")
            axes[1, j].legend(fontsize=7)
    layout(fig)
    return fig


def low_rank(cases: list) -> Figure:
    """Singular values of the weight changes on a dense network (every rule's check trains
    the same three rules, so the first case with details is drawn)."""
    fig, axes = subplots(1, 2, figsize=(9, 3.8))
    found = [c["low_rank"] for _, c in cases if c.get("low_rank") and c["low_rank"].details]
    if not found:
        return fig
    for ax, key in zip(axes, ("W", "U"), strict=True):
        for rule, run in found[0].details["runs"].items():
            sv = run["sv"][key]
            ax.semilogy(np.arange(1, len(sv) + 1), np.maximum(sv / sv[0], 1e-17), "o-", ms=3,
                        label=f"{rule} (loss -{100 * run['reduction']:.0f}%)")
        ax.axvline(2.5, color="0.6", ls=":", label="rank(B) = M = 2")
        ax.set(xlabel="index i", ylabel=f"sigma_i / sigma_1 of {key}_T - {key}_0")
        ax.legend(fontsize=7)
    layout(fig)
    return fig


DRAW = {"expected_update": expected_update, "trajectories": trajectories,
        "local_rate": local_rate, "stability": stability, "saddle": saddle,
        "conserved": conserved, "low_rank": low_rank}
