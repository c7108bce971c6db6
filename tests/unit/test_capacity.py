"""Tests for the capacity model: hand-computed fixtures, the queueing model, validation."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from isegoria.algorithms.capacity import (
    CAP_BINDING_SHARE,
    CapacityInputs,
    appeal_jury_size_for,
    estimate,
    expected_hours_to_verdict,
    expected_rounds,
)

BASE = CapacityInputs(
    users=1_000_000,
    posts_per_user_per_day=2.0,
    reports_per_post=0.001,
    jury_share=0.5,
    jury_size=10,
    appeal_rate=0.1,
    appeal_jury_size=21,
    acceptance_rate=0.5,
    no_show_rate=0.2,
    citizen_share=0.5,
    volunteer_share=0.1,
    max_services_per_year=12,
    reply_deadline_hours=24.0,
    ballot_deadline_hours=48.0,
)


def test_daily_flows_by_hand() -> None:
    result = estimate(BASE)
    assert result.posts_per_day == pytest.approx(2_000_000)
    assert result.reports_per_day == pytest.approx(2_000)
    assert result.cases_per_day == pytest.approx(1_000)
    assert result.appeals_per_day == pytest.approx(100)
    # 1000 juries of 10 and 100 of 21 seats.
    assert result.ballots_per_day == pytest.approx(12_100)
    # Each seat takes 1 / 0.8 accepted jurors, each of whom takes 1 / 0.5 summons.
    assert result.services_per_day == pytest.approx(15_125)
    assert result.summons_per_day == pytest.approx(30_250)
    assert result.summons_per_case == pytest.approx(25.0)


def test_yearly_load_per_volunteer_by_hand() -> None:
    result = estimate(BASE)
    assert result.volunteers == pytest.approx(50_000)
    assert result.services_per_volunteer_per_year == pytest.approx(15_125 * 365 / 50_000)
    assert result.summons_per_volunteer_per_year == pytest.approx(30_250 * 365 / 50_000)
    assert result.volunteers_needed_on_average == pytest.approx(15_125 * 365 / 12)
    # The average load is far above 12, so almost everyone would pass the cap.
    assert result.share_over_cap == pytest.approx(stats.poisson.sf(12, 15_125 * 365 / 50_000))
    assert result.share_over_cap > 0.99


def test_pool_sized_so_the_cap_rarely_binds() -> None:
    result = estimate(BASE)
    load = result.services_per_day * 365 / result.volunteers_needed
    assert stats.poisson.sf(12, load) == pytest.approx(CAP_BINDING_SHARE, rel=1e-6)
    # Keeping the draw equal costs more volunteers than the average alone suggests.
    assert result.volunteers_needed > result.volunteers_needed_on_average
    # With that pool, the model itself reports the target share over the cap.
    share = result.volunteers_needed / BASE.users
    assert share < 1.0
    bigger = estimate(dataclasses.replace(BASE, citizen_share=1.0, volunteer_share=share))
    assert bigger.share_over_cap == pytest.approx(CAP_BINDING_SHARE, rel=1e-3)


def test_expected_rounds_closed_forms() -> None:
    # One seat: a geometric number of rounds, mean 1 / a.
    assert expected_rounds(1, 0.25) == pytest.approx(4.0)
    # Two seats: E[max] = 2 / a - 1 / (1 - q^2) = 4 - 4/3 at a = 1/2.
    assert expected_rounds(2, 0.5) == pytest.approx(8 / 3)
    assert expected_rounds(12, 1.0) == 1.0
    assert expected_rounds(0, 0.5) == 0.0


def test_expected_rounds_against_simulation() -> None:
    rng = np.random.default_rng(0)
    draws = rng.geometric(0.3, size=(200_000, 12)).max(axis=1)
    assert expected_rounds(12, 0.3) == pytest.approx(draws.mean(), rel=0.01)


def test_hours_without_no_shows() -> None:
    # Every juror votes: fill the seats, then one ballot period.
    hours = expected_hours_to_verdict(12, 0.4, 0.0, 24.0, 72.0)
    assert hours == pytest.approx(24.0 * expected_rounds(12, 0.4) + 72.0)


def test_hours_with_no_shows_by_hand() -> None:
    # One seat: cycles of (R / a + B), repeated a geometric number of times, mean 1/(1-s).
    assert expected_hours_to_verdict(1, 0.5, 0.25, 10.0, 20.0) == pytest.approx(
        (10 / 0.5 + 20) / 0.75
    )
    # Two seats, everyone accepts, half do not vote: each cycle lasts R + B and seats
    # finish after the max of two geometric(1/2) cycles, 8/3 on average.
    assert expected_hours_to_verdict(2, 1.0, 0.5, 10.0, 20.0) == pytest.approx(8 / 3 * 30)


def test_hours_against_simulation() -> None:
    rng = np.random.default_rng(1)
    seats, a, s, reply, ballot = 5, 0.6, 0.3, 12.0, 24.0
    totals = []
    for _ in range(20_000):
        vacant, hours = seats, 0.0
        while vacant:
            hours += reply * rng.geometric(a, size=vacant).max() + ballot
            vacant = int(rng.binomial(vacant, s))
        totals.append(hours)
    model = expected_hours_to_verdict(seats, a, s, reply, ballot)
    assert model == pytest.approx(np.mean(totals), rel=0.02)


def test_appeal_verdicts_take_longer_and_littles_law() -> None:
    result = estimate(BASE)
    assert result.hours_to_appeal_verdict > result.hours_to_verdict
    assert result.rounds_to_fill_jury == pytest.approx(expected_rounds(10, 0.5))
    expected_open = (1_000 * result.hours_to_verdict + 100 * result.hours_to_appeal_verdict) / 24
    assert result.open_cases == pytest.approx(expected_open)


def test_nothing_reported_needs_no_one() -> None:
    result = estimate(dataclasses.replace(BASE, reports_per_post=0.0))
    assert result.summons_per_day == 0.0 and result.volunteers_needed == 0.0
    assert result.share_over_cap == 0.0


def test_appeal_jury_default() -> None:
    assert appeal_jury_size_for(12) == 25


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("users", 0, "users must be at least 1"),
        ("users", 1.5, "users must be an integer"),
        ("users", True, "users must be an integer"),
        ("jury_size", 0, "jury_size must be at least 1"),
        ("posts_per_user_per_day", -1.0, "posts_per_user_per_day must be at least 0"),
        ("reports_per_post", math.nan, "reports_per_post must be a finite number"),
        ("jury_share", 1.2, r"jury_share must lie in \[0, 1\]"),
        ("appeal_rate", -0.1, r"appeal_rate must lie in \[0, 1\]"),
        ("acceptance_rate", 0.0, r"acceptance_rate must lie in \[0.001, 1\]"),
        ("no_show_rate", 1.0, r"no_show_rate must lie in \[0, 1\)"),
        ("citizen_share", 0.0, r"citizen_share must lie in \(0, 1\]"),
        ("volunteer_share", 2.0, r"volunteer_share must lie in \(0, 1\]"),
        ("max_services_per_year", 0, "max_services_per_year must be at least 1"),
        ("reply_deadline_hours", 0.0, "reply_deadline_hours must be positive"),
        ("ballot_deadline_hours", math.inf, "ballot_deadline_hours must be a finite number"),
        ("appeal_jury_size", 10, "appeal_jury_size must be odd"),
        ("appeal_jury_size", 22, r"appeal_jury_size must be odd .* e\.g\. 21; got 22"),
        ("appeal_jury_size", "21", "appeal_jury_size must be an integer"),
    ],
)
def test_validation_names_the_field(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(BASE, **{field: value})


def test_inputs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        BASE.users = 5  # type: ignore[misc]
