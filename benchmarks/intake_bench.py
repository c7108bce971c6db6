"""Intake benchmark: CPU time and SQL statements per write operation, in process (no HTTP).

Run: ``.venv/bin/python benchmarks/intake_bench.py [--quick] [--out PATH]``.

For SQLite and for a throwaway PostgreSQL cluster it seeds the load benchmark's world
(``load_world.seed``: MX, a threats rule, cases whose juries have accepted, law proposals
whose vote is open) and then, each operation in its own write transaction as the API runs
it, measures this process's CPU time and the SQL statements sent to the database:

* ``empty_tx``: ``with uow.begin(): pass`` -- the reference, the floor of any write;
* ``select1_tx``: a write transaction that sends ``SELECT 1`` (opens the connection);
* ``report_new``: ``file_report`` about a post nobody reported before (opens a case);
* ``report_join``: ``file_report`` about a post with a live case (joins it);
* ``ballot``: ``cast_ballot`` by a juror who is not the jury's last (no verdict yet);
* ``ballot_last``: ``cast_ballot`` by the jury's last juror, which closes the jury: the
  verdict, the statement of reasons, the platform's decision, the appeal-window job (one
  ballot in five of the load benchmark's ballot phase);
* ``vote``: ``cast_vote`` on an open law proposal;
* ``batch_report``: ``file_reports`` of 100 new posts in one transaction, per report.

Statements are counted with SQLAlchemy's ``before_cursor_execute`` event: an executemany
counts once, as it is one round trip. CPU is this process's (``time.process_time``): all
of it on SQLite, the client's share on PostgreSQL. The unit of work runs under the
checkpoint policy the load benchmark's servers use (200 ms), so the log appender reuses
its frontier as in production. Every figure is also printed as a ratio to ``empty_tx``.
CPU per operation is the best of five rounds (see ``measured``): the machine is shared.

To compare with older code, run this file with that code's ``src`` first on PYTHONPATH
(the batch is measured only where ``cases_intake.file_reports`` exists).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support.* builds worlds and PostgreSQL clusters

from benchmarks.case_bench import postgres_database  # noqa: E402
from benchmarks.load_world import data_dir_settings, seed  # noqa: E402
from sqlalchemy import event, select  # noqa: E402
from tests.support.cases_world import report_request  # noqa: E402
from tests.support.postgres import throwaway_cluster  # noqa: E402

from isegoria.cases import ballots as cases_ballots  # noqa: E402
from isegoria.cases import intake as cases_intake  # noqa: E402
from isegoria.clock import SystemClock  # noqa: E402
from isegoria.domain.content import ReportRequest  # noqa: E402
from isegoria.law import votes as law_votes  # noqa: E402
from isegoria.log.coalesce import CheckpointPolicy, LogMemory  # noqa: E402
from isegoria.log.signing import load_signer  # noqa: E402
from isegoria.store.db import Database  # noqa: E402
from isegoria.store.models import Platform  # noqa: E402
from isegoria.unit_of_work import UnitOfWork  # noqa: E402

FULL = {"cases": 40, "proposals": 2, "reports": 300, "empty": 500, "batches": 10}
QUICK = {"cases": 8, "proposals": 1, "reports": 60, "empty": 100, "batches": 2}
ROUNDS = 5  # each operation's items run in this many rounds; the best round counts
BATCH = 100  # the largest batch POST /api/v1/reports/batch accepts
#: ISEGORIA_CHECKPOINT_INTERVAL_MS of the load benchmark's servers, and the default cap.
CHECKPOINT_INTERVAL_S = 0.2
CHECKPOINT_MAX_PENDING = 1000
POST_AGE = timedelta(hours=1)
_runs = itertools.count(1)


class Counter:
    """Counts the statements a database's engine sends."""

    def __init__(self, database: Database) -> None:
        self.statements = 0
        event.listen(database.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: object) -> None:
        self.statements += 1


def measured(
    counter: Counter,
    into: dict[str, Any],
    name: str,
    uow: UnitOfWork,
    items: list[Any],
    act: Callable[[Any], object],
    per_item: int = 1,
) -> None:
    """Run ``act`` on each item in its own write transaction; record under ``name`` the CPU
    ms and statements per operation (``per_item`` operations per item).

    The items run in ``ROUNDS`` consecutive rounds and ``cpu_ms`` is the best round's: the
    machine is shared, and another process's burst only ever adds CPU time (cache misses),
    so the least disturbed round is the truest; ``cpu_ms_mean`` is over all of them.
    """
    before, rounds = counter.statements, []
    step = max(1, -(-len(items) // ROUNDS))
    for start in range(0, len(items), step):
        chunk = items[start : start + step]
        cpu = time.process_time()
        _each(uow, chunk, act)
        rounds.append((time.process_time() - cpu, len(chunk) * per_item))
    operations = len(items) * per_item
    into[name] = {
        "operations": operations,
        "cpu_ms": 1000 * min(spent / count for spent, count in rounds),
        "cpu_ms_mean": 1000 * sum(spent for spent, _ in rounds) / operations,
        "statements": (counter.statements - before) / operations,
    }


def _requests(count: int, tag: str) -> list[ReportRequest]:
    """Reports of ``count`` posts nobody reported before (content ids unique to this run)."""
    posted = SystemClock().now() - POST_AGE
    run = f"{int(time.time() * 1000)}-{next(_runs)}-{tag}"
    return [report_request(posted, content_id=f"bench-{run}-{n}") for n in range(count)]


def _each(uow: UnitOfWork, items: list[Any], act: Callable[[Any], object]) -> None:
    for item in items:
        with uow.begin():
            act(item)


def run_backend(url: str | None, data_dir: Path, size: dict[str, int]) -> dict[str, Any]:
    """Seed a world into the database, then measure every operation once."""
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = data_dir_settings(data_dir, url)
    started = time.perf_counter()
    world = seed(settings, cases=size["cases"], proposals=size["proposals"])
    seed_s = time.perf_counter() - started
    database = Database(settings.effective_database_url)
    memory = LogMemory(CheckpointPolicy(CHECKPOINT_INTERVAL_S, CHECKPOINT_MAX_PENDING))
    signer = load_signer(settings.origin, settings.signing_key_path)
    uow = UnitOfWork(database, SystemClock(), signer, settings.secret_key, log_memory=memory)
    platform_id = _platform_of(uow)
    counter = Counter(database)
    figures: dict[str, Any] = {"seed_s": seed_s}

    empty = list(range(size["empty"]))
    measured(counter, figures, "empty_tx", uow, empty, lambda _n: None)
    measured(counter, figures, "select1_tx", uow, empty, lambda _n: uow.session.execute(select(1)))

    def file(request: ReportRequest) -> None:
        cases_intake.file_report(uow, platform_id=platform_id, request=request)

    new = _requests(size["reports"], "new")
    measured(counter, figures, "report_new", uow, new, file)
    # The same posts again: each report joins the case its post opened.
    measured(counter, figures, "report_join", uow, new, file)

    # Every juror but the last of each jury: the last ballot also closes the jury.
    last = {case_id: person for case_id, person in world.seats}
    ballots = [(c, p) for c, p in world.seats if last[c] is not p]

    def ballot(seat: Any) -> None:
        case_id, person = seat
        cases_ballots.cast_ballot(
            uow,
            account_id=person.account_id,
            case_id=case_id,
            violation=False,
            sanction=None,
            suspension_days=None,
            reason="Heated, but not a threat.",
        )

    measured(counter, figures, "ballot", uow, ballots, ballot)
    closing = [(c, p) for c, p in world.seats if last[c] is p]
    measured(counter, figures, "ballot_last", uow, closing, ballot)

    def vote(seat: Any) -> None:
        proposal_id, person = seat
        law_votes.cast_vote(
            uow, account_id=person.account_id, proposal_id=proposal_id, choice="yes"
        )

    measured(counter, figures, "vote", uow, world.votes, vote)

    batch_file = getattr(cases_intake, "file_reports", None)
    if batch_file is not None:
        batches = [_requests(BATCH, f"batch{n}") for n in range(size["batches"])]

        def file_batch(requests: list[ReportRequest]) -> None:
            batch_file(uow, platform_id=platform_id, requests=requests)

        measured(counter, figures, "batch_report", uow, batches, file_batch, per_item=BATCH)
    database.dispose()
    reference = figures["empty_tx"]["cpu_ms"]
    for f in figures.values():
        if isinstance(f, dict):
            f["cpu_ratio_to_empty_tx"] = f["cpu_ms"] / reference
    return figures


def _platform_of(uow: UnitOfWork) -> int:
    """The world's platform (the only one)."""
    with uow.begin(readonly=True):
        return uow.session.scalars(select(Platform.id).order_by(Platform.id)).first() or 0


def _print(backend: str, figures: dict[str, Any]) -> None:
    print(f"[{backend}] world seeded in {figures['seed_s']:.1f} s")
    for name, f in figures.items():
        if isinstance(f, dict):
            print(
                f"  {name:13} {f['cpu_ms']:7.3f} ms CPU  {f['statements']:6.2f} statements"
                f"  ({f['cpu_ratio_to_empty_tx']:5.1f} x empty tx, n={f['operations']})"
            )


def main(argv: list[str] | None = None) -> int:
    """Measure on SQLite and PostgreSQL; print and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run (under a minute)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/intake_bench.json")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="intake-bench-") as tmp:
        base = Path(tmp)
        results["sqlite"] = run_backend(None, base / "sqlite", size)
        _print("sqlite", results["sqlite"])
        with throwaway_cluster(durable=True) as pg:
            url = postgres_database(pg, "intake_bench")
            results["postgresql"] = run_backend(url, base / "pg", size)
            _print("postgresql", results["postgresql"])
    out = {
        "benchmark": "intake_bench",
        "quick": args.quick,
        "size": size,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
