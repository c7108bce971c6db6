"""The whole path in a browser, against a real server: report, jury, verdict, appeal, restore."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from isegoria.cases import ballots as cases_ballots
from isegoria.cases import jury as cases_jury
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.log.signing import load_signer
from isegoria.people import accounts as people
from isegoria.security import hash_password
from isegoria.store import migrate
from isegoria.store.db import Database
from isegoria.store.models_cases import Juror, Jury
from isegoria.unit_of_work import UnitOfWork
from tests.conftest import START
from tests.support.cases_world import CasesWorld, build
from tests.support.server import LiveServer, live_server
from tests.support.world import PASSWORD

pytestmark = pytest.mark.browser


class Instance:
    """A served world plus direct database access for the jurors the test does not drive."""

    def __init__(self, data_dir: Path) -> None:
        self.settings = Settings(data_dir=data_dir)
        self.database = Database(self.settings.effective_database_url)
        migrate.upgrade(self.database)
        self.clock = ManualClock(START)
        self.clock_file = data_dir / "clock.txt"
        signer = load_signer(self.settings.origin, self.settings.signing_key_path)
        self.uow = UnitOfWork(self.database, self.clock, signer, self.settings.secret_key)
        self.world: CasesWorld = build(self.uow, self.clock, signer)
        self.clock_file.write_text(self.clock.now().isoformat())

    def jurors(self, case_id: int, stage: str) -> list[Juror]:
        with self.uow.begin(readonly=True):
            jury = self.uow.session.scalars(
                select(Jury).where(Jury.case_id == case_id, Jury.stage == stage)
            ).first()
            if jury is None:
                return []
            return list(self.uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id)))

    def wait_for_jury(self, case_id: int, stage: str) -> list[Juror]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the server's worker draws within a second or two
            if found := self.jurors(case_id, stage):
                return found
            time.sleep(0.3)
        raise AssertionError(f"no {stage} jury was drawn for case {case_id}")

    def login_of(self, account_id: int) -> str:
        with self.uow.begin():
            account = people.get_account(self.uow, account_id)
            account.password_hash = hash_password(PASSWORD)
            return account.login

    def serve_and_vote(self, case_id: int, jurors: list[Juror], *, violation: bool) -> None:
        for juror in jurors:
            with self.uow.begin():
                cases_jury.reply(
                    self.uow, account_id=juror.account_id, case_id=case_id, accept=True
                )
            with self.uow.begin():
                cases_ballots.cast_ballot(
                    self.uow,
                    account_id=juror.account_id,
                    case_id=case_id,
                    violation=violation,
                    sanction="remove" if violation else None,
                    suspension_days=None,
                    reason="A threat." if violation else "A quotation, not a threat.",
                )


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Instance, LiveServer]]:
    data_dir = tmp_path_factory.mktemp("cases-e2e")
    made = Instance(data_dir)
    env = {"ISEGORIA_CLOCK_FILE": str(made.clock_file)}
    with live_server(data_dir, "serve", env=env) as server:
        yield made, server
    made.database.dispose()


def _login(page: Page, base: str, login: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_report_jury_verdict_appeal_restore(
    browser: Browser, instance: tuple[Instance, LiveServer], artifacts: Path
) -> None:
    made, server = instance
    key = {"Authorization": f"Bearer {made.world.base.key_all}"}
    posted = made.clock.now().replace(microsecond=0).isoformat()
    report = {
        "content": {
            "content_id": "post-e2e",
            "url": "https://forum.example/post-e2e",
            "text": "Sé dónde vives.",
            "language": "es",
            "author": "@troll",
            "posted_at": posted,
            "jurisdictions": ["MX"],
        },
        "rule": "MX-1",
        "reason": "A threat.",
        "source": "user",
        "reporter": "@victim",
    }
    filed = httpx.post(f"{server.url}/api/v1/reports", json=report, headers=key)
    assert filed.status_code == 201, filed.text
    case_id = filed.json()["case_id"]

    first = made.wait_for_jury(case_id, "first")
    juror_login = made.login_of(first[0].account_id)
    page = browser.new_page()
    _login(page, server.url, juror_login)
    page.goto(f"{server.url}/jury")
    page.get_by_role("link", name=f"Case {case_id}").click()
    page.get_by_role("button", name="Accept and serve").click()
    expect(page.get_by_text("Sé dónde vives.")).to_be_visible()
    page.get_by_label("Yes, it breaks the rule").check()
    page.get_by_label("If yes, the proportionate sanction").select_option("remove")
    page.get_by_label("Your reason").fill("A direct threat to a person.")
    page.get_by_role("button", name="Cast my sealed ballot").click()
    expect(page.get_by_role("heading", name="Your sealed ballot is cast")).to_be_visible()
    expect(page.locator("#receipt")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    page.get_by_role("link", name="Back to the case").click()
    expect(page.get_by_text("Status: open")).to_be_visible()
    made.serve_and_vote(case_id, first[1:], violation=True)
    page.reload()
    expect(page.get_by_role("heading", name="Statement of reasons")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("removal")  # the sanction in words
    page.close()

    # The author links their account with a code from the platform, then appeals.
    code = httpx.post(
        f"{server.url}/api/v1/platform/link-codes", json={"pseudonym": "@troll"}, headers=key
    ).json()["code"]
    on_first = {j.account_id for j in first}
    author = next(v for v in made.world.volunteers if v not in on_first)
    author_page = browser.new_page()
    _login(author_page, server.url, made.login_of(author))
    author_page.goto(f"{server.url}/me/cases")
    author_page.get_by_label("Code").fill(code)
    author_page.get_by_role("button", name="Link").click()
    author_page.get_by_role("link", name=f"Case {case_id}").click()
    author_page.get_by_label("Why the decision is wrong").fill("I was quoting a film.")
    author_page.get_by_role("button", name="Appeal").click()
    expect(author_page.get_by_text("(on appeal)")).to_be_visible()

    appeal = made.wait_for_jury(case_id, "appeal")
    assert len(appeal) == 11 and author not in {j.account_id for j in appeal}
    made.serve_and_vote(case_id, appeal, violation=False)
    author_page.reload()
    expect(
        author_page.get_by_role("heading", name="Statement of reasons (appeal, final)")
    ).to_be_visible()
    author_page.screenshot(path=str(artifacts / "case-after-appeal.png"), full_page=True)
    author_page.close()

    decisions = httpx.get(f"{server.url}/api/v1/platform/decisions", headers=key).json()
    kinds = [d["kind"] for d in decisions]
    assert kinds == ["sanction_imposed", "sanction_lifted"]
    assert decisions[1]["body"]["restores"] == decisions[0]["id"]
