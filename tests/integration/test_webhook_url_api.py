"""PUT /api/v1/platform/webhook refuses a URL naming an address only this server can reach."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from isegoria.config import Settings
from isegoria.people import platforms
from isegoria.security import SecretBox
from isegoria.unit_of_work import UnitOfWork
from tests.support.world import World, seed


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """An instance with the default: private webhook targets refused."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url)  # type: ignore[arg-type]


@pytest.fixture
def world(uow: UnitOfWork) -> World:
    return seed(uow, SecretBox(b"k" * 32))


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8000/admin",
        "https://[::ffff:192.168.0.1]/hook",
        "http://10.0.0.5/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0:22/",  # noqa: S104 - an address under test, not a bind
    ],
)
def test_a_private_webhook_url_is_refused_and_changes_nothing(
    client: TestClient, world: World, uow: UnitOfWork, url: str
) -> None:
    headers = {"Authorization": f"Bearer {world.key_all}"}
    response = client.put("/api/v1/platform/webhook", json={"url": url}, headers=headers)
    assert response.status_code == 422, response.text
    assert "must reach a public address" in response.json()["detail"]
    with uow.begin(readonly=True):
        assert platforms.get_platform(uow, world.platform_id).webhook_url is None


def test_a_public_webhook_url_or_a_name_is_accepted(
    client: TestClient, world: World, uow: UnitOfWork
) -> None:
    headers = {"Authorization": f"Bearer {world.key_all}"}
    for url in ("https://93.184.215.14/hook", "https://hooks.forum.example/isegoria"):
        response = client.put("/api/v1/platform/webhook", json={"url": url}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["webhook_url"] == url
