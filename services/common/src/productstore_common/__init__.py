"""Shared library of every Product Store service."""
