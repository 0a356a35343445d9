"""Tesoro: social listening and UGC curation."""

__all__ = ["__version__"]

__version__ = "0.1.0"
