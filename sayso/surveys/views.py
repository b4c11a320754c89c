"""views for surveys (being built)."""
