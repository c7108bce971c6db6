"""Alembic environment: runs migrations on the connection isegoria hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from isegoria.store.schema import metadata

config = context.config
target_metadata = metadata


def run_migrations() -> None:
    """Migrate through the given connection, or one opened from the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
