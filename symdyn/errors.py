"""The errors symdyn raises for bad input: each carries one sentence a user can act on."""

from __future__ import annotations


class SymdynError(ValueError):
    """Base class of every user-facing error of symdyn."""


class SymdynKeyError(SymdynError, KeyError):
    """A name that is not there. Also a ``KeyError``, as mapping-style lookups promise,
    but printed as its sentence (``KeyError`` would print it quoted)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownRuleError(SymdynError):
    """A rule name that symdyn does not know."""


class UnknownSymbolError(SymdynKeyError):
    """A symbol name outside the public names of docs/theory.md, 'Symbols and conventions'."""


class LeakError(SymdynError):
    """A leak outside (0, 1]."""


class UnstableError(SymdynError):
    """Parameters where the network is unstable (|lambda| >= 1): no stationary process."""


class SolveTimeout(SymdynError):
    """A symbolic solve that did not finish in the time it was given."""


class CannotPredict(SymdynError):
    """A question symdyn cannot answer from what it derived (e.g. a limit point without a
    conserved quantity); the message says why."""
