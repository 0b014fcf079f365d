"""Product Store inventory service: stock per location and reservations that never oversell."""

__version__ = "0.1.0"
