"""Every covered table, tampered four ways (edit, delete, insert, swap), is caught by verify.

The world: a rule enacted by vote; case A decided (one juror declined and was replaced, the
platform confirmed its removal), case B with its jury still sitting (one sealed ballot),
case C decided with no action. docs/security.md ("Which tables the log covers") is the
table these tamperings walk through.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select, text
from typer.testing import CliRunner

from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.cases.common import juror_pseudonym, seat_pseudonym
from isegoria.cases.jury_verify import JuryVerificationError, check_seat_holders
from isegoria.cli import app as cli
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.decisions import lifecycle as cases_decisions
from isegoria.http.deps import Services
from isegoria.log import audit
from isegoria.log.signing import LogSigner
from isegoria.store.models_cases import DecisionRow, Juror, Jury
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, report_request, run_jobs

runner = CliRunner()
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Tampered:
    """The world, and the ids a tampering needs."""

    uow: UnitOfWork
    world: CasesWorld
    cases: tuple[int, int, int]  # A decided, B sitting, C decided with no action
    juries: tuple[int, int]  # A's and B's first juries


def _seats(uow: UnitOfWork, case_id: int) -> list[Juror]:
    with uow.begin(readonly=True):
        return list(
            uow.session.scalars(
                select(Juror)
                .join(Jury, Jury.id == Juror.jury_id)
                .where(Jury.case_id == case_id)
                .order_by(Juror.id)
            )
        )


def _file(uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld) -> int:
    with uow.begin():
        case, _ = cases_intake.file_report(
            uow, platform_id=world.base.platform_id, request=report_request(uow.now() - HOUR)
        )
    run_jobs(uow, clock, signer)
    return case.id


def _serve(uow: UnitOfWork, case_id: int, votes: list[bool]) -> None:
    """The summoned jurors accept and vote in turn (as many as ``votes`` has)."""
    summoned = [j for j in _seats(uow, case_id) if j.status == "summoned"]
    for juror, violation in zip(summoned, votes, strict=False):
        with uow.begin():
            cases_jury.reply(uow, account_id=juror.account_id, case_id=case_id, accept=True)
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=case_id,
                violation=violation,
                sanction="remove" if violation else None,
                suspension_days=None,
                reason=f"Ballot {juror.id}.",
            )


@pytest.fixture
def tampered(
    app: FastAPI, clock: ManualClock, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Tampered:
    services: Services = app.state.services
    uow = services.uow()
    world = build(uow, clock, services.signer, volunteers=18)
    a = _file(uow, clock, services.signer, world)
    first = _seats(uow, a)[0]
    with uow.begin():
        cases_jury.reply(uow, account_id=first.account_id, case_id=a, accept=False)
    run_jobs(uow, clock, services.signer)  # the replacement
    _serve(uow, a, [False, True, True, True, True])
    with uow.begin():
        [decision] = cases_decisions.pending_for(uow, world.base.platform_id)
        cases_decisions.confirm(
            uow,
            platform_id=world.base.platform_id,
            decision_id=decision.id,
            applied=True,
            reason=None,
        )
    b = _file(uow, clock, services.signer, world)
    _serve(uow, b, [True])  # one sealed ballot; the others have not answered
    c = _file(uow, clock, services.signer, world)
    _serve(uow, c, [False] * 5)
    with uow.begin(readonly=True):
        juries = tuple(
            uow.session.scalars(select(Jury.id).where(Jury.case_id.in_((a, b))).order_by(Jury.id))
        )
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", settings.effective_database_url)
    return Tampered(uow, world, (a, b, c), (juries[0], juries[1]))


def _audit(t: Tampered) -> list[audit.Mismatch]:
    holder = functools.partial(seat_pseudonym, t.uow.secret)
    with t.uow.begin(readonly=True):
        return list(audit.audit_state(t.uow.session, holder=holder))


def _copy_row(c: Connection, table: str, key: str, value: int, **changes: object) -> None:
    """Insert a copy of one row with some columns changed (the key column left out)."""
    row = dict(
        c.execute(text(f"SELECT * FROM {table} WHERE {key} = :v"), {"v": value}).mappings().one()
    )
    row.pop(key)
    row.update(changes)
    names = ", ".join(row)
    c.execute(
        text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + n for n in row)})"), row
    )


def _swap(
    c: Connection,
    table: str,
    column: str,
    key: str,
    first: int,
    second: int,
    *,
    spare: object = None,
) -> None:
    """Swap one column of two rows (through ``spare`` where the column must stay unique)."""
    one = c.execute(text(f"SELECT {column} FROM {table} WHERE {key} = :v"), {"v": first}).scalar()
    two = c.execute(text(f"SELECT {column} FROM {table} WHERE {key} = :v"), {"v": second}).scalar()
    update = text(f"UPDATE {table} SET {column} = :x WHERE {key} = :v")
    if spare is not None:
        c.execute(update, {"x": spare, "v": first})
    c.execute(update, {"x": one, "v": second})
    c.execute(update, {"x": two, "v": first})


Tamper = Callable[[Connection, Tampered], object]


def _seat_ids(t: Tampered, case: int, status: str) -> list[int]:
    return [j.id for j in _seats(t.uow, t.cases[case]) if j.status == status]


def _ballot_ids(c: Connection, jury_id: int, violation: bool) -> list[str]:
    rows = c.execute(
        text("SELECT id FROM case_ballots WHERE jury_id = :j AND violation = :v"),
        {"j": jury_id, "v": violation},
    )
    return sorted(r[0] for r in rows)


def _decisions(c: Connection) -> list[int]:
    return sorted(r[0] for r in c.execute(text("SELECT id FROM decisions")))


def _outsider(t: Tampered) -> int:
    """A volunteer on neither jury of case B."""
    seated = {j.account_id for j in _seats(t.uow, t.cases[1])}
    return next(v for v in t.world.volunteers if v not in seated)


TAMPERINGS: dict[str, tuple[Tamper, str]] = {
    # juries: the draw's public inputs
    "edit a jury's seed": (
        lambda c, t: c.execute(
            text("UPDATE juries SET seed = :s WHERE id = :j"), {"s": "0" * 64, "j": t.juries[0]}
        ),
        "juries",
    ),
    "delete a jury": (
        lambda c, t: [
            c.execute(text(statement), {"j": t.juries[1]})
            for statement in (
                "DELETE FROM case_ballots WHERE jury_id = :j",
                "DELETE FROM jurors WHERE jury_id = :j",
                "DELETE FROM juries WHERE id = :j",
            )
        ],
        "juries",
    ),
    "insert a jury": (
        lambda c, t: _copy_row(c, "juries", "id", t.juries[0], stage="appeal"),
        "juries",
    ),
    "swap two juries' pools": (
        lambda c, t: _swap(c, "juries", "pool", "id", *t.juries),
        "juries",
    ),
    # jurors: who sits in a seat
    "swap another account into a seat": (
        lambda c, t: c.execute(
            text("UPDATE jurors SET account_id = :a WHERE id = :j"),
            {"a": _outsider(t), "j": _seat_ids(t, 1, "summoned")[0]},
        ),
        "jurors",
    ),
    "edit a seat's pseudonym": (
        lambda c, t: c.execute(
            text("UPDATE jurors SET pseudonym = 'J-0000000000' WHERE id = :j"),
            {"j": _seat_ids(t, 1, "summoned")[0]},
        ),
        "jurors",
    ),
    "delete a seat": (
        lambda c, t: c.execute(
            text("DELETE FROM jurors WHERE id = :j"), {"j": _seat_ids(t, 1, "summoned")[0]}
        ),
        "jurors",
    ),
    "insert a seat": (
        lambda c, t: _copy_row(
            c,
            "jurors",
            "id",
            _seat_ids(t, 1, "summoned")[0],
            account_id=_outsider(t),
            pseudonym=juror_pseudonym(t.uow.secret, t.cases[1], "first", _outsider(t)),
        ),
        "jurors",
    ),
    # (B's jury: a closed jury's pseudonym key is erased, its seat holders cannot be checked)
    "swap two seats' accounts": (
        lambda c, t: _swap(
            c,
            "jurors",
            "account_id",
            "id",
            *_seat_ids(t, 1, "summoned")[:2],
            spare=_outsider(t),
        ),
        "jurors",
    ),
    "swap a decliner's and a voter's pseudonyms": (
        lambda c, t: _swap(
            c,
            "jurors",
            "pseudonym",
            "id",
            _seat_ids(t, 0, "declined")[0],
            _seat_ids(t, 0, "voted")[0],
        ),
        "jurors",
    ),
    # case_ballots: the sealed votes, found by their receipts once published
    "edit a ballot": (
        lambda c, t: c.execute(
            text("UPDATE case_ballots SET reason = 'forged' WHERE jury_id = :j"), {"j": t.juries[0]}
        ),
        "case_ballots",
    ),
    "delete a ballot": (
        lambda c, t: c.execute(
            text("DELETE FROM case_ballots WHERE id = :j"),
            {"j": _ballot_ids(c, t.juries[0], True)[0]},
        ),
        "case_ballots",
    ),
    "insert a sealed ballot": (
        lambda c, t: c.execute(
            text(
                "INSERT INTO case_ballots (id, jury_id, receipt, violation, sanction, reason)"
                " VALUES (:i, :j, :r, :v, 'remove', 'forged')"
            ),
            {"i": "f" * 32, "j": t.juries[1], "r": "f" * 64, "v": True},
        ),
        "case_ballots",
    ),
    "swap two ballots' votes": (
        lambda c, t: [
            _swap(
                c,
                "case_ballots",
                column,
                "id",
                _ballot_ids(c, t.juries[0], False)[0],
                _ballot_ids(c, t.juries[0], True)[0],
            )
            for column in ("violation", "sanction", "reason")
        ],
        "case_ballots",
    ),
    # decisions: what the platform applies
    "turn a removal into no action": (
        lambda c, t: c.execute(
            text(
                "UPDATE decisions SET kind = 'no_action', "
                "body = REPLACE(REPLACE(body, '\"sanction_imposed\"', '\"no_action\"'), "
                "'\"remove\"', '\"none\"') WHERE kind = 'sanction_imposed'"
            )
        ),
        "decisions",
    ),
    "delete a decision": (
        lambda c, t: c.execute(
            text("DELETE FROM decisions WHERE id = :d"), {"d": _decisions(c)[0]}
        ),
        "decisions",
    ),
    "insert a decision": (
        lambda c, t: _copy_row(c, "decisions", "id", _decisions(c)[0], sequence=9),
        "decisions",
    ),
    "swap two decisions' bodies": (
        lambda c, t: _swap(c, "decisions", "body", "id", *_decisions(c)[:2]),
        "decisions",
    ),
    "say a confirmed decision failed": (
        lambda c, t: c.execute(
            text(
                "UPDATE decisions SET status = 'failed', failure_reason = 'not found'"
                " WHERE status = 'applied'"
            )
        ),
        "decisions",
    ),
    # cases, rules, votes (covered since before; one of each kind here too)
    "swap two cases' verdicts": (
        lambda c, t: _swap(c, "cases", "outcome", "id", t.cases[0], t.cases[2]),
        "cases",
    ),
    "insert a rule version": (
        lambda c, t: _copy_row(c, "rule_versions", "version", 1, version=7, text="Forged."),
        "rule_versions",
    ),
    "edit a constitution": (
        lambda c, t: c.execute(
            text("UPDATE constitution_versions SET params = REPLACE(params, '5', '7')")
        ),
        "constitution_versions",
    ),
    "delete a citizen's vote": (
        lambda c, t: c.execute(
            text("DELETE FROM ballots WHERE id = (SELECT MIN(id) FROM ballots)")
        ),
        "ballots",
    ),
}


def test_an_untouched_world_is_clean(tampered: Tampered) -> None:
    assert _audit(tampered) == []
    result = runner.invoke(cli, ["log", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("log verified (local database)"), result.output
    a, b = tampered.cases[:2]
    with tampered.uow.begin(readonly=True):
        assert check_seat_holders(tampered.uow, b, "first") == 5
        # A's jury closed: its pseudonym key is erased, nobody can check its seat holders.
        assert check_seat_holders(tampered.uow, a, "first") is None
    for case_id, seats in ((a, "not checked, the jury is closed"), (b, "seat holders: 5 seats")):
        jury = runner.invoke(cli, ["jury", "verify", str(case_id)])
        assert jury.exit_code == 0, jury.output
        assert seats in " ".join(jury.output.split()), jury.output


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_every_tampering_is_found_and_named(tampered: Tampered, name: str) -> None:
    tamper, table = TAMPERINGS[name]
    with tampered.uow.database.engine.begin() as connection:
        tamper(connection, tampered)
    found = _audit(tampered)
    assert any(m.table == table for m in found), (name, found)


def test_the_cli_gives_the_verdict_first_and_names_the_changed_decision(
    tampered: Tampered,
) -> None:
    tamper, _table = TAMPERINGS["turn a removal into no action"]
    with tampered.uow.database.engine.begin() as connection:
        tamper(connection, tampered)
    result = runner.invoke(cli, ["log", "verify"])
    assert result.exit_code == 1, result.output
    first_line = result.output.splitlines()[0]
    assert first_line.startswith("error: log verification failed: "), result.output
    assert "log verified" not in result.output
    assert re.search(
        r"state mismatch: decisions row \d+, field kind: stored \"no_action\", but log entry "
        r"#\d+ recorded \"sanction_imposed\"",
        result.output,
    ), result.output


def test_jury_verify_catches_a_swapped_seat(tampered: Tampered) -> None:
    b = tampered.cases[1]
    swap, _table = TAMPERINGS["swap another account into a seat"]
    with tampered.uow.database.engine.begin() as connection:
        swap(connection, tampered)
    with tampered.uow.begin(readonly=True), pytest.raises(JuryVerificationError, match="swapped"):
        check_seat_holders(tampered.uow, b, "first")
    result = runner.invoke(cli, ["jury", "verify", str(b)])
    assert result.exit_code == 1, result.output
    assert "an account was swapped into the seat" in " ".join(result.output.split())


def test_jury_verify_catches_a_renamed_seat(tampered: Tampered) -> None:
    b = tampered.cases[1]
    rename, _table = TAMPERINGS["edit a seat's pseudonym"]
    with tampered.uow.database.engine.begin() as connection:
        rename(connection, tampered)
    result = runner.invoke(cli, ["jury", "verify", str(b)])
    assert result.exit_code == 1, result.output
    assert "a seat was changed" in " ".join(result.output.split()), result.output


def test_a_decision_row_can_be_checked_by_its_body_digest(tampered: Tampered) -> None:
    """New entries carry the body's SHA-256: an edit inside the body alone is found."""
    with tampered.uow.database.engine.begin() as connection:
        connection.execute(
            text("UPDATE decisions SET body = REPLACE(body, 'forum.example', 'evil.example')")
        )
    found = _audit(tampered)
    assert {m.field for m in found if m.table == "decisions"} == {"body (SHA-256)"}, found
    with tampered.uow.begin(readonly=True):
        assert tampered.uow.session.scalars(select(DecisionRow)).first() is not None


def test_the_case_page_warns_of_a_changed_decision_and_seat(
    tampered: Tampered, client: TestClient
) -> None:
    a = tampered.cases[0]
    assert "tamper-warning" not in client.get(f"/cases/{a}").text
    for name in ("turn a removal into no action", "swap a decliner's and a voter's pseudonyms"):
        tamper, _table = TAMPERINGS[name]
        with tampered.uow.database.engine.begin() as connection:
            tamper(connection, tampered)
    html = client.get(f"/cases/{a}").text
    assert 'id="tamper-warning"' in html
    assert "<code>decisions</code>" in html and "<code>jurors</code>" in html
