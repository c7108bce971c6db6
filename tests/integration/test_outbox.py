"""The outbox delivers decisions to a real HTTP receiver: once in effect, in order, resumable."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select

from isegoria.cases import appeal as cases_appeal
from isegoria.cases import intake as cases_intake
from isegoria.clock import ManualClock
from isegoria.decisions import outbox
from isegoria.errors import InvalidInput
from isegoria.integrations import egress
from isegoria.integrations.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, verify_signature
from isegoria.log.signing import LogSigner
from isegoria.ops import staff_trail
from isegoria.people import platforms
from isegoria.security import SecretBox
from isegoria.store.models import Platform
from isegoria.store.models_cases import DecisionRow, Juror, Jury
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import CasesWorld, build, report_request, run_jobs
from tests.support.postgres import free_port

BOX = SecretBox(b"k" * 32)  # the box tests/support/world.py seeds platforms with


class Receiver:
    """A platform endpoint that fails as told, verifies signatures and drops duplicates."""

    def __init__(self, secret: str, script: list[str], clock: ManualClock) -> None:
        self.secret, self.script, self.clock = secret, deque(script), clock
        self.applied: dict[str, list[int]] = defaultdict(list)
        self.seen: set[str] = set()
        self.duplicates = 0
        self.lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    behaviour = receiver.script.popleft() if receiver.script else "ok"
                if behaviour == "drop":
                    self.close_connection = True
                    return
                if behaviour in ("500", "410"):
                    self.send_response(int(behaviour))
                    self.end_headers()
                    return
                verify_signature(
                    self.headers[SIGNATURE_HEADER], body, receiver.secret, now=receiver.clock.now()
                )
                with receiver.lock:
                    delivery = self.headers[DELIVERY_HEADER]
                    if delivery in receiver.seen:
                        receiver.duplicates += 1
                    else:
                        receiver.seen.add(delivery)
                        event = json.loads(body)
                        receiver.applied[event["content_id"]].append(event["sequence"])
                if behaviour == "stall":
                    time.sleep(0.6)
                try:
                    self.send_response(200)
                    self.end_headers()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


@pytest.fixture
def world(uow: UnitOfWork, clock: ManualClock, signer: LogSigner) -> CasesWorld:
    return build(uow, clock, signer)


def _decisions(uow: UnitOfWork, clock: ManualClock, signer: LogSigner, world: CasesWorld) -> None:
    """Three decisions on two posts: imposed then lifted on one, an interim lapse on the other."""
    from tests.integration.test_cases_flow import _jurors, _serve

    with uow.begin():
        a, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now(), content_id="post-a"),
        )
        b, _ = cases_intake.file_report(
            uow,
            platform_id=world.base.platform_id,
            request=report_request(uow.now(), content_id="post-b", interim=True),
        )
    run_jobs(uow, clock, signer)
    _serve(uow, a.id, _jurors(uow, a.id, "first"), violation=True)
    with uow.begin():
        code = cases_appeal.issue_link_code(
            uow, platform_id=world.base.platform_id, pseudonym="@troll"
        )
    with uow.begin(readonly=True):
        seated = set(uow.session.scalars(select(Juror.account_id).join(Jury)))
    author = next(v for v in world.volunteers if v not in seated)
    with uow.begin():
        cases_appeal.redeem_link_code(uow, account_id=author, code=code)
    with uow.begin():
        cases_appeal.file_appeal(uow, account_id=author, case_id=a.id, statement="a quote")
    run_jobs(uow, clock, signer)
    _serve(uow, a.id, _jurors(uow, a.id, "appeal"), violation=False)
    with uow.begin(readonly=True):
        b_case = uow.session.get(type(a), b.id)
        assert b_case is not None and b_case.interim_until is not None
        until = b_case.interim_until
    clock.set(until + timedelta(seconds=1))
    run_jobs(uow, clock, signer)


@pytest.fixture
def receiver(
    uow: UnitOfWork, world: CasesWorld, clock: ManualClock
) -> Iterator[tuple[Receiver, str]]:
    port = free_port()
    with uow.begin():
        platform = uow.session.get(Platform, world.base.platform_id)
        assert platform is not None
        platforms.set_webhook(uow, platform, f"http://127.0.0.1:{port}/hook", allow_private=True)
        secret = platforms.webhook_secret(BOX, platform)
    made = Receiver(secret, [], clock)
    server = ThreadingHTTPServer(("127.0.0.1", port), made.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield made, f"http://127.0.0.1:{port}/hook"
    server.shutdown()
    server.server_close()


def _drain(
    uow: UnitOfWork, clock: ManualClock, rounds: int = 40, client: httpx.Client | None = None
) -> list[outbox.DeliveryRound]:
    seen = []
    rng = random.Random(7)
    with client or httpx.Client() as client:
        for _ in range(rounds):
            seen.append(
                outbox.deliver_due(uow.database, clock, BOX, client=client, rng=rng, timeout=0.3)
            )
            with uow.begin(readonly=True):
                waiting = list(
                    uow.session.scalars(
                        select(DecisionRow).where(DecisionRow.delivery == outbox.PENDING)
                    )
                )
            if not waiting:
                break
            nxt = min((r.next_delivery_at for r in waiting if r.next_delivery_at), default=None)
            if nxt is not None and nxt > clock.now():
                clock.set(nxt)
    return seen


def test_each_decision_arrives_once_in_effect_and_in_order(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    world: CasesWorld,
    receiver: tuple[Receiver, str],
) -> None:
    made, _ = receiver
    made.script.extend(["drop", "500", "stall", "500", "drop"])
    _decisions(uow, clock, signer, world)
    rounds = _drain(uow, clock)
    assert sum(r.delivered for r in rounds) == 3
    assert sum(r.retried for r in rounds) >= 4
    assert dict(made.applied) == {"post-a": [1, 2], "post-b": [1]}
    assert made.duplicates == 1  # the stalled delivery was resent and dropped by its id
    with uow.begin(readonly=True):
        rows = list(uow.session.scalars(select(DecisionRow).order_by(DecisionRow.id)))
    assert [r.delivery for r in rows] == ["delivered"] * 3


def test_a_refused_delivery_is_a_dead_letter_that_blocks_its_subject_until_requeued(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    world: CasesWorld,
    receiver: tuple[Receiver, str],
) -> None:
    made, _ = receiver
    made.script.extend(["410"])
    _decisions(uow, clock, signer, world)
    _drain(uow, clock)
    with uow.begin(readonly=True):
        dead = outbox.dead_letters(uow)
        assert len(dead) == 1 and "HTTP 410" in (dead[0].delivery_error or "")
        later = uow.session.scalars(
            select(DecisionRow).where(
                DecisionRow.platform_content_id == dead[0].platform_content_id,
                DecisionRow.id > dead[0].id,
            )
        ).all()
    assert all(r.delivery == "pending" for r in later)  # blocked behind the dead letter
    operator = staff_trail.Actor(login="olga", via=staff_trail.CONSOLE, account_id=None)
    with uow.begin():
        outbox.requeue(uow, dead[0].id, actor=operator)
    _drain(uow, clock)
    with uow.begin(readonly=True):
        assert outbox.dead_letters(uow) == []
        retried = staff_trail.staff_trail(uow, action="dead_letter.retried")
    assert [(r.actor, r.subject) for r in retried] == [("olga", f"decision:{dead[0].id}")]
    assert retried[0].log_index is None  # an operator's chore, not a public act
    assert sorted(len(v) for v in made.applied.values()) == [1, 2]


def test_a_webhook_whose_name_resolves_to_loopback_is_refused_unless_the_operator_allows_it(
    uow: UnitOfWork,
    clock: ManualClock,
    signer: LogSigner,
    world: CasesWorld,
    receiver: tuple[Receiver, str],
) -> None:
    made, url = receiver
    # A name real DNS does not know: delivering at all proves the connection went to the
    # address the guard resolved and checked, not to a second resolution.
    named = url.replace("127.0.0.1", "hooks.forum.example")
    with uow.begin():
        platform = uow.session.get(Platform, world.base.platform_id)
        assert platform is not None
        platforms.set_webhook(uow, platform, named)  # a name passes; its address is judged later
    _decisions(uow, clock, signer, world)

    def resolve(host: str, port: int) -> list[str]:
        assert host == "hooks.forum.example"
        return ["127.0.0.1"]

    rounds = _drain(uow, clock, client=egress.guarded_client(resolver=resolve))
    assert sum(r.delivered for r in rounds) == 0
    assert sum(r.retried for r in rounds) == 0  # refused once and for all, no retry storm
    assert made.applied == {}
    with uow.begin(readonly=True):
        dead = outbox.dead_letters(uow)
        assert len(dead) == 2  # the first decision of each post; the rest wait behind them
        assert all("127.0.0.1 is a loopback address" in (row.delivery_error or "") for row in dead)
        assert all(row.delivery_attempts == 1 for row in dead)
    with uow.begin():
        for row in outbox.dead_letters(uow):
            outbox.requeue(uow, row.id)
    allowed = egress.guarded_client(allow_private=True, resolver=resolve)
    assert sum(r.delivered for r in _drain(uow, clock, client=allowed)) == 3
    assert dict(made.applied) == {"post-a": [1, 2], "post-b": [1]}


def test_a_webhook_naming_a_private_address_is_refused_when_set(
    uow: UnitOfWork, world: CasesWorld
) -> None:
    for url in ("http://169.254.169.254/latest/meta-data/", "https://[::ffff:10.0.0.1]/hook"):
        with uow.begin():
            platform = uow.session.get(Platform, world.base.platform_id)
            assert platform is not None
            with pytest.raises(InvalidInput, match="must reach a public address"):
                platforms.set_webhook(uow, platform, url)
    with uow.begin():
        platform = uow.session.get(Platform, world.base.platform_id)
        assert platform is not None and platform.webhook_url is None
        platforms.set_webhook(uow, platform, "http://10.1.2.3/hook", allow_private=True)
        assert platform.webhook_url == "http://10.1.2.3/hook"
