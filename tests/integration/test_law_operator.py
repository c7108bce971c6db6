"""Nobody, the operator included, can make law except through a proposal and a vote.

Two independent proofs:

* a tripwire on every database engine records each statement that writes the law's tables
  (rules, rule versions, constitutions) with the Python call stack; every such write must
  come from counting a vote (``close_voting``), and the tripwire is shown to fire;
* a walk of every route (API and pages) with every kind of caller, and of every command of
  the CLI, then checks that the law's tables did not change.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import typer
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from typer.testing import CliRunner

from isegoria.cli import app as cli_app
from isegoria.clockfile import CLOCK_FILE_ENV
from isegoria.http.deps import Services
from isegoria.store.db import Database
from isegoria.store.models import ConstitutionVersion, Rule, RuleVersionRow
from isegoria.unit_of_work import UnitOfWork
from tests.support.world import LawWorld, World, csrf_from, law_world, login, seed

LAW_TABLES = ("rules", "rule_versions", "constitution_versions")
_WRITE = re.compile(
    r"^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(" + "|".join(LAW_TABLES) + r")\b", re.I
)
# Commands that are not run in the walk, and why.
NOT_RUN = {
    ("serve",): "serves until stopped; it exposes the routes walked above",
    ("worker",): "loops until stopped; run here as `worker --once`",
    ("demo",): "builds a demo world; its law is made by simulated votes (tested below)",
    ("restore",): "replaces the whole database with a backup taken earlier",
}

RULE = {
    "title": "Operator rule",
    "text": "The operator says so.",
    "harm_category": "violence",
    "ground": "legal",
    "sanction_cap": "ban",
    "max_suspension_days": 365,
}
BODIES: list[dict[str, Any]] = [
    {"jurisdiction": "MX", "kind": "enact", "title": "t", "rationale": "r", "rule": RULE},
    {"title": "t", "rationale": "r", "rule": RULE},
    {"choice": "yes"},
    {"choice": "no", "change": True},
    {"body": "comment"},
    {"rule_id": "MX-1", "version": 1, "text": "edited", "effective_until": "2026-01-01T00:00:00Z"},
]


@pytest.fixture
def tripwire() -> Iterator[list[list[str]]]:
    """Every write to a law table, with the names of the functions on the stack."""
    writes: list[list[str]] = []

    def record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if _WRITE.match(statement):
            writes.append([frame.function for frame in inspect.stack()])

    event.listen(Engine, "before_cursor_execute", record)
    yield writes
    event.remove(Engine, "before_cursor_execute", record)


def _law_state(uow: UnitOfWork) -> list[object]:
    with uow.begin(readonly=True):
        session = uow.session
        return [
            [
                tuple(vars(r).get(k) for k in ("rule_id", "jurisdiction_code", "number"))
                for r in session.scalars(select(Rule).order_by(Rule.rule_id))
            ],
            [
                (r.rule_id, r.version, r.text, r.sanction_cap, r.effective_from, r.effective_until)
                for r in session.scalars(select(RuleVersionRow).order_by(RuleVersionRow.rule_id))
            ],
            [
                (c.jurisdiction_code, c.version, c.params)
                for c in session.scalars(select(ConstitutionVersion))
            ],
        ]


def _only_votes_made_law(writes: list[list[str]]) -> None:
    for stack in writes:
        assert "close_voting" in stack, f"a law table was written outside a tally: {stack[:8]}"


@pytest.fixture
def world(app: FastAPI) -> World:
    services: Services = app.state.services
    return seed(services.uow(), services.box)


@pytest.fixture
def law(app: FastAPI, world: World, tripwire: list[list[str]]) -> LawWorld:
    services: Services = app.state.services
    made = law_world(services.uow(), services.clock)  # type: ignore[arg-type]
    assert tripwire, "the tripwire must see the enactment made by the vote"
    _only_votes_made_law(tripwire)
    tripwire.clear()
    return made


def _urls(app: FastAPI, law: LawWorld, world: World) -> Iterator[tuple[str, str]]:
    values = {
        "code": "MX",
        "rule_id": "MX-1",
        "proposal_id": str(law.voting_id),
        "receipt": law.counted_receipt,
        "platform_id": str(world.platform_id),
    }
    for route_path, methods in _routes(app):
        if route_path == "/logout":
            continue  # logging out would end the walk's session
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "1"), route_path)
        for method in sorted(methods):
            yield method, path


def _routes(app: FastAPI) -> Iterator[tuple[str, set[str]]]:
    """Every HTTP route of the app, API and pages (included routers flattened)."""
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:  # FastAPI >= 0.165 keeps included routers as one entry
            for context in contexts():
                yield context.path, set(context.methods or ())
        elif isinstance(route, APIRoute):
            yield route.path, set(route.methods or ())


@pytest.mark.parametrize("caller", ["operator", "auditor", "citizen", "anonymous", "platform"])
def test_no_route_writes_the_law(
    app: FastAPI, world: World, law: LawWorld, tripwire: list[list[str]], caller: str
) -> None:
    services: Services = app.state.services
    before = _law_state(services.uow())
    walked = 0
    with TestClient(app, raise_server_exceptions=False) as client:
        headers: dict[str, str] = {}
        if caller in ("operator", "auditor"):
            headers["X-CSRF-Token"] = login(client, getattr(world, caller))
        elif caller == "citizen":
            headers["X-CSRF-Token"] = login(client, "ana")
        elif caller == "platform":
            headers["Authorization"] = f"Bearer {world.key_all}"
        form_token = csrf_from(client.get("/login").text)
        for method, url in _urls(app, law, world):
            if method in ("GET", "HEAD"):
                client.request(method, url, headers=headers)
            else:
                for body in BODIES:
                    client.request(method, url, json=body, headers=headers)
                    form = {k: str(v) for k, v in body.items() if not isinstance(v, dict)}
                    client.request(
                        method, url, data={**form, "csrf_token": form_token}, headers=headers
                    )
            walked += 1
    assert walked > 30
    assert ("POST", "/api/v1/proposals") in {(m, p) for m, p in _urls(app, law, world)}
    _only_votes_made_law(tripwire)
    assert _law_state(services.uow()) == before


def _leaves(
    command: click.Command, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    commands = getattr(command, "commands", None)
    if commands is None:
        yield prefix, command
        return
    for name, sub in commands.items():
        yield from _leaves(sub, (*prefix, name))


def test_the_rules_command_only_reads() -> None:
    root = typer.main.get_command(cli_app)
    rules = dict(_leaves(root))
    assert sorted(p[1] for p in rules if p[0] == "rules") == ["export", "list", "show"]


def test_no_command_writes_the_law(
    app: FastAPI,
    law: LawWorld,
    tripwire: list[list[str]],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services: Services = app.state.services
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ISEGORIA_DATABASE_URL", database_url)
    # The CLI reads the test's time: no vote is due, so the worker has nothing to count.
    clock_file = tmp_path / "clock"
    clock_file.write_text(services.clock.now().isoformat())
    monkeypatch.setenv(CLOCK_FILE_ENV, str(clock_file))
    before = _law_state(services.uow())
    runner = CliRunner()
    ran = []
    for path, command in _leaves(typer.main.get_command(cli_app)):
        help_run = runner.invoke(cli_app, [*path, "--help"])
        assert help_run.exit_code == 0, (path, help_run.output)
        if path in NOT_RUN:
            continue
        if any(p.required for p in command.params):
            continue  # needs specific input: its --help was checked above
        runner.invoke(cli_app, list(path), input="\n")
        ran.append(path)
    law_commands = [
        ["worker", "--once"],
        ["rules", "list", "--jurisdiction", "MX"],
        ["rules", "show", "MX-1"],
        ["rules", "export", "--jurisdiction", "FR", "--format", "markdown"],
        ["jurisdictions", "add", "XX", "--name", "Elsewhere"],
    ]
    for args in law_commands:
        result = runner.invoke(cli_app, args)
        assert result.exit_code == 0, (args, result.output)
    assert ("jurisdictions", "list") in ran
    _only_votes_made_law(tripwire)
    assert _law_state(services.uow()) == before


def test_the_demo_makes_its_law_only_by_votes(
    tmp_path: Path, tripwire: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(tmp_path / "demo"))
    demo = ["demo", "--no-serve", "--no-cases", "--citizens", "200"]  # the law part only
    result = CliRunner().invoke(cli_app, demo)
    assert result.exit_code == 0, result.output
    assert tripwire, "the demo enacts rules, so the tripwire must fire"
    _only_votes_made_law(tripwire)
    database = Database(f"sqlite:///{tmp_path / 'demo' / 'isegoria.db'}")
    try:
        with database.engine.connect() as connection:
            rules = connection.exec_driver_sql("SELECT count(*) FROM rule_versions").scalar()
    finally:
        database.dispose()
    assert rules and rules >= 10
