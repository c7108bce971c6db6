"""Data model of the jury lottery: errors, quotas, the pool of volunteers.

A *profile* is the tuple of a volunteer's values, one per stratum, in the order the
strata are declared (e.g. ``("north", "30-44", "left")``). Volunteers sharing a profile
are interchangeable for the quotas, so the lottery is optimised over profiles, not people
(issue 5: pools can hold millions).
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_right
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate

Profile = tuple[str, ...]

# Shares of a stratum must add up to 1 within this tolerance before they are used; a larger
# gap means a value (e.g. "undeclared") is missing from the citizenry's breakdown.
SHARE_SUM_TOLERANCE = 1e-6
# share * jury_size this close to an integer is treated as that integer, so that float noise
# (0.25 * 12 = 2.9999999999) does not turn an exact proportional seat count into a range.
PROPORTIONAL_SNAP = 1e-9


class SortitionError(ValueError):
    """Base class of every error raised by the jury lottery."""


class InfeasibleQuotasError(SortitionError):
    """No jury of the requested size drawn from the pool can satisfy the quotas."""


class PoolTooSmallError(SortitionError):
    """The pool is empty or holds fewer eligible volunteers than the jury has seats."""


class InvalidPoolError(SortitionError):
    """The pool is malformed (unknown stratum value, duplicate member, ...)."""


class InvalidPortfolioError(SortitionError):
    """A portfolio breaks its own quotas, sizes or weights (e.g. a tampered log record)."""


class StalePortfolioError(SortitionError):
    """The portfolio no longer fits the pool (it changed, or exclusions are too large)."""


@dataclass(frozen=True, slots=True)
class SeatRange:
    """The inclusive range [min_seats, max_seats] of seats one stratum value may take."""

    min_seats: int
    max_seats: int

    def __post_init__(self) -> None:
        """Reject negative or inverted ranges."""
        for bound in (self.min_seats, self.max_seats):
            if isinstance(bound, bool) or not isinstance(bound, int):
                raise SortitionError(f"seat bounds must be integers, got {bound!r}")
        if not 0 <= self.min_seats <= self.max_seats:
            raise SortitionError(
                f"seat range [{self.min_seats}, {self.max_seats}] must satisfy 0 <= min <= max"
            )


Quotas = Mapping[str, Mapping[str, SeatRange]]

MINIMUM, MAXIMUM = "minimum", "maximum"


@dataclass(frozen=True, slots=True)
class QuotaMiss:
    """A quota a jury misses: its stratum value, which bound, the bound, by how many seats."""

    stratum: str
    value: str
    bound: str  # MINIMUM or MAXIMUM
    limit: int
    by: int

    def describe(self) -> str:
        """E.g. "region='north' maximum 2 by 1 seat"."""
        seats = "seat" if self.by == 1 else "seats"
        return f"{self.stratum}={self.value!r} {self.bound} {self.limit} by {self.by} {seats}"

    def to_json_dict(self) -> dict[str, str | int]:
        """The miss as JSON."""
        return {
            "stratum": self.stratum,
            "value": self.value,
            "bound": self.bound,
            "limit": self.limit,
            "by": self.by,
        }


@dataclass(frozen=True, slots=True)
class Unseatable:
    """A profile no quota-satisfying jury can seat, and the quotas that block it.

    ``blocked_by`` lists the quotas missed by the closest jury that seats someone of the
    profile (the fewest seats missed in total): relaxing them by that much would let the
    profile be seated. The lottery gives such volunteers no chance and says so publicly.
    """

    profile: Profile
    blocked_by: tuple[QuotaMiss, ...]

    def describe(self) -> str:
        """The public sentence shown in the draw record and by ``jury verify``."""
        misses = "; ".join(m.describe() for m in self.blocked_by)
        return (
            f"profile {'/'.join(self.profile)} cannot be seated under these quotas: the "
            f"closest jury with one of its volunteers misses {misses}"
        )


def quotas_from_shares(shares: Mapping[str, Mapping[str, float]], jury_size: int) -> Quotas:
    """Quotas [floor(s*k), ceil(s*k)] per value, from the citizenry's share s of each value.

    The shares must describe the WHOLE citizenry of the jurisdiction (issue 5), not only the
    volunteers, so that juries mirror the people they judge for. Each value then gets its
    proportional seat count rounded down or up ("within one seat of proportional"). This is
    always feasible sum-wise: sum(floor(s*k)) <= sum(s*k) = k <= sum(ceil(s*k)).
    """
    if jury_size < 1:
        raise SortitionError(f"jury size must be at least 1, got {jury_size}")
    quotas: dict[str, dict[str, SeatRange]] = {}
    for stratum, values in shares.items():
        if not values:
            raise SortitionError(f"stratum {stratum!r} has no values")
        if any(not math.isfinite(s) or s < 0 for s in values.values()):
            raise SortitionError(f"shares of stratum {stratum!r} must be finite and >= 0")
        total = math.fsum(values.values())
        if abs(total - 1.0) > SHARE_SUM_TOLERANCE:
            raise SortitionError(
                f"shares of stratum {stratum!r} add up to {total:.6f}, not 1; give the share of "
                "every value in the whole citizenry, including e.g. 'undeclared'"
            )
        ranges: dict[str, SeatRange] = {}
        for value, share in values.items():
            seats = share / total * jury_size
            nearest = round(seats)
            if abs(seats - nearest) <= PROPORTIONAL_SNAP:
                ranges[value] = SeatRange(nearest, nearest)
            else:
                ranges[value] = SeatRange(math.floor(seats), math.ceil(seats))
        quotas[stratum] = ranges
    return quotas


def check_quotas(strata: Sequence[str], quotas: Quotas, jury_size: int) -> None:
    """Check that quotas name exactly the strata and are sum-wise satisfiable for the jury."""
    if jury_size < 1:
        raise SortitionError(f"jury size must be at least 1, got {jury_size}")
    if set(quotas) != set(strata):
        raise SortitionError(
            f"quotas cover strata {sorted(quotas)} but the pool is stratified by {list(strata)}"
        )
    for stratum in strata:
        ranges = quotas[stratum]
        if not ranges:
            raise SortitionError(f"stratum {stratum!r} has no values in the quotas")
        low = sum(r.min_seats for r in ranges.values())
        high = sum(r.max_seats for r in ranges.values())
        if low > jury_size:
            raise InfeasibleQuotasError(
                f"stratum {stratum!r}: the minimum seats add up to {low}, more than the jury "
                f"size {jury_size}; lower some minimums"
            )
        if high < jury_size:
            raise InfeasibleQuotasError(
                f"stratum {stratum!r}: the maximum seats add up to {high}, fewer than the jury "
                f"size {jury_size}; raise some maximums"
            )


class JuryPool:
    """The eligible volunteers of one jurisdiction, as ordered member ids per profile.

    The order of the ids inside each profile is part of the public input of a draw: the
    caller must publish it (e.g. ids sorted, or in opt-in order). Profiles are kept in
    sorted order so that the pool's meaning does not depend on a mapping's iteration order.
    """

    __slots__ = ("_digest", "_index", "members", "offsets", "profiles", "sizes", "strata")

    def __init__(self, strata: Sequence[str], members: Mapping[Profile, Sequence[str]]) -> None:
        """Validate and freeze the pool; empty profiles are dropped."""
        self.strata: tuple[str, ...] = tuple(strata)
        if len(set(self.strata)) != len(self.strata):
            raise InvalidPoolError(f"strata must be distinct, got {list(self.strata)}")
        kept: list[tuple[Profile, tuple[str, ...]]] = []
        for profile, ids in members.items():
            profile = tuple(profile)
            if len(profile) != len(self.strata):
                raise InvalidPoolError(
                    f"profile {profile} has {len(profile)} values but there are "
                    f"{len(self.strata)} strata {list(self.strata)}"
                )
            if isinstance(ids, str):
                raise InvalidPoolError(f"profile {profile} must map to a list of ids, not a str")
            if ids:
                kept.append((profile, tuple(ids)))
        kept.sort(key=lambda item: item[0])
        self.profiles: tuple[Profile, ...] = tuple(p for p, _ in kept)
        self.members: tuple[tuple[str, ...], ...] = tuple(m for _, m in kept)
        self.sizes: tuple[int, ...] = tuple(len(m) for m in self.members)
        # offsets[i] is the flat position of the first member of profile i.
        self.offsets: tuple[int, ...] = (0, *accumulate(self.sizes))
        index: dict[str, int] = {}
        position = 0
        for ids in self.members:
            index.update(zip(ids, range(position, position + len(ids)), strict=True))
            position += len(ids)
        if len(index) != position:
            raise InvalidPoolError(f"a member id appears twice in the pool: {_duplicate(self)}")
        self._index = index
        self._digest = _pool_digest(self.strata, self.profiles, self.members)

    @property
    def total(self) -> int:
        """The number of eligible volunteers."""
        return self.offsets[-1]

    def __len__(self) -> int:
        """The number of eligible volunteers."""
        return self.offsets[-1]

    def __contains__(self, member_id: object) -> bool:
        """Whether the id belongs to the pool."""
        return member_id in self._index

    def locate(self, member_id: str) -> tuple[int, int] | None:
        """(profile index, position in that profile's list) of a member, or None."""
        flat = self._index.get(member_id)
        if flat is None:
            return None
        profile_index = bisect_right(self.offsets, flat) - 1
        return profile_index, flat - self.offsets[profile_index]

    def profile_of(self, member_id: str) -> Profile:
        """The profile of a member of the pool."""
        where = self.locate(member_id)
        if where is None:
            raise InvalidPoolError(f"{member_id!r} is not in the pool")
        return self.profiles[where[0]]

    def without(self, excluded: Collection[str]) -> JuryPool:
        """A new pool without these members (re-prepare a portfolio for it)."""
        drop = set(excluded)
        kept = zip(self.profiles, self.members, strict=True)
        return JuryPool(self.strata, {p: [m for m in ids if m not in drop] for p, ids in kept})

    def digest(self) -> bytes:
        """SHA-256 of the canonical pool encoding (see ``encode_string_list``).

        ``SHA-256(b"isegoria/sortition/pool/v1" || enc(strata) || uint32_be(#profiles) ||
        for each profile in sorted order: enc(profile values) || enc(member ids))``; commit
        to it in the log, and every draw binds its randomness to it.
        """
        return self._digest


def encode_string_list(items: Sequence[str]) -> bytes:
    """``uint32_be(count) || uint64_be(len(blob)) || blob``, blob = NUL-joined UTF-8.

    Fast for a million ids (one join, not a million length prefixes) and unambiguous
    because items may not contain NUL (checked here) and the count tells [] from [""].
    """
    blob = "\x00".join(items).encode()
    if blob.count(b"\x00") != max(len(items) - 1, 0):
        raise InvalidPoolError("ids, strata and values must not contain the NUL character")
    return len(items).to_bytes(4, "big") + len(blob).to_bytes(8, "big") + blob


def _pool_digest(
    strata: Sequence[str], profiles: Sequence[Profile], members: Sequence[Sequence[str]]
) -> bytes:
    h = hashlib.sha256(b"isegoria/sortition/pool/v1")
    h.update(encode_string_list(strata))
    h.update(len(profiles).to_bytes(4, "big"))
    for profile, ids in zip(profiles, members, strict=True):
        h.update(encode_string_list(profile))
        h.update(encode_string_list(ids))
    return h.digest()


def _duplicate(pool: JuryPool) -> str:
    seen: set[str] = set()
    for ids in pool.members:
        for member in ids:
            if member in seen:
                return repr(member)
            seen.add(member)
    return "?"  # unreachable when called after a size mismatch


def check_pool_against_quotas(pool: JuryPool, quotas: Quotas) -> None:
    """Every profile value of the pool must have a quota (SeatRange(0, k) means 'any')."""
    for profile in pool.profiles:
        for stratum, value in zip(pool.strata, profile, strict=True):
            if value not in quotas[stratum]:
                raise InvalidPoolError(
                    f"volunteers have {stratum}={value!r} but the quotas give no seat range for "
                    f"it; add one (SeatRange(0, jury_size) leaves it unconstrained)"
                )


def iter_value_rows(
    strata: Sequence[str], quotas: Quotas
) -> Iterable[tuple[int, str, str, SeatRange]]:
    """(stratum index, stratum, value, range) for every quota, in a stable sorted order."""
    for s_index, stratum in enumerate(strata):
        for value in sorted(quotas[stratum]):
            yield s_index, stratum, value, quotas[stratum][value]
