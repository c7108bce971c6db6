"""Issue 16: volunteers no quota-satisfying jury can seat must not unprotect everybody else."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from fractions import Fraction

import numpy as np
import pytest

from isegoria.algorithms.sortition import (
    LEXIMIN,
    MAXIMIN,
    MAXIMIN_MINIMAX,
    METHODS,
    InfeasibleQuotasError,
    InvalidPortfolioError,
    JuryPool,
    Portfolio,
    Profile,
    QuotaMiss,
    SeatRange,
    Unseatable,
    audit_unseatable,
    derive_seed,
    draw_jury,
    prepare_portfolio,
    quotas_from_shares,
    selection_report,
    unseatable_in_record,
)

STRATA3 = ("region", "age", "leaning")


def make_pool(sizes: Mapping[Profile, int], strata: tuple[str, ...] = STRATA3) -> JuryPool:
    """A pool whose ids spell their profile."""
    return JuryPool(strata, {p: [f"{'/'.join(p)}/{i}" for i in range(n)] for p, n in sizes.items()})


# The case: 25 volunteers, jury of 6, quotas from the citizenry's shares; the one
# young left-leaning volunteer of the east fits no jury meeting the quotas.
POOL25 = {
    ("north", "young", "left"): 5,
    ("south", "young", "left"): 3,
    ("south", "young", "right"): 8,
    ("south", "old", "left"): 2,
    ("south", "old", "right"): 1,
    ("east", "young", "left"): 1,
    ("east", "old", "left"): 1,
    ("east", "old", "right"): 4,
}
QUOTAS25 = {
    "region": {"north": SeatRange(1, 2), "south": SeatRange(2, 3), "east": SeatRange(1, 2)},
    "age": {"young": SeatRange(2, 3), "old": SeatRange(3, 4)},
    "leaning": {"left": SeatRange(1, 2), "right": SeatRange(4, 5)},
}
LONE = ("east", "young", "left")


def others(portfolio: Portfolio, left_out: Profile) -> dict[Profile, Fraction]:
    """Each other profile's selection probability."""
    report = selection_report(portfolio)
    return {
        p: q for p, q in zip(portfolio.profiles, report.probabilities, strict=True) if p != left_out
    }


@pytest.mark.parametrize("method", METHODS)
def test_one_unseatable_volunteer_leaves_everyone_elses_chance_as_without_them(
    method: str,
) -> None:
    """Before issue 16: the others' smallest chance fell from 1/6 to 0 (maximin, default)."""
    pool = make_pool(POOL25)
    assert pool.total == 25
    with_lone = prepare_portfolio(pool, 6, QUOTAS25, method=method)
    without = prepare_portfolio(pool.without([f"{'/'.join(LONE)}/0"]), 6, QUOTAS25, method=method)
    [blocked] = with_lone.unseatable
    assert blocked.profile == LONE
    assert blocked.blocked_by  # the quotas the closest jury with them misses
    assert "cannot be seated under these quotas" in blocked.describe()
    mine, theirs = others(with_lone, LONE), others(without, LONE)
    assert float(min(mine.values())) == pytest.approx(1 / 6, abs=1e-6)
    assert float(min(mine.values())) == pytest.approx(float(min(theirs.values())), abs=1e-7)
    report = selection_report(with_lone)
    assert float(report.min_probability) == pytest.approx(1 / 6, abs=1e-6)
    if method != MAXIMIN:  # maximin alone leaves the largest chance to chance
        assert float(max(mine.values())) == pytest.approx(float(max(theirs.values())), abs=1e-7)
    if method == LEXIMIN:  # the whole vector is unique: every chance is as without them
        assert {p: float(q) for p, q in mine.items()} == pytest.approx(
            {p: float(q) for p, q in theirs.items()}, abs=1e-6
        )


def self_selected_pool(volunteers: int, seed: int) -> tuple[JuryPool, dict[str, dict[str, float]]]:
    """A few hundred volunteers over 6 x 4 x 3 profiles, volunteering at skewed rates."""
    rng = np.random.default_rng(seed)
    values = {
        "region": [f"r{i}" for i in range(6)],
        "age": ["18-29", "30-44", "45-64", "65+"],
        "leaning": ["left", "centre", "right"],
    }
    shares = {}
    for stratum, names in values.items():
        w = rng.gamma(2.0, size=len(names))
        shares[stratum] = dict(zip(names, (w / w.sum()).tolist(), strict=True))
    profiles = list(itertools.product(*values.values()))
    propensity = {v: rng.gamma(1.0) for names in values.values() for v in names}
    weight = np.array(
        [
            np.prod([shares[s][v] * propensity[v] for s, v in zip(STRATA3, p, strict=True)])
            for p in profiles
        ]
    )
    counts = rng.multinomial(volunteers, weight / weight.sum())
    return make_pool(dict(zip(profiles, counts.tolist(), strict=True))), shares


def test_a_self_selected_pool_keeps_its_optimum_with_unseatable_volunteers() -> None:
    """A few hundred volunteers plus three nobody can seat: the floor is the optimum without."""
    pool, shares = self_selected_pool(300, seed=4)
    quotas = {s: dict(q) for s, q in quotas_from_shares(shares, 12).items()}
    # Volunteers who declared a leaning the citizenry's quotas give no seat.
    quotas["leaning"]["undeclared"] = SeatRange(0, 0)
    blocked = ("r0", "30-44", "undeclared")
    members = {p: list(m) for p, m in zip(pool.profiles, pool.members, strict=True)}
    members[blocked] = ["u1", "u2", "u3"]
    with_them = JuryPool(STRATA3, members)
    for method in (MAXIMIN, MAXIMIN_MINIMAX):
        theirs = selection_report(prepare_portfolio(pool, 12, quotas, method=method))
        portfolio = prepare_portfolio(with_them, 12, quotas, method=method)
        mine = selection_report(portfolio)
        assert [u.profile for u in portfolio.unseatable] == [blocked]
        assert portfolio.unseatable[0].blocked_by == (
            QuotaMiss("leaning", "undeclared", "maximum", 0, 1),
        )
        assert theirs.min_probability > 0
        assert float(mine.min_probability) == pytest.approx(float(theirs.min_probability), rel=1e-6)
        if method == MAXIMIN_MINIMAX:
            assert float(mine.max_probability) == pytest.approx(
                float(theirs.max_probability), rel=1e-6
            )
        audit_unseatable(portfolio)
        for case in range(20):
            jury = draw_jury(portfolio, with_them, derive_seed("cp", f"case:{case}")).members
            assert not {"u1", "u2", "u3"} & set(jury)


def test_the_named_quotas_are_a_relaxation_that_seats_them() -> None:
    pool = make_pool(POOL25)
    [blocked] = prepare_portfolio(pool, 6, QUOTAS25).unseatable
    relaxed = {s: dict(q) for s, q in QUOTAS25.items()}
    for miss in blocked.blocked_by:
        old = relaxed[miss.stratum][miss.value]
        relaxed[miss.stratum][miss.value] = (
            SeatRange(old.min_seats - miss.by, old.max_seats)
            if miss.bound == "minimum"
            else SeatRange(old.min_seats, old.max_seats + miss.by)
        )
    assert prepare_portfolio(pool, 6, relaxed).unseatable == ()


def test_a_pool_exactly_the_jury_size_seats_everyone_or_names_the_quota() -> None:
    sizes = {("a", "x"): 2, ("b", "y"): 2}
    pool = make_pool(sizes, ("region", "age"))
    quotas = {
        "region": {"a": SeatRange(1, 2), "b": SeatRange(1, 2)},
        "age": {"x": SeatRange(1, 3), "y": SeatRange(1, 3)},
    }
    report = selection_report(prepare_portfolio(pool, 4, quotas))
    assert report.min_probability == report.max_probability == 1
    quotas["region"]["a"] = SeatRange(0, 1)
    with pytest.raises(InfeasibleQuotasError, match="stratum 'region'"):
        prepare_portfolio(pool, 4, quotas)


@pytest.mark.parametrize("method", METHODS)
def test_symmetric_profiles_tie_at_the_uniform_chance(method: str) -> None:
    """Ties: interchangeable profiles of equal size all get k / N."""
    pool = make_pool({p: 5 for p in itertools.product("ab", "xy")}, ("region", "age"))
    quotas = quotas_from_shares({"region": {"a": 0.5, "b": 0.5}, "age": {"x": 0.5, "y": 0.5}}, 4)
    report = selection_report(prepare_portfolio(pool, 4, quotas, method=method))
    assert report.min_probability == report.max_probability == Fraction(4, 20)


# --- the published record ---------------------------------------------------------------


def test_the_record_lists_them_and_old_records_still_parse_to_the_same_digest() -> None:
    portfolio = prepare_portfolio(make_pool(POOL25), 6, QUOTAS25)
    record = json.loads(json.dumps(portfolio.to_json_dict()))
    assert record["format"] == "isegoria.sortition.portfolio/2"
    assert record["unseatable"][0]["profile"] == list(LONE)
    parsed = Portfolio.from_json_dict(record)
    assert parsed == portfolio and parsed.digest == portfolio.digest
    assert unseatable_in_record(record) == portfolio.unseatable
    # A record written before issue 16 (format 1, no unseatable list) keeps its digest.
    seatable = prepare_portfolio(make_pool(POOL25).without([f"{'/'.join(LONE)}/0"]), 6, QUOTAS25)
    old = {k: v for k, v in seatable.to_json_dict().items() if k != "unseatable"}
    old["format"] = "isegoria.sortition.portfolio/1"
    again = Portfolio.from_json_dict(old)
    assert again.to_json_dict() == old
    assert unseatable_in_record(old) == ()
    audit_unseatable(again)


def test_the_audit_rejects_false_or_missing_claims() -> None:
    portfolio = prepare_portfolio(make_pool(POOL25), 6, QUOTAS25)
    audit_unseatable(portfolio)
    record = portfolio.to_json_dict()
    # Nobody left out silently: drop the claim and the lone volunteer has no chance, unlisted.
    silent = Portfolio.from_json_dict({**record, "unseatable": []})
    with pytest.raises(InvalidPortfolioError, match="never gets a seat"):
        audit_unseatable(silent)
    # A seatable profile falsely claimed unseatable (and kept out of every jury).
    i = next(
        k
        for k, p in enumerate(portfolio.profiles)
        if p != LONE
        and any(c[k] for c in portfolio.compositions)
        and not all(c[k] for c in portfolio.compositions)
    )
    victim = portfolio.profiles[i]
    kept = [
        (c, w) for c, w in zip(portfolio.compositions, portfolio.weights, strict=True) if not c[i]
    ]
    limit = QUOTAS25["region"][victim[0]].max_seats
    false_claim = Unseatable(victim, (QuotaMiss("region", victim[0], "maximum", limit, 1),))
    forged = Portfolio(
        strata=portfolio.strata,
        profiles=portfolio.profiles,
        pool_sizes=portfolio.pool_sizes,
        jury_size=6,
        quotas=portfolio.quotas,
        compositions=tuple(c for c, _ in kept),
        weights=tuple(w for _, w in kept),
        method=portfolio.method,
        unseatable=tuple(sorted((*portfolio.unseatable, false_claim), key=lambda u: u.profile)),
    )
    with pytest.raises(InvalidPortfolioError, match="can seat it"):
        audit_unseatable(forged)
    # The blocking quota must be a smallest relaxation that seats them.
    [honest] = portfolio.unseatable
    padded = Unseatable(LONE, (*honest.blocked_by, QuotaMiss("age", "old", "minimum", 3, 2)))
    with pytest.raises(InvalidPortfolioError, match="smallest relaxation"):
        audit_unseatable(Portfolio.from_json_dict({**record, "unseatable": [_entry(padded)]}))
    # A claim the portfolio itself contradicts (a jury seats the profile) does not parse.
    seated = portfolio.compositions[0]
    j = next(k for k, c in enumerate(seated) if c)
    claim = Unseatable(portfolio.profiles[j], honest.blocked_by)
    entries = sorted([_entry(honest), _entry(claim)], key=lambda e: e["profile"])
    with pytest.raises(InvalidPortfolioError, match="but a jury seats it"):
        Portfolio.from_json_dict({**record, "unseatable": entries})


def _entry(u: Unseatable) -> dict[str, object]:
    return {"profile": list(u.profile), "blocked_by": [m.to_json_dict() for m in u.blocked_by]}
