"""The NumPy RTRL's padded layout (symdyn.simulate.rules.ROW_PAD) against the contiguous
one: the same numbers, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from symdyn.simulate import rules


def _run(n: int, monkeypatch, pad_from: int) -> list[np.ndarray]:
    monkeypatch.setattr(rules, "PAD_MIN_N", pad_from)
    rng = np.random.default_rng(1)
    b, d, m, leak = 2, 3, 2, 0.7
    rule = rules.make_rule("bptt", b, n, d, leak)
    assert rule.SW.flags.c_contiguous == (n < pad_from)
    W = 0.3 * rng.standard_normal((b, n, n)) / np.sqrt(n)
    V = rng.standard_normal((b, m, n))
    out = []
    for _ in range(6):
        rule.advance(W, rng.standard_normal((b, n)), rng.standard_normal((b, d)))
        out += list(rule.directions(V, None, rng.standard_normal((b, m))))
    return out


@pytest.mark.parametrize("n", [5, 17])
def test_padded_rtrl_equals_contiguous(n, monkeypatch):
    padded = _run(n, monkeypatch, 0)
    plain = _run(n, monkeypatch, 10**6)
    for p, q in zip(padded, plain, strict=True):
        np.testing.assert_array_equal(p, q)
    assert np.abs(plain[-2]).max() > 0.1  # the traces are not trivially zero


def test_diagonal_view_is_the_immediate_term_entries():
    S = np.arange(2 * 3 * 12.0).reshape(2, 3, 12)
    want = S.reshape(2, 3, 3, 4)[:, np.arange(3), np.arange(3), :]
    np.testing.assert_array_equal(rules._diagonal(S, 4), want)
    padded = np.zeros((2, 3, 12 + rules.ROW_PAD))[:, :, :12]
    padded[...] = S
    np.testing.assert_array_equal(rules._diagonal(padded, 4), want)


@pytest.mark.parametrize("leak", [1.0, 1, 0.5])
def test_public_jacobian_is_a_new_array(leak):
    """symdyn.simulate.jacobian (public) returns J, never the caller's W: writing into J
    leaves W alone, at leak 1 too (the rules' own no-copy shortcut stays internal)."""
    from symdyn.simulate import jacobian

    W = np.arange(8.0).reshape(2, 2, 2)
    J = jacobian(W, leak)
    assert not np.shares_memory(J, W)
    J -= np.eye(2)
    np.testing.assert_array_equal(W, np.arange(8.0).reshape(2, 2, 2))
    np.testing.assert_array_equal(rules._step_jacobian(W, leak), jacobian(W, leak))
