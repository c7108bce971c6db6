"""The verifiable draw: a pure function of (seed, portfolio, ordered pool, exclusions).

Draw specification (version 1), re-implementable from the published record:

1. The stream is ``RandomStream(bind_seed(seed, portfolio.digest, pool.digest(),
   list_digest(exclude)), "draw")`` (see ``sortition_stream``): the caller's seed bound to
   every other input, so changing the portfolio, the pool (or its order) or the exclusions
   changes the jury as surely as changing the seed.
2. Composition: ``r = randbelow(W)`` with W the sum of the portfolio's integer weights;
   take the first composition (in portfolio order) whose cumulative weight exceeds r.
3. Members: for each profile p in portfolio order with c_p > 0, c_p times: let F be the
   members of p, in pool order, that are neither excluded nor already chosen;
   ``r = randbelow(len(F))``; choose ``F[r]``. The jury lists the chosen ids in that order.

Exclusions (author, reporters, excluded accounts, people over their service load, earlier
jurors of the same case) are handled inside profiles: the composition is drawn from the
unchanged portfolio and each profile's seats go uniformly to its remaining members. A
remaining member of p is then selected with probability E[c_p] / (n_p - e_p) >= E[c_p] / n_p,
so exclusions never push anyone below the prepared minimum; they only favour the other
members of the excluded people's profiles by the factor n_p / (n_p - e_p). If exclusions
leave some profile with fewer members than a composition of the portfolio seats, the draw
is refused (StalePortfolioError): conditioning the portfolio would silently change every
probability, so the caller must prepare a portfolio for ``pool.without(excluded)`` instead.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right, insort
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate

from isegoria.algorithms.sortition_model import (
    InvalidPoolError,
    JuryPool,
    PoolTooSmallError,
    StalePortfolioError,
    encode_string_list,
)
from isegoria.algorithms.sortition_portfolio import Portfolio, count_exclusions
from isegoria.algorithms.sortition_stream import RandomStream, bind_seed

DRAW_PURPOSE = "draw"
REPLACE_PURPOSE = "replace"


def list_digest(ids: Iterable[str], *, ordered: bool = False) -> bytes:
    """SHA-256 of ``encode_string_list`` of the ids (sorted and deduplicated unless ordered)."""
    items = list(ids) if ordered else sorted(set(ids))
    return hashlib.sha256(b"isegoria/sortition/ids/v1" + encode_string_list(items)).digest()


@dataclass(frozen=True, slots=True)
class DrawnJury:
    """The outcome of one draw: juror ids and the composition they fill."""

    members: tuple[str, ...]
    composition: tuple[int, ...]
    composition_index: int


def _nth_free(rank: int, blocked: list[int]) -> int:
    """The position of the rank-th (0-based) position not in the sorted list ``blocked``.

    Iterates pos = rank + #(blocked <= pos) from below; the first fixed point is the answer
    (at a fixed point exactly rank free positions precede pos, and pos itself is free).
    """
    pos = rank
    count = 0
    while True:
        new_count = bisect_right(blocked, pos)
        if new_count == count:
            return pos
        count = new_count
        pos = rank + count


def draw_jury(
    portfolio: Portfolio,
    pool: JuryPool,
    seed: bytes,
    *,
    exclude: Collection[str] = (),
) -> DrawnJury:
    """Draw one jury; the same inputs always give the same jury (see module docstring)."""
    portfolio.check_pool(pool)
    blocked = count_exclusions(pool, exclude)
    for i, taken in enumerate(blocked):
        if taken:
            free = pool.sizes[i] - len(taken)
            most = max(comp[i] for comp in portfolio.compositions)
            if most > free:
                raise StalePortfolioError(
                    f"after the exclusions only {free} volunteers of profile "
                    f"{pool.profiles[i]} remain but the portfolio may seat {most} of them; "
                    "prepare a portfolio for pool.without(excluded) and draw from it"
                )
    key = bind_seed(seed, portfolio.digest, pool.digest(), list_digest(exclude))
    stream = RandomStream(key, DRAW_PURPOSE)
    cumulative = list(accumulate(portfolio.weights))
    index = bisect_right(cumulative, stream.randbelow(cumulative[-1]))
    composition = portfolio.compositions[index]
    chosen: list[str] = []
    for i, seats in enumerate(composition):
        if not seats:
            continue
        ids = pool.members[i]
        taken = blocked[i]
        free = len(ids) - len(taken)
        for _ in range(seats):
            pos = _nth_free(stream.randbelow(free), taken)
            insort(taken, pos)
            chosen.append(ids[pos])
            free -= 1
    return DrawnJury(tuple(chosen), composition, index)


def draw_replacements(
    pool: JuryPool,
    seed: bytes,
    *,
    jury: Sequence[str],
    declined: Collection[str],
    exclude: Collection[str] = (),
) -> tuple[tuple[str, str], ...]:
    """(declined juror, replacement) pairs; each replacement shares the decliner's profile.

    Replacing within the profile keeps the jury's composition, so every quota still holds,
    and the profile's seat goes uniformly to a member who is not excluded, not on the jury
    (decliners included) and not already picked: the same lottery, continued. Decliners are
    processed in jury order, each with ``r = randbelow(len(F))`` as in a draw, from
    ``RandomStream(bind_seed(seed, pool.digest(), list_digest(jury, ordered=True),
    list_digest(declined), list_digest(exclude)), "replace")``. Derive a fresh seed per
    round (e.g. ``derive_seed(checkpoint, case_id, "replacement", round)``). If a profile
    has nobody left, this raises PoolTooSmallError and the case needs a new draw.
    """
    declined_set = set(declined)
    unknown = declined_set.difference(jury)
    if unknown:
        raise InvalidPoolError(f"{sorted(unknown)} declined but are not on the jury")
    blocked = count_exclusions(pool, {*exclude, *jury})
    key = bind_seed(
        seed,
        pool.digest(),
        list_digest(jury, ordered=True),
        list_digest(declined),
        list_digest(exclude),
    )
    stream = RandomStream(key, REPLACE_PURPOSE)
    pairs: list[tuple[str, str]] = []
    for member in jury:
        if member not in declined_set:
            continue
        where = pool.locate(member)
        if where is None:
            raise InvalidPoolError(f"juror {member!r} is not in this pool")
        i = where[0]
        taken = blocked[i]
        free = pool.sizes[i] - len(taken)
        if free == 0:
            raise PoolTooSmallError(
                f"no volunteer of profile {pool.profiles[i]} is left to replace {member!r}; "
                "draw a new jury with draw_jury(..., exclude=<everyone who declined>)"
            )
        pos = _nth_free(stream.randbelow(free), taken)
        insort(taken, pos)
        pairs.append((member, pool.members[i][pos]))
    return tuple(pairs)
