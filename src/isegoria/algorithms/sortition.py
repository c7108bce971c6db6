"""The verifiable, stratified jury lottery (issue 5): the public API.

How a case's jury is drawn:

1. ``quotas_from_shares(shares_of_whole_citizenry, jury_size)`` turns the citizenry's
   shares of every stratum value into seat ranges (or give ``SeatRange`` quotas directly).
2. ``JuryPool(strata, {profile: ordered ids})`` holds the eligible volunteers (opted in,
   not excluded, under their service load). Publish its ordering, or commit to it with
   ``pool.digest()``.
3. ``prepare_portfolio(pool, jury_size, quotas)`` (slow-ish, once per jurisdiction and pool)
   computes the lottery over compositions that maximises the smallest selection probability
   (Flanigan et al., Nature 2021), then minimises the largest, and returns a ``Portfolio``
   with integer weights; record ``portfolio.to_json_dict()`` in the log.
4. ``draw_jury(portfolio, pool, derive_seed(checkpoint_hash, case_id), exclude=...)``
   draws the jury, excluding the author, reporters and earlier jurors of the case. It is a
   pure function of public inputs: a verifier re-runs it and must get the same jury.
5. ``draw_replacements(pool, new_seed, jury=..., declined=...)`` replaces decliners and
   no-shows within their profile, so quotas keep holding.
6. ``selection_report(portfolio)`` gives the exact selection probability of every volunteer
   (minimum, maximum, per profile); a verifier re-checks the quotas by parsing the record
   with ``Portfolio.from_json_dict``, which validates every composition.
7. Volunteers whose strata profile no quota-satisfying jury can seat are left out of the
   optimisation and listed in ``portfolio.unseatable`` with the quotas that block them
   (issue 16); ``audit_unseatable(portfolio)`` re-proves that list from the record.
"""

from isegoria.algorithms.sortition_audit import audit_unseatable
from isegoria.algorithms.sortition_draw import (
    DrawnJury,
    draw_jury,
    draw_replacements,
    list_digest,
)
from isegoria.algorithms.sortition_model import (
    InfeasibleQuotasError,
    InvalidPoolError,
    InvalidPortfolioError,
    JuryPool,
    PoolTooSmallError,
    Profile,
    QuotaMiss,
    Quotas,
    SeatRange,
    SortitionError,
    StalePortfolioError,
    Unseatable,
    quotas_from_shares,
)
from isegoria.algorithms.sortition_portfolio import (
    Portfolio,
    SelectionReport,
    expected_seats,
    selection_report,
    unseatable_in_record,
)
from isegoria.algorithms.sortition_prepare import (
    LEXIMIN,
    MAXIMIN,
    MAXIMIN_MINIMAX,
    METHODS,
    prepare_portfolio,
)
from isegoria.algorithms.sortition_stream import RandomStream, derive_seed

__all__ = [
    "LEXIMIN",
    "MAXIMIN",
    "MAXIMIN_MINIMAX",
    "METHODS",
    "DrawnJury",
    "InfeasibleQuotasError",
    "InvalidPoolError",
    "InvalidPortfolioError",
    "JuryPool",
    "PoolTooSmallError",
    "Portfolio",
    "Profile",
    "QuotaMiss",
    "Quotas",
    "RandomStream",
    "SeatRange",
    "SelectionReport",
    "SortitionError",
    "StalePortfolioError",
    "Unseatable",
    "audit_unseatable",
    "derive_seed",
    "draw_jury",
    "draw_replacements",
    "expected_seats",
    "list_digest",
    "prepare_portfolio",
    "quotas_from_shares",
    "selection_report",
    "unseatable_in_record",
]
