"""What the steps of one pass share: the plan, the process's runtime, the release's
inventory (taken once, on first use) and the status fields the steps fill in."""

from __future__ import annotations

from dataclasses import dataclass, field

from productstore_operator.models import ServiceStatus, VaultStatus
from productstore_operator.reconcile.inventory import Inventory, take_inventory
from productstore_operator.reconcile.plan import Plan
from productstore_operator.reconcile.runtime import Runtime


@dataclass
class PassContext:
    """One pass over one store, handed to every step in turn."""

    plan: Plan
    runtime: Runtime
    # status.services and status.version: the previous pass's until a step sets them.
    services: dict[str, ServiceStatus] = field(default_factory=dict)
    version: str | None = None
    # status.vault: the Vault names recorded so far; the secrets step updates it.
    vault: VaultStatus | None = None
    _inventory: Inventory | None = None

    async def inventory(self) -> Inventory:
        """The release's objects: listed once per pass, unless the release changed."""
        if self._inventory is None:
            self._inventory = await take_inventory(self.plan, self.runtime)
        return self._inventory

    def release_changed(self) -> None:
        """An upgrade, rollback or uninstall ran: the next ``inventory()`` lists again."""
        self._inventory = None
