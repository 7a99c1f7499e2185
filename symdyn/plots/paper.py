"""The figures of ``symdyn paper``, each from the ``data`` dict of a
:class:`symdyn.reproduce.common.FigureData` (NumPy arrays computed by the derivation)."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from .base import COLORS, LABELS, legend_below, subplots
from .layout import layout
from .noise import NOISE_DRAW


def phase_portraits(data: dict) -> Figure:
    """Direction field of (db, dc) at a = a*, hyperbola b c = b* c*, saddle, trajectories."""
    panels = data["panels"]
    fig, axes = subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2), sharey=True)
    for ax, p in zip(np.atleast_1d(axes), panels, strict=True):
        _direction_field(ax, p["b"], p["c"], p["db"], p["dc"])
        _optimal_branches(ax, p["optimum"])
        _trajectories(ax, p["trajectories"], p["rule"])
        if p["saddle"]:
            ax.plot(0, 0, "X", color="k", ms=10, label="saddle $b = c = 0$")
        ax.set_xlim(-2, 2)
        ax.set_ylim(-2, 2)
        ax.set_xticks(np.arange(-2, 3))
        ax.set_xlabel("$b$ (input weight)")
        title = f"{LABELS[p['rule']]}, $a = a^* = {p['a_star']}$"
        ax.set_title(title + (f", $\\beta = {p['beta']}$" if p["rule"] == "rflo" else ""))
    np.atleast_1d(axes)[0].set_ylabel("$c$ (readout weight)")
    legend_below(fig, axes, ncol=5)
    return fig


def _trajectories(ax, paths: list[np.ndarray], rule: str) -> None:
    """The ODE's trajectories in the (b, c) plane as one line (the paths joined by NaN,
    where a line breaks) and their starts as one line of markers: two artists a panel
    instead of two a trajectory (48 in all), the same drawing (the markers, on top, in
    the same order; where two trajectories run along each other, some of their edge
    pixels blend differently). Each Line2D costs about 1 ms to make and draw: measured
    on this figure, 0.36 -> 0.33 s CPU quick, 0.75 -> 0.64 full (PNG + PDF)."""
    if not paths:
        return
    gap = np.full((1, 2), np.nan)
    joined = np.concatenate([part for path in paths for part in (path[:, 1:3], gap)][:-1])
    starts = np.array([path[0, 1:3] for path in paths])
    ax.plot(joined[:, 0], joined[:, 1], color=COLORS[rule], lw=1.3,
            label=f"{LABELS[rule]}: ODE trajectories")
    ax.plot(starts[:, 0], starts[:, 1], "o", mfc="white", mec="k", ms=4.5, mew=1, zorder=5,
            label="trajectory start")


def _direction_field(ax, b: np.ndarray, c: np.ndarray, db: np.ndarray, dc: np.ndarray,
                     arrows: int = 21) -> None:
    """Arrows of equal length along the flow on at most ``arrows`` x ``arrows`` points of the
    grid, darker where the flow is faster (log speed). A quiver, not a streamplot: the
    trajectories drawn over it are the ODE's own, and matplotlib's streamplot integrates
    its streamlines in Python (seconds per panel)."""
    step = max(1, -(-len(b) // arrows))
    db, dc = db[::step, ::step], dc[::step, ::step]
    speed = np.hypot(db, dc)
    unit = np.where(speed > 0, speed, 1.0)
    shade = np.log10(speed + 1e-12)
    low, high = float(shade.min()), float(shade.max())
    grid_b, grid_c = np.meshgrid(b[::step], c[::step])
    ax.quiver(grid_b, grid_c, db / unit, dc / unit, shade, cmap="Greys", angles="xy",
              pivot="mid", scale=1.5 * len(grid_b), width=0.003, headwidth=4,
              clim=(low - (high - low + 1e-12), high + 0.3 * (high - low)))


def _optimal_branches(ax, branches: list[dict]) -> None:
    """The optimal hyperbola: solid where the derived conditions say stable, dashed where
    they say unstable (RFLO's branch with beta c < 0). The branches joined by NaN: one
    line for the stable parts, one for the unstable."""
    if not branches:
        return
    gap = np.full(1, np.nan)
    b = np.concatenate([part for br in branches for part in (br["b"], gap)][:-1])
    c = np.concatenate([part for br in branches for part in (br["c"], gap)][:-1])
    stable = np.concatenate([part for br in branches
                             for part in (np.asarray(br["stable"], dtype=bool), gap > 0)][:-1])
    ax.plot(b, np.where(stable, c, np.nan), color="C3", lw=2.2,
            label="optimum $bc = b^*c^*$, stable")
    ax.plot(b, np.where(stable, np.nan, c), color="C3", lw=1.6, ls=(0, (3, 2)),
            label="optimum $bc = b^*c^*$, unstable")


def learning_curves(data: dict) -> Figure:
    """Loss against learning time: simulation (dots) and integrated ODE (line)."""
    panels = data["panels"]
    fig, axes = subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), sharey=True)
    for ax, p in zip(np.atleast_1d(axes), panels, strict=True):
        color = COLORS[p["rule"]]
        ax.semilogy(p["tau_sim"], p["loss_sim"], ".", color=color, ms=3, alpha=0.6,
                    label=f"simulation ($\\eta = {p['eta']}$, batch {p['batch']})")
        # Below ~1e-13 the closed-form loss is cancellation round-off, not dynamics.
        ode_loss = np.where(p["loss_ode"] > 1e-13, p["loss_ode"], np.nan)
        ax.semilogy(p["tau_ode"], ode_loss, "-", color="k", lw=1.5, label="ODE")
        ax.set_ylim(1e-13, None)
        # The x-axis ends where the data ends (no empty margin after the last record).
        ax.set_xlim(0, max(p["tau_sim"][-1], p["tau_ode"][-1]))
        ax.set_xlabel(r"learning time $\tau = \eta t$")
        ax.set_title(LABELS[p["rule"]])
        ax.legend(fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel(r"loss $\frac{1}{2}|e_t|^2$")
    layout(fig)
    return fig


def rate_vs_beta(data: dict) -> Figure:
    """RFLO's rate against beta (closed form, numeric marks), BPTT/tBPTT constant."""
    fig, ax = subplots(figsize=(6, 4))
    ax.plot(data["beta"], data["rflo"], color=COLORS["rflo"], lw=2, label="RFLO (closed form)")
    ax.plot(data["marks"], data["rflo_numeric"], "o", color=COLORS["rflo"], mfc="none",
            label="RFLO (numeric eigenvalues)")
    for rule, value in data["lines"].items():
        ax.axhline(value, color=COLORS[rule], ls="--", label=f"{LABELS[rule]}: {value:.3f}")
    for x in data["crossings_bptt"]:
        ax.axvline(x, color="grey", lw=0.8, ls=":")
        ax.annotate(f"$\\beta = {x:.3f}$", (x, 0), textcoords="offset points", xytext=(3, 5),
                    fontsize=8)
    ax.axhline(0, color="k", lw=0.6)
    ylim = ax.get_ylim()
    ax.axhspan(ylim[0], 0, color="red", alpha=0.08, label="unstable (rate < 0)")
    ax.set_ylim(ylim)
    point = data["point"]
    ax.set_title(f"Convergence rate at $a = a^* = {point['a_star']}$, $b = {point['b']}$, "
                 f"$c = {point['c']}$")
    ax.set_xlabel(r"feedback $\beta$")
    ax.set_ylabel(r"rate $r = -\max\,\mathrm{Re}\,\mu$")
    ax.legend(fontsize=8)
    layout(fig)
    return fig


def stability_region(data: dict) -> Figure:
    """Stable/unstable shading from numeric eigenvalues, symbolic boundaries overlaid."""
    panels = data["panels"]
    fig, axes = subplots(1, len(panels), figsize=(4.2 * len(panels), 4), sharey=True)
    cmap = ListedColormap(["#f4b6b6", "#b9e3b9"])
    extent = (data["b"][0], data["b"][-1], data["beta"][0], data["beta"][-1])
    drawn: set[int] = set()
    left, right = data["b"] < 0, data["b"] > 0
    b_split = _split(data["b"][None, :], left, right)[0]
    b_split[left.sum()] = 0.0  # the gap's column, at b = 0
    for ax, p in zip(np.atleast_1d(axes), panels, strict=True):
        # The colours of the grid's cells, mapped here (0 or 1 to the colormap's bytes):
        # matplotlib would map them after resampling, pixel by pixel of the panel. The
        # same pixels, PNG and PDF; per image 17.6 -> 6.5 ms to draw on the full grid.
        ax.imshow(cmap(p["stable"].astype(float), bytes=True), origin="lower", extent=extent,
                  aspect="auto", interpolation="nearest")
        for i, g in enumerate(p["conditions"]):
            # Only where every other condition holds is g_i = 0 a boundary of the stable
            # region; elsewhere its zero set runs through the unstable region: masked.
            others = [h for j, h in enumerate(p["conditions"]) if j != i]
            bounding = np.where(np.all([h > 0 for h in others], axis=0), g, np.nan) \
                if others else g
            if np.nanmin(bounding, initial=np.inf) < 0 < np.nanmax(bounding, initial=-np.inf):
                drawn.add(i)
            # c = b* c*/b jumps through infinity at b = 0: no contour across it (a column
            # of NaN at b = 0 between the two sides, one contour set for both: the same
            # lines as two sets, one a side, pixel for pixel).
            ax.contour(b_split, data["beta"], _split(bounding, left, right), levels=[0],
                       colors=[f"C{i}"], linewidths=1.5, linestyles=["-", "--", ":"][i % 3])
        ax.axvline(0, color="grey", lw=0.8, ls=":")
        ax.set_title(f"RFLO, $a = a^* = {p['a_star']}$")
        ax.set_xlabel("$b$  ($c = b^* c^* / b$)")
    handles = [Patch(color="#b9e3b9", label="stable (numeric)"),
               Patch(color="#f4b6b6", label="unstable (numeric)")]
    handles += [Line2D([], [], color=f"C{i}", ls=["-", "--", ":"][i % 3],
                           label=f"$g_{i + 1} = 0$ (where it bounds the stable region)")
                for i in sorted(drawn)]
    handles.append(Line2D([], [], color="grey", lw=0.8, ls=":",
                              label="$b = 0$ ($c = b^*c^*/b$ diverges)"))
    np.atleast_1d(axes)[0].set_ylabel(r"feedback $\beta$")
    legend_below(fig, axes, handles)
    return fig


def _split(grid: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The columns of ``grid`` where ``left`` (b < 0), a column of NaN, then those where
    ``right`` (b > 0)."""
    gap = np.full((grid.shape[0], 1), np.nan)
    return np.concatenate([grid[:, left], gap, grid[:, right]], axis=1)


def slower_region(data: dict) -> Figure:
    """Where RFLO is stable but slower than BPTT, with the a* = 0 boundary beta = c.

    Regions are filled between the zero level sets of continuous derived fields (the
    smallest stability condition, and r_BPTT - r_RFLO from closed-form rates), so their
    boundaries are smooth curves, not grid cells; without those fields (older data) the
    numeric grid is shown."""
    panels = data["panels"]
    fig, axes = subplots(1, len(panels), figsize=(4.2 * len(panels), 4), sharey=True)
    colors = {"unstable": "#f4b6b6", "faster": "#cfe0f5", "slower": "#f5d9a8"}
    beta, b = data["beta"], data["b"]
    for ax, p in zip(np.atleast_1d(axes), panels, strict=True):
        if "slower_margin" in p:
            _slower_fill(ax, beta, b, p, colors)
        else:
            state = np.where(p["rflo"] <= 0, 0, np.where(p["slower"], 2, 1))
            ax.imshow(state, origin="lower", extent=(beta[0], beta[-1], b[0], b[-1]),
                      aspect="auto", cmap=ListedColormap(list(colors.values())), vmin=0,
                      vmax=2, interpolation="nearest")
        ax.plot(1.0 / b, b, "k--", lw=1.2)
        ax.set_xlim(beta[0], beta[-1])
        ax.set_ylim(b[0], b[-1])
        ax.set_title(f"$a = a^* = {p['a_star']}$")
        ax.set_xlabel(r"feedback $\beta$")
    handles = [Patch(color=colors["unstable"], label="RFLO unstable"),
               Patch(color=colors["slower"], label="RFLO slower than BPTT"),
               Patch(color=colors["faster"], label="RFLO faster than BPTT"),
               Line2D([], [], color="k", ls="--", label=r"$\beta = c$ ($a^*=0$ boundary)")]
    np.atleast_1d(axes)[0].set_ylabel("$b$  ($c = 1/b$)")
    legend_below(fig, axes, handles)
    return fig


def _slower_fill(ax, beta: np.ndarray, b: np.ndarray, p: dict, colors: dict) -> None:
    # Rate comparison first (both bands in one contour set: the same polygons, pixel for
    # pixel, as one set a band), the unstable region over it: no unfilled seam between them.
    stable, slower = p["stability_margin"], p["slower_margin"]
    ax.contourf(beta, b, slower, levels=[-np.inf, 0, np.inf],
                colors=[colors["faster"], colors["slower"]])
    ax.contour(beta, b, np.where(stable > 0, slower, np.nan), levels=[0], colors=["#b8860b"],
               linewidths=1.2)
    ax.contourf(beta, b, stable, levels=[-np.inf, 0], colors=[colors["unstable"]])
    ax.contour(beta, b, stable, levels=[0], colors=["#a33"], linewidths=1.2)


def singular_values(data: dict) -> Figure:
    """Singular values of W_T - W_0 and U_T - U_0 per rule (log scale), M marked."""
    fig, axes = subplots(1, 2, figsize=(9, 3.8))
    for ax, key in zip(axes, ("W", "U"), strict=True):
        for rule, sv in data["rules"].items():
            # Exact zeros would vanish from a log axis: floor them far below round-off.
            ax.semilogy(np.arange(1, len(sv[key]) + 1), np.maximum(sv[key], 1e-18), "o-",
                        color=COLORS[rule], ms=4, label=LABELS[rule])
        ax.axvline(data["M"] + 0.5, color="grey", ls=":", label=f"$M = {data['M']}$")
        ax.set_xlabel("index $i$")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(rf"$\sigma_i({key}_T - {key}_0)$")
        ax.set_title(f"{key}: N = {data['N']}, D = {data['D']}, M = {data['M']}, "
                     f"{data['steps']} steps")
        ax.legend(fontsize=8)
    layout(fig)
    return fig


def truncation_sweep(data: dict) -> Figure:
    """Rate against the window k (BPTT dashed) and sup |f_k - f_BPTT| against k (log)."""
    fig, (left, right) = subplots(1, 2, figsize=(10, 4))
    k = data["k"]
    for i, (a_star, rates) in enumerate(data["rates"].items()):
        color = f"C{i}"
        left.plot(k, rates, "o-", color=color, label=f"tBPTT($k$), $a = a^* = {a_star}$")
        left.axhline(data["bptt"][a_star], color=color, ls="--", lw=1,
                     label=f"BPTT, $a^* = {a_star}$: {data['bptt'][a_star]:.4f}")
    left.set_xlabel("truncation window $k$")
    left.set_ylabel(r"rate $r = -\max\,\mathrm{Re}\,\mu$")
    left.set_title("Convergence rate at $b = 1$, $c = b^* c^*/b$")
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_ylim(top=1.06 * max(data["bptt"].values()))  # BPTT's lines off the frame
    left.legend(fontsize=8, loc="center right")
    for i, (L, d) in enumerate(data["distances"].items()):
        color = f"C{i + 2}"
        right.semilogy(d["k"], d["distance"], "o", color=color,
                       label=f"$L = {L}$: fitted ratio {d['fitted_ratio']:.4f} "
                             f"($L^2 = {L * L:.2f}$)")
        right.semilogy(d["k"], np.exp(d["fitted_intercept"]) * d["fitted_ratio"] ** d["k"],
                       "-", color=color, lw=1)
    right.set_xlabel("truncation window $k$")
    right.set_ylabel(r"$\sup\,|f_k - f_{\mathrm{BPTT}}|$ on $|a|, |a^*| \leq L$")
    right.set_title("Distance of the right-hand sides to BPTT")
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.legend(fontsize=8, loc="lower left")
    layout(fig)
    return fig


def beyond_alignment(data: dict) -> Figure:
    """Matrix ODE vs SGD loss per rule (log), and singular values of W - W_0 (RFLO reach)."""
    fig, (left, right) = subplots(1, 2, figsize=(10, 3.8))
    for rule, c in data["compare"].items():
        if c.get("sim_status") != "ok":
            continue
        left.semilogy(c["tau"], c["loss_ode"], "-", color=COLORS[rule], label=LABELS[rule])
        left.semilogy(c["tau"], c["loss_sim"], "o", color=COLORS[rule], ms=4)
    left.set(xlabel=r"$\tau$", ylabel="loss", title="Dense network: ODE vs SGD")
    left.legend(fontsize=8)
    reach = data["reach"]
    for key, style, label in (("rflo", "o-", "RFLO, matrix ODE"), ("bptt", "s-",
                                                                    "BPTT, matrix ODE")):
        sv = reach[key]["singular_values"]
        right.semilogy(np.arange(1, len(sv) + 1), np.maximum(sv, 1e-18), style, ms=4,
                       color=COLORS[key], label=label)
    if "singular_values" in reach.get("sgd", {}):
        sv = reach["sgd"]["singular_values"]
        right.semilogy(np.arange(1, len(sv) + 1), np.maximum(sv, 1e-18), "x", color="k",
                       label="RFLO, SGD")
    right.axvline(reach["M"] + 0.5, color="grey", ls=":")
    right.set(xlabel="index $i$", ylabel=r"$\sigma_i(W - W_0)$",
              title=f"Teacher needs rank {reach['change_rank']} > M = {reach['M']}")
    right.legend(fontsize=8)
    layout(fig)
    return fig


DRAW = {"phase_portraits": phase_portraits, "learning_curves": learning_curves,
        "rate_vs_beta": rate_vs_beta, "stability_region": stability_region,
        "slower_region": slower_region, "singular_values": singular_values,
        "truncation_sweep": truncation_sweep, "beyond_alignment": beyond_alignment,
        **NOISE_DRAW}
