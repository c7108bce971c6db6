"""The demo's context notes: notes on the demo posts, rated by two camps, then scored.

Synthetic citizens who declared a leaning left of centre rate one way and those right of
centre the other, as real raters who usually disagree would: notes both camps like come
out helpful (shown), notes neither likes not helpful, one-sided notes keep needing
ratings, and one fresh note waits for its first ratings, so every status is on show and
a named citizen finds notes in their "rate notes" queue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select

from isegoria.clock import ManualClock
from isegoria.log import demo_keys
from isegoria.log.demo_keys import rng as demo_rng
from isegoria.log.signing import LogSigner
from isegoria.notes import scoring as notes_scoring
from isegoria.notes import writing as notes
from isegoria.store.db import Database
from isegoria.store.models import Account
from isegoria.store.models_cases import Content
from isegoria.unit_of_work import UnitOfWork

RATERS_PER_CAMP: Final = 14
#: (kind, language, text, post) per demo note: ``post`` indexes the demo posts
#: (isegoria.demo.posts.POSTS, filed in that order); kinds as in tests/support/notes_world.py.
NOTES: Final = (
    (
        "bridging",
        "en",
        "A known scam pattern: no wallet pays back tenfold. https://consumer.example.org/scams",
        18,
    ),
    (
        "bridging",
        "es",
        "Es un fraude conocido: nadie paga por dar tu tarjeta. https://consumo.example.org/fraudes",
        2,
    ),
    (
        "bridging",
        "fr",
        "Aucun placement ne double en 24 heures ; voir https://epargne.example.org/alertes",
        7,
    ),
    (
        "bridging",
        "en",
        "'Kill it' is an idiom for doing very well: https://dictionary.example.org/kill-it",
        13,
    ),
    ("neither", "en", "Everyone knows this is fake, trust me: https://blog.example.org/me", 12),
    ("neither", "en", "This is obviously satire, nothing to see: https://satire.example.org/x", 11),
    ("neither", "de", "Das ist alles gelogen, siehe https://forum.example.org/thread", 9),
    ("left", "en", "The senator voted against this very bill: https://votes.example.org/s12", 12),
    (
        "left",
        "fr",
        "La réforme ne touche pas au budget de la culture : https://journal.example.org/r",
        6,
    ),
    (
        "right",
        "fr",
        "Aucune manifestation n'est déclarée pour samedi : https://ville.example.org/manifs",
        6,
    ),
    ("right", "de", "Die Partei hat das nie beschlossen: https://partei.example.org/beschluss", 9),
    ("fresh", "es", "Este meme circula desde 2019: https://fotos.example.org/2019", 1),
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


def seed_notes(
    database: Database,
    signer: LogSigner,
    secret: bytes,
    now: datetime,
    seed: int = 0,
    on_step: Callable[[], None] = lambda: None,
) -> int:
    """Write, rate and score the demo notes; returns how many notes were written."""
    rng = demo_rng(seed, "notes")
    clock = ManualClock(now - timedelta(days=3))
    uow = UnitOfWork(database, clock, signer, secret, entropy=demo_keys.entropy(seed, "notes"))
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
    for number, (kind, language, text, post) in enumerate(NOTES):
        on_step()
        clock.advance(timedelta(hours=rng.randint(1, 5)))
        with uow.begin():
            note = notes.write_note(
                uow,
                account_id=writers[number % len(writers)],
                content_id=contents[post % len(contents)],
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
