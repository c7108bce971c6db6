"""Context notes: writing, rating, scoring and the notes juries add."""
