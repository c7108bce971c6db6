"""Migration 0009 unlinks the jury ballots an older version stored by the juror's seat."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    insert,
    inspect,
    select,
)

from isegoria.store import migrate
from isegoria.store.db import Database
from tests.conftest import fresh_postgres

CAST = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def old_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Database:
    if backend == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    else:
        database = Database(fresh_postgres(request.getfixturevalue("pg_base_url"), migrated=False))
    migrate.upgrade(database, "0008")
    return database


def _filled(table: Any, values: dict[str, Any]) -> dict[str, Any]:
    """``values``, and a plain value for every other required column."""
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.server_default is not None:
            continue
        kind = column.type
        if isinstance(kind, Boolean):
            row[column.name] = False
        elif isinstance(kind, Integer):
            row[column.name] = 1
        elif isinstance(kind, DateTime):
            row[column.name] = CAST
        elif isinstance(kind, Date):
            row[column.name] = CAST.date()
        elif isinstance(kind, LargeBinary):
            row[column.name] = b"x"
        elif isinstance(kind, String) and kind.length:
            row[column.name] = "x"[: kind.length]
        else:
            row[column.name] = "{}"
    return row


def test_old_ballots_are_unlinked_from_their_jurors(old_database: Database) -> None:
    meta = MetaData()
    meta.reflect(old_database.engine)
    t = meta.tables
    with old_database.engine.begin() as c:

        def add(name: str, **values: Any) -> None:
            c.execute(insert(t[name]), _filled(t[name], values))

        add("jurisdictions", code="MX")
        for n, region in ((1, "Jalisco"), (2, "CDMX")):
            add("accounts", id=n, login=f"juror{n}", region=region, age_band="30-44")
        add("platforms", id=1)
        add("contents", id=1, platform_id=1)
        add("cases", id=1, content_id=1, platform_id=1, jurisdiction="MX")
        add("juries", id=1, case_id=1, stage="first", closed=True)
        add("juries", id=2, case_id=1, stage="appeal", closed=False)
        add("jurors", id=1, jury_id=1, account_id=1, pseudonym="J-closed")
        add("jurors", id=2, jury_id=2, account_id=2, pseudonym="J-open")
        add("case_ballots", juror_id=1, jury_id=1, violation=True, reason="closed", cast_at=CAST)
        add("case_ballots", juror_id=2, jury_id=2, violation=False, reason="open", cast_at=CAST)
        add("jury_note_drafts", juror_id=1, text="A note the closed jury's juror wrote.")
    migrate.upgrade(old_database)
    meta = MetaData()
    meta.reflect(old_database.engine)
    t = meta.tables
    assert "jury_note_drafts" not in t
    columns = {c["name"] for c in inspect(old_database.engine).get_columns("case_ballots")}
    assert not {"juror_id", "cast_at"} & columns
    with old_database.engine.connect() as c:
        ballots = {r.reason: r for r in c.execute(select(t["case_ballots"]))}
        tallies = list(c.execute(select(t["juror_stratum_tallies"])))
        order = list(c.execute(select(t["case_ballots"].c.receipt)).scalars())
    old_database.dispose()
    closed, still_open = ballots["closed"], ballots["open"]
    assert (closed.jury_id, closed.violation) == (1, True)
    assert closed.note_text == "A note the closed jury's juror wrote."
    # The closed jury's strata are counted, not kept; the open jury keeps them until it closes.
    assert (closed.juror_region, closed.juror_age_band, closed.juror_leaning) == (None,) * 3
    assert (still_open.juror_region, still_open.juror_age_band) == ("CDMX", "30-44")
    assert sorted((r.dimension, r.value, r.ballots, r.violations) for r in tallies) == [
        ("age_band", "30-44", 1, 1),
        ("leaning", "undeclared", 1, 1),
        ("region", "Jalisco", 1, 1),
    ]
    assert {r.jurisdiction for r in tallies} == {"MX"}
    assert {str(r.day) for r in tallies} == {"2026-03-04"}
    assert len({closed.receipt, still_open.receipt, closed.id, still_open.id}) == 4
    assert order == sorted(order)  # stored in receipt order, not the old seat order
