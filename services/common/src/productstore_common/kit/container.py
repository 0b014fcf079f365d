"""The app's objects by type, and typed FastAPI dependencies that read them.

A service's setup registers what its routes use (`kit.provide(catalog)`); a route
module declares an `Annotated` alias once (`CatalogDep = Annotated[Catalog,
Depends(provide(Catalog))]`) and routes take typed parameters. The resolvers are
`async def`: FastAPI runs a plain `def` dependency in the thread pool, a thread
hop per request for a dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, TypeVar, cast

from fastapi import FastAPI, Request

T = TypeVar("T")


class Container:
    """Objects by type, registered once at start-up."""

    def __init__(self) -> None:
        self._items: dict[type[Any], object] = {}

    def add(self, item: T, as_type: type[T] | None = None) -> T:
        """Register `item` under its own type (or `as_type`); one object per type."""
        kind = as_type or type(item)
        if kind in self._items:
            raise ValueError(f"a {kind.__name__} is registered already")
        self._items[kind] = item
        return item

    def get(self, kind: type[T]) -> T:
        try:
            return cast("T", self._items[kind])
        except KeyError:
            # A wiring bug, answered as a logged 500.
            raise LookupError(
                f"no {kind.__name__} is registered: was the app's lifespan run, and does "
                "its setup provide one?"
            ) from None

    def __contains__(self, kind: type[Any]) -> bool:
        return kind in self._items


def container_of(app: FastAPI) -> Container:
    """The container `service_app` attached to `app`."""
    container = getattr(app.state, "container", None)
    if not isinstance(container, Container):
        raise RuntimeError(  # noqa: TRY004 - a wiring bug, not a caller's type error
            "this app has no container; build it with service_app"
        )
    return container


@cache
def provide(kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """The FastAPI dependency that yields the registered `kind` (one callable per type,
    so FastAPI's per-request dependency cache recognises it)."""

    async def resolve(request: Request) -> T:
        return container_of(request.app).get(kind)

    resolve.__name__ = f"provide_{kind.__name__}"
    return resolve
