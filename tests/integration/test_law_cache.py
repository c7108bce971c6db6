"""The rulebook kept between reports is rebuilt as soon as the law changes."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from isegoria.clock import ManualClock
from isegoria.domain.constitution import ProposalKind
from isegoria.law import cache as law_cache
from isegoria.law import read as law_read
from isegoria.log.signing import LogSigner
from isegoria.people import jurisdictions
from isegoria.store.models import RuleVersionRow
from isegoria.unit_of_work import UnitOfWork
from tests.support.cases_world import THREATS, build, pass_proposal


def test_the_rulebook_is_kept_until_an_enactment_or_a_new_jurisdiction(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    world = build(uow, clock, signer)
    with uow.begin(readonly=True):
        first = law_cache.current_law(uow).rulebook
    with uow.begin(readonly=True):
        assert law_cache.current_law(uow).rulebook is first  # nothing changed: no rebuild
        fresh = law_read.load_rulebook(uow)
    assert first.history("MX-1") == fresh.history("MX-1")

    pass_proposal(
        uow,
        clock,
        signer,
        voters=world.voters,
        kind=ProposalKind.ENACT,
        title="Doxxing",
        draft=replace(THREATS, title="No doxxing"),
    )
    with uow.begin(readonly=True):
        second = law_cache.current_law(uow).rulebook
    assert second is not first
    assert [v.title for v in second.history("MX-2")] == ["No doxxing"]

    with uow.begin():
        jurisdictions.add_jurisdiction(uow, code="DE", name="Germany", parent="EU", languages=[])
    with uow.begin(readonly=True):
        third = law_cache.current_law(uow).rulebook
    assert third is not second
    assert "DE" in third.jurisdictions


def test_the_fingerprint_moves_when_a_version_gets_an_end(
    uow: UnitOfWork, clock: ManualClock, signer: LogSigner
) -> None:
    """Amendments and repeals only set ``effective_until``: the fingerprint must see it."""
    build(uow, clock, signer)
    with uow.begin(readonly=True):
        before = law_cache.fingerprint(uow)
    with uow.begin():
        row = uow.session.scalars(select(RuleVersionRow)).one()
        row.effective_until = clock.now()
    with uow.begin(readonly=True):
        assert law_cache.fingerprint(uow) != before
        rulebook = law_cache.current_law(uow).rulebook
    assert rulebook.history("MX-1")[-1].effective_until == clock.now()
