"""Applying a decision on a connected server: claimed first, so two workers never both call."""

from __future__ import annotations

from typing import NoReturn

from isegoria.cases import intake as cases_intake
from isegoria.clock import ManualClock
from isegoria.connectors import apply as connector_apply
from isegoria.connectors import setup as connectors
from isegoria.decisions import lifecycle
from isegoria.domain.decisions import DecisionKind
from isegoria.domain.sanctions import SanctionStep
from isegoria.log.signing import LogSigner
from isegoria.security import SecretBox
from isegoria.store.models_cases import Content
from isegoria.store.models_connectors import ConnectorAction
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import build, report_request


def test_a_decision_being_applied_is_left_alone_by_a_second_worker_until_its_lease_ends(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    world = build(uow, clock, signer, volunteers=0)
    with uow.begin():
        connectors.connect(
            uow,
            SecretBox(uow.secret),
            connectors.ConnectorRequest(
                platform=str(world.base.platform_id),
                kind="matrix",
                base_url="http://127.0.0.1:9",
                admin_token="syt_admin_token",
                rules={"keywords": {"threat": "MX-1"}, "known_rules": ["MX-1"]},
                jurisdictions=["MX"],
                language="es",
            ),
            allow_private=True,
        )
        case, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now(), content_id="m-post"),
        )
        content = uow.session.get(Content, case.content_id)
        assert content is not None
        decision_id = lifecycle.issue(
            uow, case=case, content=content, kind=DecisionKind.NO_ACTION, sanction=SanctionStep.NONE
        ).id
    second_worker_called: list[str] = []
    second_rounds: list[connector_apply.ApplyRound] = []

    def second(base_url: str, token: str) -> NoReturn:
        second_worker_called.append(base_url)
        raise ConnectionError("the second worker must not reach the server")

    def first(base_url: str, token: str) -> NoReturn:
        # While the first worker is at the server, with no transaction open, a second one runs.
        second_rounds.append(
            connector_apply.apply_due(uow.database, clock, signer, uow.secret, synapse=second)
        )
        raise ConnectionError("the homeserver is down")

    first_round = connector_apply.apply_due(
        uow.database,
        clock,
        signer,
        uow.secret,
        synapse=first,
    )
    assert first_round == connector_apply.ApplyRound(retried=1)
    assert second_rounds == [connector_apply.ApplyRound()]
    assert second_worker_called == []
    with uow.begin(readonly=True):
        action = uow.session.get(ConnectorAction, decision_id)
        assert action is not None and action.attempts == 1
        assert "homeserver is down" in (action.last_error or "")
