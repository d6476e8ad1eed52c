"""Catalog pages."""
