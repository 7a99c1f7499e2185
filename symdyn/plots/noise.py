"""The figures of the paper's 'Finite learning rate' section (:mod:`symdyn.reproduce.noise`),
each from the ``data`` dict of a :class:`symdyn.reproduce.common.FigureData`."""

from __future__ import annotations

from itertools import groupby

import numpy as np
from matplotlib.figure import Figure

from .base import COLORS, LABELS, legend_below, subplots


def critical_rate_vs_beta(data: dict) -> Figure:
    """``eta_c`` against beta, one panel per teacher ``a*``."""
    stars = data["a_star"]
    fig, axes = subplots(1, len(stars), figsize=(4.6 * len(stars), 3.8), sharey=True)
    for ax, a_star in zip(np.atleast_1d(axes), stars, strict=True):
        for rule, values in data[a_star].items():
            ax.plot(data["beta"], values, color=COLORS[rule], lw=2, label=LABELS[rule],
                    ls="--" if rule == "tbptt" else "-")
        ax.set(xlabel=r"feedback $\beta$", title=f"$a^* = {a_star:g}$")
        if a_star == 0 and "large_batch" in data:
            for i, (rule, run) in enumerate(data["large_batch"].items()):
                # One line of markers per run of equal outcomes (converged: o, else x),
                # in the order of the factors: the markers overlap, drawn as before.
                for ok, group in groupby(run["converged"].items(), key=lambda item: item[1]):
                    etas = [factor * run["eta_c"] for factor, _ in group]
                    ax.plot(np.full(len(etas), 1.0 + 0.04 * (i - 1)), etas,
                            "o" if ok else "x", color=COLORS[rule],
                            mfc=COLORS[rule] if ok else "none", ms=6)
    np.atleast_1d(axes)[0].set_ylabel(r"critical learning rate $\eta_c$")
    legend_below(fig, axes)
    return fig


def stationary_variance(data: dict) -> Figure:
    """Transverse variances against eta: LNA lines, SGD points with standard errors."""
    titles = (r"$\mathrm{Var}(a - a^*)$", r"$\mathrm{Var}(bc - b^*c^*)$")
    fig, axes = subplots(1, 2, figsize=(10, 3.9))
    for j, ax in enumerate(axes):
        for rule, runs in data.items():
            for sigma, marker in zip(sorted({r["sigma"] for r in runs}), "os", strict=False):
                sel = [r for r in runs if r["sigma"] == sigma]
                eta = np.array([r["eta"] for r in sel])
                ax.loglog(eta, [r["predicted"][j] for r in sel], color=COLORS[rule], lw=1)
                ax.errorbar(eta, [r["measured"][j] for r in sel],
                            yerr=[r["sem"][j] for r in sel], fmt=marker, ms=4, mfc="none",
                            color=COLORS[rule], label=f"{LABELS[rule]}, $\\sigma = {sigma:g}$")
        ax.set(xlabel=r"learning rate $\eta$", title=titles[j])
    legend_below(fig, axes, ncol=3)
    return fig


def manifold_diffusion(data: dict) -> Figure:
    """Paths of phi along the manifold, and Var(phi) against tau with eta tau l^T D l."""
    fig, (left, right) = subplots(1, 2, figsize=(10, 3.9))
    for key, d in data.items():
        tau = np.asarray(d["tau"])
        left.plot(tau, d["paths"], color=COLORS[key], lw=0.8, alpha=0.8)
        left.plot([], [], color=COLORS[key], label=LABELS[key])
        right.plot(tau, d["phi_var"], "o", ms=3, color=COLORS[key])
        right.plot(tau, d["eta"] * tau * d["predicted"], color=COLORS[key], lw=1.5)
        if key == "tbptt_k2":
            band = 2 * np.sqrt(d["eta"] * tau * max(d["predicted"], 0.0))
            left.fill_between(tau, -band, band, color=COLORS[key], alpha=0.12)
    left.set(xlabel=r"$\tau$", ylabel=r"$\phi = l^\top(\theta - \theta_0)$",
             title=r"paths (band: $\pm 2\sqrt{\eta\tau\, l^\top D l}$, tBPTT k=2)")
    right.set(xlabel=r"$\tau$", ylabel=r"$\mathrm{Var}\,\phi$",
              title=r"spread: runs (points), $\eta\tau\, l^\top D l$ (lines)")
    legend_below(fig, (left, right))
    return fig


NOISE_DRAW = {"critical_rate_vs_beta": critical_rate_vs_beta,
              "stationary_variance": stationary_variance, "manifold_diffusion": manifold_diffusion}
