"""The one error builders raise."""

from __future__ import annotations


class InvalidSpecError(ValueError):
    """The spec passes the CRD's schema but cannot be built; the message says what to change."""
