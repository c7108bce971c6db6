"""A service call commits all of its changes or none."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from isegoria.domain.identity import Role
from isegoria.errors import NotFound
from isegoria.people import accounts as people
from isegoria.people import jurisdictions
from isegoria.store.models import Account, Jurisdiction
from isegoria.unit_of_work import UnitOfWork


def test_failure_half_way_rolls_back_everything(uow: UnitOfWork) -> None:
    with pytest.raises(NotFound):
        with uow.begin():
            jurisdictions.add_jurisdiction(uow, code="intl", name="Intl", parent=None, languages=[])
            people.add_account(
                uow,
                login="zoe",
                display_name="Zoe",
                role=Role.CITIZEN,
                password=None,
                residences=["nowhere"],
            )
    with uow.begin(readonly=True):
        assert uow.session.scalar(select(func.count()).select_from(Jurisdiction)) == 0
        assert uow.session.scalar(select(func.count()).select_from(Account)) == 0


def test_success_commits_every_change(uow: UnitOfWork) -> None:
    with uow.begin():
        jurisdictions.add_jurisdiction(uow, code="intl", name="Intl", parent=None, languages=[])
        people.add_account(
            uow,
            login="zoe",
            display_name="Zoe",
            role=Role.CITIZEN,
            password=None,
            residences=["intl"],
        )
    with uow.begin(readonly=True):
        account = uow.session.scalars(select(Account).where(Account.login == "zoe")).one()
        assert [r.jurisdiction_code for r in account.residences] == ["intl"]
        assert jurisdictions.ancestry(uow, "intl") == ["intl"]


def test_units_of_work_do_not_nest(uow: UnitOfWork) -> None:
    with uow.begin(readonly=True):
        with pytest.raises(RuntimeError, match="does not nest"):
            with uow.begin():
                pass
