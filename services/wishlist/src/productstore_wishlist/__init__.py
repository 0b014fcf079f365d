"""Product Store wishlist service: wishlists, share links, price-drop and back-in-stock notices."""

__version__ = "0.1.0"
