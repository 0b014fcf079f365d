"""The HTTP layer: routes, their dependencies and OpenAPI documentation."""
