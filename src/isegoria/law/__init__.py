"""The law: rules and constitutions, proposals, votes and enactment."""

__all__ = ["cache", "proposals", "read", "views", "votes"]
