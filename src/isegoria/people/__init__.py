"""People: citizens, staff, platforms, their sessions and jurisdictions."""

__all__ = ["accounts", "jurisdictions", "platforms", "sessions", "staff"]
