"""Product Store auth service: users, roles, refresh tokens and the ES256 signing keys."""

__version__ = "0.1.0"
