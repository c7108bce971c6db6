"""Tampering with an isegoria database behind the log's back, for the verification tests.

Targets name rows of the covered tables (docs/security.md, "Tamper evidence") that a test
may edit, delete or swap, and helpers alter the log's entries directly (edit a byte, delete,
swap, truncate). Every change must be one ``log verify`` can notice: the content of sealed
ballots and uncounted votes, and who holds a closed jury's seat, secret by design, are left
out (a sealed ballot deleted is still found: the rows no longer match the ``BallotCast``
count).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

PUBLISHED = (
    "jury_id IN (SELECT y.id FROM juries y WHERE y.closed AND NOT EXISTS (SELECT 1 FROM juries z"
    " WHERE z.case_id = y.case_id AND NOT z.closed AND z.stage IN ('first', 'retrial')"
    " AND y.stage IN ('first', 'retrial')))"
)  # ballots a closed jury published (a retrial's first jury waits for the second)
# Seats of open juries: closing a jury erases its pseudonym key, after which nobody can tell
# which account is behind a seat (ballot secrecy), so only an open jury's holders are checked.
OPEN_SEATS = "account_id IS NOT NULL AND jury_id IN (SELECT id FROM juries WHERE NOT closed)"
NO_DEPENDENTS = (
    "id NOT IN (SELECT decision_id FROM atproto_labels)"
    " AND id NOT IN (SELECT decision_id FROM activity_deliveries)"
    " AND id NOT IN (SELECT decision_id FROM connector_actions)"
)
TALLIED = "proposal_id IN (SELECT id FROM proposals WHERE tallied_at IS NOT NULL)"
# (table, key column, column, where): rows a tampering may edit, delete or swap.
Target = tuple[str, str, str, str]
EDITS: tuple[Target, ...] = (
    ("juries", "id", "seed", "1 = 1"),
    ("jurors", "id", "pseudonym", "1 = 1"),
    ("jurors", "id", "account_id", OPEN_SEATS),
    ("case_ballots", "id", "reason", PUBLISHED),
    ("cases", "id", "outcome", "1 = 1"),
    ("decisions", "id", "kind", "1 = 1"),
    ("decisions", "id", "body", "1 = 1"),
    ("decisions", "id", "status", "1 = 1"),
    ("proposals", "id", "yes", "tallied_at IS NOT NULL"),
    ("ballots", "id", "choice", TALLIED),
    ("rule_versions", "proposal_id", "text", "1 = 1"),
    ("constitution_versions", "proposal_id", "params", "1 = 1"),
)
DELETES: tuple[Target, ...] = (
    ("case_ballots", "id", "", "1 = 1"),
    ("decisions", "id", "", NO_DEPENDENTS),
    ("ballots", "id", "", TALLIED),
    ("rule_versions", "proposal_id", "", "1 = 1"),
    (
        "jurors",
        "id",
        "",
        "id NOT IN (SELECT replaces FROM jurors WHERE replaces IS NOT NULL)",
    ),
)
SWAPS: tuple[Target, ...] = (
    ("juries", "id", "seed", "1 = 1"),
    ("jurors", "id", "pseudonym", OPEN_SEATS),  # two like seats of a closed jury look alike
    ("case_ballots", "id", "reason", PUBLISHED),
    ("cases", "id", "outcome", "1 = 1"),
    ("decisions", "id", "body", "1 = 1"),
)


def changed(column: str, value: Any, spare_account: int) -> Any:
    """A value for ``column`` that differs from ``value`` in a way the audit must notice."""
    if column == "account_id":
        return spare_account
    if column == "outcome":
        return "no_violation" if value == "violation" else "violation"
    if column == "kind":
        return "no_action" if value != "no_action" else "sanction_imposed"
    if column == "status":
        return "failed" if value != "failed" else "applied"
    if column == "choice":
        return "no" if value != "no" else "yes"
    if column == "yes":
        return int(value) + 1
    if column == "seed":
        return "f" * 64 if value != "f" * 64 else "e" * 64
    return f"{value} (edited)"


def target_rows(c: Connection, target: Target) -> list[tuple[Any, Any]]:
    table, key, column, where = target
    selected = column or key
    query = f"SELECT {key}, {selected} FROM {table} WHERE {where} ORDER BY {key}"  # noqa: S608
    return [(r[0], r[1]) for r in c.execute(text(query))]


def set_value(c: Connection, target: Target, key_value: Any, value: Any) -> None:
    table, key, column, _where = target
    c.execute(
        text(f"UPDATE {table} SET {column} = :v WHERE {key} = :k"), {"v": value, "k": key_value}
    )


def entry_payload(c: Connection, index: int) -> bytes:
    return bytes(
        c.execute(text("SELECT payload FROM log_entries WHERE idx = :i"), {"i": index}).scalar_one()
    )


def set_payload(c: Connection, index: int, payload: bytes) -> None:
    c.execute(
        text("UPDATE log_entries SET payload = :p WHERE idx = :i"), {"p": payload, "i": index}
    )


def edit_entry(c: Connection, index: int) -> None:
    """Change one digit of the entry's time: still canonical JSON with the right index."""
    payload = entry_payload(c, index)
    at = payload.index(b'"at":"') + len(b'"at":"') + 3  # the year's last digit
    digit = b"1" if payload[at : at + 1] != b"1" else b"2"
    set_payload(c, index, payload[:at] + digit + payload[at + 1 :])


def truncate(c: Connection, size: int) -> None:
    c.execute(text("DELETE FROM log_entries WHERE idx >= :s"), {"s": size})
    for level in range(40):
        c.execute(
            text("DELETE FROM log_nodes WHERE level = :l AND idx >= :i"),
            {"l": level, "i": size >> level},
        )
    c.execute(text("UPDATE log_head SET size = :s"), {"s": size})


TABLES = {t[0] for t in (*EDITS, *DELETES, *SWAPS)}
KINDS = ("edit", "delete", "swap", "entry")
ENTRY_TAMPERINGS = ("edit", "delete", "swap", "truncate")


def choices(kind: str) -> Sequence[Any]:
    """The targets of one kind of tampering: row targets, or ways to alter log entries."""
    return {"edit": EDITS, "delete": DELETES, "swap": SWAPS, "entry": ENTRY_TAMPERINGS}[kind]
