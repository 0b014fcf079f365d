"""What the auth service does (accounts, sessions, keys, service tokens), free of HTTP routing
and of the storage drivers."""
