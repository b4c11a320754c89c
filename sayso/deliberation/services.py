"""services for deliberation (being built)."""
