"""Storage: the engine, the row models (one layer: Alembic needs all tables), migrations."""

__all__ = [
    "db",
    "migrate",
    "models",
    "models_cases",
    "models_connectors",
    "models_federation",
    "models_mfa",
    "models_notes",
    "models_notifications",
    "models_staff",
    "types",
]
