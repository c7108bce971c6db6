"""How ``benchmarks/scale_limits.py`` names what a backend was doing, and shares out seats."""

from __future__ import annotations

from benchmarks.load_world import Person, Seeded
from benchmarks.scale_limits import kind_of, parts, state_of

LOG_HEAD_LOCK = "SELECT log_head.size FROM log_head WHERE log_head.id = $1::INTEGER FOR UPDATE"
# A long column list: the FROM falls past the characters pg_stat_activity's sample keeps.
CASE_LOCK = "SELECT cases.id, cases.content_id, cases.platform_id, cases."


def test_a_lock_wait_is_named_by_the_table_the_waiting_statement_locks() -> None:
    on_log = state_of("active", "Lock", "tuple", LOG_HEAD_LOCK)
    on_case = state_of("active", "Lock", "transactionid", CASE_LOCK)
    assert on_log == "Lock:tuple log_head (SELECT)"
    assert on_case == "Lock:transactionid cases (SELECT)"
    assert kind_of(on_log) == "waiting for a lock on log_head"
    assert kind_of(on_case) == "waiting for a lock on cases"


def test_states_other_than_locks() -> None:
    assert kind_of(state_of("idle", "Client", "ClientRead", "COMMIT")) == "idle in the pool"
    assert (
        kind_of(state_of("idle in transaction", "Client", "ClientRead", "SELECT 1"))
        == "app running Python mid-transaction"
    )
    assert kind_of(state_of("active", None, None, "SELECT 1")) == "PostgreSQL running a statement"
    assert (
        kind_of(state_of("active", "IO", "WALSync", "COMMIT"))
        == "waiting for the WAL (commit flush)"
    )
    assert kind_of(state_of("active", "LWLock", "LockManager", "SELECT 1")) == "other waits"


def test_parts_give_each_run_its_own_seats_and_votes() -> None:
    people = [Person(n, f"cookie-{n}", f"csrf-{n}") for n in range(12)]
    world = Seeded(
        "key",
        [1, 2, 3],
        [7],
        seats=[(1 + n // 4, person) for n, person in enumerate(people)],
        votes=[(7, person) for person in people[:6]],
    )
    three = parts(world, 3)
    assert [len(p.seats) for p in three] == [4, 4, 4]
    assert [len(p.votes) for p in three] == [2, 2, 2]
    seats = [seat for p in three for seat in p.seats]
    assert len(set(seats)) == len(seats) == 12
