"""The portfolio: a published, integer-weighted distribution over jury compositions.

A *composition* gives the number of seats of every profile; a portfolio lists compositions
that each satisfy the quotas, with integer weights. Integers (not LP floats) make the draw
reproducible on any machine and the JSON record exact; probabilities follow as fractions.
A person of profile p is selected with probability E[c_p] / n_p, where c_p is the seats of
p in the drawn composition and n_p the number of eligible volunteers with profile p.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any

import rfc8785

from isegoria.algorithms.sortition_model import (
    MAXIMUM,
    MINIMUM,
    InvalidPortfolioError,
    JuryPool,
    Profile,
    QuotaMiss,
    SeatRange,
    SortitionError,
    StalePortfolioError,
    Unseatable,
    check_quotas,
)

# Version 2 adds ``unseatable`` (issue 16); version 1 records, written before, still parse
# and re-serialise byte for byte, so their digests in the log still match.
PORTFOLIO_FORMAT = "isegoria.sortition.portfolio/2"
PORTFOLIO_FORMAT_V1 = "isegoria.sortition.portfolio/1"


@dataclass(frozen=True, eq=True)
class Portfolio:
    """Compositions (seats per profile, in ``profiles`` order) with integer weights.

    Construction validates everything a verifier must re-check: every composition seats
    exactly ``jury_size`` people, respects every quota and never seats more people of a
    profile than the pool holds; weights are positive integers.
    """

    strata: tuple[str, ...]
    profiles: tuple[Profile, ...]
    pool_sizes: tuple[int, ...]
    jury_size: int
    quotas: Mapping[str, Mapping[str, SeatRange]]
    compositions: tuple[tuple[int, ...], ...]
    weights: tuple[int, ...]
    method: str = "leximin"
    # Profiles no quota-satisfying jury can seat, with the quotas that block each.
    unseatable: tuple[Unseatable, ...] = ()
    format: str = PORTFOLIO_FORMAT

    __hash__ = None  # type: ignore[assignment]  # quotas is a mapping

    def __post_init__(self) -> None:
        """Reject any portfolio that breaks its quotas, sizes or weights."""
        try:
            check_quotas(self.strata, self.quotas, self.jury_size)
        except SortitionError as exc:
            raise InvalidPortfolioError(f"portfolio quotas: {exc}") from exc
        n_profiles = len(self.profiles)
        if len(self.pool_sizes) != n_profiles or any(n < 1 for n in self.pool_sizes):
            raise InvalidPortfolioError("pool_sizes must give a positive size per profile")
        if len(set(self.profiles)) != n_profiles or list(self.profiles) != sorted(self.profiles):
            raise InvalidPortfolioError("profiles must be distinct and sorted")
        for profile in self.profiles:
            if len(profile) != len(self.strata):
                raise InvalidPortfolioError(f"profile {profile} does not match the strata")
            for stratum, value in zip(self.strata, profile, strict=True):
                if value not in self.quotas[stratum]:
                    raise InvalidPortfolioError(f"no quota for {stratum}={value!r}")
        if not self.compositions or len(self.compositions) != len(self.weights):
            raise InvalidPortfolioError("a portfolio needs one weight per composition, >= 1")
        if any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in self.weights):
            raise InvalidPortfolioError("weights must be positive integers")
        if len(set(self.compositions)) != len(self.compositions):
            raise InvalidPortfolioError("compositions must be distinct")
        for composition in self.compositions:
            self._check_composition(composition)
        self._check_unseatable()

    def _check_unseatable(self) -> None:
        if self.format not in (PORTFOLIO_FORMAT, PORTFOLIO_FORMAT_V1):
            raise InvalidPortfolioError(f"unknown portfolio format {self.format!r}")
        if self.format == PORTFOLIO_FORMAT_V1 and self.unseatable:
            raise InvalidPortfolioError("a version 1 portfolio cannot list unseatable profiles")
        listed = [u.profile for u in self.unseatable]
        if listed != sorted(set(listed)):
            raise InvalidPortfolioError("unseatable profiles must be distinct and sorted")
        for entry in self.unseatable:
            if entry.profile not in self.profiles:
                raise InvalidPortfolioError(f"unseatable profile {entry.profile} is not a profile")
            i = self.profiles.index(entry.profile)
            if any(comp[i] for comp in self.compositions):
                raise InvalidPortfolioError(
                    f"profile {entry.profile} is listed as unseatable but a jury seats it"
                )
            if not entry.blocked_by:
                raise InvalidPortfolioError(f"unseatable profile {entry.profile} names no quota")
            for miss in entry.blocked_by:
                bounds = self.quotas.get(miss.stratum, {}).get(miss.value)
                limit = None
                if bounds is not None:
                    limit = bounds.min_seats if miss.bound == MINIMUM else bounds.max_seats
                if miss.bound not in (MINIMUM, MAXIMUM) or limit != miss.limit or miss.by < 1:
                    raise InvalidPortfolioError(f"unseatable profile {entry.profile}: bad {miss}")

    def _check_composition(self, seats: tuple[int, ...]) -> None:
        if len(seats) != len(self.profiles):
            raise InvalidPortfolioError(f"composition {seats} has the wrong length")
        if any(not 0 <= c <= n for c, n in zip(seats, self.pool_sizes, strict=True)):
            raise InvalidPortfolioError(f"composition {seats} seats more than a profile holds")
        if sum(seats) != self.jury_size:
            raise InvalidPortfolioError(
                f"composition {seats} seats {sum(seats)}, not the jury size {self.jury_size}"
            )
        # One pass over the seated profiles (a jury seats a dozen of hundreds), not one per
        # quota value: preparation validates every composition of every portfolio it makes.
        seated = [(c, p) for c, p in zip(seats, self.profiles, strict=True) if c]
        for s_index, stratum in enumerate(self.strata):
            per_value: dict[str, int] = {}
            for c, p in seated:
                per_value[p[s_index]] = per_value.get(p[s_index], 0) + c
            for value, bounds in self.quotas[stratum].items():
                taken = per_value.get(value, 0)
                if not bounds.min_seats <= taken <= bounds.max_seats:
                    raise InvalidPortfolioError(
                        f"composition {seats} gives {stratum}={value!r} {taken} seats, outside "
                        f"its quota [{bounds.min_seats}, {bounds.max_seats}]"
                    )

    @cached_property
    def digest(self) -> bytes:
        """SHA-256 of the RFC 8785 canonical JSON of ``to_json_dict()``."""
        return hashlib.sha256(rfc8785.dumps(self.to_json_dict())).digest()

    @property
    def weight_total(self) -> int:
        """The sum of the weights (the denominator of every composition's probability)."""
        return sum(self.weights)

    def check_pool(self, pool: JuryPool) -> None:
        """Raise StalePortfolioError unless the portfolio was prepared for this pool."""
        if pool.strata != self.strata or pool.profiles != self.profiles:
            raise StalePortfolioError(
                "the pool's strata or profiles differ from the portfolio's; prepare a new "
                "portfolio for this pool"
            )
        if pool.sizes != self.pool_sizes:
            changed = next(
                p
                for p, a, b in zip(self.profiles, self.pool_sizes, pool.sizes, strict=True)
                if a != b
            )
            raise StalePortfolioError(
                f"profile {changed} has a different number of volunteers than when the "
                "portfolio was prepared; prepare a new portfolio for this pool"
            )

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of integers and strings only (canonicalise it with RFC 8785)."""
        record = {
            "format": self.format,
            "method": self.method,
            "strata": list(self.strata),
            "profiles": [list(p) for p in self.profiles],
            "pool_sizes": list(self.pool_sizes),
            "jury_size": self.jury_size,
            "quotas": {
                s: {v: [r.min_seats, r.max_seats] for v, r in sorted(self.quotas[s].items())}
                for s in self.strata
            },
            "compositions": [list(c) for c in self.compositions],
            "weights": list(self.weights),
        }
        if self.format != PORTFOLIO_FORMAT_V1:
            record["unseatable"] = [
                {
                    "profile": list(u.profile),
                    "blocked_by": [m.to_json_dict() for m in u.blocked_by],
                }
                for u in self.unseatable
            ]
        return record

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> Portfolio:
        """Parse and re-validate a portfolio recorded by ``to_json_dict``."""
        form = data.get("format")
        if form not in (PORTFOLIO_FORMAT, PORTFOLIO_FORMAT_V1):
            raise InvalidPortfolioError(f"unknown portfolio format {form!r}")
        try:
            quotas = {
                str(s): {str(v): SeatRange(int(r[0]), int(r[1])) for v, r in values.items()}
                for s, values in data["quotas"].items()
            }
            return cls(
                strata=tuple(str(s) for s in data["strata"]),
                profiles=tuple(tuple(str(v) for v in p) for p in data["profiles"]),
                pool_sizes=tuple(_int(n) for n in data["pool_sizes"]),
                jury_size=_int(data["jury_size"]),
                quotas=quotas,
                compositions=tuple(tuple(_int(c) for c in comp) for comp in data["compositions"]),
                weights=tuple(_int(w) for w in data["weights"]),
                method=str(data["method"]),
                unseatable=tuple(_unseatable(u) for u in data["unseatable"])
                if form == PORTFOLIO_FORMAT
                else (),
                format=str(form),
            )
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise InvalidPortfolioError(f"malformed portfolio record: {exc!r}") from exc
        except SortitionError as exc:
            if isinstance(exc, InvalidPortfolioError):
                raise
            raise InvalidPortfolioError(str(exc)) from exc


def unseatable_in_record(data: Mapping[str, Any]) -> tuple[Unseatable, ...]:
    """The unseatable profiles a portfolio record lists (none in a format 1 record)."""
    try:
        return tuple(_unseatable(entry) for entry in data.get("unseatable", []))
    except (KeyError, TypeError) as exc:
        raise InvalidPortfolioError(f"malformed unseatable list: {exc!r}") from exc


def _unseatable(entry: Mapping[str, Any]) -> Unseatable:
    profile = tuple(str(v) for v in entry["profile"])
    misses = tuple(
        QuotaMiss(
            str(m["stratum"]), str(m["value"]), str(m["bound"]), _int(m["limit"]), _int(m["by"])
        )
        for m in entry["blocked_by"]
    )
    return Unseatable(profile, misses)


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPortfolioError(f"expected an integer, got {value!r}")
    return value


@dataclass(frozen=True)
class SelectionReport:
    """Exact selection probabilities a portfolio gives each eligible volunteer."""

    profiles: tuple[Profile, ...]
    eligible: tuple[int, ...]
    probabilities: tuple[Fraction, ...]
    min_probability: Fraction
    max_probability: Fraction
    uniform_probability: Fraction

    def per_profile(self) -> dict[Profile, float]:
        """Each profile's individual selection probability, as a float."""
        return {p: float(q) for p, q in zip(self.profiles, self.probabilities, strict=True)}

    def to_json_dict(self) -> dict[str, Any]:
        """Exact fractions as "num/den" strings, for the log or a transparency report."""
        return {
            "min_probability": str(self.min_probability),
            "max_probability": str(self.max_probability),
            "uniform_probability": str(self.uniform_probability),
            "profiles": [
                {"profile": list(p), "eligible": n, "probability": str(q)}
                for p, n, q in zip(self.profiles, self.eligible, self.probabilities, strict=True)
            ],
        }


def expected_seats(portfolio: Portfolio) -> tuple[Fraction, ...]:
    """E[c_p] for every profile, exactly."""
    total = portfolio.weight_total
    sums = [0] * len(portfolio.profiles)
    for comp, weight in zip(portfolio.compositions, portfolio.weights, strict=True):
        for i, c in enumerate(comp):
            if c:
                sums[i] += weight * c
    return tuple(Fraction(s, total) for s in sums)


def selection_report(
    portfolio: Portfolio,
    pool: JuryPool | None = None,
    exclude: Collection[str] = (),
) -> SelectionReport:
    """Exact individual selection probabilities, optionally with some members excluded.

    ``min_probability`` is over the volunteers who can be seated; the unseatable have 0.

    With e_p members of profile p excluded at draw time, each remaining member of p is
    selected with probability E[c_p] / (n_p - e_p) (the draw is uniform among them), which
    is never below the prepared E[c_p] / n_p: small exclusions cannot lower the floor.
    """
    if pool is None:
        excluded = (0,) * len(portfolio.profiles)
    else:
        portfolio.check_pool(pool)
        excluded = tuple(len(found) for found in count_exclusions(pool, exclude))
    eligible = tuple(n - e for n, e in zip(portfolio.pool_sizes, excluded, strict=True))
    seats = expected_seats(portfolio)
    probabilities = tuple(
        Fraction(0) if n == 0 else s / n for s, n in zip(seats, eligible, strict=True)
    )
    # The smallest chance is the one the lottery guarantees: among volunteers who can be
    # seated at all (the others are listed in the portfolio, with what blocks them).
    blocked = {u.profile for u in portfolio.unseatable}
    present = [
        q
        for p, q, n in zip(portfolio.profiles, probabilities, eligible, strict=True)
        if n > 0 and p not in blocked
    ] or [Fraction(0)]
    return SelectionReport(
        profiles=portfolio.profiles,
        eligible=eligible,
        probabilities=probabilities,
        min_probability=min(present),
        max_probability=max(present),
        uniform_probability=Fraction(portfolio.jury_size, sum(eligible)),
    )


def count_exclusions(pool: JuryPool, exclude: Collection[str]) -> list[list[int]]:
    """Sorted positions, per profile, of the excluded ids that are in the pool."""
    positions: list[list[int]] = [[] for _ in pool.profiles]
    for member in set(exclude):
        where = pool.locate(member)
        if where is not None:
            positions[where[0]].append(where[1])
    for found in positions:
        found.sort()
    return positions
