"""Fixed-point sets as users see them: public symbols, stability, printing.

``fixed_points(ode)`` returns one :class:`FixedPointSet` per component of the fixed-point
set inside the stationary region, each with its defining equations, dimension,
parametrisation, Jacobian eigenvalues, Routh-Hurwitz stability conditions and a
classification (stable, saddle, unstable, marginal, or conditional on the parameters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp

from .. import symbols as S
from ..algebra import (
    as_expr,
    change_variables,
    factor,
    field_element,
    substitute_factor,
    vanishes_on,
)
from ..errors import SymdynKeyError
from ..factoring import factor_list as factor_list_of
from ..model import weight_from_recurrence
from ..ode import LearningODE
from ..pretty import strings, text, theorist
from .components import WorkingComponent, sample_points, working_components
from .deadline import Deadline
from .signs import collect_in_state, simplify_positive, strip_positive_factors
from .spectrum import (
    Root,
    Spectrum,
    classify,
    sampled_classes,
    spectrum,
    stability_conditions,
)

#: Teacher parameters that a set's relation may be solved for, to write conditions in
#: the state variables (on the optimal manifold ``b_star c_star`` becomes ``b c``).
RELATION_PARAMETERS = (S.b_star, S.c_star, S.lam_star)


@dataclass(frozen=True, eq=False)
class FixedPointSet:
    """One component of the fixed points of a learning ODE, in public symbols.

    ``equations``: polynomials whose common zeros inside the stationary region are the set.
    ``parametrization``: each solved state variable as a function of the ``free`` ones.
    ``eigenvalues``: all Jacobian eigenvalues on the set (``dimension`` of them zero),
    closed forms where the reduced characteristic polynomial has degree <= 2.
    ``conditions``: expressions ``g`` such that the set is stable iff every ``g > 0``.
    """

    name: str
    equations: list[sp.Expr]
    dimension: int
    free: tuple[sp.Symbol, ...]
    parametrization: dict[sp.Symbol, sp.Expr]
    roots: list[Root]
    conditions: list[sp.Expr]
    classification: str
    working: WorkingComponent = field(repr=False)
    working_conditions: list[sp.Expr] = field(repr=False)
    spectrum: Spectrum = field(repr=False)
    leak: sp.Expr = field(default=sp.Integer(1), repr=False)

    def _to_public(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` (factored, in working variables) in public symbols."""
        from ..model import ModeModel

        return change_variables(expr, ModeModel(self.leak).from_working())

    @property
    def eigenvalues(self) -> list[sp.Expr]:
        return [r.expr for r in self.roots]

    @cached_property
    def eigenvalue_strings(self) -> list[str]:
        """``str`` of each eigenvalue (kept, and pickled with the set: printing a square
        root asks SymPy's assumptions about its factors, which a report read back from
        the on-disk cache no longer carries, and asks them again, at several times the
        cost of printing the expressions the analysis has just built)."""
        return strings(self.eigenvalues)

    def characteristic(self, working: bool = False) -> list[sp.Expr]:
        """Coefficients ``[p_0, ..., p_{n-1}]`` of the monic reduced characteristic
        polynomial (zero eigenvalues of the set's tangent directions divided out); in
        ``lambda`` coordinates when ``working``."""
        return list(self._characteristic[0 if working else 1])

    @cached_property
    def _characteristic(self) -> tuple[list[sp.Expr], list[sp.Expr]]:
        """:meth:`characteristic` in working and in public symbols (kept, and pickled with
        the set as :attr:`eigenvalue_strings` is: a process that reads the report from the
        on-disk cache would factor each coefficient again, 0.4 CPU s for the paper's nine
        reports, where the analysis, knowing their factors, builds them in 0.1 s)."""
        poly = self.spectrum.reduced
        working = [factor(k / poly.LC()) for k in poly.all_coeffs()[1:]][::-1]
        return working, [self._to_public(k) for k in working]

    @property
    def condition_relations(self) -> list[sp.core.relational.Relational]:
        """``g > 0`` for each condition, unevaluated: a condition is kept only where none
        of its factors keeps one sign on the sampled points of the set, so asking SymPy's
        assumptions whether ``g > 0`` holds (what evaluating does, at up to 0.1 s for a
        long ``g``) would only return the same relation."""
        return [sp.StrictGreaterThan(g, 0, evaluate=False) for g in self.conditions]

    def to_dict(self) -> dict:
        """The JSON shape of one set in ``symdyn fixed-points --format json``."""
        return {
            "name": self.name,
            "equations": [str(e) for e in self.equations],
            "dimension": self.dimension,
            "classification": self.classification,
            "conditions": [str(r) for r in self.condition_relations],
            "eigenvalues": self.eigenvalue_strings,
        }

    def __str__(self) -> str:
        equations = ", ".join(f"{e} = 0" for e in self.equations)
        lines = [f"{self.name} (dimension {self.dimension}): {{{equations}}}"]
        if self.parametrization:
            free = ", ".join(s.name for s in self.free) or "none"
            pars = ", ".join(f"{k} = {v}" for k, v in self.parametrization.items())
            lines.append(f"  parametrised by {free}: {pars}")
        conditions = " and ".join(f"{text(theorist(g))} > 0" for g in self.conditions)
        lines.append(f"  {self.classification}"
                     + (": stable iff " + conditions if self.conditions else ""))
        coefficients = self.characteristic()
        if len(coefficients) >= 2:
            n = len(coefficients)
            terms = " + ".join([f"mu**{n}"] + [f"p{k}*mu**{k}" if k > 1 else
                                               (f"p{k}*mu" if k == 1 else "p0")
                                               for k in reversed(range(n))])
            lines.append(f"  reduced characteristic polynomial: {terms}")
            lines += [f"    p{k} = {text(theorist(coefficients[k]))}"
                      for k in reversed(range(n))]
        return "\n".join(lines + _root_lines(self.roots))

    def _repr_latex_(self) -> str:
        from ..latex import fixed_point_set_latex

        return "$$" + fixed_point_set_latex(self) + "$$"


def _root_lines(roots: list[Root]) -> list[str]:
    """Eigenvalues as text; a pair ``m +- sqrt(D)`` once, with ``m`` and ``D`` below."""
    lines, done = [], set()
    for root in roots:
        if root.disc == 0:
            lines.append(f"  eigenvalue: {text(theorist(root.mid))}")
        elif (root.mid, root.disc) not in done:
            done.add((root.mid, root.disc))
            lines += ["  eigenvalues: m +- sqrt(D)", f"    m = {text(theorist(root.mid))}",
                      f"    D = {text(theorist(root.disc))}"]
    return lines


@dataclass(frozen=True, eq=False)
class FixedPointReport:
    """All fixed-point sets of one learning ODE."""

    ode: LearningODE
    sets: list[FixedPointSet]

    def __iter__(self):
        return iter(self.sets)

    def __len__(self) -> int:
        return len(self.sets)

    def __getitem__(self, key: int | str) -> FixedPointSet:
        if isinstance(key, int):
            return self.sets[key]
        for s in self.sets:
            if s.name == key or s.name.startswith(key):
                return s
        raise SymdynKeyError(f"no fixed-point set called {key!r}; sets: "
                       + ", ".join(s.name for s in self.sets))

    def to_dict(self) -> dict:
        """The JSON shape of ``symdyn fixed-points --format json``."""
        from ..model import leak_text

        return {"rule": self.ode.rule.name, "truncation": self.ode.rule.truncation,
                "leak": leak_text(self.ode.leak), "sets": [s.to_dict() for s in self.sets]}

    def __str__(self) -> str:
        return f"Fixed points of {self.ode.title}:\n" + "\n".join(str(s) for s in self.sets)

    def _repr_latex_(self) -> str:
        from ..latex import fixed_points_latex

        return "$$" + fixed_points_latex(self, environment="aligned") + "$$"


def fixed_points(ode: LearningODE, timeout: float | None = 60, samples: int = 200,
                 seed: int = 0, cache: bool = True, eigenvalues: bool = False,
                 ) -> FixedPointReport:
    """Find, parametrise and classify every fixed-point set of ``ode`` (see module doc).

    ``samples`` seeded random points per set decide signs that SymPy cannot prove and
    cross-check the symbolic conditions against numeric eigenvalues. ``timeout`` (seconds)
    bounds the whole analysis; past it a :class:`~symdyn.errors.SolveTimeout` is raised.
    The report is kept on disk (:mod:`symdyn.cache`) unless ``cache=False``; with
    ``eigenvalues=True`` each set's eigenvalue expressions (otherwise built when first
    read: square roots of long discriminants) and reduced characteristic polynomial are
    built first and kept with it.
    """
    from .. import cache as disk

    report = disk.cached("fixed_points", (*ode.cache_key(), samples, seed),
                         lambda: _fixed_points(ode, timeout, samples, seed, eigenvalues),
                         cache)
    return report if report.ode is ode else FixedPointReport(ode, report.sets)


def _fixed_points(ode: LearningODE, timeout: float | None, samples: int, seed: int,
                  eigenvalues: bool = False) -> FixedPointReport:
    deadline = Deadline(timeout, f"the fixed-point analysis of {ode.title}",
                        symbolic_leak=not ode.leak.is_number)
    sets = []
    for comp in working_components(ode, deadline):
        deadline.check()
        sets.append(_analyse(ode, comp, samples, seed))
    deadline.check()
    order = {"optimal": 0, "saddle": 1}
    sets.sort(key=lambda s: (order.get(s.name.split()[0], 2), -s.dimension))
    if eigenvalues:
        for found in sets:
            _ = found.eigenvalue_strings  # Root.expr keeps each expression it builds
            _ = found._characteristic
    return FixedPointReport(ode, sets)


def _analyse(ode: LearningODE, comp: WorkingComponent, samples: int, seed: int,
             ) -> FixedPointSet:
    spec = spectrum(ode, comp)
    points = sample_points(ode, comp, samples, seed)
    conditions = stability_conditions(spec, points)
    classification = classify(sampled_classes(ode, comp, points), conditions)
    relations = _relations(comp)
    working_conditions = [] if isinstance(conditions, bool) or classification != "conditional" \
        else [strip_positive_factors(_shortest(g, relations, points)) for g in conditions]
    public_conditions = [collect_in_state(strip_positive_factors(_public(ode, g)))
                         for g in working_conditions]
    working_conditions = [collect_in_state(g) for g in working_conditions]
    zeros = [Root(sp.Integer(0))] * (3 - spec.reduced.degree())
    roots = zeros + _public_roots(ode, spec.roots, relations) if spec.roots else []
    optimal = vanishes_on(ode.working_loss, comp.solved)  # exact, in a field
    return FixedPointSet(
        name=_name(optimal, classification, len(comp.free)),
        equations=_equations(ode, comp),
        dimension=len(comp.free),
        free=tuple(_public_state(v) for v in comp.free),
        parametrization=_parametrization(ode, comp),
        roots=roots,
        conditions=public_conditions,
        working_conditions=working_conditions,
        leak=ode.leak,
        classification=classification,
        working=comp,
        spectrum=spec,
    )


def _name(optimal: bool, classification: str, dimension: int) -> str:
    kind = "manifold" if dimension else "point"
    if optimal:
        return f"optimal {kind}"
    if classification == "saddle":
        return f"saddle {kind}"
    return f"non-optimal {kind}"


def _public_state(v: sp.Symbol) -> sp.Symbol:
    return S.a if v is S.lam else v


def _public(ode: LearningODE, expr: sp.Expr) -> sp.Expr:
    return ode.from_working(expr)


def _equations(ode: LearningODE, comp: WorkingComponent) -> list[sp.Expr]:
    """One polynomial per solved variable: the numerator of ``v - value``, in public
    symbols, stripped of factors free of state variables."""
    out = []
    for v, value in comp.solved.items():
        factors = _numerator_factors(ode.from_working(v - value))
        kept = [f**m for f, m in factors if f.free_symbols & set(S.STATE)]
        out.append(sp.expand(sp.Mul(*kept)))
    return sorted(out, key=lambda e: [s.name for s in S.STATE if s in e.free_symbols])


def _numerator_factors(expr: sp.Expr) -> list[tuple[sp.Expr, int]]:
    """The irreducible factors of the numerator of the rational function ``expr``, with
    multiplicities: ``sp.factor_list(sp.numer(sp.together(expr)))[1]``, factored by FLINT
    in the :func:`~symdyn.algebra.rational_field` of ``expr`` where it is one (0.06 CPU s
    of the shared analyses). Only their product is read: their order, and whether a
    repeated factor comes once with its multiplicity, may differ from SymPy's."""
    f = field_element(expr)
    if f is None:
        return sp.factor_list(sp.numer(sp.together(expr)))[1]
    return [(as_expr(base), k) for base, k in factor_list_of(f.numer)[1]]


def _parametrization(ode: LearningODE, comp: WorkingComponent) -> dict[sp.Symbol, sp.Expr]:
    out = {}
    for v, value in comp.solved.items():
        if v is S.lam:
            out[S.a] = ode.from_working(weight_from_recurrence(value, ode.leak))
        else:
            out[v] = ode.from_working(value)
    return dict(sorted(out.items(), key=lambda kv: S.STATE.index(kv[0])))


def _public_roots(ode: LearningODE, roots: list[Root], relations: list[dict]) -> list[Root]:
    """Roots in public symbols; the two roots of a quadratic share their parts, so each
    part is mapped once. Rational roots are also tried in the state-variable form."""
    cache: dict[sp.Expr, sp.Expr] = {}

    def public(e: sp.Expr, rewrite: bool) -> sp.Expr:
        if e not in cache:
            shortest = _shortest(e, relations, None) if rewrite else e
            cache[e] = ode.from_working(shortest)
        return cache[e]

    return [Root(public(r.mid, r.disc == 0), public(r.disc, False) if r.disc != 0 else r.disc,
                 r.sign) for r in roots]


def _relations(comp: WorkingComponent) -> list[dict[sp.Symbol, sp.Expr]]:
    """Substitutions that express a teacher parameter through state variables on the set."""
    out = []
    for v, value in comp.solved.items():
        numerator = sp.numer(sp.together(v - value))
        for p in RELATION_PARAMETERS:
            if p in numerator.free_symbols and sp.degree(numerator, p) == 1:
                slope, rest = sp.Poly(numerator, p).all_coeffs()
                out.append({p: -rest / slope})
                break
    return out


def _shortest(expr: sp.Expr, relations: list[dict], points: list[dict] | None) -> sp.Expr:
    """The shortest equivalent form of ``expr`` on the set, trying each relation."""
    candidates = [expr]
    for relation in relations:
        rewritten = substitute_factor(expr, relation)
        if points is not None:
            rewritten = simplify_positive(rewritten, points)
            if isinstance(rewritten, bool):
                continue
        candidates.append(rewritten)
    # Ties go to the rewritten form: it speaks of the state (beta c rather than beta b* c*/b).
    return min(reversed(candidates), key=sp.count_ops)
