"""Crash safety: SIGKILL a real server at random moments and check nothing acknowledged is lost.

Every state change appends its log entry in the same database transaction (DESIGN.md, "the
audit record shares the transaction"), so a kill at any instant must leave either the whole
change with its entries or none of it; checkpoints already published must stay prefixes of
the log (RFC 9162 §2.1.4); and deadlines are persisted jobs that fire after a restart.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from isegoria.cases import jury as cases_jury
from tests.support import crash
from tests.support.crash_world import SETTLED, WAIT_SECONDS, CrashWorld, check_database

SEED = 9  # the kill schedule is reproducible from this seed
KILLS = 22  # issue 9 asks for at least 20
VERDICT_KILLS = (3, 6, 9, 12, 15)  # rounds whose kill lands while the last ballot is in flight
DEADLINE_ROUND = KILLS - 3  # the round before which the clock jumps past a ballot deadline
ALIVE_SECONDS = (0.1, 0.8)  # how long the server runs before an ordinary kill
VERDICT_KILL_DELAY = (0.0, 0.15)  # a verdict transaction takes tens of milliseconds
FILE_PAUSE = 0.1  # between reports, so the worker's jury draws keep up
QUORUM = 3  # the constitution the world enacts: jury_size 5, jury_quorum 3


class Filer:
    """Files reports over HTTP until the server dies; remembers what was acknowledged."""

    def __init__(self, url: str, key: str, first: int, posted_at: str) -> None:
        self.url, self.key, self.next, self.posted_at = url, key, first, posted_at
        self.acknowledged: list[int] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {self.key}"}, timeout=10) as client:
            while True:
                post = f"crash-{self.next}"
                self.next += 1
                body: dict[str, Any] = {
                    "content": {
                        "content_id": post,
                        "url": f"https://forum.example/{post}",
                        "text": "Sé dónde vives.",
                        "language": "es",
                        "author": "@troll",
                        "posted_at": self.posted_at,
                        "jurisdictions": ["MX"],
                    },
                    "rule": "MX-1",
                    "reason": "A threat.",
                    "source": "user",
                    "reporter": "@victim",
                }
                try:
                    answer = client.post(f"{self.url}/api/v1/reports", json=body)
                except httpx.HTTPError:
                    return  # the server died under us: this report is not acknowledged
                assert answer.status_code == 201, answer.text
                self.acknowledged.append(answer.json()["case_id"])
                time.sleep(FILE_PAUSE)


def wait_status(url: str, case_id: int, wanted: set[str]) -> str:
    """Poll the public case until the worker has moved it into one of ``wanted``."""
    deadline = time.monotonic() + WAIT_SECONDS
    status = ""
    while time.monotonic() < deadline:
        status = str(httpx.get(f"{url}/api/v1/cases/{case_id}", timeout=10).json()["status"])
        if status in wanted:
            return status
        time.sleep(0.2)
    raise AssertionError(f"case {case_id} stayed {status!r} after its deadline passed")


@pytest.mark.timeout(900)  # 22 restarts: three minutes alone, more beside other tests
def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    made = CrashWorld(tmp_path)
    key = made.world.base.key_all
    posted = (made.clock.now() - timedelta(hours=1)).replace(microsecond=0).isoformat()
    acknowledged: list[int] = []
    decided_by_ack: list[int] = []  # cases whose completing ballot got a 204
    checkpoints: dict[int, str] = {}  # size -> root, as GET /api/v1/log showed them
    deadline_case: int | None = None
    next_post = 0
    running: list[crash.Crashable] = []  # killed in ``finally`` if an assertion stops the test
    try:
        for round_no in range(KILLS):
            if round_no == DEADLINE_ROUND:
                # While the server is dead, move past the ballot deadline of a quorate jury.
                deadline_case, jury, jurors = made.wait_fresh_jury(acknowledged)
                made.accept_and_vote(deadline_case, jurors[:QUORUM])
                made.clock.set(jury.ballot_deadline + timedelta(minutes=1))
                made.write_clock()
            server = made.start()
            running.append(server)
            for case_id in acknowledged:  # nothing acknowledged is lost
                got = httpx.get(f"{server.url}/api/v1/cases/{case_id}", timeout=10)
                assert got.status_code == 200, f"acknowledged case {case_id}: {got.status_code}"
            for case_id in decided_by_ack:
                assert httpx.get(f"{server.url}/api/v1/cases/{case_id}").json()["status"] in (
                    SETTLED
                )
            if deadline_case is not None:
                wait_status(server.url, deadline_case, SETTLED)  # the overdue job fired
            head = httpx.get(f"{server.url}/api/v1/log", timeout=10).json()
            checkpoints[head["size"]] = head["root_hash"]
            filer = Filer(server.url, key, next_post, posted)
            filer.thread.start()
            if round_no in VERDICT_KILLS:
                case_id, _jury, jurors = made.wait_fresh_jury(acknowledged + filer.acknowledged)
                made.accept_and_vote(case_id, jurors[:-1])
                with made.uow.begin():
                    cases_jury.reply(
                        made.uow, account_id=jurors[-1].account_id, case_id=case_id, accept=True
                    )
                token, csrf = made.session_of(jurors[-1].account_id)
                answers: list[int] = []

                def last_ballot(
                    url: str = server.url,
                    case: int = case_id,
                    token: str = token,
                    csrf: str = csrf,
                    answers: list[int] = answers,
                ) -> None:
                    try:
                        answers.append(
                            httpx.post(
                                f"{url}/api/v1/cases/{case}/ballot",
                                json={
                                    "violation": True,
                                    "sanction": "remove",
                                    "reason": "A threat.",
                                },
                                cookies={"isegoria_session": token},
                                headers={"X-CSRF-Token": csrf},
                                timeout=10,
                            ).status_code
                        )
                    except httpx.HTTPError:
                        pass

                voter = threading.Thread(target=last_ballot, daemon=True)
                voter.start()
                time.sleep(rng.uniform(*VERDICT_KILL_DELAY))
                crash.kill(server.process)
                voter.join(timeout=10)
                assert answers in ([], [200]), answers
                if answers:
                    decided_by_ack.append(case_id)
            else:
                time.sleep(rng.uniform(*ALIVE_SECONDS))
                head = httpx.get(f"{server.url}/api/v1/log", timeout=10).json()
                checkpoints[head["size"]] = head["root_hash"]
                crash.kill(server.process)
            filer.thread.join(timeout=10)
            acknowledged.extend(filer.acknowledged)
            next_post = filer.next
            check_database(made, checkpoints)
        server = made.start()
        running.append(server)
        try:
            for case_id in acknowledged:
                got = httpx.get(f"{server.url}/api/v1/cases/{case_id}", timeout=10)
                assert got.status_code == 200, f"acknowledged case {case_id}: {got.status_code}"
            assert deadline_case is not None
            wait_status(server.url, deadline_case, SETTLED)
        finally:
            crash.kill(server.process)
        size = check_database(made, checkpoints)
    finally:
        for leftover in running:
            crash.kill(leftover.process)
        made.database.dispose()
    print(  # noqa: T201 - figures for the report, shown with -s
        f"kills={KILLS} acknowledged={len(acknowledged)} verdicts_acknowledged="
        f"{len(decided_by_ack)} log_size={size} seconds={time.monotonic() - started:.1f}"
    )
    assert len(acknowledged) >= KILLS  # the filer really wrote between kills
