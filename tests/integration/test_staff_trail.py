"""Issue 18: the staff audit trail, staff management, idle staff sessions and sign-in limits."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from isegoria.clock import ManualClock
from isegoria.domain.identity import Role, Scope
from isegoria.errors import Conflict
from isegoria.http.deps import Services
from isegoria.identity import mfa
from isegoria.log import read as log_read
from isegoria.ops import staff_trail
from isegoria.people import accounts as people
from isegoria.people import platforms, sessions, staff
from isegoria.store.models import LogEntry
from isegoria.unit_of_work import UnitOfWork
from tests.support.world import PASSWORD, World, csrf_from, login, seed

OPERATOR = staff_trail.Actor(login="olga", via=staff_trail.API, role="operator")


@pytest.fixture
def world(app: FastAPI) -> World:
    services: Services = app.state.services
    return seed(services.uow(), services.box)


def _public_entries(uow: UnitOfWork) -> list[dict[str, object]]:
    rows = uow.session.scalars(
        select(LogEntry).where(LogEntry.kind == "StaffActionTaken").order_by(LogEntry.idx)
    )
    return [json.loads(row.payload) for row in rows]


def test_platform_and_key_actions_are_trailed_and_logged(app: FastAPI, world: World) -> None:
    services: Services = app.state.services
    uow = services.uow()
    with uow.begin():
        platform, _key = platforms.add_platform(
            uow, services.box, name="Agora", scopes=[Scope.REPORTS_WRITE], actor=OPERATOR
        )
        issued = platforms.issue_key(uow, platform, scopes=[Scope.CASES_READ], actor=OPERATOR)
        platforms.rotate_key(uow, platform, actor=OPERATOR)
        platforms.revoke_key(uow, platform, issued.key_id, actor=OPERATOR)
        platforms.rotate_webhook_secret(uow, services.box, platform, actor=OPERATOR)
        platform_id = platform.id
    with uow.begin(readonly=True):
        trail = staff_trail.staff_trail(uow)
        entries = _public_entries(uow)
        size = log_read.tree_size(uow.session)
    mine = [r for r in trail if r.actor == "olga"]
    assert [r.action for r in reversed(mine)] == [
        "platform.created",
        "api_key.created",
        "api_key.rotated",
        "webhook_secret.rotated",
    ]  # the key revoked by the rotation is not revoked twice
    assert all(r.subject == f"platform:{platform_id}" and r.via == "api" for r in mine)
    # Registration is public as PlatformRegistered; the key and secret changes as staff acts.
    assert mine[-1].log_index is None
    assert all(r.log_index is not None and r.log_index < size for r in mine[:-1])
    # The seed's own platforms were recorded too, as the instance's doing.
    assert {r.actor for r in trail} == {"olga", "system"}
    logged = {int(e["facts"]["trail_id"]) for e in entries}  # type: ignore[index]
    assert {r.id for r in mine[:-1]} == logged
    # The public entry names the role and the subject, never the login.
    assert all("olga" not in json.dumps(e) for e in entries)


def test_revoking_a_live_key_is_trailed(app: FastAPI, world: World) -> None:
    services: Services = app.state.services
    uow = services.uow()
    with uow.begin():
        platform = platforms.get_platform(uow, world.platform_id)
        key_id = next(k.id for k in platform.api_keys if k.revoked_at is None)
        platforms.revoke_key(uow, platform, key_id, actor=OPERATOR)
        platforms.revoke_key(uow, platform, key_id, actor=OPERATOR)  # nothing more happens
    with uow.begin(readonly=True):
        revoked = staff_trail.staff_trail(uow, action="api_key.revoked")
    assert [(r.subject, r.detail) for r in revoked] == [
        (f"platform:{world.platform_id}", {"key_id": key_id})
    ]


def test_staff_added_removed_and_reset(app: FastAPI, world: World) -> None:
    services: Services = app.state.services
    uow = services.uow()
    with uow.begin():
        olga = people.get_account_by_login(uow, world.operator)
        actor = staff_trail.Actor("olga", staff_trail.CONSOLE, olga.id, "operator")
        newcomer = staff.add_staff(
            uow,
            login="nadia",
            display_name="Nadia",
            role=Role.AUDITOR,
            password=PASSWORD,
            actor=actor,
        )
        token, _row = sessions.start_session(uow, newcomer, hours=4, factor=None)
        mfa.reset_second_factor(uow, people.get_account_by_login(uow, world.auditor), actor=actor)
        staff.remove_staff(uow, newcomer, actor=actor)
        with pytest.raises(Conflict, match="yourself"):
            staff.remove_staff(uow, olga, actor=actor)
        with pytest.raises(Conflict, match="last operator"):
            staff.remove_staff(uow, olga)
    with uow.begin(readonly=True):
        trail = staff_trail.staff_trail(uow)
        assert sessions.pending_session(uow, token) is None  # removed: its sessions ended
        nadia = people.get_account_by_login(uow, "nadia")
        assert nadia.disabled
    assert [(r.action, r.log_index is not None) for r in trail[:3]] == [
        ("staff.removed", True),
        ("second_factor.reset", False),
        ("staff.added", True),
    ]
    assert trail[0].detail == {"login": "nadia", "role": "auditor"}
    assert all(r.actor == "olga" and r.via == "console" for r in trail[:3])


def test_the_trail_is_for_auditors_and_operators(app: FastAPI, world: World) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/v1/staff/trail").status_code == 401
        login(client, world.citizen)
        assert client.get("/api/v1/staff/trail").status_code == 403
        assert client.get("/audit/staff-trail").status_code == 403
    for who in (world.auditor, world.operator):
        with TestClient(app, raise_server_exceptions=False) as client:
            login(client, who)
            answer = client.get("/api/v1/staff/trail", params={"limit": 1})
            assert answer.status_code == 200
            assert [row["action"] for row in answer.json()] == ["platform.created"]
            page = client.get("/audit/staff-trail")
            assert page.status_code == 200 and "platform.created" in page.text
            assert client.get("/api/v1/staff/trail", params={"limit": 0}).status_code == 422


def test_operators_manage_staff_from_the_page(app: FastAPI, world: World) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, world.auditor)
        assert client.get("/staff/people").status_code == 403
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, world.operator)
        page = client.get("/staff/people")
        assert page.status_code == 200 and "audrey" in page.text
        form = {"csrf_token": csrf_from(page.text), "display_name": "Pia", "password": PASSWORD}
        added = client.post(
            "/staff/people",
            data={**form, "login": "pia", "role": "operator"},
            follow_redirects=False,
        )
        assert added.status_code == 303
        taken = client.post("/staff/people", data={**form, "login": "pia", "role": "operator"})
        assert taken.status_code == 409 and "taken" in taken.text
        citizen = client.post("/staff/people", data={**form, "login": "cy", "role": "citizen"})
        assert citizen.status_code == 400
        no_csrf = client.post("/staff/people", data={**form, "csrf_token": "x", "login": "zed"})
        assert no_csrf.status_code == 403
        uow = app.state.services.uow()
        with uow.begin(readonly=True):
            pia = people.get_account_by_login(uow, "pia")
        removed = client.post(
            f"/staff/people/{pia.id}/remove",
            data={"csrf_token": form["csrf_token"]},
            follow_redirects=False,
        )
        assert removed.status_code == 303
        huge = client.post(
            "/staff/people/99999999999/remove", data={"csrf_token": form["csrf_token"]}
        )
        assert huge.status_code in (403, 422)
        with uow.begin(readonly=True):
            actions = [(r.action, r.actor, r.via) for r in staff_trail.staff_trail(uow, limit=2)]
    assert actions == [
        ("staff.removed", "olga", "console"),
        ("staff.added", "olga", "console"),
    ]


def test_an_idle_staff_session_ends(app: FastAPI, world: World, clock: ManualClock) -> None:
    services: Services = app.state.services
    idle = timedelta(minutes=services.settings.staff_idle_minutes)
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, world.operator)
        clock.advance(idle - timedelta(minutes=1))
        services.session_cache.clear()
        assert client.get("/api/v1/me").status_code == 200  # in use: its idle clock restarts
        clock.advance(idle - timedelta(minutes=1))
        services.session_cache.clear()
        assert client.get("/api/v1/me").status_code == 200
        clock.advance(idle + timedelta(seconds=1))
        services.session_cache.clear()
        assert client.get("/api/v1/me").status_code == 401
    with TestClient(app, raise_server_exceptions=False) as client:
        login(client, world.citizen)  # a citizen's session has no idle limit
        clock.advance(idle * 3)
        services.session_cache.clear()
        assert client.get("/api/v1/me").status_code == 200


def _attempt(client: TestClient, name: str, password: str) -> object:
    page = client.get("/login")
    return client.post(
        "/login",
        data={"login": name, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )


def test_failed_logins_are_limited_per_account_with_a_translated_retry_time(
    app: FastAPI, world: World
) -> None:
    app.state.ratelimiter.now = lambda: 1000.0  # frozen: the buckets do not refill meanwhile
    with TestClient(app, raise_server_exceptions=False) as client:
        client.cookies.set("isegoria_lang", "fr")
        statuses = [_attempt(client, world.citizen, "wrong").status_code for _ in range(6)]  # type: ignore[attr-defined]
        assert statuses == [401] * 5 + [429]
        refused = _attempt(client, world.citizen, PASSWORD)  # the right password waits too
        assert refused.status_code == 429  # type: ignore[attr-defined]
        assert int(refused.headers["retry-after"]) > 0  # type: ignore[attr-defined]
        assert "Trop de tentatives de connexion" in refused.text  # type: ignore[attr-defined]
        assert "minute" in refused.text  # type: ignore[attr-defined]
        # A login that does not exist is refused in the same words: nothing is revealed.
        ghosts = [_attempt(client, "nobody-here", "wrong").status_code for _ in range(6)]  # type: ignore[attr-defined]
        assert ghosts == [401] * 5 + [429]


def test_failed_logins_are_limited_per_address(app: FastAPI, world: World) -> None:
    services: Services = app.state.services
    limit = app.state.ratelimit_rules.login_address_failures.count
    app.state.ratelimiter.now = lambda: 1000.0  # no refill while fifty argon2 checks run
    with TestClient(app, raise_server_exceptions=False) as client:
        # Spraying one password over many logins from one address: each login fails once.
        for n in range(limit):
            assert _attempt(client, f"spray{n}", "wrong").status_code == 401  # type: ignore[attr-defined]
            app.state.ratelimiter.reset(
                "address:testclient", app.state.ratelimit_rules.login_address
            )
        sprayed = _attempt(client, world.citizen, PASSWORD)
        assert sprayed.status_code == 429  # type: ignore[attr-defined]
        assert "Too many sign-in attempts" in sprayed.text  # type: ignore[attr-defined]
    assert services.settings.ratelimit_enabled
