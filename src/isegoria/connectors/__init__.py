"""Connected servers: Matrix and Mastodon, synced and applied."""
