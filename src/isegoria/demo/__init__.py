"""The demo world: a seeding module that later capabilities extend."""

__all__ = [
    "builder",
    "cases",
    "compliance",
    "notes",
    "world",
]
