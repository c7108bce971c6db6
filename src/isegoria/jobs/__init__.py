"""Deadlines that survive restarts, and the checkpoint timer."""
