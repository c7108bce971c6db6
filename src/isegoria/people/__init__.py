"""People: citizens, staff, platforms, their sessions and jurisdictions."""
