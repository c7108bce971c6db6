"""Context notes: writing, rating, scoring and the notes juries add."""

__all__ = ["jury", "scoring", "views", "writing"]
