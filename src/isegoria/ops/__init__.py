"""Operating an instance: request logs, backups and restores."""
