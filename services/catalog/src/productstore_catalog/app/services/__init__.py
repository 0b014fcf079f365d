"""The catalog's use cases: what the routes call; they call the data layer."""
