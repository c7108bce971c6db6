"""Issue 18 §1: the operator console shows the pipeline, compliance and outboxes, and acts
only on keys, secrets and dead letters, through each context's services."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from isegoria.clock import ManualClock
from isegoria.connectors import ledger
from isegoria.decisions import outbox
from isegoria.errors import Conflict, Forbidden
from isegoria.log.signing import LogSigner
from isegoria.notifications import delivery as notification_delivery
from isegoria.people import platforms
from isegoria.store.models import Account, ApiKey, Platform
from isegoria.store.models_cases import DecisionRow
from isegoria.store.models_connectors import ConnectorAction, PlatformConnector
from isegoria.store.models_notifications import Notification, NotificationDelivery
from isegoria.unit_of_work import UnitOfWork
from tests.support.staff_console import ConsoleWorld, build_console_world, forms_in
from tests.support.world import PASSWORD, csrf_from, login

PAGES = ("/staff", "/staff/platforms", "/staff/connectors")


@pytest.fixture
def world(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, client: TestClient
) -> ConsoleWorld:
    return build_console_world(uow, clock, signer, client.app.state.services.box)  # type: ignore[attr-defined]


def _operator(client: TestClient, world: ConsoleWorld) -> None:
    login(client, world.cases.base.operator)


def test_only_operators_see_the_console_and_others_are_told_so(
    client: TestClient, world: ConsoleWorld
) -> None:
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 401
        assert f'href="/login?next={path.replace("/", "%2F")}"' in page.text
    posted = client.post(
        "/staff/connectors/retry",
        data={"outbox": "decisions", "row": str(world.dead_decision), "csrf_token": "x"},
    )
    assert posted.status_code == 403  # no CSRF token of this site: refused before anything
    for who in (world.cases.base.citizen, world.cases.base.auditor):
        login(client, who)
        for path in PAGES:
            page = client.get(path)
            assert page.status_code == 403, page.text
            assert "not one" in page.text
        token = csrf_from(client.get("/").text)
        retry = client.post(
            "/staff/connectors/retry",
            data={"outbox": "decisions", "row": str(world.dead_decision), "csrf_token": token},
        )
        assert retry.status_code == 403
        assert 'href="/staff"' not in client.get("/").text  # no "Staff" in their header
        client.cookies.clear()
    _operator(client, world)
    assert 'href="/staff"' in client.get("/").text


def test_the_pages_show_the_pipeline_compliance_and_dead_letters(
    client: TestClient, world: ConsoleWorld, uow: UnitOfWork
) -> None:
    _operator(client, world)
    pipeline = client.get("/staff").text
    assert f'href="/cases/{world.forming_case}"' in pipeline  # its jury is being formed
    assert "Juries being formed" in pipeline and "Summoned" in pipeline
    assert "decided: appeal window open" in pipeline and ">open<" not in pipeline
    compliance = client.get("/staff/platforms").text
    with uow.begin(readonly=True):
        sent = len(list(uow.session.scalars(select(DecisionRow.id))))
    assert sent >= 1 and f"<strong>{sent}</strong> decisions sent" in compliance
    assert "<strong>0</strong> applied on time" in compliance
    connectors = client.get("/staff/connectors").text
    assert f'name="row" value="{world.dead_decision}"' in connectors
    assert "HTTP 410 Gone" in connectors
    assert f'href="/cases/{world.decided_case}"' in connectors  # the dead letter's case


def test_an_applied_decision_counts_on_time_or_late(
    client: TestClient, world: ConsoleWorld, clock: ManualClock, uow: UnitOfWork
) -> None:
    from datetime import timedelta

    with uow.begin(readonly=True):
        rows = list(uow.session.scalars(select(DecisionRow).order_by(DecisionRow.id)))
    clock.advance(timedelta(hours=30))  # past apply_by: a confirmation now is late
    confirmed = client.post(
        f"/api/v1/platform/decisions/{rows[0].id}/confirmation",
        json={"status": "applied"},
        headers={"Authorization": f"Bearer {world.cases.base.key_all}"},
    )
    assert confirmed.status_code == 200, confirmed.text
    _operator(client, world)
    page = client.get("/staff/platforms").text
    assert "<strong>1</strong> applied late" in page
    # The key just used shows when: the request recorded its last use.
    with uow.begin(readonly=True):
        used = [k for k in uow.session.scalars(select(ApiKey)) if k.last_used_at is not None]
    assert [k.platform_id for k in used] == [world.cases.base.platform_id]


def _form(client: TestClient, path: str, action_end: str) -> tuple[str, dict[str, list[str]]]:
    for form in forms_in(client.get(path).text).forms:
        if form.action.endswith(action_end):
            return form.action, form.fields
    raise AssertionError(f"no form ending {action_end} on {path}")


def test_keys_are_created_rotated_and_revoked_and_shown_once(
    client: TestClient, world: ConsoleWorld, uow: UnitOfWork
) -> None:
    _operator(client, world)
    platform_id = world.cases.base.platform_id
    action, fields = _form(client, "/staff/platforms", f"/{platform_id}/keys/rotate")
    wrong = client.post(action, data={**fields, "current_password": "not it"})
    assert wrong.status_code == 200 and "missing or wrong" in wrong.text
    old = client.get(
        "/api/v1/platform", headers={"Authorization": f"Bearer {world.cases.base.key_all}"}
    )
    assert old.status_code == 200  # a wrong password changed nothing
    rotated = client.post(action, data={**fields, "current_password": PASSWORD})
    assert rotated.status_code == 200 and "shown this once" in rotated.text
    assert rotated.headers["cache-control"] == "no-store"
    new_key = rotated.text.split('id="shown-once">', 1)[1].split("<", 1)[0].strip()
    bearer = {"Authorization": f"Bearer {new_key}"}
    assert client.get("/api/v1/platform", headers=bearer).status_code == 200
    gone = {"Authorization": f"Bearer {world.cases.base.key_all}"}
    assert client.get("/api/v1/platform", headers=gone).status_code == 401
    assert new_key not in client.get("/staff/platforms").text  # never shown twice

    action, fields = _form(client, "/staff/platforms", f"/{platform_id}/keys")
    fields["scopes"] = ["cases:read"]
    created = client.post(action, data={**fields, "current_password": PASSWORD})
    extra = created.text.split('id="shown-once">', 1)[1].split("<", 1)[0].strip()
    with uow.begin(readonly=True):
        live = [
            k
            for k in uow.session.scalars(select(ApiKey).where(ApiKey.platform_id == platform_id))
            if k.revoked_at is None
        ]
    assert "cases:read" in {k.scopes for k in live}  # the new key holds what was ticked
    assert len(live) == 2
    newest = max(live, key=lambda k: k.id)
    action, fields = _form(client, "/staff/platforms", f"/keys/{newest.id}/revoke")
    revoked = client.post(
        action, data={**fields, "current_password": PASSWORD}, follow_redirects=False
    )
    assert revoked.status_code == 303 and revoked.headers["location"].endswith("done=revoked")
    assert (
        client.get("/api/v1/platform", headers={"Authorization": f"Bearer {extra}"}).status_code
        == 401
    )
    again = client.post(
        action, data={**fields, "current_password": PASSWORD}, follow_redirects=False
    )
    assert again.headers["location"].endswith("problem=gone")


def test_the_webhook_secret_is_resealed_and_shown_once(
    client: TestClient, world: ConsoleWorld, uow: UnitOfWork
) -> None:
    _operator(client, world)
    platform_id = world.cases.base.platform_id
    with uow.begin(readonly=True):
        before = uow.session.get(Platform, platform_id)
        assert before is not None
        sealed_before = before.webhook_secret
    action, fields = _form(client, "/staff/platforms", f"/{platform_id}/webhook-secret")
    answer = client.post(action, data={**fields, "current_password": PASSWORD})
    secret = answer.text.split('id="shown-once">', 1)[1].split("<", 1)[0].strip()
    box = client.app.state.services.box  # type: ignore[attr-defined]
    with uow.begin(readonly=True):
        after = uow.session.get(Platform, platform_id)
        assert after is not None
        assert after.previous_webhook_secret == sealed_before
        assert secret.encode() not in after.webhook_secret  # sealed, not stored in clear
        assert platforms.webhook_secret(box, after) == secret
    assert secret not in client.get("/staff/platforms").text


def test_a_dead_letter_is_retried_once(
    client: TestClient, world: ConsoleWorld, uow: UnitOfWork
) -> None:
    _operator(client, world)
    action, fields = _form(client, "/staff/connectors", "/staff/connectors/retry")
    assert fields["row"] == [str(world.dead_decision)]
    done = client.post(action, data=fields, follow_redirects=False)
    assert done.headers["location"].endswith("done=retried")
    with uow.begin(readonly=True):
        row = uow.session.get(DecisionRow, world.dead_decision)
        assert row is not None and (row.delivery, row.delivery_attempts) == ("pending", 0)
    again = client.post(action, data=fields, follow_redirects=False)
    assert again.headers["location"].endswith("problem=gone")
    for bad in ({"outbox": "ballots"}, {"row": "1e9"}, {"row": "-1"}, {"row": "99999999999"}):
        refused = client.post(action, data={**fields, **bad}, follow_redirects=False)
        assert refused.headers["location"].endswith("problem=input"), bad


def _dead_rows(uow: UnitOfWork, world: ConsoleWorld) -> tuple[int, int]:
    """A connector action and a notification as their workers leave them after the last try."""
    with uow.begin():
        ana = uow.session.scalars(select(Account).where(Account.login == "ana")).one()
        connector = PlatformConnector(
            platform_id=world.cases.base.platform_id,
            kind="mastodon",
            base_url="https://social.example",
            admin_token=b"sealed",
            config="{}",
            jurisdictions="MX",
            language="es",
            cursor="{}",
            created_at=uow.now(),
            last_polled_at=uow.now(),
        )
        uow.session.add(connector)
        uow.session.flush()
        uow.session.add(
            ConnectorAction(
                decision_id=world.dead_decision,
                connector_id=connector.id,
                status="dead",
                attempts=8,
                last_error="HTTP 403 from the Mastodon admin API",
            )
        )
        note = Notification(
            account_id=ana.id,
            key="test:1",
            kind="summons",
            params="{}",
            link="/jury",
            created_at=uow.now(),
        )
        uow.session.add(note)
        uow.session.flush()
        sent = NotificationDelivery(
            notification_id=note.id,
            channel="email",
            status="dead",
            attempts=8,
            error="SMTP 550 mailbox unavailable",
        )
        uow.session.add(sent)
        uow.session.flush()
        return world.dead_decision, sent.id


def test_every_outbox_dead_letter_is_listed_and_retried_by_its_own_service(
    client: TestClient, world: ConsoleWorld, uow: UnitOfWork
) -> None:
    action_id, delivery_id = _dead_rows(uow, world)
    _operator(client, world)
    page = client.get("/staff/connectors").text
    assert "HTTP 403 from the Mastodon admin API" in page and "SMTP 550" in page
    assert "Mastodon · Forum" in page and "failing" in page
    retries = [f for f in forms_in(page).forms if f.action == "/staff/connectors/retry"]
    assert sorted(f.fields["outbox"][0] for f in retries) == [
        "connector",
        "decisions",
        "notifications",
    ]
    for form in retries:
        done = client.post(form.action, data=form.fields, follow_redirects=False)
        assert done.headers["location"].endswith("done=retried"), form.fields
    with uow.begin(readonly=True):
        action = uow.session.get(ConnectorAction, action_id)
        delivery = uow.session.get(NotificationDelivery, delivery_id)
        assert action is not None and (action.status, action.attempts) == ("pending", 0)
        assert delivery is not None and (delivery.status, delivery.attempts) == ("pending", 0)
    assert "No dead letter." in client.get("/staff/connectors").text


@pytest.mark.parametrize("service", ["connector", "notifications", "decisions"])
def test_the_retry_services_refuse_anyone_but_an_operator(
    world: ConsoleWorld, uow: UnitOfWork, service: str
) -> None:
    action_id, delivery_id = _dead_rows(uow, world)
    retry, row = {
        "connector": (ledger.retry_dead_action, action_id),
        "notifications": (notification_delivery.retry_dead_letter, delivery_id),
        "decisions": (outbox.retry_dead_letter, world.dead_decision),
    }[service]
    for login_name in ("ana", "audrey"):
        with pytest.raises(Forbidden), uow.begin():
            staff = uow.session.scalars(select(Account).where(Account.login == login_name)).one()
            retry(uow, row, staff=staff)
    with uow.begin():
        olga = uow.session.scalars(select(Account).where(Account.login == "olga")).one()
        retry(uow, row, staff=olga)
    with pytest.raises(Conflict), uow.begin():
        retry(uow, row, staff=olga)  # no longer a dead letter
