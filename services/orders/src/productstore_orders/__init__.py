"""Product Store orders service: carts, checkout and the order state machine."""

__version__ = "0.1.0"
