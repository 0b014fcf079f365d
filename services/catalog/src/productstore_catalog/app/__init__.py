"""The catalog FastAPI application."""
