"""devstack: Product Store's real dependencies as local processes on 127.0.0.1."""
