"""HTTP: routers and their dependencies; the logic lives in `services`."""
