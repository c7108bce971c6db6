"""Operating an instance: backups and restores, the staff audit trail."""

__all__ = ["backup", "staff_trail"]
