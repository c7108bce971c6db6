"""Transparency reports: every figure recomputed from the public log, by anyone."""
