"""views for deliberation (being built)."""
