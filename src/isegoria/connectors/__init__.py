"""Connected servers: Matrix and Mastodon, synced and applied."""

__all__ = ["intake", "jobs", "ledger", "setup", "sync"]
