"""The demo's context notes: notes on the demo posts, rated by two camps, then scored.

Synthetic citizens who declared a leaning left of centre rate one way and those right of
centre the other, as real raters who usually disagree would: notes both camps like come
out helpful (shown), notes neither likes not helpful, one-sided notes keep needing
ratings, and one fresh note waits for its first ratings, so every status is on show and
a named citizen finds notes in their "rate notes" queue.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select

from isegoria.clock import ManualClock
from isegoria.log.signing import LogSigner
from isegoria.services import notes, notes_scoring
from isegoria.store.db import Database
from isegoria.store.models import Account
from isegoria.store.models_cases import Content
from isegoria.store.uow import UnitOfWork

DEMO_NOTES_SEED: Final = 20261207
RATERS_PER_CAMP: Final = 14
#: (kind, language, text) per demo note; kinds as in tests/support/notes_world.py.
NOTES: Final = (
    (
        "bridging",
        "en",
        "This offer is a known scam pattern; see https://consumer.example.org/scams",
    ),
    (
        "bridging",
        "en",
        "The account quoted here was suspended in 2024: https://news.example.org/a1",
    ),
    ("bridging", "es", "El número citado es de 2015, no de hoy: https://datos.example.org/2015"),
    (
        "bridging",
        "fr",
        "Cette citation est tronquée ; texte complet : https://archive.example.org/t",
    ),
    ("neither", "en", "Everyone knows this is fake, trust me: https://blog.example.org/me"),
    ("neither", "en", "This is obviously satire, nothing to see: https://satire.example.org/x"),
    ("neither", "de", "Das ist alles gelogen, siehe https://forum.example.org/thread"),
    ("left", "en", "The senator voted against this very bill: https://votes.example.org/s12"),
    ("left", "es", "La reforma no cambia esa ley, ver https://diario.example.org/ley"),
    ("right", "en", "The protest permit was never requested: https://city.example.org/permits"),
    ("right", "de", "Die Partei hat das nie beschlossen: https://partei.example.org/beschluss"),
    ("fresh", "en", "The photo in this post was taken in 2019: https://photos.example.org/2019"),
)
ANSWERS: Final = {
    "bridging": ("helpful", "helpful"),
    "neither": ("not_helpful", "not_helpful"),
    "left": ("helpful", "not_helpful"),
    "right": ("not_helpful", "helpful"),
}
LEFT: Final = ("left", "centre-left")
RIGHT: Final = ("right", "centre-right")


def _camp(uow: UnitOfWork, leanings: tuple[str, ...]) -> list[int]:
    return list(
        uow.session.scalars(
            select(Account.id)
            .where(
                Account.password_hash.is_(None),
                Account.role == "citizen",
                Account.leaning.in_(leanings),
            )
            .order_by(Account.id)
            .limit(RATERS_PER_CAMP)
        )
    )


def seed_notes(database: Database, signer: LogSigner, secret: bytes, now: datetime) -> int:
    """Write, rate and score the demo notes; returns how many notes were written."""
    rng = random.Random(DEMO_NOTES_SEED)  # noqa: S311 - simulated raters, not security
    clock = ManualClock(now - timedelta(days=3))
    uow = UnitOfWork(database, clock, signer, secret)
    with uow.begin(readonly=True):
        contents = list(uow.session.scalars(select(Content.id).order_by(Content.id)))
        left, right = _camp(uow, LEFT), _camp(uow, RIGHT)
        writers = list(
            uow.session.scalars(
                select(Account.id)
                .where(
                    Account.password_hash.is_(None),
                    Account.role == "citizen",
                    Account.leaning == "centre",
                )
                .order_by(Account.id)
                .limit(len(NOTES))
            )
        )
    if not contents or min(len(left), len(right)) < RATERS_PER_CAMP or not writers:
        return 0  # a demo without posts or with too few citizens gets no notes
    written: list[tuple[int, str]] = []
    for number, (kind, language, text) in enumerate(NOTES):
        clock.advance(timedelta(hours=rng.randint(1, 5)))
        with uow.begin():
            note = notes.write_note(
                uow,
                account_id=writers[number % len(writers)],
                content_id=contents[number % len(contents)],
                classification="misinformed_or_potentially_misleading",
                reasons=["missing_important_context"],
                text=text,
                language=language,
            )
            written.append((note.id, kind))
    for note_id, kind in written:
        if kind == "fresh":
            continue
        left_answer, right_answer = ANSWERS[kind]
        with uow.begin():
            for camp, answer in ((left, left_answer), (right, right_answer)):
                for rater in camp:
                    clock.advance(timedelta(seconds=rng.randint(5, 120)))
                    notes.rate_note(uow, account_id=rater, note_id=note_id, helpfulness=answer)
    clock.set(max(clock.now(), now - timedelta(hours=1)))
    with uow.begin():
        notes_scoring.run_scoring(uow)
    return len(written)
