"""Re-check a published portfolio's claim that some volunteers cannot be seated.

A portfolio (format 2) lists the strata profiles no quota-satisfying jury can seat, each
with the quotas its closest jury misses. The lottery gives those volunteers no chance, so
the claim must be checkable from the published record alone; ``jury verify`` runs this:

* every listed profile really cannot be seated (the elastic MILP misses some quota);
* the quotas named are a smallest relaxation: as many seats in total as the MILP's optimum,
  and relaxed by them the quotas admit a jury seating the profile;
* every profile the lottery never seats is listed (nobody is left out silently).
"""

from __future__ import annotations

from isegoria.algorithms.sortition_model import (
    MINIMUM,
    InvalidPortfolioError,
    Quotas,
    SeatRange,
    SortitionError,
    Unseatable,
)
from isegoria.algorithms.sortition_portfolio import (
    PORTFOLIO_FORMAT_V1,
    Portfolio,
    expected_seats,
)
from isegoria.algorithms.sortition_problem import SeatProblem, build_problem, closest_jury


def audit_unseatable(portfolio: Portfolio) -> None:
    """Raise InvalidPortfolioError unless the portfolio's unseatable list is exactly right."""
    if portfolio.format == PORTFOLIO_FORMAT_V1:
        return  # drawn before issue 16: the record claims nothing about seatability
    listed = {u.profile for u in portfolio.unseatable}
    for profile, seats in zip(portfolio.profiles, expected_seats(portfolio), strict=True):
        if seats == 0 and profile not in listed:
            raise InvalidPortfolioError(
                f"profile {'/'.join(profile)} never gets a seat but is not listed as one that "
                "cannot be seated"
            )
    if not portfolio.unseatable:
        return
    try:
        problem = _problem(portfolio, portfolio.quotas)
        for entry in portfolio.unseatable:
            _check(portfolio, problem, entry)
    except InvalidPortfolioError:
        raise
    except SortitionError as exc:
        raise InvalidPortfolioError(f"the seatability check failed: {exc}") from exc


def _problem(portfolio: Portfolio, quotas: Quotas) -> SeatProblem:
    return build_problem(
        portfolio.strata, portfolio.profiles, portfolio.pool_sizes, portfolio.jury_size, quotas
    )


def _check(portfolio: Portfolio, problem: SeatProblem, entry: Unseatable) -> None:
    index = problem.index(entry.profile)
    name = "/".join(entry.profile)
    _, misses = closest_jury(problem, seating=index)
    if not misses:
        raise InvalidPortfolioError(
            f"profile {name} is listed as one that cannot be seated, but a jury meeting every "
            "quota can seat it"
        )
    if sum(m.by for m in misses) != sum(m.by for m in entry.blocked_by):
        raise InvalidPortfolioError(
            f"the quotas named as blocking profile {name} are not a smallest relaxation"
        )
    relaxed = {s: dict(values) for s, values in portfolio.quotas.items()}
    for miss in entry.blocked_by:
        bounds = relaxed[miss.stratum][miss.value]
        if miss.bound == MINIMUM:
            relaxed[miss.stratum][miss.value] = SeatRange(
                max(bounds.min_seats - miss.by, 0), bounds.max_seats
            )
        else:
            relaxed[miss.stratum][miss.value] = SeatRange(
                bounds.min_seats, bounds.max_seats + miss.by
            )
    _, still = closest_jury(_problem(portfolio, relaxed), seating=index)
    if still:
        raise InvalidPortfolioError(
            f"relaxing the quotas named as blocking profile {name} still seats nobody of it"
        )
