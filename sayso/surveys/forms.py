"""forms for surveys (being built)."""
