"""Writes of the policies app."""
