"""Configuration and rules that every layer of the catalog may use (no I/O)."""
