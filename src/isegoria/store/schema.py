"""Every table module, imported once so the metadata (and Alembic) sees the whole schema."""

from __future__ import annotations

from isegoria.store import (
    models,
    models_cases,
    models_connectors,
    models_federation,
    models_mfa,
    models_notes,
    models_notifications,
    models_staff,
)
from isegoria.store.models import Base

metadata = Base.metadata
MODULES = (
    models,
    models_cases,
    models_connectors,
    models_federation,
    models_mfa,
    models_notes,
    models_notifications,
    models_staff,
)
