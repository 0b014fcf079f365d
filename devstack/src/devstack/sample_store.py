"""The sample ProductStore devstack's services stand in for.

devstack runs the services as processes, not as a store's Pods, but the
Prometheus rules the operator renders select a store's series by the
``namespace`` and ``store`` labels its ServiceMonitors add. devstack's scrape
targets carry the sample store's (``manifests/samples/productstore-devstack.yaml``
in ``default``), so its Prometheus evaluates the very rules the operator would
render for that store, on the services' real metrics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

REPO = Path(__file__).resolve().parents[3]
MANIFEST: Final = REPO / "manifests" / "samples" / "productstore-devstack.yaml"
NAMESPACE: Final = "default"
# The manifest's metadata.name (a devstack test keeps the two equal).
NAME: Final = "devstack"
# The rule file's name in Prometheus's rules/ folder.
RULE_FILE: Final = "productstore-devstack.yml"


def scrape_labels() -> dict[str, str]:
    """The target labels that make a devstack service's series the sample store's."""
    return {"namespace": NAMESPACE, "store": NAME}
