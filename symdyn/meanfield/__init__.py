"""The mean-field learning ODE of whole weight matrices (any linear network, any rule of
the trace-feedback family): exact expected updates from Stein equations, their
integration, and the analysis of symmetries and stability beyond data alignment."""

from __future__ import annotations

import numpy as np

from ..rules import Rule
from .field import Matrices, TeacherField, _as_triple, field, stationary_loss
from .rule import MatrixRule, matrix_rule

__all__ = ["MatrixRule", "TeacherField", "expected_update", "matrix_rule", "stationary_loss"]


def expected_update(rule: str | Rule, student, teacher, leak: float = 1.0,
                    feedback: np.ndarray | None = None, truncation: int | None = None
                    ) -> Matrices:
    """``(dW, dU, dV) = E_stationary[update / eta]`` of ``rule`` at frozen weights.

    ``student``, ``teacher``: ``(W, U, V)`` arrays of shapes (N,N), (N,D), (M,N);
    ``feedback``: the N x M matrix B (rules whose feedback uses ``beta``); ``truncation``:
    tBPTT's window.  The direction the weights move (a descent direction for BPTT), for
    the loss ``1/2 E|y* - y|^2``.  Raises :class:`~symdyn.errors.UnstableError` if the
    spectral radius of (1-alpha)I + alpha W (student or teacher) is >= 1.
    """
    tf = TeacherField.of(teacher, leak)
    mr = matrix_rule(rule, tf.leak, truncation)
    return field(mr, _as_triple(student, "student"), tf, feedback)
