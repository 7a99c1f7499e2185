"""The public SymPy symbols of symdyn (docs/theory.md, 'Symbols and conventions').

Student parameters ``a, b, c``; teacher ``a_star, b_star, c_star``; feedback ``beta``;
leak ``alpha``; learning time ``tau``; label-noise amplitude ``sigma`` (the teacher's
output is ``y*_t = c* h*_t + sigma xi_t``, ``xi_t`` white standard normal).
Mode ``i`` of a multi-mode system appends ``_i``.
The effective recurrences ``lam = 1 - alpha + alpha a`` and ``lam_star`` are internal
working variables of the derivation: they keep the rational functions small.
"""

from __future__ import annotations

import sympy as sp

from .errors import UnknownSymbolError

a, b, c = sp.symbols("a b c", real=True)
a_star, b_star, c_star = sp.symbols("a_star b_star c_star", real=True)
beta = sp.Symbol("beta", real=True)
alpha = sp.Symbol("alpha", positive=True)
tau = sp.Symbol("tau", nonnegative=True)
sigma = sp.Symbol("sigma", nonnegative=True)

# Working variables of the averaging step (never in a result that leaves the engine).
lam, lam_star, kappa = sp.symbols("lambda lambda_star kappa", real=True)

STATE: tuple[sp.Symbol, ...] = (a, b, c)
TEACHER: tuple[sp.Symbol, ...] = (a_star, b_star, c_star)

#: Every public name, as SymPy ``str`` prints it and ``sympify`` reads it back.
PUBLIC: dict[str, sp.Symbol] = {
    s.name: s for s in (a, b, c, a_star, b_star, c_star, beta, alpha, tau, sigma)
}


def by_name(name: str) -> sp.Symbol:
    """The public symbol called ``name``; an :class:`UnknownSymbolError` (also a
    ``KeyError``) naming the valid ones otherwise."""
    try:
        return PUBLIC[name]
    except KeyError:
        valid = ", ".join(PUBLIC)
        raise UnknownSymbolError(f"unknown symbol {name!r}; valid symbols are {valid}") \
            from None


def mode_symbols(i: int) -> dict[sp.Symbol, sp.Symbol]:
    """Map each public symbol except ``alpha``, ``tau`` and ``sigma`` (shared by all modes:
    the label noise is isotropic) to its mode-``i`` copy (``a_1``...)."""
    shared = {alpha, tau, sigma}
    return {
        s: sp.Symbol(f"{s.name}_{i}", **s.assumptions0)
        for s in PUBLIC.values()
        if s not in shared
    }


def sympify(text: str, n_modes: int = 0) -> sp.Expr:
    """Read expression text over the public names back into SymPy, with their assumptions;
    ``n_modes`` also knows the mode symbols ``a_1``, ..., ``c_star_n``."""
    names = dict(PUBLIC)
    for i in range(1, n_modes + 1):
        names.update({s.name: s for s in mode_symbols(i).values()})
    return sp.sympify(text, locals=names)
