"""Operating an instance: backups and restores, the staff audit trail, what the console reads."""

__all__ = ["backup", "compliance", "connector_health", "pipeline", "staff_trail"]
