"""Errors of the I/O layer, in the terms the reconcile acts on."""

from __future__ import annotations


class TransientError(Exception):
    """Something outside the spec failed (a server down, a conflict, a denied call).

    The reconcile reports it in a condition and tries again later; the message
    says what failed and, where it can, what an administrator should check.
    """
