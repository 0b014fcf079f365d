"""Names of the ProductStore resource in the Kubernetes API."""

from __future__ import annotations

from typing import Final

GROUP: Final = "productstore.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "ProductStore"
PLURAL: Final = "productstores"
SINGULAR: Final = "productstore"
SHORT_NAMES: Final = ("ps",)
CATEGORIES: Final = ("productstore-io",)
CRD_NAME: Final = f"{PLURAL}.{GROUP}"
