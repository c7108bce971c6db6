"""The inbox, preferences and unsubscribe pages and API, as a citizen (or nobody) uses them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from isegoria.config import Settings
from isegoria.notifications import inbox, tokens
from isegoria.security import SecretBox
from isegoria.unit_of_work import UnitOfWork
from tests.support.world import World, account_id, csrf_from, login, seed


@pytest.fixture
def world(uow: UnitOfWork) -> World:
    built = seed(uow, SecretBox(b"k" * 32))
    ana = account_id(uow, built.citizen)
    with uow.begin():
        for case in (1, 2):
            inbox.notify(
                uow,
                ana,
                "jury_summons",
                f"summons:{case}",
                {"case": case, "deadline": uow.now() + timedelta(days=2)},
                "/jury",
            )
    return built


def test_the_inbox_lists_my_notifications_and_marks_them_read(
    client: TestClient, world: World, uow: UnitOfWork
) -> None:
    assert client.get("/notifications").status_code == 401
    login(client, world.citizen)
    page = client.get("/notifications", headers={"accept-language": "de"})
    assert page.status_code == 200
    assert "Sie sind zu einer Bürgerjury geladen (Fall 2)" in page.text
    assert "Ungelesen: 2" in page.text
    csrf = csrf_from(page.text)
    api = client.get("/api/v1/me/notifications").json()
    assert api["unread"] == 2
    newest = api["notifications"][0]["id"]
    read = client.post(
        "/notifications/read", data={"csrf_token": csrf, "notification": str(newest)}
    )
    assert read.status_code == 200
    assert client.get("/api/v1/me/notifications").json()["unread"] == 1
    for junk in ("²", "9" * 12, "-1"):
        bad = client.post("/notifications/read", data={"csrf_token": csrf, "notification": junk})
        assert bad.status_code == 422, junk
    forged = client.post("/notifications/read", data={"csrf_token": "x" * 30})
    assert forged.status_code == 403
    client.post("/notifications/read", data={"csrf_token": csrf})
    assert client.get("/api/v1/me/notifications").json()["unread"] == 0
    token = client.get("/api/v1/me").json()["csrf_token"]
    other = client.post("/api/v1/me/notifications/999999/read", headers={"x-csrf-token": token})
    assert other.status_code == 404


def test_preferences_keep_what_was_typed_on_a_mistake_and_save_the_rest(
    client: TestClient, world: World
) -> None:
    login(client, world.citizen)
    form = client.get("/notifications/preferences")
    csrf = csrf_from(form.text)
    bad = client.post(
        "/notifications/preferences",
        data={"csrf_token": csrf, "language": "es", "email": "not an address", "email_on": "on"},
    )
    assert bad.status_code == 422
    assert 'value="not an address"' in bad.text and 'aria-invalid="true"' in bad.text
    good = client.post(
        "/notifications/preferences",
        data={"csrf_token": csrf, "language": "es", "email": "ana@mail.example", "email_on": "on"},
    )
    assert good.status_code == 200 and 'role="status"' in good.text
    token = client.get("/api/v1/me").json()["csrf_token"]
    prefs = client.get("/api/v1/me/notification-preferences").json()
    assert prefs == {
        "language": "es",
        "email": "ana@mail.example",
        "email_on": True,
        "matrix_id": None,
        "matrix_on": False,
    }
    put = client.put(
        "/api/v1/me/notification-preferences",
        json={"language": "xx", "email_on": False},
        headers={"x-csrf-token": token},
    )
    assert put.status_code == 422 and "language" in put.text
    put = client.put(
        "/api/v1/me/notification-preferences",
        json={"language": "fr", "matrix_id": "@ana:matrix.example", "matrix_on": True},
        headers={"x-csrf-token": token},
    )
    assert put.status_code == 200 and put.json()["matrix_on"] is True


def test_an_unsubscribe_link_works_without_login_and_only_for_its_channel(
    client: TestClient, world: World, uow: UnitOfWork, settings: Settings
) -> None:
    ana = account_id(uow, world.citizen)
    with uow.begin():
        inbox.save_preferences(
            uow,
            ana,
            language="en",
            email="ana@mail.example",
            email_on=True,
            matrix_id="@ana:matrix.example",
            matrix_on=True,
            languages=("en",),
        )
    token = tokens.unsubscribe_token(settings.secret_key, ana, "email")
    confirm = client.get(f"/notifications/unsubscribe?token={token}")
    assert confirm.status_code == 200 and "Stop receiving notifications by e-mail?" in confirm.text
    with uow.begin(readonly=True):
        assert inbox.preferences(uow, ana).email_on  # a GET (a link preview) changes nothing
    done = client.post("/notifications/unsubscribe", data={"token": token})
    assert done.status_code == 200 and "no longer receive" in done.text
    one_click = client.post(f"/notifications/unsubscribe?token={token}")  # RFC 8058
    assert one_click.status_code == 200
    with uow.begin(readonly=True):
        prefs = inbox.preferences(uow, ana)
        assert (prefs.email_on, prefs.matrix_on) == (False, True)
    forged = client.get(f"/notifications/unsubscribe?token={ana}.matrix.AAAAAAAAAAAAAAAAAAAAAA")
    assert forged.status_code == 422 and "not valid" in forged.text
    assert client.post("/notifications/unsubscribe", data={"token": "junk"}).status_code == 422
