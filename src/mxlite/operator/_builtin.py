"""Imports every operator family so that each registers itself (one import line per file)."""
