"""The demo world: a seeding module that later capabilities extend."""
