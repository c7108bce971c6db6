"""Issue 18 section 3: staff sign in with a second factor (TOTP, recovery codes)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from isegoria.clock import ManualClock
from isegoria.domain.identity import Role
from isegoria.http.deps import Services
from isegoria.identity import mfa
from isegoria.people import accounts as people
from isegoria.people import sessions
from isegoria.store.models import WebSession
from isegoria.store.models_mfa import RecoveryCode, SecondFactor
from tests.support.world import PASSWORD, STAFF_TOTP, World, csrf_from, seed

CHALLENGE = "/login/second-factor"


@pytest.fixture
def world(app: FastAPI) -> World:
    services: Services = app.state.services
    return seed(services.uow(), services.box)


def _password(client: TestClient, login: str) -> str:
    """Post the login form; returns where it sends the browser."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"login": login, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    return location


def _answer(client: TestClient, **fields: str) -> object:
    page = client.get(CHALLENGE)
    assert page.status_code == 200, page.text
    return client.post(
        CHALLENGE,
        data={**fields, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )


def _code(app: FastAPI, secret: str, *, offset: int = 0) -> str:
    now = app.state.services.clock.now()
    return mfa.current_code(secret, now.timestamp() + offset)


def _new_operator(app: FastAPI, login: str = "oscar") -> None:
    uow = app.state.services.uow()
    with uow.begin():
        people.add_account(
            uow, login=login, display_name="Oscar", role=Role.OPERATOR, password=PASSWORD
        )


def _enrol(app: FastAPI, client: TestClient, login: str) -> tuple[str, list[str]]:
    """Log in a staff member without a factor and enrol; their secret and recovery codes."""
    assert _password(client, login).startswith(CHALLENGE)
    page = client.get(CHALLENGE)
    assert "<svg" in page.text and "otpauth" not in page.text.split("<svg")[0]
    found = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text)
    assert found, page.text
    secret = found.group(1)
    done = client.post(
        CHALLENGE,
        data={"code": _code(app, secret), "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.text)
    assert len(codes) == mfa.RECOVERY_CODES
    return secret, codes


def _logout(client: TestClient) -> None:
    me = client.get("/api/v1/me").json()
    client.post("/logout", data={"csrf_token": me["csrf_token"]}, follow_redirects=False)


def test_staff_enrol_at_first_login_and_can_do_nothing_before(app: FastAPI, world: World) -> None:
    _new_operator(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert _password(client, "oscar").startswith(CHALLENGE)
        # The password alone opens nothing: not the API, not a staff route.
        assert client.get("/api/v1/me").status_code == 401
        assert client.get("/api/v1/platforms").status_code == 401
        wrong = _answer(client, code="000000")
        assert wrong.status_code == 401  # type: ignore[attr-defined]
        secret, codes = _enrol(app, client, "oscar")
        assert client.get("/api/v1/me").status_code == 200
        assert client.get("/api/v1/platforms").status_code == 200
    uow = app.state.services.uow()
    with uow.begin(readonly=True):
        factor = uow.session.scalar(select(SecondFactor).where(SecondFactor.confirmed.is_(True)))
        hashes = list(uow.session.scalars(select(RecoveryCode.code_hash)))
        rows = list(uow.session.scalars(select(SecondFactor)))
    assert factor is not None and secret.encode() not in factor.sealed_secret
    assert len(hashes) == mfa.RECOVERY_CODES  # only oscar's: the seeded staff have none
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert not any(code.replace("-", "") in h for code in codes for h in hashes)
    assert len(rows) == 3  # olga's, audrey's and oscar's: the pending one was confirmed


def test_a_code_logs_in_once_and_is_refused_when_replayed(
    app: FastAPI, world: World, clock: ManualClock
) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        assert _password(client, world.operator).startswith(CHALLENGE)
        code = _code(app, STAFF_TOTP[world.operator])
        ok = _answer(client, code=code)
        assert ok.status_code == 303  # type: ignore[attr-defined]
        assert client.get("/api/v1/me").json()["role"] == "operator"
        _logout(client)
        assert _password(client, world.operator).startswith(CHALLENGE)
        replayed = _answer(client, code=code)
        assert replayed.status_code == 401  # type: ignore[attr-defined]
        assert client.get("/api/v1/me").status_code == 401
        clock.advance(timedelta(seconds=mfa.STEP_SECONDS))
        fresh = _answer(client, code=_code(app, STAFF_TOTP[world.operator]))
        assert fresh.status_code == 303  # type: ignore[attr-defined]


def test_a_recovery_code_works_once(app: FastAPI, world: World) -> None:
    _new_operator(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        _secret, codes = _enrol(app, client, "oscar")
        _logout(client)
        _password(client, "oscar")
        used = _answer(client, recovery_code=codes[3].upper())
        assert used.status_code == 303  # type: ignore[attr-defined]
        _logout(client)
        _password(client, "oscar")
        again = _answer(client, recovery_code=codes[3])
        assert again.status_code == 401  # type: ignore[attr-defined]
        other = _answer(client, recovery_code=codes[4])
        assert other.status_code == 303  # type: ignore[attr-defined]
    uow = app.state.services.uow()
    with uow.begin(readonly=True):
        account = people.get_account_by_login(uow, "oscar")
        assert mfa.recovery_codes_left(uow, account.id) == mfa.RECOVERY_CODES - 2
        kinds = set(uow.session.scalars(select(WebSession.factor)))
    assert kinds == {"recovery"}


def test_staff_sessions_expire_sooner_than_citizens(
    app: FastAPI, world: World, clock: ManualClock
) -> None:
    settings = app.state.services.settings
    with (
        TestClient(app, raise_server_exceptions=False) as staff,
        TestClient(app, raise_server_exceptions=False) as citizen,
    ):
        _password(staff, world.operator)
        _answer(staff, code=_code(app, STAFF_TOTP[world.operator]))
        assert (
            _password(citizen, world.citizen) == "/me"
        )  # no second factor: straight in, to My isegoria
        clock.advance(timedelta(hours=settings.staff_session_hours, minutes=1))
        assert staff.get("/api/v1/me").status_code == 401
        assert citizen.get("/api/v1/me").status_code == 200
        assert settings.staff_session_hours < settings.session_hours


def test_resetting_the_factor_ends_the_staff_session(app: FastAPI, world: World) -> None:
    services: Services = app.state.services
    with TestClient(app, raise_server_exceptions=False) as client:
        _password(client, world.auditor)
        _answer(client, code=_code(app, STAFF_TOTP[world.auditor]))
        assert client.get("/api/v1/me").status_code == 200
        uow = services.uow()
        with uow.begin():
            removed = mfa.remove_second_factor(uow, people.get_account_by_login(uow, world.auditor))
        assert removed == 1
        services.session_cache.clear()  # another process's cache forgets within its TTL
        assert client.get("/api/v1/me").status_code == 401
        # At the next login the auditor must enrol again.
        _password(client, world.auditor)
        assert 'id="totp-secret"' in client.get(CHALLENGE).text


def test_wrong_codes_lock_the_login(app: FastAPI, world: World) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        _password(client, world.operator)
        statuses = [
            _answer(client, code="123456").status_code  # type: ignore[attr-defined]
            for _ in range(6)
        ]
        assert statuses[:5] == [401] * 5 and statuses[5] == 429
        # The right code is refused too while the login is locked, and so is the password.
        right = _answer(client, code=_code(app, STAFF_TOTP[world.operator]))
        assert right.status_code == 429  # type: ignore[attr-defined]
        page = client.get("/login")
        again = client.post(
            "/login",
            data={
                "login": world.operator,
                "password": PASSWORD,
                "csrf_token": csrf_from(page.text),
            },
        )
        assert again.status_code == 429


def test_a_citizen_may_opt_in_and_out(app: FastAPI, world: World, clock: ManualClock) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        assert _password(client, world.citizen) == "/me"  # a citizen lands on My isegoria
        page = client.get("/account/security")
        assert page.status_code == 200 and "<svg" in page.text
        found = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text)
        assert found
        secret = found.group(1)
        done = client.post(
            "/account/security/enrol",
            data={"code": _code(app, secret), "csrf_token": csrf_from(page.text)},
            follow_redirects=False,
        )
        assert done.status_code == 200 and "recovery-codes" in done.text
        _logout(client)
        assert _password(client, world.citizen).startswith(CHALLENGE)
        assert client.get("/api/v1/me").status_code == 401
        ok = _answer(client, code=_code(app, secret, offset=mfa.STEP_SECONDS))
        assert ok.status_code == 303  # type: ignore[attr-defined]
        page = client.get("/account/security")
        off = client.post(
            "/account/security/remove",
            data={
                "code": _code(app, secret, offset=-mfa.STEP_SECONDS),
                "csrf_token": csrf_from(page.text),
            },
            follow_redirects=False,
        )
        # The step before the one already used is a replay: refused, the factor stays.
        assert off.headers["location"].endswith("?error=code")
        assert client.get("/api/v1/me").status_code == 200
        clock.advance(timedelta(minutes=2))
        page = client.get("/account/security")
        off = client.post(
            "/account/security/remove",
            data={"code": _code(app, secret), "csrf_token": csrf_from(page.text)},
            follow_redirects=False,
        )
        assert off.headers["location"] == "/login"
        assert client.get("/api/v1/me").status_code == 401  # every session ended
        assert _password(client, world.citizen) == "/me"  # and the password alone works again


def test_staff_may_not_turn_their_factor_off(app: FastAPI, world: World) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        _password(client, world.operator)
        _answer(client, code=_code(app, STAFF_TOTP[world.operator]))
        page = client.get("/account/security")
        assert "/account/security/remove" not in page.text
        refused = client.post(
            "/account/security/remove",
            data={"code": "000000", "csrf_token": csrf_from(page.text)},
            follow_redirects=False,
        )
        assert refused.status_code == 403


def test_a_staff_session_verified_by_password_alone_is_no_ones(app: FastAPI, world: World) -> None:
    services: Services = app.state.services
    uow = services.uow()
    with uow.begin():
        olga = people.get_account_by_login(uow, world.operator)
        ana = people.get_account_by_login(uow, world.citizen)
        staff_token, _ = sessions.start_session(uow, olga, hours=1, factor="password")
        citizen_token, _ = sessions.start_session(uow, ana, hours=1, factor="password")
        pending_token, _ = sessions.start_session(uow, ana, hours=1, factor=None)
    with uow.begin(readonly=True):
        assert sessions.resolve_session(uow, staff_token) is None
        assert sessions.resolve_session(uow, pending_token) is None
        assert sessions.pending_session(uow, pending_token) is not None
        assert sessions.resolve_session(uow, citizen_token) is not None
