"""Newsdesk: article metadata service."""

__version__ = "0.1.0"
