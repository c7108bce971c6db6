"""Infeasible capacity parameters are called so, with the shortfall and what would fix them."""

from __future__ import annotations

import dataclasses

import pytest
from typer.testing import CliRunner

from isegoria.algorithms.capacity import CapacityInputs, estimate
from isegoria.algorithms.capacity_feasibility import Lever, check, describe
from isegoria.cli import app

DEFAULT = CapacityInputs(  # the documented worked example, and `simulate`'s defaults
    users=100_000_000,
    posts_per_user_per_day=2.0,
    reports_per_post=0.005,
    jury_share=0.1,
    jury_size=12,
    appeal_rate=0.1,
    appeal_jury_size=25,
    acceptance_rate=0.5,
    no_show_rate=0.1,
    citizen_share=0.5,
    volunteer_share=0.1,
    max_services_per_year=12,
    reply_deadline_hours=24.0,
    ballot_deadline_hours=72.0,
)


def _fits(inputs: CapacityInputs) -> bool:
    result = estimate(inputs)
    return result.volunteers_needed <= result.volunteers


def _lever(levers: tuple[Lever, ...], option: str) -> Lever:
    return next(lever for lever in levers if lever.option == option)


def test_the_default_example_is_infeasible_by_a_factor_of_19() -> None:
    found = check(DEFAULT)
    assert not found.feasible
    assert found.volunteers == pytest.approx(5_000_000)
    assert found.volunteers_needed == pytest.approx(96_417_195, rel=1e-6)
    assert found.shortfall == pytest.approx(91_417_195, rel=1e-6)
    assert found.factor == pytest.approx(19.28, abs=0.01)


def test_each_suggested_lever_alone_makes_it_feasible_and_is_tight() -> None:
    levers = check(DEFAULT).levers
    share = _lever(levers, "jury_share")
    assert share.needed == 0.0051
    assert _fits(dataclasses.replace(DEFAULT, jury_share=0.0051))
    assert not _fits(dataclasses.replace(DEFAULT, jury_share=0.0052))
    cap = _lever(levers, "max_services_per_year")
    assert cap.needed == 144
    assert _fits(dataclasses.replace(DEFAULT, max_services_per_year=144))
    assert not _fits(dataclasses.replace(DEFAULT, max_services_per_year=143))
    # More volunteers than citizens, and even juries of 3, are not enough: said, not hidden.
    volunteers = _lever(levers, "volunteer_share")
    assert volunteers.needed is None and "193% of the 50,000,000 citizens" in volunteers.why_not
    assert _lever(levers, "jury_size").needed is None


def test_more_volunteers_or_smaller_juries_when_they_are_enough() -> None:
    smaller = dataclasses.replace(DEFAULT, jury_share=0.01)  # needs 9.6 M of 50 M citizens
    volunteers = _lever(check(smaller).levers, "volunteer_share")
    assert volunteers.needed == 0.2
    assert _fits(dataclasses.replace(smaller, volunteer_share=0.2))
    assert not _fits(dataclasses.replace(smaller, volunteer_share=0.19))
    fewer = dataclasses.replace(DEFAULT, jury_share=0.02)  # 3.9 times short
    jury = _lever(check(fewer).levers, "jury_size")
    assert jury.needed == 3
    assert _fits(dataclasses.replace(fewer, jury_size=3, appeal_jury_size=7))
    assert not _fits(dataclasses.replace(fewer, jury_size=4, appeal_jury_size=9))


def test_the_documented_remedy_is_feasible_and_says_so() -> None:
    remedy = dataclasses.replace(
        DEFAULT, jury_share=0.02, jury_size=7, appeal_jury_size=15, max_services_per_year=24
    )
    found = check(remedy)
    assert found.feasible and found.levers == () and found.shortfall == 0
    assert describe(found, remedy)[0].startswith("Feasible: 4,641,679 volunteers are needed")


def test_simulate_with_its_defaults_says_it_is_infeasible_and_how_to_fix_it() -> None:
    result = CliRunner().invoke(app, ["simulate"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "NOT FEASIBLE" in out
    assert "needs 96,417,195 volunteers; the platform has 5,000,000" in out
    assert "91,417,195 short, 19.3 times too few" in out
    assert "more volunteers than the platform has citizens (50,000,000)" in out
    assert "--jury-share 0.0051 or less (now 0.1)" in out
    assert "--max-services-per-year 144 or more (now 12)" in out
    feasible = CliRunner().invoke(
        app,
        ["simulate", "--jury-share", "0.02", "--jury-size", "7"]
        + ["--appeal-jury-size", "15", "--max-services-per-year", "24"],
        env={"COLUMNS": "300"},
    )
    assert feasible.exit_code == 0 and "Feasible:" in feasible.output
    assert "NOT FEASIBLE" not in feasible.output
