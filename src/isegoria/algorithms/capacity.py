"""Capacity model behind ``isegoria simulate``: jurors needed, load per volunteer, delays.

Given a platform's size, how much is reported, and how juries are run, the model answers
three questions: how many citizens must be summoned each day (counting replacements for
those who decline or do not vote), how often an average volunteer is called and serves
per year, and how long a case waits for its verdict. docs/capacity.md explains the model
and works through an example at 100 million daily users.

Assumptions (each stated where it is used):

* Arrivals are steady: every day looks like the average day (no peaks).
* Each summons is accepted independently with probability ``acceptance_rate``; an
  accepted juror fails to vote by the ballot deadline independently with probability
  ``no_show_rate``. Decliners and no-shows are replaced by fresh draws from the pool.
* Seats are filled in rounds. A round lasts the whole reply deadline (silence is only
  known to mean "no" at the deadline), and a ballot period lasts the whole ballot
  deadline. The times are therefore upper estimates: juries that answer early finish
  sooner.
* Draws are uniform over the volunteers, so the number of times one volunteer serves
  in a year is Poisson distributed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Final

import numpy as np
from scipy import stats

DAYS_PER_YEAR: Final = 365.0
HOURS_PER_DAY: Final = 24.0

CAP_BINDING_SHARE: Final = 0.01
"""Target share of volunteers whom uniform draws would call past the yearly cap.

Above this share the cap starts to bind often, and whoever is capped out shifts load onto
everyone else, so the draw is no longer equal. Sizing the pool for 1 % keeps it equal.
"""

MIN_ACCEPTANCE_RATE: Final = 0.001
"""Below one acceptance per thousand summons juries are not viable (a jury of 12 needs
12,000 summons), and the series in :func:`expected_rounds` would need millions of terms."""

_SERIES_TOLERANCE: Final = 1e-15


@dataclass(frozen=True, slots=True)
class CapacityInputs:
    """What the model needs; every field is validated with an error that names it."""

    users: int  # daily active users of the platform
    posts_per_user_per_day: float
    reports_per_post: float  # reports filed per post (may exceed 1 in principle)
    jury_share: float  # share of reports that become a case tried by a jury
    jury_size: int
    appeal_rate: float  # share of first-instance verdicts that are appealed
    appeal_jury_size: int  # odd and larger than jury_size; 2n + 1 by default
    acceptance_rate: float  # share of summons accepted
    no_show_rate: float  # share of accepted jurors who do not vote in time
    citizen_share: float  # share of users who are verified citizens
    volunteer_share: float  # share of citizens who volunteered for the jury pool
    max_services_per_year: int  # per-juror cap on cases served in a year
    reply_deadline_hours: float  # time a summoned citizen has to accept
    ballot_deadline_hours: float  # time an accepted juror has to vote

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            # Annotations are strings here (PEP 563), hence the comparison with "int".
            if f.type == "int" and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{f.name} must be an integer, got {value!r}")
            if f.type == "float" and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise ValueError(f"{f.name} must be a finite number, got {value!r}")
        _at_least("users", self.users, 1)
        _at_least("jury_size", self.jury_size, 1)
        _at_least("max_services_per_year", self.max_services_per_year, 1)
        _at_least("posts_per_user_per_day", self.posts_per_user_per_day, 0)
        _at_least("reports_per_post", self.reports_per_post, 0)
        for name in ("jury_share", "appeal_rate"):
            _share(name, getattr(self, name), open_low=False, open_high=False)
        _acceptance(self.acceptance_rate)
        for name in ("citizen_share", "volunteer_share"):
            _share(name, getattr(self, name), open_low=True, open_high=False)
        _share("no_show_rate", self.no_show_rate, open_low=False, open_high=True)
        for name in ("reply_deadline_hours", "ballot_deadline_hours"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.appeal_jury_size <= self.jury_size or self.appeal_jury_size % 2 == 0:
            raise ValueError(
                f"appeal_jury_size must be odd (no tie on appeal) and larger than jury_size "
                f"{self.jury_size}, e.g. {appeal_jury_size_for(self.jury_size)}; "
                f"got {self.appeal_jury_size}"
            )


def _at_least(name: str, value: float, minimum: float) -> None:
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")


def _share(name: str, value: float, *, open_low: bool, open_high: bool) -> None:
    low_ok = value > 0 if open_low else value >= 0
    high_ok = value < 1 if open_high else value <= 1
    if not (low_ok and high_ok):
        interval = f"{'(' if open_low else '['}0, 1{')' if open_high else ']'}"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")


def _acceptance(value: float) -> None:
    if not MIN_ACCEPTANCE_RATE <= value <= 1.0:
        raise ValueError(f"acceptance_rate must lie in [{MIN_ACCEPTANCE_RATE}, 1], got {value!r}")


def appeal_jury_size_for(jury_size: int) -> int:
    """The default appeal jury: larger than the first and odd, 2n + 1."""
    return 2 * jury_size + 1


@dataclass(frozen=True, slots=True)
class CapacityEstimate:
    """What the model computes; rates are per day unless the name says otherwise."""

    posts_per_day: float
    reports_per_day: float
    cases_per_day: float
    appeals_per_day: float
    ballots_per_day: float  # seats to fill: one ballot each
    services_per_day: float  # accepted summons, counting no-shows
    summons_per_day: float  # draws, counting replacements for decliners and no-shows
    summons_per_case: float  # draws per first-instance case
    volunteers: float  # size of the jury pool
    summons_per_volunteer_per_year: float
    services_per_volunteer_per_year: float
    share_over_cap: float  # share of volunteers uniform draws would call past the cap
    volunteers_needed_on_average: float  # pool at which the average load equals the cap
    volunteers_needed: float  # pool at which only CAP_BINDING_SHARE would pass the cap
    rounds_to_fill_jury: float  # expected reply rounds to fill a first-instance jury
    hours_to_verdict: float  # expected, from draw to verdict, first instance
    hours_to_appeal_verdict: float  # expected, from draw to verdict, appeal jury
    open_cases: float  # average cases awaiting a verdict at any moment (Little's law)


def expected_rounds(seats: int, acceptance_rate: float) -> float:
    """Expected reply rounds until ``seats`` seats are all accepted.

    Each seat needs a geometric number of summons (success probability
    ``acceptance_rate``), all seats are re-drawn in parallel, so the rounds are the
    maximum of ``seats`` geometric variables: E[max] = sum_{t>=0} 1 - (1 - q^t)^seats.
    """
    _at_least("seats", seats, 0)
    _acceptance(acceptance_rate)
    if seats == 0:
        return 0.0
    q = 1.0 - acceptance_rate
    if q == 0.0:
        return 1.0
    # Terms fall below the tolerance once seats * q^t < tolerance.
    horizon = math.ceil(math.log(_SERIES_TOLERANCE / seats) / math.log(q)) + 1
    t = np.arange(1, horizon, dtype=np.float64)
    # 1 - (1 - q^t)^seats without cancellation; the t = 0 term is exactly 1.
    terms = -np.expm1(seats * np.log1p(-(q**t)))
    return 1.0 + float(terms.sum())


def expected_hours_to_verdict(
    seats: int,
    acceptance_rate: float,
    no_show_rate: float,
    reply_deadline_hours: float,
    ballot_deadline_hours: float,
) -> float:
    """Expected hours from the draw until every seat has a ballot.

    A Markov chain on the number of seats still without a ballot, v: fill them
    (expected_rounds(v) reply deadlines), then one ballot deadline, after which each new
    juror is a no-show with probability s and that many seats remain. With E[0] = 0:
    E[v] = (R * rounds(v) + B + sum_{j<v} P(j no-shows of v) E[j]) / (1 - s^v).
    """
    _share("no_show_rate", no_show_rate, open_low=False, open_high=True)
    hours = [0.0]
    for v in range(1, seats + 1):
        step = reply_deadline_hours * expected_rounds(v, acceptance_rate) + ballot_deadline_hours
        j = np.arange(v)
        later = float(np.dot(stats.binom.pmf(j, v, no_show_rate), hours))
        hours.append((step + later) / (1.0 - no_show_rate**v))
    return hours[seats]


def pool_for_cap(services_per_year: float, cap: int) -> float:
    """Smallest pool where uniform draws call at most CAP_BINDING_SHARE past the cap."""
    if services_per_year == 0:
        return 0.0
    # P(Poisson(lam) > cap) grows with lam: bisect for the largest lam within the target.
    low, high = 0.0, float(cap) + 1.0
    while stats.poisson.sf(cap, high) <= CAP_BINDING_SHARE:
        high *= 2.0
    for _ in range(100):
        middle = (low + high) / 2.0
        if stats.poisson.sf(cap, middle) <= CAP_BINDING_SHARE:
            low = middle
        else:
            high = middle
    return services_per_year / low


def estimate(inputs: CapacityInputs) -> CapacityEstimate:
    """Run the capacity model on validated inputs."""
    i = inputs
    posts = i.users * i.posts_per_user_per_day
    reports = posts * i.reports_per_post
    cases = reports * i.jury_share
    appeals = cases * i.appeal_rate
    ballots = cases * i.jury_size + appeals * i.appeal_jury_size
    # Each seat needs 1 / (1 - s) accepted jurors, and each of those 1 / a summons.
    services = ballots / (1.0 - i.no_show_rate)
    summons = services / i.acceptance_rate
    volunteers = i.users * i.citizen_share * i.volunteer_share
    per_year = services * DAYS_PER_YEAR / volunteers
    first = expected_hours_to_verdict(
        i.jury_size,
        i.acceptance_rate,
        i.no_show_rate,
        i.reply_deadline_hours,
        i.ballot_deadline_hours,
    )
    appeal = expected_hours_to_verdict(
        i.appeal_jury_size,
        i.acceptance_rate,
        i.no_show_rate,
        i.reply_deadline_hours,
        i.ballot_deadline_hours,
    )
    return CapacityEstimate(
        posts_per_day=posts,
        reports_per_day=reports,
        cases_per_day=cases,
        appeals_per_day=appeals,
        ballots_per_day=ballots,
        services_per_day=services,
        summons_per_day=summons,
        summons_per_case=i.jury_size / ((1.0 - i.no_show_rate) * i.acceptance_rate),
        volunteers=volunteers,
        summons_per_volunteer_per_year=summons * DAYS_PER_YEAR / volunteers,
        services_per_volunteer_per_year=per_year,
        share_over_cap=float(stats.poisson.sf(i.max_services_per_year, per_year)),
        volunteers_needed_on_average=services * DAYS_PER_YEAR / i.max_services_per_year,
        volunteers_needed=pool_for_cap(services * DAYS_PER_YEAR, i.max_services_per_year),
        rounds_to_fill_jury=expected_rounds(i.jury_size, i.acceptance_rate),
        hours_to_verdict=first,
        hours_to_appeal_verdict=appeal,
        # Little's law, L = lambda * W: juries run in parallel, so no case queues for one.
        open_cases=(cases * first + appeals * appeal) / HOURS_PER_DAY,
    )
