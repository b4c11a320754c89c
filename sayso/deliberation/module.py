"""Registers the deliberation module with the core registry (filled in by the app)."""
