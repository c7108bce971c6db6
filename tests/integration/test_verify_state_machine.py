"""Any world made through the services verifies clean; any one tampering is found and named.

A Hypothesis state machine drives the services in random order (reports with and without
interim measures, jury replies and ballots, clock moves that run the deadline jobs: draws,
replacements, verdicts, consistency retrials, lapses and appeal windows; appeals, platform
confirmations, context notes, rule enactments by vote, log key rotations). After every step
``log verify`` and the state audit must find nothing. The ``tamper`` step edits, deletes or
swaps a row of a covered table, or edits, deletes, swaps or truncates log entries, inside a
transaction it rolls back: verification must fail and name the table or the entry.

Every case is tried twice (consistency retrials), and the world starts with one case whose
retrial jury's verdict stands and one whose first jury's does. The normal suite runs a few
short examples per database; ``ISEGORIA_LONG_PROPERTIES=1`` runs
many longer ones (docs/operations.md, "Tests").
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os
import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from isegoria.clock import ManualClock
from isegoria.domain.constitution import ProposalKind
from isegoria.domain.events import LogKeyRotated
from isegoria.errors import IsegoriaError
from isegoria.log.audit import audit_state
from isegoria.log.signing import LogSigner
from isegoria.log.verify import LocalLog, LogVerificationError, verify_instance, verify_log
from isegoria.services import (
    cases_appeal,
    cases_decisions,
    cases_intake,
    cases_jury,
    cases_verdict,
    notes,
)
from isegoria.services.cases_common import juror_pseudonym
from isegoria.store.db import Database
from isegoria.store.uow import UnitOfWork
from tests.conftest import TEST_ORIGIN
from tests.support.cases_world import THREATS, build, pass_proposal, report_request, run_jobs
from tests.support.world import account_id

LONG = os.environ.get("ISEGORIA_LONG_PROPERTIES") == "1"
EXAMPLES, STEPS = (60, 40) if LONG else (3, 10)
SECRET = b"test-instance-secret-32-bytes!!!"
AUTHOR = "@troll"
_names = itertools.count()


@dataclass(frozen=True)
class Template:
    """A migrated database holding a built world, copied afresh for every example."""

    copy: Callable[[], str]  # a new database URL holding the world
    drop: Callable[[str], None]
    now: datetime
    platform_id: int
    volunteers: tuple[int, ...]
    voters: tuple[int, ...]
    appellant: int  # the account linked to the author's platform pseudonym
    signer: LogSigner  # the key the world was signed with


def _build(url: str, clock: ManualClock, signer: LogSigner) -> dict[str, Any]:
    database = Database(url)
    uow = UnitOfWork(database, clock, signer, SECRET)
    world = build(uow, clock, signer, volunteers=30)
    pass_proposal(
        uow,
        clock,
        signer,
        voters=world.voters,
        kind=ProposalKind.CONSTITUTION,
        title="Try every case twice",
        changes={"consistency_retrial_share": "1"},
    )
    # Two cases tried twice to start: in the first the retrial's milder verdict stands (the
    # VerdictReached entry lists the retrial jury's ballots), in the second the first's does.
    for first_finds in (True, False):
        with uow.begin():
            case, _ = cases_intake.file_report(
                uow,
                platform_id=world.base.platform_id,
                request=report_request(clock.now() - timedelta(hours=1), author=AUTHOR),
            )
        run_jobs(uow, clock, signer)
        with database.engine.connect() as connection:
            seats = list(
                connection.execute(
                    text(
                        "SELECT j.account_id, y.stage FROM jurors j JOIN juries y"
                        " ON y.id = j.jury_id WHERE y.case_id = :c ORDER BY j.id"
                    ),
                    {"c": case.id},
                )
            )
        assert {stage for _, stage in seats} == {"first", "retrial"}
        for account, _stage in seats:
            with uow.begin():
                cases_jury.reply(uow, account_id=account, case_id=case.id, accept=True)
        for account, stage in seats:
            vote(uow, account, case.id, first_finds == (stage == "first"))
        clock.advance(timedelta(hours=1))
        run_jobs(uow, clock, signer)
    appellant = account_id(uow, "ana")
    with uow.begin():
        code = cases_appeal.issue_link_code(
            uow, platform_id=world.base.platform_id, pseudonym=AUTHOR
        )
        cases_appeal.redeem_link_code(uow, account_id=appellant, code=code)
    database.dispose()
    return {
        "now": clock.now(),
        "platform_id": world.base.platform_id,
        "volunteers": tuple(world.volunteers),
        "voters": tuple(world.voters),
        "appellant": appellant,
    }


@pytest.fixture
def template(
    backend: str,
    database_url: str,
    clock: ManualClock,
    signer: LogSigner,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Template:
    """The world built once per test; each example starts from a copy of it."""
    built = _build(database_url, clock, signer)
    if backend == "sqlite":
        source = Path(make_url(database_url).database or "")

        def copy() -> str:
            path = tmp_path / f"example-{next(_names)}.db"
            shutil.copy(source, path)
            return f"sqlite:///{path}"

        def drop(url: str) -> None:
            Path(make_url(url).database or "").unlink()

    else:
        base: str = request.getfixturevalue("pg_base_url")
        world_name = make_url(database_url).database
        admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        request.addfinalizer(admin.dispose)

        def copy() -> str:
            name = f"example_{next(_names)}_{world_name}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{world_name}"'))
            return f"{base}/{name}"

        def drop(url: str) -> None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{make_url(url).database}"'))

    return Template(copy=copy, drop=drop, signer=signer, **built)


# -- tamperings -------------------------------------------------------------------------------

PUBLISHED = (
    "jury_id IN (SELECT y.id FROM juries y WHERE y.closed AND NOT EXISTS (SELECT 1 FROM juries z"
    " WHERE z.case_id = y.case_id AND NOT z.closed AND z.stage IN ('first', 'retrial')"
    " AND y.stage IN ('first', 'retrial')))"
)  # ballots a closed jury published (a retrial's first jury waits for the second)
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
    ("jurors", "id", "account_id", "account_id IS NOT NULL"),
    ("case_ballots", "juror_id", "reason", PUBLISHED),
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
    ("case_ballots", "juror_id", "", "1 = 1"),
    ("decisions", "id", "", NO_DEPENDENTS),
    ("ballots", "id", "", TALLIED),
    ("rule_versions", "proposal_id", "", "1 = 1"),
    (
        "jurors",
        "id",
        "",
        "id NOT IN (SELECT replaces FROM jurors WHERE replaces IS NOT NULL)"
        " AND id NOT IN (SELECT juror_id FROM case_ballots)"
        " AND id NOT IN (SELECT juror_id FROM jury_note_drafts)",
    ),
)
SWAPS: tuple[Target, ...] = (
    ("juries", "id", "seed", "1 = 1"),
    ("jurors", "id", "pseudonym", "1 = 1"),
    ("case_ballots", "juror_id", "reason", PUBLISHED),
    ("cases", "id", "outcome", "1 = 1"),
    ("decisions", "id", "body", "1 = 1"),
)


def _changed(column: str, value: Any, spare_account: int) -> Any:
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


def _rows(c: Connection, target: Target) -> list[tuple[Any, Any]]:
    table, key, column, where = target
    selected = column or key
    query = f"SELECT {key}, {selected} FROM {table} WHERE {where} ORDER BY {key}"  # noqa: S608
    return [(r[0], r[1]) for r in c.execute(text(query))]


def _set(c: Connection, target: Target, key_value: Any, value: Any) -> None:
    table, key, column, _where = target
    c.execute(
        text(f"UPDATE {table} SET {column} = :v WHERE {key} = :k"), {"v": value, "k": key_value}
    )


def _payload(c: Connection, index: int) -> bytes:
    return bytes(
        c.execute(text("SELECT payload FROM log_entries WHERE idx = :i"), {"i": index}).scalar_one()
    )


def _set_payload(c: Connection, index: int, payload: bytes) -> None:
    c.execute(
        text("UPDATE log_entries SET payload = :p WHERE idx = :i"), {"p": payload, "i": index}
    )


def _edit_entry(c: Connection, index: int) -> None:
    """Change one digit of the entry's time: still canonical JSON with the right index."""
    payload = _payload(c, index)
    at = payload.index(b'"at":"') + len(b'"at":"') + 3  # the year's last digit
    digit = b"1" if payload[at : at + 1] != b"1" else b"2"
    _set_payload(c, index, payload[:at] + digit + payload[at + 1 :])


def _truncate(c: Connection, size: int) -> None:
    c.execute(text("DELETE FROM log_entries WHERE idx >= :s"), {"s": size})
    for level in range(40):
        c.execute(
            text("DELETE FROM log_nodes WHERE level = :l AND idx >= :i"),
            {"l": level, "i": size >> level},
        )
    c.execute(text("UPDATE log_head SET size = :s"), {"s": size})


# -- the machine ------------------------------------------------------------------------------

Pick = Callable[[Sequence[Any], str], Any]  # choose one of the options (label: for Hypothesis)

_OPEN_JURIES = (
    "SELECT DISTINCT y.id FROM juries y JOIN jurors j ON j.jury_id = y.id"
    " WHERE j.status = '{status}' AND NOT y.closed ORDER BY y.id"
)
_SEATS = (
    "SELECT j.account_id, y.case_id FROM jurors j JOIN juries y ON y.id = j.jury_id"
    " WHERE j.status = '{status}' AND y.id = :jury AND j.account_id IS NOT NULL ORDER BY j.id"
)


def vote(uow: UnitOfWork, account: int, case_id: int, violation: bool) -> None:
    """One juror's ballot, in its own transaction; a documented refusal is fine."""
    try:
        with uow.begin():
            cases_verdict.cast_ballot(
                uow,
                account_id=account,
                case_id=case_id,
                violation=violation,
                sanction="remove" if violation else None,
                suspension_days=None,
                reason=f"Ballot of account {account} on case {case_id}.",
            )
    except IsegoriaError:
        pass


class VerifyMachine(RuleBasedStateMachine):
    """Random service calls; after each, verify finds nothing; any one tampering is found."""

    template: Template  # set on a subclass by the test

    def __init__(self) -> None:
        super().__init__()
        t = self.template
        self.url = t.copy()
        self.database = Database(self.url)
        self.clock = ManualClock(t.now)
        self.signer = t.signer
        self.uow = UnitOfWork(self.database, self.clock, self.signer, SECRET)
        self.holder = functools.partial(juror_pseudonym, SECRET)
        self.rules = 0

    def teardown(self) -> None:
        """Try every kind of tampering on the final world, then drop the example's database."""
        try:
            if hasattr(self, "seed"):
                self._final_tamperings()
        finally:
            self.database.dispose()
            self.template.drop(self.url)

    # -- helpers ------------------------------------------------------------------------------

    def _jobs(self) -> None:
        run_jobs(self.uow, self.clock, self.signer)

    def _query(self, sql: str, **params: Any) -> list[Any]:
        with self.database.engine.connect() as connection:
            return list(connection.execute(text(sql), params))

    def _attempt(self, action: Callable[[], object]) -> None:
        """Run one service call in its own transaction; a refusal it documents is fine."""
        try:
            with self.uow.begin():
                action()
        except IsegoriaError:
            pass

    # -- rules: what people and platforms do --------------------------------------------------

    @rule(interim=st.booleans())
    def report(self, interim: bool) -> None:
        """A platform reports a post by the author; the draw job runs."""
        request = report_request(
            self.uow.now() - timedelta(hours=1), author=AUTHOR, interim=interim
        )
        self._attempt(
            lambda: cases_intake.file_report(
                self.uow, platform_id=self.template.platform_id, request=request
            )
        )
        self._jobs()

    @rule(data=st.data())
    def jurors_reply(self, data: st.DataObject) -> None:
        """The summoned jurors of one jury accept or decline (mostly accept)."""
        juries = self._query(_OPEN_JURIES.format(status="summoned"))
        if juries:
            (jury_id,) = data.draw(st.sampled_from(juries), label="jury")
            for account, case_id in self._query(_SEATS.format(status="summoned"), jury=jury_id):
                accept = data.draw(st.sampled_from([True, True, True, False]), label="accept")
                self._attempt(
                    functools.partial(
                        cases_jury.reply,
                        self.uow,
                        account_id=account,
                        case_id=case_id,
                        accept=accept,
                    )
                )
            self._jobs()  # decliners are replaced

    @rule(data=st.data())
    def jurors_vote(self, data: st.DataObject) -> None:
        """The jurors of one jury who accepted cast their ballots (the last closes it)."""
        juries = self._query(_OPEN_JURIES.format(status="accepted"))
        if juries:
            (jury_id,) = data.draw(st.sampled_from(juries), label="jury")
            for account, case_id in self._query(_SEATS.format(status="accepted"), jury=jury_id):
                violation = data.draw(st.booleans(), label="violation")
                vote(self.uow, account, case_id, violation)

    @rule(hours=st.integers(min_value=1, max_value=80))
    def time_passes(self, hours: int) -> None:
        """The clock moves; deadlines pass (replacements, closures, lapses, appeal windows)."""
        self.clock.advance(timedelta(hours=hours))
        self._jobs()

    @rule(data=st.data())
    def appeal(self, data: st.DataObject) -> None:
        """The author appeals a decided case."""
        decided = self._query("SELECT id FROM cases WHERE status = 'decided' ORDER BY id")
        if decided:
            (case_id,) = data.draw(st.sampled_from(decided))
            self._attempt(
                lambda: cases_appeal.file_appeal(
                    self.uow,
                    account_id=self.template.appellant,
                    case_id=case_id,
                    statement="It was a joke.",
                )
            )
            self._jobs()

    @rule(data=st.data(), applied=st.booleans())
    def platform_confirms(self, data: st.DataObject, applied: bool) -> None:
        """The platform applies a pending decision, or says why it could not."""
        pending = self._query("SELECT id FROM decisions WHERE status = 'pending' ORDER BY id")
        if pending:
            (decision_id,) = data.draw(st.sampled_from(pending))
            self._attempt(
                lambda: cases_decisions.confirm(
                    self.uow,
                    platform_id=self.template.platform_id,
                    decision_id=decision_id,
                    applied=applied,
                    reason=None if applied else "The post was already gone.",
                )
            )

    @rule(data=st.data())
    def note(self, data: st.DataObject) -> None:
        """A citizen writes a context note on a reported post; two others rate it."""
        contents = self._query("SELECT id FROM contents ORDER BY id")
        if not contents:
            return
        (content_id,) = data.draw(st.sampled_from(contents))
        writer, *raters = self.template.voters[1:4]
        written: list[int] = []

        def write() -> None:
            written.append(
                notes.write_note(
                    self.uow,
                    account_id=writer,
                    content_id=content_id,
                    classification="misinformed_or_potentially_misleading",
                    reasons=["outdated_information"],
                    text="The quoted figure is from another year.",
                    language="en",
                ).id
            )

        self._attempt(write)
        for rater in raters if written else []:
            self._attempt(
                lambda rater=rater: notes.rate_note(
                    self.uow, account_id=rater, note_id=written[0], helpfulness="helpful"
                )
            )

    @rule()
    def enact_rule(self) -> None:
        """Citizens vote a new rule into force (propose, vote, tally, take effect)."""
        self.rules += 1
        draft = dataclasses.replace(THREATS, title=f"No threats, take {self.rules}")
        try:
            pass_proposal(
                self.uow,
                self.clock,
                self.signer,
                voters=list(self.template.voters),
                kind=ProposalKind.ENACT,
                title=f"Threats, take {self.rules}",
                draft=draft,
            )
        except IsegoriaError:
            pass

    @rule()
    def rotate_log_key(self) -> None:
        """The operator rotates the log key: the old key signs the entry naming the new one."""
        new = LogSigner(TEST_ORIGIN, Ed25519PrivateKey.generate())
        with self.uow.begin():
            self.uow.log.append(
                LogKeyRotated(previous_key=self.signer.verifier_key, new_key=new.verifier_key)
            )
        self.signer = new
        self.uow = UnitOfWork(self.database, self.clock, new, SECRET)

    # -- the property -------------------------------------------------------------------------

    @invariant()
    def verifies_clean(self) -> None:
        """Whatever the services did, the log and every covered table verify."""
        report = verify_instance(self.database, self.signer.verifier_key, holder=self.holder)
        assert report.ok, "\n".join(report.lines())

    @initialize(seed=st.integers(min_value=0, max_value=2**32 - 1))
    def choose_final_tamperings(self, seed: int) -> None:
        """The seed of the tamperings tried at the end of the run (one of every kind)."""
        self.seed = seed

    @rule(data=st.data())
    def tamper(self, data: st.DataObject) -> None:
        """One random tampering (rolled back afterwards) is always found and named."""

        def pick(options: Sequence[Any], label: str) -> Any:
            return data.draw(st.sampled_from(options), label=label)

        kind = pick(KINDS, "kind")
        self._tamper_and_check(kind, pick(_choices(kind), "target"), pick)

    def _final_tamperings(self) -> None:
        """At the end of a run: one tampering of every kind and target, each found and named."""
        rng = random.Random(self.seed)  # noqa: S311 - reproducible from the example's seed
        for kind in KINDS:
            for target in _choices(kind):
                self._tamper_and_check(kind, target, lambda options, _label: rng.choice(options))

    def _tamper_and_check(self, kind: str, target: Any, pick: Pick) -> None:
        with self.database.engine.connect() as connection:
            transaction = connection.begin()
            try:
                named = self._tamper(connection, kind, target, pick)
                if named is not None:
                    self._assert_found(connection, named)
            finally:
                transaction.rollback()

    def _tamper(self, c: Connection, kind: str, target: Any, pick: Pick) -> str | None:
        """Tamper with something; return what the verification must name (None: nothing)."""
        if kind == "entry":
            size = int(c.execute(text("SELECT size FROM log_head")).scalar_one())
            # The last entry's loss reads as a truncation: delete one before it.
            index = pick(range(1, size - 1), "index")
            if target == "edit":
                _edit_entry(c, index)
            elif target == "delete":
                c.execute(text("DELETE FROM log_entries WHERE idx = :i"), {"i": index})
            elif target == "swap":
                other = pick(range(index), "other")
                first, second = _payload(c, index), _payload(c, other)
                _set_payload(c, index, second)
                _set_payload(c, other, first)
                return f"entry {other}"
            else:
                _truncate(c, index)
                # Cut before a key rotation, the log no longer knows the key that signed later.
                return "truncated|pinned key|trusted key"
            return f"entry {index}"
        rows = _rows(c, target)
        table, key, _column, _where = target
        if kind == "swap":
            pairs = [(a, b) for a, b in itertools.combinations(rows, 2) if a[1] != b[1]]
            if not pairs:
                return None
            (k1, v1), (k2, v2) = pick(pairs, "rows")
            _set(c, target, k1, v2)
            _set(c, target, k2, v1)
            return str(table)
        if not rows:
            return None
        row_key, value = pick(rows, "row")
        if kind == "edit":
            _set(c, target, row_key, _changed(target[2], value, self.template.appellant))
        else:
            c.execute(text(f"DELETE FROM {table} WHERE {key} = :k"), {"k": row_key})  # noqa: S608
        return str(table)

    def _assert_found(self, c: Connection, named: str) -> None:
        session = Session(bind=c)
        try:
            verify_log(LocalLog(session), self.signer.verifier_key)
        except LogVerificationError as error:
            assert named not in TABLES, f"a row tampering broke the log itself: {error}"
            assert any(n in str(error) for n in named.split("|")), (named, str(error))
            return
        finally:
            session.close()
        assert named in TABLES, f"the log tampering ({named}) went unnoticed"
        session = Session(bind=c)
        try:
            found = list(audit_state(session, holder=self.holder))
        finally:
            session.close()
        assert any(m.table == named for m in found), (named, [m.describe() for m in found])


TABLES = {t[0] for t in (*EDITS, *DELETES, *SWAPS)}
KINDS = ("edit", "delete", "swap", "entry")
ENTRY_TAMPERINGS = ("edit", "delete", "swap", "truncate")


def _choices(kind: str) -> Sequence[Any]:
    """The targets of one kind of tampering: row targets, or ways to alter log entries."""
    return {"edit": EDITS, "delete": DELETES, "swap": SWAPS, "entry": ENTRY_TAMPERINGS}[kind]


@pytest.mark.slow
def test_any_world_verifies_and_any_tampering_is_found(template: Template) -> None:
    machine = type("Machine", (VerifyMachine,), {"template": template})
    run_state_machine_as_test(
        machine,  # type: ignore[arg-type]
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
