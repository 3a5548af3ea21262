"""Volta: an open platform for connected electric vehicles."""

__version__ = "0.1.0"
