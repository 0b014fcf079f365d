"""Typed dependencies of the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from productstore_common.auth import AdminUser, CurrentUser
from productstore_common.kit import provide
from productstore_reviews.app.services.reviews import Reviews

__all__ = ["AdminUser", "CurrentUser", "ReviewsDep"]

ReviewsDep = Annotated[Reviews, Depends(provide(Reviews))]
