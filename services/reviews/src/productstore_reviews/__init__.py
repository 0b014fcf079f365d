"""Product Store reviews service: reviews and ratings, moderated offline, with sentiment."""

__version__ = "0.1.0"
