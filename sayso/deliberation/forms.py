"""forms for deliberation (being built)."""
