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
from collections.abc import Callable, Sequence
from datetime import timedelta
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
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from isegoria.cases import appeal as cases_appeal
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.cases.common import seat_pseudonym
from isegoria.clock import ManualClock
from isegoria.decisions import lifecycle as cases_decisions
from isegoria.domain.constitution import ProposalKind
from isegoria.domain.events import LogKeyRotated
from isegoria.errors import IsegoriaError
from isegoria.log.audit import audit_state
from isegoria.log.signing import LogSigner
from isegoria.log.verify import LocalLog, LogVerificationError, verify_instance, verify_log
from isegoria.notes import writing as notes
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork
from tests.conftest import TEST_ORIGIN
from tests.support import tampering
from tests.support.cases_world import THREATS, pass_proposal, report_request, run_jobs
from tests.support.verify_world import AUTHOR, SECRET, Template, make_template, vote

LONG = os.environ.get("ISEGORIA_LONG_PROPERTIES") == "1"
EXAMPLES, STEPS = (60, 40) if LONG else (3, 10)


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
    return make_template(backend, database_url, clock, signer, tmp_path, request)


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
        self.holder = functools.partial(seat_pseudonym, SECRET)
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

        kind = pick(tampering.KINDS, "kind")
        self._tamper_and_check(kind, pick(tampering.choices(kind), "target"), pick)

    def _final_tamperings(self) -> None:
        """At the end of a run: one tampering of every kind and target, each found and named."""
        rng = random.Random(self.seed)  # noqa: S311 - reproducible from the example's seed
        for kind in tampering.KINDS:
            for target in tampering.choices(kind):
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
                tampering.edit_entry(c, index)
            elif target == "delete":
                c.execute(text("DELETE FROM log_entries WHERE idx = :i"), {"i": index})
            elif target == "swap":
                other = pick(range(index), "other")
                first, second = tampering.entry_payload(c, index), tampering.entry_payload(c, other)
                tampering.set_payload(c, index, second)
                tampering.set_payload(c, other, first)
                return f"entry {other}"
            else:
                tampering.truncate(c, index)
                # Cut before a key rotation, the log no longer knows the key that signed later.
                return "truncated|pinned key|trusted key"
            return f"entry {index}"
        rows = tampering.target_rows(c, target)
        table, key, _column, _where = target
        if kind == "swap":
            pairs = [(a, b) for a, b in itertools.combinations(rows, 2) if a[1] != b[1]]
            if not pairs:
                return None
            (k1, v1), (k2, v2) = pick(pairs, "rows")
            tampering.set_value(c, target, k1, v2)
            tampering.set_value(c, target, k2, v1)
            return str(table)
        if not rows:
            return None
        row_key, value = pick(rows, "row")
        if kind == "edit":
            # An account swapped in must not sit on that jury already (one seat per person).
            spare = c.execute(
                text(
                    "SELECT MIN(id) FROM accounts WHERE id NOT IN (SELECT account_id FROM jurors"
                    " WHERE account_id IS NOT NULL AND jury_id ="
                    " (SELECT jury_id FROM jurors WHERE id = :k))"
                ),
                {"k": row_key if table == "jurors" else -1},
            ).scalar_one()
            value = tampering.changed(target[2], value, int(spare))
            tampering.set_value(c, target, row_key, value)
        else:
            c.execute(text(f"DELETE FROM {table} WHERE {key} = :k"), {"k": row_key})  # noqa: S608
        return str(table)

    def _assert_found(self, c: Connection, named: str) -> None:
        session = Session(bind=c)
        try:
            verify_log(LocalLog(session), self.signer.verifier_key)
        except LogVerificationError as error:
            assert named not in tampering.TABLES, f"a row tampering broke the log itself: {error}"
            assert any(n in str(error) for n in named.split("|")), (named, str(error))
            return
        finally:
            session.close()
        assert named in tampering.TABLES, f"the log tampering ({named}) went unnoticed"
        session = Session(bind=c)
        try:
            found = list(audit_state(session, holder=self.holder))
        finally:
            session.close()
        assert any(m.table == named for m in found), (named, [m.describe() for m in found])


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
