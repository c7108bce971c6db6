"""credential events: PostgreSQL tells every app process when a credential may have changed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 05:30:00

Each app process remembers accepted API keys and sessions for a few seconds
(http/credential_cache.py). Triggers on the tables those answers come from send a
``NOTIFY isegoria_credentials`` (payload ``keys`` or ``sessions``) in the transaction that
changes them, whoever makes the change (another process, the CLI, an operator's SQL), and
each process's listener (http/credential_events.py) forgets what it remembered. SQLite
serves one process, which clears its own cache, so it gets no triggers.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

CHANNEL = "isegoria_credentials"
# (table, payload, the columns whose change can revoke or alter a remembered answer).
# Row-level triggers on those columns only: a statement that changes no row sends nothing,
# PostgreSQL folds a transaction's identical notices into one, and columns no cached answer
# shows (a key's last use, say) send none.
WATCHED = (
    ("web_sessions", "sessions", ("account_id", "csrf_token", "expires_at", "factor")),
    ("accounts", "sessions", ("login", "display_name", "role", "disabled", "password_hash")),
    ("api_keys", "keys", ("platform_id", "key_hash", "scopes", "revoked_at")),
    ("platforms", "keys", ("name",)),
)


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION isegoria_credentials_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', TG_ARGV[0]);
            RETURN NULL;
        END;
        $$
        """
    )
    for table, payload, columns in WATCHED:
        op.execute(
            f"CREATE TRIGGER {table}_credentials_changed "
            f"AFTER DELETE OR UPDATE OF {', '.join(columns)} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION isegoria_credentials_changed('{payload}')"
        )


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, _payload, _columns in WATCHED:
        op.execute(f"DROP TRIGGER {table}_credentials_changed ON {table}")
    op.execute("DROP FUNCTION isegoria_credentials_changed()")
