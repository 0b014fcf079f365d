"""Product Store catalog service."""
