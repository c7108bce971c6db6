"""Connecting a platform to its server (CLI and service), and a server that stays down."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from isegoria.cases import intake as cases_intake
from isegoria.cases.common import get_case
from isegoria.cli import app
from isegoria.clock import ManualClock
from isegoria.connectors import apply as connector_apply
from isegoria.connectors import setup as connectors
from isegoria.connectors import sync as connector_sync
from isegoria.connectors.ledger import DEAD, PENDING
from isegoria.decisions import lifecycle as cases_decisions
from isegoria.domain.decisions import DecisionKind
from isegoria.domain.sanctions import SanctionStep
from isegoria.errors import Conflict, InvalidInput, NotFound
from isegoria.log import read as log_read
from isegoria.log.signing import LogSigner
from isegoria.security import SecretBox
from isegoria.store.db import Database
from isegoria.store.models_cases import Content, DecisionRow
from isegoria.store.models_connectors import ConnectorAction, PlatformConnector
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import build, report_request, run_jobs
from tests.support.connectors_world import decide
from tests.support.world import seed

runner = CliRunner()
HOUR = timedelta(hours=1)
TOKEN = "syt_aXNlZ29yaWE_secret-admin-token"
#: Nothing listens on the discard port: every call to this "homeserver" fails to connect.
DOWN = "http://127.0.0.1:9"


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(data))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", database_url)
    return data


def _setup(tmp_path: Path) -> Path:
    assert runner.invoke(app, ["jurisdictions", "add", "MX", "--name", "Mexico"]).exit_code == 0
    assert runner.invoke(app, ["platforms", "add", "Chat"]).exit_code == 0
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"keywords": {"threat": "MX-1"}, "known_rules": ["MX-1"]}))
    return rules


def test_cli_connects_matrix_and_mastodon_and_seals_the_secrets(
    env: Path, tmp_path: Path, database_url: str
) -> None:
    rules = _setup(tmp_path)
    matrix = runner.invoke(
        app,
        ["platforms", "connect-matrix", "Chat", "--url", "https://hs.example/", "--jurisdiction",
         "MX", "--rules", str(rules), "--language", "es", "--ban", "lock"],
        input=f"{TOKEN}\n",
    )  # fmt: skip
    assert matrix.exit_code == 0, matrix.output
    assert "connector 1" in matrix.output
    assert runner.invoke(app, ["platforms", "add", "Social"]).exit_code == 0
    mastodon = runner.invoke(
        app,
        ["platforms", "connect-mastodon", "Social", "--url", "https://social.example",
         "--jurisdiction", "MX", "--admin-token", TOKEN],
        input="webhook-secret\n",
    )  # fmt: skip
    assert mastodon.exit_code == 0, mastodon.output
    assert "/api/v1/connectors/2/mastodon/webhook" in mastodon.output
    listed = runner.invoke(app, ["platforms", "connectors"])
    assert "https://hs.example" in listed.output and "https://social.example" in listed.output
    assert TOKEN not in listed.output
    database = Database(database_url)
    try:
        with database.session(readonly=True) as session:
            rows = session.scalars(select(PlatformConnector).order_by(PlatformConnector.id)).all()
            assert [r.kind for r in rows] == ["matrix", "mastodon"]
            assert rows[0].base_url == "https://hs.example"
            assert json.loads(rows[0].config)["ban"] == "lock"
            for row in rows:
                assert TOKEN.encode() not in row.admin_token  # sealed, not stored in clear
            assert rows[1].webhook_secret is not None
            assert b"webhook-secret" not in rows[1].webhook_secret
    finally:
        database.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["connect-matrix", "Nope", "--url", "https://hs.example"], "no platform named 'Nope'"),
        (["connect-matrix", "Chat", "--url", "hs.example"], "absolute http"),
        (["connect-matrix", "Chat", "--url", "https://hs", "--ban", "erase"], "option ban"),
        (["connect-mastodon", "Chat", "--url", "https://m", "--webhook-secret", " "], "secret"),
    ],
)
def test_cli_refuses_bad_input_and_stores_nothing(
    env: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    _setup(tmp_path)
    result = runner.invoke(
        app, ["platforms", *args, "--jurisdiction", "MX", "--admin-token", TOKEN]
    )
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "0 platform reports" in runner.invoke(app, ["platforms", "connectors"]).output
    assert "https://" not in runner.invoke(app, ["platforms", "connectors"]).output


def test_cli_refuses_a_rule_mapping_that_is_not_json(env: Path, tmp_path: Path) -> None:
    _setup(tmp_path)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = runner.invoke(
        app,
        ["platforms", "connect-matrix", "Chat", "--url", "https://hs.example",
         "--jurisdiction", "MX", "--admin-token", TOKEN, "--rules", str(broken)],
    )  # fmt: skip
    assert result.exit_code == 2 and "cannot read the rule mapping" in result.output


def _request(platform: str, **changes: object) -> connectors.ConnectorRequest:
    fields: dict[str, object] = {
        "platform": platform,
        "kind": "matrix",
        "base_url": "https://hs.example",
        "admin_token": TOKEN,
        "rules": {},
        "jurisdictions": ["MX"],
    }
    fields.update(changes)
    return connectors.ConnectorRequest(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"rules": {"reasons": {"spam": 4}}}, InvalidInput, "rules"),
        ({"rules": {"colours": {}}}, InvalidInput, "rules"),
        ({"jurisdictions": ["XX"]}, NotFound, "jurisdiction"),
        ({"jurisdictions": []}, InvalidInput, "jurisdictions"),
        ({"admin_token": "two words"}, InvalidInput, "admin_token"),
        ({"kind": "mastodon"}, InvalidInput, "webhook_secret"),
        ({"webhook_secret": "s"}, InvalidInput, "webhook_secret"),
        ({"options": {"user_reports": "yes"}}, InvalidInput, "options"),
        ({"language": ""}, InvalidInput, "language"),
    ],
)
def test_connect_names_the_bad_field(
    uow: UnitOfWork, changes: dict[str, object], error: type[Exception], field: str
) -> None:
    world = seed(uow, SecretBox(uow.secret))
    with pytest.raises(error) as raised, uow.begin():
        connectors.connect(uow, SecretBox(uow.secret), _request(str(world.platform_id), **changes))
    assert getattr(raised.value, "field", None) == field
    with uow.begin(readonly=True):
        assert connectors.list_connectors(uow) == []


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8008", "https://[::1]/", "http://169.254.169.254", "http://[2002:a00:1::]"],
)
def test_a_server_url_that_names_a_private_address_is_refused(uow: UnitOfWork, url: str) -> None:
    world = seed(uow, SecretBox(uow.secret))
    with pytest.raises(InvalidInput, match="public addresses") as raised, uow.begin():
        connectors.connect(
            uow, SecretBox(uow.secret), _request(str(world.platform_id), base_url=url)
        )
    assert raised.value.field == "base_url"
    with uow.begin():  # the operator's setting (ISEGORIA_WEBHOOK_ALLOW_PRIVATE) lets it through
        connectors.connect(
            uow,
            SecretBox(uow.secret),
            _request(str(world.platform_id), base_url=url),
            allow_private=True,
        )


def test_every_call_to_a_connected_server_passes_the_outbound_guard(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    world = build(uow, clock, signer)
    with uow.begin():
        connector = connectors.connect(
            uow,
            SecretBox(uow.secret),
            _request(str(world.base.platform_id), base_url=DOWN, rules={}),
            allow_private=True,  # registered while the operator allowed it ...
        )
        author = connectors.pseudonyms(uow.secret, connector).of("@troll:hs.example")
        case, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now() - HOUR, content_id="$event", author=author),
        )
        case_id = case.id
    run_jobs(uow, clock, signer)
    decide(uow, case_id, "first", violation=True, days=5)
    # ... but not any more: the call is refused before any connection, and retried later.
    done = connector_apply.apply_due(uow.database, clock, signer, uow.secret)
    assert (done.applied, done.retried) == (0, 1)
    with uow.begin(readonly=True):
        action = uow.session.scalars(select(ConnectorAction)).one()
        assert action.last_error is not None and "EgressRefused" in action.last_error
        assert "loopback" in action.last_error
    assert connector_sync.poll_matrix(uow.database, clock, signer, uow.secret) == {}
    with uow.begin(readonly=True):
        polled = connectors.get_connector(uow, connector.id)
    assert polled.last_error is not None and "EgressRefused" in polled.last_error


def test_a_platform_is_connected_once(uow: UnitOfWork) -> None:
    world = seed(uow, SecretBox(uow.secret))
    with uow.begin():
        connectors.connect(uow, SecretBox(uow.secret), _request(str(world.platform_id)))
    with pytest.raises(Conflict, match="already connected"), uow.begin():
        connectors.connect(uow, SecretBox(uow.secret), _request(str(world.platform_id)))
    with uow.begin(readonly=True):
        kinds = [
            e.kind for e in log_read.entries_about(uow.session, "platform", str(world.platform_id))
        ]
    assert kinds.count("ConnectorAdded") == 1


def test_a_server_that_stays_down_is_retried_with_backoff_then_confirmed_failed(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    world = build(uow, clock, signer)
    with uow.begin():
        connector = connectors.connect(
            uow,
            SecretBox(uow.secret),
            _request(str(world.base.platform_id), base_url=DOWN, rules={}),
            allow_private=True,  # DOWN is a closed port on loopback
        )
        # A pseudonym the adapter can turn back into an account: it gets as far as the network.
        author = connectors.pseudonyms(uow.secret, connector).of("@troll:hs.example")
        case, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now() - HOUR, content_id="$event", author=author),
        )
        case_id = case.id
    run_jobs(uow, clock, signer)
    decide(uow, case_id, "first", violation=True, days=5)

    def attempt() -> connector_apply.ApplyRound:
        return connector_apply.apply_due(
            uow.database, clock, signer, uow.secret, allow_private=True
        )

    first = attempt()
    assert (first.applied, first.retried, first.failed) == (0, 1, 0)
    with uow.begin(readonly=True):
        action = uow.session.scalars(select(ConnectorAction)).one()
        assert action.status == PENDING and action.attempts == 1
        assert action.next_attempt_at is not None and action.next_attempt_at > clock.now()
        assert action.last_error is not None and "ConnectError" in action.last_error
    assert attempt() == connector_apply.ApplyRound()  # not due again before the backoff ends
    with uow.begin():  # a later decision about the same post waits for the first
        case = get_case(uow, case_id)
        content = uow.session.get(Content, case.content_id)
        assert content is not None
        later = cases_decisions.issue(
            uow,
            case=case,
            content=content,
            kind=DecisionKind.SANCTION_LIFTED,
            sanction=SanctionStep.SUSPEND,
            restores=action.decision_id,
        ).id
    for _ in range(connector_apply.MAX_ATTEMPTS - 1):
        clock.advance(timedelta(days=2))  # past any backoff (capped well below a day)
        attempt()
        with uow.begin(readonly=True):
            assert uow.session.get(ConnectorAction, later) is None
    with uow.begin(readonly=True):
        gave_up = uow.session.get(ConnectorAction, action.decision_id)
        row = uow.session.get(DecisionRow, action.decision_id)
        assert gave_up is not None and row is not None
        assert gave_up.status == DEAD and gave_up.attempts == connector_apply.MAX_ATTEMPTS
        assert row.status == "failed" and row.failure_reason
        kinds = [e.kind for e in log_read.entries_about(uow.session, "decision", str(row.id))]
    assert kinds == ["DecisionConfirmed"]
    assert attempt().retried == 1  # the dead letter is not retried; the next decision is tried
    with uow.begin(readonly=True):
        attempted = uow.session.scalars(select(ConnectorAction.decision_id)).all()
    assert sorted(attempted) == sorted([row.id, later])
