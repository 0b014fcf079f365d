"""Product Store catalog service: products, categories and product search."""

__version__ = "0.1.0"
