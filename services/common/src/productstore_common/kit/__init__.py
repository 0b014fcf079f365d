"""The service kit: what a Product Store service is built from.

A service writes its descriptor (productstore_contracts.services), its settings,
models, data module and routes, and an `app/main.py` that hands them to
`service_app`; the kit does the rest (see kit.app). Routes take typed
dependencies declared once per service with `provide`:

    CatalogDep = Annotated[Catalog, Depends(provide(Catalog))]
"""

from productstore_common.kit.app import ServiceKit, Setup, service_app
from productstore_common.kit.connections import REDIS_TIMEOUT_SECONDS, Redis, migrations_dir
from productstore_common.kit.container import Container, container_of, provide

__all__ = [
    "REDIS_TIMEOUT_SECONDS",
    "Container",
    "Redis",
    "ServiceKit",
    "Setup",
    "container_of",
    "migrations_dir",
    "provide",
    "service_app",
]
