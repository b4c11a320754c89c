"""Django-free maths for Sayso: plain inputs in, typed results out.

Nothing in this package may import Django or any other part of sayso (checked by
import-linter). Apps call these functions through thin adapters.
"""
