"""Issue 18 §1: the operator console has no path to an outcome.

The test finds the console by walking it (every page linked from ``/staff``, every form on
them) and the app's routes under ``/staff``, so a form or route added later is walked too.
It submits every form as the page filled it, then again with each field set to values an
attacker would try, and proves that no verdict, ballot, jury, rule or law changed: the
tables that hold them are the same, row for row, before and after.
"""

from __future__ import annotations

import re
from collections import deque

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import text

from isegoria.clock import ManualClock
from isegoria.log.signing import LogSigner
from isegoria.unit_of_work import UnitOfWork
from tests.support.staff_console import ConsoleWorld, Form, build_console_world, forms_in
from tests.support.world import PASSWORD, login

#: Where outcomes live: verdicts and sanctions (cases), juries and seats, sealed ballots and
#: their tallies, appeals, the law (rules, their versions, constitutions, proposals and their
#: ballots and electors) and the notes a jury or the raters decide.
OUTCOME_TABLES = (
    "cases",
    "juries",
    "jurors",
    "case_ballots",
    "juror_stratum_tallies",
    "appeals",
    "author_statements",
    "rules",
    "rule_versions",
    "constitution_versions",
    "proposals",
    "ballots",
    "electors",
    "notes",
    "note_ratings",
    "note_status_history",
)
SITE_WIDE = ("/logout",)  # the header's form on every page: not the console's
LINK = re.compile(r'href="(/staff[^"?#]*)')


@pytest.fixture
def world(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner, client: TestClient
) -> ConsoleWorld:
    return build_console_world(uow, clock, signer, client.app.state.services.box)  # type: ignore[attr-defined]


def _snapshot(uow: UnitOfWork) -> dict[str, list[tuple[object, ...]]]:
    with uow.begin(readonly=True):
        return {
            table: sorted(
                (tuple(row) for row in uow.session.execute(text(f"SELECT * FROM {table}"))),  # noqa: S608 - our own table names
                key=repr,
            )
            for table in OUTCOME_TABLES
        }


def _walk(client: TestClient) -> tuple[set[str], list[Form]]:
    """Every console page reachable from /staff, and every form on them."""
    seen: set[str] = set()
    forms: list[Form] = []
    todo = deque(["/staff"])
    while todo:
        path = todo.popleft()
        if path in seen:
            continue
        seen.add(path)
        page = client.get(path)
        assert page.status_code == 200, (path, page.status_code)
        found = forms_in(page.text)
        assert found.scripts == 0, f"{path} runs a script: it could call the API unseen"
        forms += [f for f in found.forms if f.method == "post" and f.action not in SITE_WIDE]
        todo.extend(LINK.findall(page.text))
    return seen, forms


def _console_routes(client: TestClient) -> list[tuple[str, re.Pattern[str]]]:
    """(method, path pattern) of every route the app serves under /staff but GET."""
    routes = []
    # Included routers stay nested: walk them as the access check does (http/access.py).
    for context in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        route = context.original_route
        path = context.path_format or getattr(route, "path", "")
        if isinstance(route, APIRoute) and path.startswith("/staff"):
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", r"[^/]+", path) + "$")
            routes += [(m, pattern) for m in sorted(route.methods) if m not in ("GET", "HEAD")]
    return routes


def _hostile(form: Form, world: ConsoleWorld) -> list[dict[str, list[str]]]:
    """The form again with each field set to what someone aiming at an outcome might send."""
    aims = [str(world.decided_case), str(world.forming_case), "cases", "ballots", "jury", ""]
    variants = []
    for name in form.fields:
        if name == "csrf_token":
            continue
        for aim in aims:
            variants.append({**form.fields, name: [aim]})
    return variants


def test_no_console_form_or_route_changes_a_verdict_ballot_jury_or_rule(
    client: TestClient, world: ConsoleWorld, uow: UnitOfWork
) -> None:
    login(client, world.cases.base.operator)
    pages, forms = _walk(client)
    assert {"/staff", "/staff/platforms", "/staff/connectors"} <= pages
    routes = _console_routes(client)
    assert routes, "the console has no action at all: the walk found nothing to prove"
    for method, pattern in routes:
        assert any(method == "POST" and pattern.match(f.action) for f in forms), (
            f"{method} {pattern.pattern} is served but no console page offers it: "
            "a hidden action cannot be walked"
        )
    before = _snapshot(uow)
    assert before["cases"] and before["case_ballots"] and before["rules"] and before["jurors"]
    answered: dict[str, int] = {}
    for form in forms:
        for fields in [form.fields, *_hostile(form, world)]:
            data = dict(fields)
            if "current_password" in data:
                data["current_password"] = [PASSWORD]
            answer = client.post(form.action, data=data, follow_redirects=False)
            assert answer.status_code < 500, (form.action, data, answer.text[:300])
            answered[form.action] = answer.status_code
        # What the page did (a retried letter, a rotated key) may open new forms: walk again.
    _, later_forms = _walk(client)
    for form in later_forms:
        answer = client.post(
            form.action,
            data={**form.fields, "current_password": [PASSWORD]},
            follow_redirects=False,
        )
        assert answer.status_code < 500
    assert _snapshot(uow) == before
    # The walk did act: the console's actions changed what they own, and only that.
    assert any(a.endswith("/retry") for a in answered)
    assert any(a.endswith("/keys/rotate") for a in answered)
