"""Issue 18 §2: the auditors' console (log proofs, jury re-draws, audits) and capacity."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from isegoria.cases import intake as cases_intake
from isegoria.clock import ManualClock
from isegoria.http.deps import Services
from isegoria.identity import mfa
from isegoria.log import checks
from isegoria.people import accounts as people
from isegoria.store.models import LogEntry
from isegoria.store.models_cases import Jury
from isegoria.store.models_mfa import SecondFactor
from tests.support.cases_world import CasesWorld, build, report_request, run_jobs
from tests.support.world import STAFF_TOTP, csrf_from, login


@pytest.fixture
def world(app: FastAPI, clock: ManualClock) -> CasesWorld:
    """The cases world, built with the app's own log key so its checkpoints verify here."""
    services: Services = app.state.services
    uow = services.uow()
    built = build(uow, clock, services.signer)
    # build() seals the staff's TOTP secrets with a box of its own: seal them with the app's.
    with uow.begin():
        for name in (built.base.operator, built.base.auditor):
            account = people.get_account_by_login(uow, name)
            uow.session.execute(delete(SecondFactor).where(SecondFactor.account_id == account.id))
            mfa.enrol_known_secret(uow, services.box, account, STAFF_TOTP[name])
    return built


def _file_cases(app: FastAPI, clock: ManualClock, world: CasesWorld, count: int) -> list[int]:
    """File ``count`` reports in MX and let the jobs draw their juries; the case numbers."""
    services: Services = app.state.services
    uow = services.uow()
    ids = []
    for _ in range(count):
        with uow.begin():
            case, _report = cases_intake.file_report(
                uow, platform_id=world.base.platform_id, request=report_request(uow.now())
            )
            ids.append(case.id)
    run_jobs(uow, clock, services.signer)
    return ids


def _log_size(app: FastAPI) -> int:
    services: Services = app.state.services
    uow = services.uow()
    with uow.begin(readonly=True):
        return len(list(uow.session.scalars(select(LogEntry.idx))))


# -- The log -------------------------------------------------------------------------------


def test_the_overview_is_public_and_says_what_needs_a_login(
    client: TestClient, world: CasesWorld
) -> None:
    page = client.get("/audit")
    assert page.status_code == 200
    assert "Latest signed checkpoint" in page.text
    assert "need an auditor's or an operator's login" in page.text
    assert "/audit/log/check" not in page.text  # no verification button for visitors
    assert 'href="/audit"' not in page.text.split("<main")[0]  # no header link for visitors


def test_an_auditor_verifies_the_log_and_the_run_is_recorded(
    app: FastAPI, client: TestClient, world: CasesWorld
) -> None:
    # A visitor and a citizen may not start the scan of the whole log.
    page = client.get("/login")  # a visitor's CSRF token: the login form's
    refused = client.post("/audit/log/check", data={"csrf_token": csrf_from(page.text)})
    assert refused.status_code == 401
    login(client, world.base.citizen)
    page = client.get("/audit")  # the logout form's token is the session's
    citizen = client.post("/audit/log/check", data={"csrf_token": csrf_from(page.text)})
    assert citizen.status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})

    login(client, world.base.auditor)
    page = client.get("/audit")
    assert 'href="/audit"' in page.text.split("<main")[0]  # the header's Audit link
    assert "Verify the whole log now" in page.text
    done = client.post(
        "/audit/log/check", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert done.status_code == 303
    page = client.get("/audit")
    assert "audrey" in page.text and ">verified<" in page.text
    services: Services = app.state.services
    [run] = checks.recent_checks(services.settings.data_dir)
    assert run.ok and run.by == "audrey" and run.size == _log_size(app)


def test_a_tampered_log_is_recorded_as_failed(
    app: FastAPI, client: TestClient, world: CasesWorld
) -> None:
    services: Services = app.state.services
    uow = services.uow()
    with uow.begin():
        row = uow.session.get(LogEntry, 2)
        assert row is not None
        forged = row.payload.replace(b"France", b"Frxnce", 1)
        assert forged != row.payload
        uow.session.execute(update(LogEntry).where(LogEntry.idx == 2).values(payload=forged))
    login(client, world.base.auditor)
    page = client.get("/audit")
    client.post("/audit/log/check", data={"csrf_token": csrf_from(page.text)})
    [run] = checks.recent_checks(services.settings.data_dir)
    assert not run.ok
    assert ">failed<" in client.get("/audit").text


def test_an_inclusion_proof_verifies_and_a_forged_root_does_not(
    client: TestClient, world: CasesWorld
) -> None:
    page = client.get("/audit/log", params={"index": "3"})
    assert page.status_code == 200
    assert "Verified: entry 3 is in the tree of" in page.text
    assert "signature verified" in page.text
    root = re.search(r"Expected root</dt><dd class=\"hex\">([0-9a-f]{64})", page.text)
    assert root is not None
    held = client.get("/audit/log", params={"index": "3", "root": root.group(1)})
    assert "Verified: entry 3" in held.text and "the root you gave" in held.text
    forged = root.group(1)[:-1] + ("0" if root.group(1)[-1] != "0" else "1")
    refused = client.get("/audit/log", params={"index": "3", "root": forged})
    assert refused.status_code == 200
    assert "Does not verify: entry 3" in refused.text


def test_a_consistency_proof_verifies_and_a_forged_root_does_not(
    app: FastAPI, client: TestClient, world: CasesWorld
) -> None:
    page = client.get("/audit/log", params={"first": "3"})
    assert page.status_code == 200
    assert "Verified: the tree of 3 entries is a prefix" in page.text
    forged = "ab" * 32
    refused = client.get("/audit/log", params={"first": "3", "first_root": forged})
    assert "Does not verify: the tree of 3 entries" in refused.text
    size = _log_size(app)
    full = client.get("/audit/log", params={"first": "3", "second": str(size)})
    assert f"is a prefix of the tree of {size} entries" in full.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"index": "abc"}, "must be a whole number"),
        ({"index": "-1"}, "must be a whole number"),
        ({"index": "99999"}, "is not in a tree of"),
        ({"index": "1", "size": "99999"}, "does not exist yet"),
        ({"index": "1", "root": "xyz"}, "64 hexadecimal digits"),
        ({"first": "9", "second": "4"}, "must not be larger than the second"),
        ({"first": "99999999999999999999999"}, "must be a whole number"),
    ],
)
def test_bad_proof_input_gets_a_clear_message(
    client: TestClient, world: CasesWorld, params: dict[str, str], message: str
) -> None:
    page = client.get("/audit/log", params=params)
    assert page.status_code == 400
    assert message in page.text
    assert "Verified" not in page.text


# -- Juries --------------------------------------------------------------------------------


def test_a_jury_draw_is_re_run_and_matches(
    app: FastAPI, clock: ManualClock, client: TestClient, world: CasesWorld
) -> None:
    [case_id] = _file_cases(app, clock, world, 1)
    page = client.get("/audit/juries", params={"case": str(case_id)})
    assert page.status_code == 200, page.text
    assert "The draw matches: running it again gives the 5 jurors the log names." in page.text
    assert "Quotas: seats per stratum value" in page.text
    assert "Volunteers who could not be seated" in page.text
    assert "seats hold the account behind their pseudonym" in page.text
    # Strata in words, not as the constitution's keys.
    assert "age band" in page.text and "leaning" in page.text
    assert "political_leaning" not in page.text and "age_band" not in page.text


def test_a_tampered_pool_makes_the_draw_fail(
    app: FastAPI, clock: ManualClock, client: TestClient, world: CasesWorld
) -> None:
    [case_id] = _file_cases(app, clock, world, 1)
    services: Services = app.state.services
    uow = services.uow()
    with uow.begin():
        jury = uow.session.scalars(select(Jury).where(Jury.case_id == case_id)).one()
        pool = json.loads(jury.pool)
        pool["profiles"][0]["members"].reverse()
        pool["profiles"][0]["members"].append("someone-else")
        jury.pool = json.dumps(pool)
    page = client.get("/audit/juries", params={"case": str(case_id)})
    assert page.status_code == 200
    assert "The draw does not match its public inputs." in page.text
    assert "the pool differs from the one the log committed to" in page.text


@pytest.mark.parametrize("case", ["999", "abc", "0"])
def test_an_unknown_case_is_a_clear_404(client: TestClient, world: CasesWorld, case: str) -> None:
    page = client.get("/audit/juries", params={"case": case})
    assert page.status_code == 404
    assert "no case 999" in page.text or "is not a case number" in page.text


# -- Audits --------------------------------------------------------------------------------


@pytest.mark.parametrize("audit", ["consistency", "disparity", "report"])
def test_each_audit_is_a_page_with_charts_and_two_files(
    app: FastAPI, clock: ManualClock, client: TestClient, world: CasesWorld, audit: str
) -> None:
    _file_cases(app, clock, world, 1)
    page = client.get(f"/audit/{audit}")
    assert page.status_code == 200
    assert "<svg" in page.text
    assert f'href="/audit/{audit}.csv?"' in page.text
    as_json = client.get(f"/audit/{audit}.json")
    assert as_json.status_code == 200
    assert as_json.headers["content-type"].startswith("application/json")
    data = as_json.json()
    assert data["scope"]["jurisdiction"] is None
    as_csv = client.get(f"/audit/{audit}.csv", params={"jurisdiction": "MX"})
    assert as_csv.status_code == 200
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows and all(len(row) == len(rows[0]) for row in rows)
    if audit == "consistency":
        assert rows[0][:2] == ["aspect", "rule"]
    elif audit == "disparity":
        assert rows[0][:3] == ["dimension", "outcome", "group"]
        assert {t["outcome"] for t in data["disparity"]} >= {"violation_found"}
    else:
        assert rows[0] == ["section", "figure", "value"]


def test_a_bad_period_is_a_clear_422(client: TestClient, world: CasesWorld) -> None:
    for path in ("/audit/disparity", "/audit/disparity.csv"):
        page = client.get(path, params={"from": "yesterday"}, headers={"accept": "text/html"})
        assert page.status_code == 422
        assert "from" in page.text


# -- Capacity ------------------------------------------------------------------------------


def test_capacity_is_for_staff_only(client: TestClient, world: CasesWorld) -> None:
    assert client.get("/staff/capacity", headers={"accept": "text/html"}).status_code == 401
    login(client, world.base.citizen)
    assert client.get("/staff/capacity", headers={"accept": "text/html"}).status_code == 403


def test_capacity_warns_before_the_pool_runs_dry(
    app: FastAPI, clock: ManualClock, client: TestClient, world: CasesWorld
) -> None:
    login(client, world.base.operator)
    _file_cases(app, clock, world, 1)
    page = client.get("/staff/capacity")
    assert page.status_code == 200
    row = re.search(r"Mexico \(MX\)</th>\s*<td class=\"pool-(\w+)\"", page.text)
    assert row is not None and row.group(1) == "ample"
    assert "Pools about to run dry" not in page.text
    # Two more cases a month in a pool of 24 volunteers, each serving at most 12 a year.
    _file_cases(app, clock, world, 2)
    page = client.get("/staff/capacity")
    row = re.search(r"Mexico \(MX\)</th>\s*<td class=\"pool-(\w+)\"", page.text)
    assert row is not None and row.group(1) == "dry"
    assert "Pools about to run dry" in page.text
    assert "Mexico (MX) needs" in page.text
