"""models for deliberation (being built)."""
