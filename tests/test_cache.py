"""The on-disk cache (symdyn.cache): hits and misses, keys that change with the rule's
definition and with symdyn's version and source, corrupt files, concurrent writers, the
CLI's --no-cache and SYMDYN_CACHE_DIR, and exact round trips of derived results."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import pytest
import sympy as sp

import symdyn as sd
from symdyn import cache
from symdyn import symbols as S
from symdyn.ode import _derive, rule_key
from symdyn.rules import Rule


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMDYN_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SYMDYN_NO_CACHE", raising=False)
    _derive.cache_clear()  # the in-memory layer would hide the disk
    return tmp_path


def counting(value):
    calls = []

    def compute():
        calls.append(1)
        return value

    return compute, calls


def test_hit_and_miss(cache_dir):
    compute, calls = counting({"x": [1, 2]})
    assert cache.cached("t", (1, "a"), compute) == {"x": [1, 2]}
    assert cache.cached("t", (1, "a"), compute) == {"x": [1, 2]}
    assert len(calls) == 1
    cache.cached("t", (2, "a"), compute)                  # other inputs: a miss
    cache.cached("t", (1, "a"), compute, use=False)       # bypassed
    assert len(calls) == 3
    assert not list(cache_dir.glob("*.tmp"))


def test_no_cache_environment(cache_dir, monkeypatch):
    monkeypatch.setenv("SYMDYN_NO_CACHE", "1")
    compute, calls = counting(3)
    cache.cached("t", (), compute)
    cache.cached("t", (), compute)
    assert len(calls) == 2 and not list(cache_dir.iterdir())


def test_directory_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMDYN_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.directory() == tmp_path / "mine"
    monkeypatch.delenv("SYMDYN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.directory() == tmp_path / "xdg" / "symdyn"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.directory() == tmp_path / "home" / ".cache" / "symdyn"


def test_key_changes_with_rule_definition_version_and_source(monkeypatch):
    a = Rule("mine", S.lam, S.c)
    variants = [Rule("mine", S.lam**2, S.c), Rule("mine", S.lam, S.beta),
                Rule("mine", S.lam, S.c, 2), Rule("other", S.lam, S.c),
                Rule("mine", S.lam, S.c, description="changed")]
    keys = {cache.key("derive", *rule_key(r), "alpha") for r in [a, *variants]}
    assert len(keys) == 1 + len(variants)
    before = cache.key("derive", *rule_key(a))
    monkeypatch.setattr(sd, "__version__", "99.0")
    assert cache.key("derive", *rule_key(a)) != before
    monkeypatch.undo()
    monkeypatch.setattr(cache, "source_hash", lambda: "edited")
    assert cache.key("derive", *rule_key(a)) != before


def test_key_changes_with_sympy_ground_types(monkeypatch):
    """Installing python-flint (or asking for other ground types) switches SymPy's
    integers, which pickled polynomials carry: a result from before is not read after."""
    a = Rule("mine", S.lam, S.c)
    before = cache.key("derive", *rule_key(a))
    installed = cache._installed
    monkeypatch.setattr(cache, "_installed", lambda name: installed(name) + "-other")
    assert cache.key("derive", *rule_key(a)) != before
    monkeypatch.undo()
    monkeypatch.setenv("SYMPY_GROUND_TYPES", "python")
    assert cache.key("derive", *rule_key(a)) != before


def test_redefined_rule_is_not_answered_from_cache(cache_dir):
    """Same name, other feedback: the second derivation must not be the first's."""
    first = sd.derive(Rule("mine", S.lam, S.c), 1)
    _derive.cache_clear()
    second = sd.derive(Rule("mine", S.lam, S.beta), 1)
    assert S.beta in second.rhs[0].free_symbols and S.beta not in first.rhs[0].free_symbols


def test_round_trip_is_exact(cache_dir):
    """Derivation and analysis read back from disk equal the computed ones, structure
    and printed forms; the fixed-point report is attached to the caller's ODE."""
    ode = sd.derive("bptt", "alpha")
    report = sd.fixed_points(ode)
    _derive.cache_clear()
    again = sd.derive("bptt", "alpha")
    assert again is not ode
    assert sp.srepr((again.rhs, again.loss, again.working_rhs, again.working_loss_terms)) \
        == sp.srepr((ode.rhs, ode.loss, ode.working_rhs, ode.working_loss_terms))
    loaded = sd.fixed_points(again)
    assert loaded.ode is again
    assert str(loaded) == str(report) and loaded.to_dict() == report.to_dict()
    for x, y in zip(loaded, report, strict=True):
        assert sp.srepr((x.equations, x.parametrization, x.conditions, x.eigenvalues)) \
            == sp.srepr((y.equations, y.parametrization, y.conditions, y.eigenvalues))
        assert x.spectrum.reduced == y.spectrum.reduced


def test_corrupt_or_truncated_file_is_a_miss_and_is_overwritten(cache_dir):
    compute, calls = counting(list(range(1000)))
    name = cache.key("t", "corrupt")
    path = cache_dir / name
    path.write_bytes(pickle.dumps(list(range(1000)))[:50])      # truncated
    assert cache.cached("t", ("corrupt",), compute) == list(range(1000))
    path.write_bytes(b"not a pickle at all")
    assert cache.cached("t", ("corrupt",), compute) == list(range(1000))
    assert len(calls) == 2
    assert cache.load(name) == list(range(1000))               # overwritten, now good


WRITER = """
import sys
from symdyn import cache
value = {"writer": sys.argv[1], "data": list(range(20000))}
for _ in range(40):
    cache.store(cache.key("t", "shared"), value)
    got = cache.load(cache.key("t", "shared"))
    assert got is not None and got["data"] == list(range(20000)), got
"""


def test_concurrent_writers(cache_dir):
    """Two processes writing and reading the same entry: every read is a whole value."""
    env = {**os.environ, "SYMDYN_CACHE_DIR": str(cache_dir)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(i)], env=env,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    final = cache.load(cache.key("t", "shared"))
    assert final["writer"] in ("0", "1") and final["data"] == list(range(20000))
    assert not list(cache_dir.glob("*.tmp"))


def run_cli(*args, cache_dir):
    env = {**os.environ, "SYMDYN_CACHE_DIR": str(cache_dir)}
    return subprocess.run([sys.executable, "-m", "symdyn.cli", *args], capture_output=True,
                          text=True, timeout=300, env=env)


def test_cli_no_cache_and_cache_dir(tmp_path):
    args = ("derive", "--rule", "tbptt", "--format", "json")
    off = run_cli(*args, "--no-cache", cache_dir=tmp_path / "off")
    assert off.returncode == 0, off.stderr
    assert not (tmp_path / "off").exists()
    first = run_cli(*args, cache_dir=tmp_path / "on")
    second = run_cli(*args, cache_dir=tmp_path / "on")
    assert first.returncode == second.returncode == 0
    assert {p.name.split("-")[0] for p in (tmp_path / "on").iterdir()} == {"answer", "derive"}
    assert first.stdout == second.stdout == off.stdout
    assert json.loads(second.stdout)["rule"] == "tbptt"


def test_fixed_point_reports_are_stored_and_come_back_whole(cache_dir):
    """A report holds compiled functions (lambdified code, which does not pickle): it must
    still reach the disk, and the loaded report must evaluate its branches again."""
    ode = sd.derive("bptt", 1)
    report = sd.fixed_points(ode)
    stored = list(cache_dir.glob("fixed_points-*.pickle"))
    assert len(stored) == 1
    loaded = pickle.loads(stored[0].read_bytes())
    assert [(s.name, s.classification) for s in loaded.sets] == \
        [(s.name, s.classification) for s in report.sets]
    again = sd.fixed_points(ode)   # from disk: same sets, and the stability at a point works
    point = {"a": 0.5, "b": 1.0, "c": 1.0, "a_star": 0.5, "b_star": 1.0, "c_star": 1.0}
    assert again["optimal"].classification == "stable"
    assert sd.stability_at(ode, point).classification == "stable"


def test_eigenvalues_built_before_caching_come_back_with_the_report(cache_dir):
    """``eigenvalues=True`` stores each set's eigenvalue expressions with the report (the
    paper's workers read them instead of building them again); they equal the ones a
    report builds when first read, and they match the numeric spectrum at a point."""
    import numpy as np

    ode = sd.derive("tbptt", 1)
    lazy = sd.fixed_points(ode, cache=False)
    eager = sd.fixed_points(ode, eigenvalues=True)
    stored = pickle.loads(next(cache_dir.glob("fixed_points-*.pickle")).read_bytes())
    for s_lazy, s_stored in zip(lazy.sets, stored.sets, strict=True):
        assert all("expr" in vars(root) for root in s_stored.roots)  # built, then pickled
        assert s_stored.eigenvalues == s_lazy.eigenvalues
    point = {S.PUBLIC[k]: v for k, v in {"a": 0.5, "b": 1.0, "c": 1.0, "a_star": 0.5,
                                          "b_star": 1.0, "c_star": 1.0}.items()}
    numeric = sorted(complex(sp.N(e.subs(point))).real for e in eager["optimal"].eigenvalues)
    jac = np.array(sd.stability_at(ode, {k.name: v for k, v in point.items()}).eigenvalues,
                   dtype=complex)
    assert np.allclose(numeric, sorted(jac.real), atol=1e-9)
