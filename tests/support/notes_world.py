"""A world for notes: contents, two camps of raters who usually disagree, and note writers."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from isegoria.domain.identity import Role
from isegoria.notes import writing as notes
from isegoria.people import accounts as people
from isegoria.security import SecretBox
from isegoria.store.models_cases import Content
from isegoria.unit_of_work import UnitOfWork
from tests.support.world import PASSWORD, World, account_id, seed

CAMP_SIZE = 8
SOURCE = "See https://example.org/archive/2015 for the original photo and its date."
_posts = itertools.count(1)

# What each camp answers for a note of each kind: (left camp, right camp).
ANSWERS = {
    "bridging": ("helpful", "helpful"),
    "left": ("helpful", "not_helpful"),
    "right": ("not_helpful", "helpful"),
    "neither": ("not_helpful", "not_helpful"),
}


@dataclass
class NotesWorld:
    """What a notes test needs."""

    base: World
    writer: int
    left: list[int]
    right: list[int]
    content_id: int


def add_content(uow: UnitOfWork, platform_id: int, text: str = "This photo is from today.") -> int:
    """Store a post snapshot as a platform would have sent it with a report."""
    post = f"note-post-{next(_posts)}"
    with uow.begin():
        content = Content(
            platform_id=platform_id,
            platform_content_id=post,
            url=f"https://forum.example/{post}",
            text=text,
            language="es",
            author="@poster",
            posted_at=uow.now() - timedelta(hours=2),
            jurisdictions="MX",
            media="[]",
            context="{}",
            digest=post.encode().hex().ljust(64, "0")[:64],
            received_at=uow.now(),
        )
        uow.session.add(content)
        uow.session.flush()
        return content.id


def build(uow: UnitOfWork, camp_size: int = CAMP_SIZE) -> NotesWorld:
    """The base world, a writer, two camps of raters and one post."""
    base = seed(uow, SecretBox(b"k" * 32))
    ids: dict[str, list[int]] = {"left": [], "right": []}
    with uow.begin():
        writer = people.add_account(
            uow,
            login="writer",
            display_name="Writer",
            role=Role.CITIZEN,
            password=PASSWORD,
            residences=["MX"],
        ).id
        for camp in ("left", "right"):
            for n in range(camp_size):
                account = people.add_account(
                    uow,
                    login=f"{camp}{n:02d}",
                    display_name=f"{camp.title()} {n}",
                    role=Role.CITIZEN,
                    password=PASSWORD if n == 0 else None,
                    residences=["MX"],
                )
                ids[camp].append(account.id)
    content_id = add_content(uow, base.platform_id)
    assert account_id(uow, "writer") == writer
    return NotesWorld(base, writer, ids["left"], ids["right"], content_id)


def write(uow: UnitOfWork, world: NotesWorld, text: str = SOURCE, content_id: int = 0) -> int:
    """The writer's note on the world's post (or another)."""
    with uow.begin():
        return notes.write_note(
            uow,
            account_id=world.writer,
            content_id=content_id or world.content_id,
            classification="misinformed_or_potentially_misleading",
            reasons=["outdated_information"],
            text=text,
            language="es",
        ).id


def rate_all(uow: UnitOfWork, world: NotesWorld, kinds: dict[int, str]) -> None:
    """Every rater of both camps rates every note as its kind says."""
    with uow.begin():
        for note_id, kind in kinds.items():
            left, right = ANSWERS[kind]
            for rater in world.left:
                notes.rate_note(uow, account_id=rater, note_id=note_id, helpfulness=left)
            for rater in world.right:
                notes.rate_note(uow, account_id=rater, note_id=note_id, helpfulness=right)


def planted(uow: UnitOfWork, world: NotesWorld, per_kind: int = 3) -> dict[int, str]:
    """Write ``per_kind`` notes of each kind (each on its own post) and rate them all."""
    kinds: dict[int, str] = {}
    for kind in ANSWERS:
        for _ in range(per_kind):
            content = add_content(uow, world.base.platform_id)
            kinds[write(uow, world, content_id=content)] = kind
    rate_all(uow, world, kinds)
    return kinds
