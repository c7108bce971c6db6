"""Whether a capacity estimate is feasible, by how much it is not, and what would make it so.

The capacity model (``capacity.estimate``) sizes the jury pool a platform needs:
``volunteers_needed`` is the pool at which uniform draws call at most 1 % of volunteers past
the yearly cap on service. The platform *has* ``users × citizen_share × volunteer_share``
volunteers. When it has fewer than it needs, the parameters are infeasible: the cap would
bind for most volunteers and the draw would stop being equal (or, past the average need,
there are not enough seats' worth of service in the pool at all).

For an infeasible estimate this module says by how much (the shortfall and the factor) and
which single change would make it feasible, each found from the model itself:

* ``jury_share``: the pool needed is proportional to the cases tried, so the largest share
  is the current one scaled by ``volunteers / volunteers_needed`` (``reports_per_post`` and
  ``posts_per_user_per_day`` act the same way);
* ``volunteer_share``: the share of citizens who would have to volunteer (impossible past 1);
* ``max_services_per_year``: the smallest yearly cap at which the pool suffices (searched up
  to one case a day);
* ``jury_size``: the largest first jury (with appeal juries of 2n + 1 when that is the
  current rule) at which the pool suffices, down to 3 jurors (the constitution's minimum).

Every suggested value is rounded towards feasibility and checked by running the model again.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Final

from isegoria.algorithms.capacity import (
    DAYS_PER_YEAR,
    CapacityEstimate,
    CapacityInputs,
    appeal_jury_size_for,
    estimate,
    pool_for_cap,
)

__all__ = ["Feasibility", "Lever", "check", "describe"]

#: Highest yearly cap suggested: one case a day is already more than any juror can read.
MAX_CAP: Final = 365
#: Smallest jury suggested, the constitution's minimum (domain.constitution.MIN_JURY_SIZE).
MIN_JURY: Final = 3


@dataclass(frozen=True, slots=True)
class Lever:
    """One input that, changed alone to ``needed``, makes the parameters feasible."""

    option: str  # the CapacityInputs field (``--jury-share`` on the command line)
    current: float
    needed: float | None  # None: no value of this input alone is enough
    why_not: str = ""  # when ``needed`` is None, why


@dataclass(frozen=True, slots=True)
class Feasibility:
    """How the pool the platform has compares with the pool its parameters need."""

    feasible: bool
    volunteers: float  # the pool the platform has
    volunteers_needed: float  # ≤ 1 % past the cap (the size to plan for)
    volunteers_needed_on_average: float  # the average load equals the cap
    citizens: float
    levers: tuple[Lever, ...]

    @property
    def shortfall(self) -> float:
        """Volunteers missing (0 when feasible)."""
        return max(0.0, self.volunteers_needed - self.volunteers)

    @property
    def factor(self) -> float:
        """How many times the pool the parameters need is the pool the platform has."""
        return self.volunteers_needed / self.volunteers


def _fits(inputs: CapacityInputs) -> bool:
    result = estimate(inputs)
    return result.volunteers_needed <= result.volunteers


def _round(value: float, *, up: bool, digits: int = 2) -> float:
    """``value`` to ``digits`` significant figures, rounded up or down (towards feasibility)."""
    if value <= 0:
        return value
    scale = 10 ** (digits - 1 - math.floor(math.log10(value)))
    rounded = (math.ceil if up else math.floor)(value * scale) / scale
    return float(f"{rounded:.{digits}g}")


def _jury_share(inputs: CapacityInputs, result: CapacityEstimate) -> Lever:
    scaled = inputs.jury_share * result.volunteers / result.volunteers_needed
    needed = _round(scaled, up=False)
    if needed <= 0 or not _fits(dataclasses.replace(inputs, jury_share=needed)):
        return Lever("jury_share", inputs.jury_share, None, "no share above 0 is small enough")
    return Lever("jury_share", inputs.jury_share, needed)


def _volunteer_share(inputs: CapacityInputs, result: CapacityEstimate) -> Lever:
    citizens = inputs.users * inputs.citizen_share
    needed = _round(result.volunteers_needed / citizens, up=True)
    if needed > 1 or not _fits(dataclasses.replace(inputs, volunteer_share=needed)):
        return Lever(
            "volunteer_share",
            inputs.volunteer_share,
            None,
            f"it would take {result.volunteers_needed / citizens:.0%} of the "
            f"{citizens:,.0f} citizens",
        )
    return Lever("volunteer_share", inputs.volunteer_share, needed)


def _cap(inputs: CapacityInputs, result: CapacityEstimate) -> Lever:
    per_year = result.services_per_day * DAYS_PER_YEAR
    low, high = inputs.max_services_per_year, MAX_CAP
    if pool_for_cap(per_year, high) > result.volunteers:
        return Lever(
            "max_services_per_year",
            inputs.max_services_per_year,
            None,
            f"even {MAX_CAP} cases a year per juror is not enough",
        )
    while high - low > 1:  # the pool needed shrinks as the cap grows: bisect
        middle = (low + high) // 2
        if pool_for_cap(per_year, middle) <= result.volunteers:
            high = middle
        else:
            low = middle
    return Lever("max_services_per_year", inputs.max_services_per_year, high)


def _jury_size(inputs: CapacityInputs) -> Lever:
    default_appeal = inputs.appeal_jury_size == appeal_jury_size_for(inputs.jury_size)
    for size in range(inputs.jury_size - 1, MIN_JURY - 1, -1):
        appeal = appeal_jury_size_for(size) if default_appeal else inputs.appeal_jury_size
        if _fits(dataclasses.replace(inputs, jury_size=size, appeal_jury_size=appeal)):
            return Lever("jury_size", inputs.jury_size, size)
    return Lever(
        "jury_size", inputs.jury_size, None, f"even juries of {MIN_JURY} need more volunteers"
    )


def check(inputs: CapacityInputs, result: CapacityEstimate | None = None) -> Feasibility:
    """Compare the pool the platform has with the pool ``inputs`` need; levers if short."""
    result = result or estimate(inputs)
    feasible = result.volunteers_needed <= result.volunteers
    levers: tuple[Lever, ...] = ()
    if not feasible:
        levers = (
            _jury_share(inputs, result),
            _volunteer_share(inputs, result),
            _cap(inputs, result),
            _jury_size(inputs),
        )
    return Feasibility(
        feasible=feasible,
        volunteers=result.volunteers,
        volunteers_needed=result.volunteers_needed,
        volunteers_needed_on_average=result.volunteers_needed_on_average,
        citizens=inputs.users * inputs.citizen_share,
        levers=levers,
    )


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def describe(feasibility: Feasibility, inputs: CapacityInputs) -> list[str]:
    """The verdict in sentences, then one line per lever: what the command line prints."""
    f = feasibility
    cap = inputs.max_services_per_year
    if f.feasible:
        return [
            f"Feasible: {f.volunteers_needed:,.0f} volunteers are needed so that at most 1% "
            f"would be called past {cap} cases a year; the platform has {f.volunteers:,.0f}."
        ]
    lines = [
        f"NOT FEASIBLE: keeping service within {cap} cases a year for all but 1% of "
        f"volunteers needs {f.volunteers_needed:,.0f} volunteers; the platform has "
        f"{f.volunteers:,.0f} ({inputs.users:,} users x {inputs.citizen_share:g} citizens x "
        f"{inputs.volunteer_share:g} volunteers): {f.shortfall:,.0f} short, "
        f"{f.factor:,.1f} times too few.",
    ]
    if f.volunteers_needed_on_average > f.volunteers:
        average = f.volunteers_needed_on_average
        lines.append(
            f"Even the average load is past the cap: {average:,.0f} volunteers would be "
            f"needed for that alone ({average / f.volunteers:,.1f} times the pool)."
        )
    if f.volunteers_needed > f.citizens:
        lines.append(f"That is more volunteers than the platform has citizens ({f.citizens:,.0f}).")
    lines.append("Any one of these changes alone would make the parameters feasible:")
    for lever in f.levers:
        if lever.needed is None:
            lines.append(f"  {_option(lever.option)}: no value is enough ({lever.why_not})")
            continue
        relation = "or less" if lever.needed < lever.current else "or more"
        lines.append(
            f"  {_option(lever.option)} {lever.needed:g} {relation} (now {lever.current:g})"
        )
    return lines
