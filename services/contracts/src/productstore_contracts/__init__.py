"""What the services promise each other and the platform, as data.

- `productstore_contracts.descriptor`: `ServiceDescriptor`, the one description of
  a service that devstack, the operator and the chart read.
- `productstore_contracts.services`: the descriptor of every service that exists.
- `productstore_contracts.events`: the domain events' payloads, imported by
  producers and consumers alike.

Nothing here does I/O or imports a service, so the operator can depend on it.
"""
