"""The log's pages: readable entries, a proof that holds, and a visible mismatch after tampering."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from isegoria.http.deps import Services
from isegoria.people import jurisdictions
from isegoria.store.models import LogEntry


def _fill(app: FastAPI, count: int) -> None:
    services: Services = app.state.services
    for n in range(count):
        uow = services.uow()
        with uow.begin():
            jurisdictions.add_jurisdiction(
                uow, code=f"J{n}", name=f"Place {n}", parent=None, languages=["en"]
            )


def test_log_page_lists_entries_and_the_signed_checkpoint(app: FastAPI, client: TestClient) -> None:
    _fill(app, 5)
    page = client.get("/log")
    assert page.status_code == 200
    assert "Latest signed checkpoint" in page.text
    assert "Jurisdiction created" in page.text  # the kind of entry, in words
    assert 'href="/api/v1/jurisdictions/J4"' in page.text
    services: Services = app.state.services
    assert services.signer.origin in page.text  # the origin line of the signed note


def test_entry_page_shows_a_proof_that_verifies(app: FastAPI, client: TestClient) -> None:
    _fill(app, 7)
    page = client.get("/log/3")
    assert page.status_code == 200
    assert "is included, unchanged, in the signed checkpoint of" in page.text
    assert page.text.count("<li><code>") == 3  # log2(7) rounded up steps for index 3


def test_a_tampered_entry_shows_that_it_no_longer_matches(app: FastAPI, client: TestClient) -> None:
    _fill(app, 4)
    services: Services = app.state.services
    uow = services.uow()
    with uow.begin():
        row = uow.session.get(LogEntry, 2)
        assert row is not None
        forged = row.payload.replace(b"Place 2", b"Place X")
        uow.session.execute(update(LogEntry).where(LogEntry.idx == 2).values(payload=forged))
    page = client.get("/log/2")
    assert "no longer matches the signed checkpoint" in page.text
    assert "Place X" in page.text


def test_unknown_entry_is_a_friendly_404(client: TestClient) -> None:
    response = client.get("/log/12345", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "no log entry 12345" in response.text
