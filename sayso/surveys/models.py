"""models for surveys (being built)."""
