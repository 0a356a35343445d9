"""Tesoro: social listening and UGC curation."""

__version__ = "0.1.0"
