"""Numbers in, exact numbers inside: a user's parameter values, checked and converted.

Every public function that takes parameter values accepts ints, floats, NumPy scalars,
:class:`fractions.Fraction`, SymPy numbers and text (``"0.5"``, ``"1/3"``). The symbolic
side turns them into exact SymPy numbers: a float means the decimal it prints as
(``0.5 -> 1/2``, ``0.1 -> 1/10``, as :class:`~symdyn.rules.Rule` and the leak already do),
so the rational-function algebra downstream stays exact. The numeric side turns them into
floats. NaN and infinities are refused with one sentence on either side.
"""

from __future__ import annotations

import re
from fractions import Fraction
from numbers import Number
from tokenize import TokenError

import numpy as np
import sympy as sp
from sympy.parsing.sympy_parser import parse_expr

from .errors import SymdynError


class BadValueError(SymdynError):
    """A parameter value that is NaN, infinite, or not a number at all."""


def _bad(name: str, value: object) -> BadValueError:
    return BadValueError(f"the value of {name} must be a finite number, got {value!r}")


def exact(value: object, name: str = "the parameter") -> sp.Expr:
    """``value`` as an exact SymPy expression: floats become the rational they print as.

    Text that is not a plain number is read as an expression over the public symbols
    (``"alpha/2"``); SymPy expressions pass through with their floats rationalised.
    """
    if isinstance(value, bool):
        raise _bad(name, value)
    if isinstance(value, str):
        return _exact_text(value, name)
    if isinstance(value, (int, np.integer)):
        return sp.Integer(int(value))
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise _bad(name, value)
        return sp.Rational(Fraction(repr(float(value))))
    try:
        expr = sp.sympify(value)
    except (sp.SympifyError, TypeError, ValueError):
        raise _bad(name, value) from None
    return _checked(expr, name, value)


def _exact_text(text: str, name: str) -> sp.Expr:
    try:
        return sp.Rational(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        pass
    from .symbols import PUBLIC

    try:
        expr = parse_text(text, PUBLIC)
    except SymdynError:
        raise _bad(name, text) from None
    if not expr.free_symbols <= set(PUBLIC.values()):   # "nan" would be a new symbol
        raise _bad(name, text)
    return _checked(expr, name, text)


#: The only globals text can reach: numbers and symbols, no SymPy functions (so a name
#: such as ``gamma`` is an unknown symbol rather than the Gamma function) and no builtins.
_PARSE_GLOBALS: dict = {"__builtins__": {}, "Symbol": sp.Symbol, "Integer": sp.Integer,
                        "Float": sp.Float, "Rational": sp.Rational}
#: Attribute access and dunder names have no place in a formula.
_FORBIDDEN = re.compile(r"__|\.\s*[A-Za-z_]")


def parse_text(text: str, names: dict[str, sp.Symbol]) -> sp.Expr:
    """Read a formula over ``names`` (``lambda`` is read as ``lam``, since ``lambda`` is
    a Python keyword); a :class:`SymdynError` naming the problem otherwise."""
    text = re.sub(r"\blambda\b", "lam", text)
    if _FORBIDDEN.search(text):
        raise SymdynError(f"{text!r} is not a formula (attribute access is not allowed)")
    try:
        expr = parse_expr(text, local_dict=dict(names), global_dict=dict(_PARSE_GLOBALS))
    except (SyntaxError, TypeError, TokenError, NameError, AttributeError, ValueError,
            ZeroDivisionError) as error:
        raise SymdynError(f"cannot read {text!r} ({error})") from None
    if not isinstance(expr, sp.Expr) or expr.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise SymdynError(f"{text!r} is not a finite formula")
    return expr


def _checked(expr: sp.Expr, name: str, given: object) -> sp.Expr:
    if not isinstance(expr, sp.Expr) or expr.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise _bad(name, given)
    if expr.atoms(sp.Float):
        expr = expr.xreplace({f: exact(float(f), name) for f in expr.atoms(sp.Float)})
    return expr


def number(value: object, name: str = "the parameter") -> float | np.ndarray:
    """``value`` (a number, text, or an array of numbers) as finite float(s)."""
    if isinstance(value, bool):
        raise _bad(name, value)
    if isinstance(value, str):
        value = exact(value, name)
        if not value.is_number:
            raise _bad(name, str(value))
    if isinstance(value, (Number, sp.Basic)) and not isinstance(value, np.ndarray):
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise _bad(name, value) from None
        if not np.isfinite(out):
            raise _bad(name, value)
        return out
    try:
        out = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise _bad(name, value) from None
    if not np.all(np.isfinite(out)):
        raise _bad(name, value)
    return out
