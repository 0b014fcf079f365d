"""What every pass shares: the process configuration, the I/O clients and the
little the operator remembers between passes (all of it rebuilt after a restart)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from productstore_operator.config import RuntimeConfig
from productstore_operator.io import Helm, Kube, VaultPool
from productstore_operator.reconcile.manifest import ObjectRef, RenderedObject

# Reviewer tokens live this long; Vault is reconfigured at half of it.
REVIEWER_TOKEN_SECONDS = 24 * 3600


@dataclass(frozen=True)
class FailedUpgrade:
    """An upgrade that failed, or whose rollout failed and was rolled back: not
    retried with the same hash until the backoff passes."""

    stamp: str
    at: float
    message: str
    # The condition's reason while it is not retried.
    reason: str = "UpgradeFailed"


@dataclass
class Runtime:
    """The operator's process-wide state, passed to every reconcile."""

    config: RuntimeConfig
    kube: Kube
    helm: Helm
    vault: VaultPool = field(default_factory=VaultPool)
    # CA of the apiserver for Vault's Kubernetes auth method, read once at start.
    kubernetes_ca_pem: str | None = None
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    failed_upgrades: dict[str, FailedUpgrade] = field(default_factory=dict)
    # (namespace, release, revision) -> the objects that revision rendered.
    manifests: dict[tuple[str, str, int], list[RenderedObject]] = field(default_factory=dict)
    # uid -> drift a repair left as it was (object, rendered hash, live hash): not
    # tried again until either changes, so a field the server rewrites cannot loop
    # upgrades.
    unrepaired: dict[str, frozenset[tuple[ObjectRef, str, str | None]]] = field(
        default_factory=dict
    )
    # uid -> the newest release revision seen fully rolled out: what a failed
    # rollout goes back to (after a restart: the revision before the failed one).
    rolled_out: dict[str, int] = field(default_factory=dict)
    # uid -> digest of the external Cassandra roles last made (reconcile.cassandra_roles).
    cassandra_roles: dict[str, str] = field(default_factory=dict)
    # uid -> the provided credentials last reported missing (reconcile.vault_step), so
    # the Warning is an event when that changes, not one per pass.
    provided_reported: dict[str, str] = field(default_factory=dict)

    @property
    def failed_upgrade_backoff(self) -> float:
        """Seconds before a failed upgrade with unchanged values is tried again."""
        return self.config.upgrade_retry_seconds

    @property
    def stale_pending_seconds(self) -> float:
        """A release left pending this long is taken as abandoned by a dead helm."""
        return self.config.stale_release_seconds

    def lock(self, uid: str) -> asyncio.Lock:
        """One pass at a time per store: the timer and a change handler may overlap."""
        return self._locks.setdefault(uid, asyncio.Lock())

    def forget(self, uid: str) -> None:
        """Drop what is remembered of a deleted store."""
        self._locks.pop(uid, None)
        self.failed_upgrades.pop(uid, None)
        self.unrepaired.pop(uid, None)
        self.rolled_out.pop(uid, None)
        self.cassandra_roles.pop(uid, None)
        self.provided_reported.pop(uid, None)
