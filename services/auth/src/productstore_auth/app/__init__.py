"""The auth service's FastAPI app (`main.create_app`), in layers: api → services → data → core."""
