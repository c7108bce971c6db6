"""Transparency reports: every figure recomputed from the public log, by anyone."""

__all__ = ["figures", "instance", "report"]
