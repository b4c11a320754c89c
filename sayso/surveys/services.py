"""services for surveys (being built)."""
