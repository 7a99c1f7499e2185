"""Integer polynomials factored into irreducibles, by FLINT when python-flint is installed.

SymPy factors multivariate polynomials with Wang's algorithm, written in Python: it is the
largest single cost of the fixed-point analyses (about a quarter of the paper's shared
analyses). python-flint wraps FLINT's multivariate factorisation, written in C, about ten
times faster on the analyses' polynomials.

Both give the same answer. Factorisation into irreducibles over ``Z`` is unique up to the
signs of the factors; ``PolyElement.factor_list`` (``dmp_factor_list``) gives each factor
a positive leading coefficient in lex order on the ring's generators and sorts the factors
with ``_sort_factors`` on their dense representations. FLINT's factors are normalised and
sorted the same way here, and the constant takes the signs moved out of the factors, so
:func:`factor_list` returns what ``p.factor_list()`` returns. Without python-flint, or for
a ring outside ``Z[x_1, ..., x_n]`` in lex order, SymPy factors.
"""

from __future__ import annotations

from functools import lru_cache

from sympy.polys.orderings import lex
from sympy.polys.polyutils import _sort_factors
from sympy.polys.rings import PolyElement


def factor_list(p: PolyElement) -> tuple[object, list[tuple[PolyElement, int]]]:
    """``p.factor_list()``: the constant and the irreducible factors with multiplicities,
    computed by FLINT where it can be (see module doc)."""
    ring = p.ring
    flint = _flint()
    if flint is None or not ring.domain.is_ZZ or ring.order != lex or not ring.ngens \
            or p.is_ground:
        return p.factor_list()
    context = _context(ring.ngens)
    constant, flint_factors = context.from_dict({m: int(c) for m, c in p.items()}).factor()
    sign, factors = 1, []
    for f, k in flint_factors:
        q = ring.from_dict({m: ring.domain(int(c)) for m, c in f.to_dict().items()})
        if q.LC < 0:  # SymPy's normal form (FLINT's too, but it does not promise it)
            q, sign = -q, sign * (-1) ** k
        factors.append((ring.to_dense(q), int(k)))
    coefficient = ring.domain(int(constant) * sign)
    return coefficient, [(ring.from_dense(f), k) for f, k in _sort_factors(factors)]


@lru_cache(maxsize=1)
def _flint():
    """The ``flint`` module (python-flint), or ``None`` when it is not installed."""
    try:
        import flint
    except ImportError:
        return None
    return flint if hasattr(flint, "fmpz_mpoly_ctx") else None


@lru_cache(maxsize=32)
def _context(n: int):
    """FLINT's ring of integer polynomials in ``n`` generators, lex order."""
    return _flint().fmpz_mpoly_ctx.get(("x", n), "lex")
