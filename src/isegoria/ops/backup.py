"""Backup and restore of a whole instance, portable between SQLite and PostgreSQL.

A backup is one gzip-compressed JSON Lines file:

1. a header: format name and version, the schema revision, the time, the instance's key
   files (the secret that seals webhook secrets, the log-signing key) in base64, and the
   tables in the order they can be inserted (parents before children);
2. for each table, ``{"table": name, "columns": [...]}`` then one ``{"row": [...]}`` per row;
3. a trailer with the number of rows per table, so a truncated file is refused.

Values are written by column type, not by database: binary as base64, instants as ISO 8601
UTC, everything else as JSON scalars; the same file restores into either engine. Every table
is read in one snapshot (a read transaction in WAL mode on SQLite, REPEATABLE READ on
PostgreSQL), so the rows are mutually consistent: the log entries, nodes and checkpoints of a
backup always verify together.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import (
    Column,
    LargeBinary,
    Table,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from isegoria.config import Settings, write_private_file
from isegoria.store import migrate
from isegoria.store.db import READONLY_OPTION, Database
from isegoria.store.models import Base
from isegoria.store.types import UTCDateTime

FORMAT = "isegoria-backup"
VERSION = 1
BATCH_ROWS = 1000  # rows per INSERT batch and per fetch: memory stays bounded
# Tables whose rows the migrations themselves insert (0002 seeds log_head with size 0): a
# freshly migrated database has them, so restore replaces them instead of requiring none.
SEEDED_BY_MIGRATIONS = frozenset({"log_head"})


class BackupError(Exception):
    """The backup cannot be written or restored; the message says why."""


@dataclass(frozen=True)
class BackupSummary:
    """What a backup or restore handled."""

    schema_revision: str
    rows: dict[str, int]
    key_files: list[str]

    @property
    def total_rows(self) -> int:
        """All rows of all tables."""
        return sum(self.rows.values())


def tables() -> list[Table]:
    """The instance's tables, parents before children (the ORM metadata is the schema)."""
    return list(Base.metadata.sorted_tables)


def _encode(column: Column[Any], value: object) -> object:
    if value is None:
        return None
    if isinstance(column.type, LargeBinary):
        assert isinstance(value, bytes)  # noqa: S101 - the column type guarantees it
        return base64.b64encode(value).decode("ascii")
    if isinstance(column.type, UTCDateTime):
        assert isinstance(value, datetime)  # noqa: S101
        return value.astimezone(UTC).isoformat()
    return value


def _decode(column: Column[Any], value: object) -> object:
    if value is None:
        return None
    if isinstance(column.type, LargeBinary):
        return base64.b64decode(str(value))
    if isinstance(column.type, UTCDateTime):
        return datetime.fromisoformat(str(value))
    return value


def _key_files(settings: Settings) -> dict[str, Path]:
    return {
        "secret.key": settings.secret_key_path,
        "log-signing.key": settings.signing_key_path,
        "activitypub.key": settings.activitypub_key_path,  # the instance actor's RSA key
    }


def _snapshot_session(database: Database) -> Session:
    """A session that sees one consistent snapshot for all of its reads."""
    if database.is_sqlite:
        return database.session(readonly=True)
    session = database.sessions()
    session.connection(
        execution_options={"isolation_level": "REPEATABLE READ", READONLY_OPTION: True}  # type: ignore[misc]
    )
    return session


def write_backup(database: Database, settings: Settings, out: IO[str]) -> BackupSummary:
    """Write a consistent snapshot of ``database`` and the key files to ``out``."""
    revision = migrate.current_revision(database)
    if revision != migrate.head_revision():
        raise BackupError(f"the database is at {revision}, not at head; upgrade it first")
    keys = {}
    for name, path in _key_files(settings).items():
        if path.exists():
            keys[name] = base64.b64encode(path.read_bytes()).decode("ascii")
    ordered = tables()
    header = {
        "format": FORMAT,
        "version": VERSION,
        "schema_revision": revision,
        "created_at": datetime.now(UTC).isoformat(),
        "tables": [t.name for t in ordered],
        "key_files": keys,
    }
    out.write(json.dumps(header) + "\n")
    counts: dict[str, int] = {}
    session = _snapshot_session(database)
    try:
        for table in ordered:
            columns = list(table.columns)
            out.write(json.dumps({"table": table.name, "columns": [c.name for c in columns]}))
            out.write("\n")
            query = select(*columns).order_by(*table.primary_key.columns)
            count = 0
            for row in session.execute(query).yield_per(BATCH_ROWS):
                values = [_encode(c, v) for c, v in zip(columns, row, strict=True)]
                out.write(json.dumps({"row": values}, ensure_ascii=False) + "\n")
                count += 1
            counts[table.name] = count
    finally:
        session.rollback()
        session.close()
    out.write(json.dumps({"end": True, "rows": counts}) + "\n")
    return BackupSummary(revision, counts, sorted(keys))


def backup_to_file(database: Database, settings: Settings, path: Path) -> BackupSummary:
    """Write a gzip backup to ``path`` (readable by its owner only: it holds the keys)."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    write_private_file(partial, b"")
    with gzip.open(partial, "wt", encoding="utf-8") as out:
        summary = write_backup(database, settings, out)
    partial.replace(path)  # only a complete backup ever carries the final name
    return summary


def _lines(source: IO[str]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(source, start=1):
        try:
            item = json.loads(line)
        except ValueError:
            raise BackupError(f"line {number} of the backup is not JSON") from None
        if not isinstance(item, dict):
            raise BackupError(f"line {number} of the backup is not an object")
        yield item


def _check_empty(session: Session, known: list[Table]) -> None:
    for table in known:
        if table.name in SEEDED_BY_MIGRATIONS:
            continue
        if session.scalar(select(func.count()).select_from(table)):
            raise BackupError(f"the target database is not empty (table {table.name} has rows)")


def _restore_keys(settings: Settings, keys: dict[str, str]) -> list[str]:
    restored = []
    for name, path in _key_files(settings).items():
        if name not in keys:
            continue
        data = base64.b64decode(keys[name])
        if path.exists():
            if path.read_bytes() != data:
                raise BackupError(
                    f"{path} exists and differs from the backup's {name}; move it away first "
                    "(the restored data needs the backup's keys)"
                )
            continue
        write_private_file(path, data)
        restored.append(name)
    return restored


def read_backup(database: Database, settings: Settings, source: IO[str]) -> BackupSummary:
    """Restore a backup into an empty database at the same schema revision, then its keys."""
    lines = _lines(source)
    header = next(lines, None)
    if header is None or header.get("format") != FORMAT or header.get("version") != VERSION:
        raise BackupError("this is not an isegoria backup of a version this isegoria reads")
    revision = migrate.current_revision(database)
    if revision != header["schema_revision"]:
        raise BackupError(
            f"the backup is at schema revision {header['schema_revision']} but the database is "
            f"at {revision or '(empty)'}; run `isegoria db upgrade` to that revision first"
        )
    known = {t.name: t for t in tables()}
    counts: dict[str, int] = {}
    finished = False
    with database.session() as session, session.begin():
        _check_empty(session, list(known.values()))
        table: Table | None = None
        columns: list[Column[Any]] = []
        batch: list[dict[str, Any]] = []
        # A row may name a parent of its own table that comes later in key order (a
        # jurisdiction and its parent): such columns are inserted empty and set afterwards.
        self_refs: list[Column[Any]] = []
        links: list[dict[str, Any]] = []

        def flush(*, table_done: bool = False) -> None:
            if table is None:
                return
            if batch:
                session.execute(insert(table), batch)
                batch.clear()
            if table_done and links:
                _link_self_references(session, table, self_refs, links)
                links.clear()

        for item in lines:
            if "row" in item:
                if table is None:
                    raise BackupError("a row comes before any table")
                values = item["row"]
                row = {c.name: _decode(c, v) for c, v in zip(columns, values, strict=True)}
                if any(row.get(c.name) is not None for c in self_refs):
                    links.append(dict(row))
                    for column in self_refs:
                        row[column.name] = None
                batch.append(row)
                counts[table.name] += 1
                if len(batch) >= BATCH_ROWS:
                    flush()
            elif "table" in item:
                flush(table_done=True)
                if item["table"] not in known:
                    raise BackupError(f"the backup has a table this schema lacks: {item['table']}")
                table = known[item["table"]]
                if table.name in SEEDED_BY_MIGRATIONS:
                    session.execute(delete(table))
                names = item["columns"]
                columns = [table.columns[name] for name in names]
                self_refs = [fk.parent for fk in table.foreign_keys if fk.column.table is table]
                counts[table.name] = 0
            elif item.get("end"):
                flush(table_done=True)
                if item.get("rows") != counts:
                    raise BackupError("the backup's row counts do not match its rows")
                finished = True
                break
        if not finished:
            raise BackupError("the backup is truncated (no trailer); nothing was restored")
        if not database.is_sqlite:
            _advance_sequences(session, list(known.values()))
    restored = _restore_keys(settings, header.get("key_files", {}))
    return BackupSummary(str(revision), counts, restored)


def _link_self_references(
    session: Session, table: Table, self_refs: list[Column[Any]], rows: list[dict[str, Any]]
) -> None:
    """Set the self-referencing columns held back while ``table``'s rows were inserted."""
    keys = list(table.primary_key.columns)
    for row in rows:
        session.execute(
            update(table)
            .where(*(key == row[key.name] for key in keys))
            .values({column.name: row[column.name] for column in self_refs})
        )


def _advance_sequences(session: Session, known: list[Table]) -> None:
    """PostgreSQL: move each serial id's sequence past the restored ids."""
    for table in known:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or keys[0].autoincrement is False:
            continue
        column = keys[0]
        sequence = session.scalar(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": table.name, "column": column.name},
        )
        if sequence is None:
            continue
        highest = session.scalar(select(func.max(column)))
        session.execute(
            text("SELECT setval(:sequence, :value, :called)"),
            {"sequence": sequence, "value": highest or 1, "called": highest is not None},
        )
    # The log's indexes (log/sequence.py): the next one follows the restored entries.
    session.execute(
        text("SELECT setval('log_index_seq', coalesce(max(idx) + 1, 0), false) FROM log_entries")
    )


def restore_from_file(database: Database, settings: Settings, path: Path) -> BackupSummary:
    """Restore the gzip backup at ``path``."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as source:
            return read_backup(database, settings, source)
    except (OSError, EOFError) as error:
        raise BackupError(f"cannot read {path}: {error}") from None
