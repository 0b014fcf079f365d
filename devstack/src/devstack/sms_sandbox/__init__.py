"""A stand-in for an SMS provider's HTTP API (the notifications service's SMS channel)."""
