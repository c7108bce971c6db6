"""A database that cannot take more is answered 503 with Retry-After, not 500."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import Message, Receive, Scope, Send

from isegoria import unit_of_work as uow_module
from isegoria.cases import views as cases_views
from isegoria.http.overload import InFlightCap
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork


def locked(*_args: object, **_kwargs: object) -> None:
    """What SQLite raises once a writer has waited out the busy timeout."""
    raise OperationalError("SELECT ...", {}, Exception("database is locked"))


def pool_exhausted(*_args: object, **_kwargs: object) -> None:
    """What SQLAlchemy raises when no pooled connection frees up in time."""
    raise PoolTimeout("QueuePool limit of size 10 overflow 10 reached")


@pytest.mark.parametrize("failure", [locked, pool_exhausted])
def test_a_busy_database_is_answered_503_with_retry_after(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, failure: object
) -> None:
    monkeypatch.setattr(cases_views, "list_cases", failure)
    response = client.get("/api/v1/cases")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/overloaded")
    assert "nothing was changed" in problem["detail"]
    assert "locked" not in problem["detail"]  # no driver internals for the client


def test_the_in_flight_cap_refuses_past_its_limit_and_spares_probes() -> None:
    release = asyncio.Event()
    started = 0

    async def slow_app(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal started
        started += 1
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    cap = InFlightCap(slow_app, limit=2)

    async def call(path: str) -> int:
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            sent.append(message)

        await cap({"type": "http", "path": path, "method": "GET"}, receive, send)
        return int(sent[0]["status"])

    async def scenario() -> list[int]:
        first = [asyncio.create_task(call("/api/v1/cases")) for _ in range(2)]
        await asyncio.sleep(0)
        refused = await call("/api/v1/cases")  # a third while two are in flight
        probe = asyncio.create_task(call("/healthz"))  # probes are never refused
        await asyncio.sleep(0)
        release.set()
        answers = [refused, *(await asyncio.gather(*first, probe))]
        after = await call("/api/v1/cases")  # the slots are free again
        return [*answers, after]

    # A thread of its own: earlier tests (Playwright's sync API) may leave this thread's
    # event loop running, and asyncio.run refuses to start inside a running loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        answers = pool.submit(asyncio.run, scenario()).result()
    assert answers == [503, 200, 200, 200, 200]
    assert cap.in_flight == 0 and cap.refused == 1
    assert started == 4


def test_sqlite_writers_of_one_process_take_turns_and_give_up_with_a_timeout(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database.is_sqlite:  # PostgreSQL writers need no turn: rows are locked, not files
        assert database.write_turn is None
        return
    assert database.write_turn is not None
    monkeypatch.setattr(uow_module, "WRITE_TURN_TIMEOUT_SECONDS", 0.05)
    holder = UnitOfWork(database)
    waiter = UnitOfWork(database)
    outcome: list[BaseException] = []

    def wait_for_turn() -> None:
        try:
            with waiter.begin():
                pass
        except BaseException as error:  # noqa: BLE001 - checked by the test
            outcome.append(error)

    with holder.begin():
        thread = threading.Thread(target=wait_for_turn)
        thread.start()
        thread.join()
        with waiter.begin(readonly=True):  # readers never wait for the turn
            pass
    assert len(outcome) == 1 and isinstance(outcome[0], PoolTimeout)
    with waiter.begin():  # the turn is free again once the holder committed
        pass
