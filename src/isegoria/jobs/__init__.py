"""Deadlines that survive restarts, and the checkpoint timer."""

__all__ = ["checkpoint_timer", "queue"]
