"""isegoria."""
