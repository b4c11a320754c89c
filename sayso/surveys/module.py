"""Registers the surveys module with the core registry (filled in by the app)."""
