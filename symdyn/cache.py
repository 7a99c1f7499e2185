"""A persistent on-disk cache of derived and analysed results.

A derivation or a fixed-point analysis depends only on its inputs and on the code that
computed it, so its result is pickled under a key made of both: symdyn's version, a hash
of the package's source files (editing any ``symdyn/**/*.py`` gives new keys, never a
stale result), the SymPy and Python versions, and the caller's description of the inputs
(the rule's definition as ``srepr``, the leak, pinned parameters, analysis options).

Where: ``$SYMDYN_CACHE_DIR``, else ``$XDG_CACHE_HOME/symdyn``, else ``~/.cache/symdyn``.
Off: ``SYMDYN_NO_CACHE=1`` (the CLI's ``--no-cache`` sets it) or ``cache=False`` in the
API. A file is written to a temporary name in the same directory and renamed into place
(atomic on POSIX), so concurrent writers never leave a partial file; a truncated or
unreadable file counts as a miss and is overwritten. A cache that cannot be written (a
read-only disk) only costs the recomputation.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import platform
import sys
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
PACKAGE = Path(__file__).resolve().parent
#: Errors that mean "this file is not a usable result" (truncated, corrupt, written by
#: code whose classes have since changed).
_BAD_FILE = (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError,
             IndexError, KeyError, TypeError, ValueError, ModuleNotFoundError)


def enabled() -> bool:
    """Whether the cache is on (``SYMDYN_NO_CACHE`` unset, empty or ``0``)."""
    return os.environ.get("SYMDYN_NO_CACHE", "").strip() in ("", "0")


def directory() -> Path:
    """The cache directory (not created here)."""
    if os.environ.get("SYMDYN_CACHE_DIR"):
        return Path(os.environ["SYMDYN_CACHE_DIR"]).expanduser()
    return user_directory()


def user_directory() -> Path:
    """The user's cache directory for symdyn, whatever ``SYMDYN_CACHE_DIR`` says:
    ``$XDG_CACHE_HOME/symdyn``, else ``~/.cache/symdyn`` (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "symdyn"


@lru_cache(maxsize=1)
def source_hash() -> str:
    """SHA-256 of every Python file of the package (relative path and contents)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode())
        digest.update(b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def key(kind: str, *parts: object) -> str:
    """The file name for a result of ``kind`` computed from ``parts`` (their ``repr``)."""
    from . import __version__

    context = (__version__, source_hash(), _sympy_version(), _ground_types(),
               platform.python_version())
    text = repr((context, kind, parts))
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:40]}.pickle"


def _sympy_version() -> str:
    """SymPy's version without importing SymPy (a cached CLI answer needs no SymPy)."""
    if "sympy" in sys.modules:
        return sys.modules["sympy"].__version__
    from importlib.metadata import version

    return version("sympy")


def _ground_types() -> tuple[str, str, str]:
    """What decides SymPy's ground types (its integers: Python's, gmpy2's or FLINT's): the
    request in ``SYMPY_GROUND_TYPES`` and the installed gmpy2 and python-flint. A pickled
    polynomial carries its domain's type, so a result computed under one must not be read
    under another (installing python-flint switches SymPy to FLINT by itself)."""
    return (os.environ.get("SYMPY_GROUND_TYPES", ""), _installed("gmpy2"),
            _installed("python-flint"))


@lru_cache(maxsize=8)
def _installed(distribution: str) -> str:
    """The installed version of ``distribution``, or '' (read without importing it; once a
    process: each reading scans the installed distributions)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return ""


def load(name: str) -> object | None:
    """The cached object called ``name``, or ``None`` on a miss or an unusable file."""
    return read(directory() / name)


def read(path: Path) -> object | None:
    """The object pickled at ``path``, or ``None`` if it is missing, truncated or stale.

    SymPy objects are rebuilt without evaluation: they were stored in canonical form, and
    re-canonicalising large expressions would cost most of what the cache saves.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        if "sympy" not in sys.modules:
            return pickle.loads(data)
        from sympy.core.parameters import evaluate

        with evaluate(False):
            return pickle.loads(data)
    except _BAD_FILE:
        return None


def store(name: str, value: object) -> None:
    """Write ``value`` under ``name`` in the cache directory (:func:`write`)."""
    write(directory() / name, value)


def write(path: Path, value: object) -> None:
    """Pickle ``value`` to ``path`` atomically (a temporary file in the same directory,
    then a rename), so that a concurrent reader never sees half a file; a value that
    cannot be pickled or a folder that cannot be written leaves nothing behind."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.",
                                                 suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(descriptor, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
        Path(temporary).unlink(missing_ok=True)


def cached(kind: str, parts: tuple, compute: Callable[[], T], use: bool = True) -> T:
    """``compute()``, or its result from an earlier run with the same ``kind`` and
    ``parts`` (and the same symdyn, see :func:`key`). ``use=False`` bypasses the cache."""
    if not (use and enabled()):
        return compute()
    name = key(kind, *parts)
    value = load(name)
    if value is None:
        value = compute()
        store(name, value)
    return value
