"""A payment provider's sandbox: a real HTTP server of ours standing in for a third party.

Product Store takes payments through a provider interface
(``productstore_common.payments``); the real providers are third parties, so
devstack runs this server on loopback with test tokens whose behaviour is fixed
(approve, decline, never answer in time, answer slowly), idempotency keys,
authorise/capture/refund/void and signed webhooks. It imports nothing of
devstack or of Product Store (import-linter checks it): it is the other side of
the wire, and sharing code with the client would hide the mistakes a contract
test exists to find. See README.md beside this file.
"""
