"""Operating an instance: backups and restores, and what the operator console reads."""

__all__ = ["backup", "compliance", "connector_health", "pipeline"]
