"""Operating an instance: backups and restores."""

__all__ = ["backup"]
