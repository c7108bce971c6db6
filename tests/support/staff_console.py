"""A world for the operator console: a decided case, a jury being formed, a dead letter."""

from __future__ import annotations

import random
from dataclasses import dataclass
from html.parser import HTMLParser

from sqlalchemy import select

from isegoria.cases import ballots as cases_ballots
from isegoria.cases import intake as cases_intake
from isegoria.cases import jury as cases_jury
from isegoria.clock import ManualClock
from isegoria.decisions import outbox
from isegoria.integrations import webhooks
from isegoria.log.signing import LogSigner
from isegoria.security import SecretBox
from isegoria.store.models_cases import DecisionRow, Juror, Jury
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, report_request, run_jobs


@dataclass
class ConsoleWorld:
    """What the console tests look at."""

    cases: CasesWorld
    decided_case: int
    forming_case: int
    dead_decision: int


def _jurors(uow: UnitOfWork, case_id: int) -> list[Juror]:
    with uow.begin(readonly=True):
        jury = uow.session.scalars(select(Jury).where(Jury.case_id == case_id)).one()
        return list(uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))


def build_console_world(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, box: SecretBox
) -> ConsoleWorld:
    """Two reported posts: one judged (a decision, whose webhook delivery died), one waiting."""
    world = build(uow, clock, signer, box=box)
    with uow.begin():
        decided, _ = cases_intake.file_report(
            uow, platform_id=world.base.platform_id, request=report_request(uow.now())
        )
        forming, _ = cases_intake.file_report(
            uow, platform_id=world.base.platform_id, request=report_request(uow.now())
        )
    run_jobs(uow, clock, signer)
    for juror in _jurors(uow, decided.id):
        with uow.begin():
            cases_jury.reply(uow, account_id=juror.account_id, case_id=decided.id, accept=True)
        with uow.begin():
            cases_ballots.cast_ballot(
                uow,
                account_id=juror.account_id,
                case_id=decided.id,
                violation=True,
                sanction="remove",
                suspension_days=None,
                reason="A threat.",
            )
    with uow.begin():
        row = uow.session.scalars(
            select(DecisionRow).where(DecisionRow.case_id == decided.id).order_by(DecisionRow.id)
        ).first()
        assert row is not None, "the verdict issued no decision"
        # The platform's receiver said the webhook is gone for good: what the worker records.
        gone = webhooks.DeliveryResult(
            webhooks.DeliveryOutcome.PERMANENT, status_code=410, error="HTTP 410 Gone"
        )
        assert outbox.record_attempt(uow, row.id, gone, random.Random(1)) == "dead"
        dead = row.id
    return ConsoleWorld(world, decided.id, forming.id, dead)


@dataclass
class Form:
    """A form found in a page: where it posts and the fields it sends as the page filled them."""

    action: str
    method: str
    fields: dict[str, list[str]]


class FormParser(HTMLParser):
    """Collects forms (hidden values, checked boxes, named inputs) and script tags."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.scripts = 0
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a form, add an input to the open one, or count a script."""
        found = {k: v or "" for k, v in attrs}
        if tag == "script":
            self.scripts += 1
        elif tag == "form":
            self._current = Form(found.get("action", ""), found.get("method", "get").lower(), {})
            self.forms.append(self._current)
        elif tag in ("input", "select", "textarea", "button") and self._current is not None:
            name = found.get("name")
            if not name:
                return
            kind = found.get("type", "text")
            if kind == "checkbox" and "checked" not in found:
                return
            self._current.fields.setdefault(name, []).append(found.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        """Close the open form."""
        if tag == "form":
            self._current = None


def forms_in(html: str) -> FormParser:
    """The forms and scripts of a page."""
    parser = FormParser()
    parser.feed(html)
    return parser
