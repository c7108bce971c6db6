"""Benchmark of the case pipeline: reports filed, juries drawn, ballots cast, verdicts reached.

Run: ``.venv/bin/python benchmarks/case_bench.py [--quick] [--out PATH]``.

Each backend (SQLite in a temporary directory with ``synchronous=FULL``; PostgreSQL in a
throwaway cluster with fsync on) gets a fresh migrated database and the world of
``tests/support/cases_world.build`` (a rule enacted through real votes, juries of 5), with
enough volunteers that the constitution's juror-load limit never runs the pool dry. Then,
each phase timed on its own, every operation in its own durable transaction:

* ``file``: N reports, each about a distinct post (``cases_intake.file_report``);
* ``draw``: the ``cases.draw_jury`` jobs, one transaction each (``jobs.run_due``);
* ``serve``: every juror accepts (``cases_jury.reply``) and votes
  (``cases_ballots.cast_ballot``); the last ballot of a jury reaches the verdict inside its
  own transaction, so those ballots are timed apart as "verdict transactions".

The reference, measured on the same database in the same run, is the rate of durable
transactions that insert one small row (the floor of any write), and the rate of
transactions that append one event to the transparency log with its signed checkpoint
(the floor of any service call, since every state change is logged in its transaction).
Results are printed and written as JSON (default ``benchmarks/results/case_bench.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support.* builds the world and the PostgreSQL cluster

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from tests.support.cases_world import CasesWorld, build, report_request  # noqa: E402
from tests.support.postgres import throwaway_cluster  # noqa: E402

from isegoria.cases import ballots as cases_ballots  # noqa: E402
from isegoria.cases import intake as cases_intake  # noqa: E402
from isegoria.cases import jury as cases_jury  # noqa: E402
from isegoria.clock import ManualClock  # noqa: E402
from isegoria.domain.constitution import DEFAULT_JUROR_MAX_CASES  # noqa: E402
from isegoria.domain.events import Event  # noqa: E402
from isegoria.jobs import queue as jobs  # noqa: E402
from isegoria.log.coalesce import CheckpointPolicy, LogMemory  # noqa: E402
from isegoria.log.signing import LogSigner  # noqa: E402
from isegoria.store import migrate  # noqa: E402
from isegoria.store.db import Database  # noqa: E402
from isegoria.store.models_cases import Case, Juror, Jury  # noqa: E402
from isegoria.unit_of_work import UnitOfWork  # noqa: E402

FULL_REPORTS = 200
QUICK_REPORTS = 40
MIN_VOLUNTEERS = 200  # the "larger world than the tests" (cases_world uses 24)
JURY_SIZE = 5  # what cases_world.build enacts in its constitution ("Small juries")
#: Volunteers beyond the bare minimum, so the stratified draw keeps slack in every stratum.
VOLUNTEER_SLACK = 1.25
VIOLATION_VOTES = 3  # of 5 seats find a violation: a split jury, the verdict still carries
REFERENCE_FULL = 500  # one-row and log-only reference transactions
REFERENCE_QUICK = 100
INSTANCE_SECRET = b"bench-instance-secret-32-bytes!!"
START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)  # the test suite's start (tests/conftest.py)
POST_AGE = timedelta(hours=1)  # posts were made an hour before they are reported
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "case_bench.json"
COALESCE_MAX_PENDING = 1000  # the default of ISEGORIA_CHECKPOINT_MAX_PENDING


@dataclass(frozen=True)
class ReferencePing(Event):
    """A minimal logged event: the reference for "one service call, one log entry"."""

    kind: ClassVar[str] = "BenchmarkPing"
    subject_type: ClassVar[str] = "benchmark"
    n: int

    @property
    def subject_id(self) -> str:
        """The ping's sequence number."""
        return str(self.n)


def volunteers_for(reports: int) -> int:
    """Enough volunteers that no juror exceeds the constitution's load limit (default 3
    juries per 90 days, ``DEFAULT_JUROR_MAX_CASES``) while every jury is still open."""
    needed = math.ceil(reports * JURY_SIZE / DEFAULT_JUROR_MAX_CASES * VOLUNTEER_SLACK)
    return max(MIN_VOLUNTEERS, needed)


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def reference_rates(database: Database, uow: UnitOfWork, count: int) -> dict[str, float]:
    """Durable one-row inserts per second, and log-only transactions per second."""
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE bench_ref (id INTEGER PRIMARY KEY, body TEXT)"))
    start = time.perf_counter()
    for n in range(count):
        with database.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO bench_ref (id, body) VALUES (:id, :body)"),
                {"id": n, "body": f"row {n}"},
            )
    row_rate = count / (time.perf_counter() - start)
    start = time.perf_counter()
    for n in range(count):
        with uow.begin():
            uow.log.append(ReferencePing(n))
    log_rate = count / (time.perf_counter() - start)
    return {"one_row_tx_per_s": row_rate, "log_append_tx_per_s": log_rate}


def file_reports(uow: UnitOfWork, world: CasesWorld, count: int) -> list[int]:
    """File ``count`` reports about distinct posts, one transaction each."""
    case_ids = []
    for _ in range(count):
        with uow.begin():
            case, _report = cases_intake.file_report(
                uow,
                platform_id=world.base.platform_id,
                request=report_request(uow.now() - POST_AGE),
            )
            case_ids.append(case.id)
    assert len(set(case_ids)) == count, "two reports joined one case: posts must be distinct"
    return case_ids


def seats(uow: UnitOfWork, case_ids: Sequence[int]) -> dict[int, list[int]]:
    """The accounts summoned to each case's first jury."""
    with uow.begin(readonly=True):
        rows = uow.session.execute(
            select(Jury.case_id, Juror.account_id)
            .join(Juror, Juror.jury_id == Jury.id)
            .where(Jury.case_id.in_(list(case_ids)), Jury.stage == "first")
            .order_by(Jury.case_id, Juror.id)
        )
        by_case: dict[int, list[int]] = {}
        for case_id, account in rows:
            by_case.setdefault(case_id, []).append(account)
    return by_case


def serve(uow: UnitOfWork, by_case: dict[int, list[int]]) -> dict[str, float]:
    """Every juror accepts and votes; returns seconds spent per kind of transaction."""
    spent = {"reply": 0.0, "ballot": 0.0, "verdict": 0.0}
    for case_id, accounts in by_case.items():
        for seat, account in enumerate(accounts):
            with_violation = seat < VIOLATION_VOTES

            def accept(account: int = account, case_id: int = case_id) -> None:
                with uow.begin():
                    cases_jury.reply(uow, account_id=account, case_id=case_id, accept=True)

            def vote(
                account: int = account, case_id: int = case_id, violation: bool = with_violation
            ) -> None:
                with uow.begin():
                    cases_ballots.cast_ballot(
                        uow,
                        account_id=account,
                        case_id=case_id,
                        violation=violation,
                        sanction="remove" if violation else None,
                        suspension_days=None,
                        reason="A threat." if violation else "Hyperbole, not a threat.",
                    )

            spent["reply"] += timed(accept)
            # The last seat's ballot closes the jury: its transaction records the verdict.
            spent["verdict" if seat == len(accounts) - 1 else "ballot"] += timed(vote)
    return spent


def run_backend(
    url: str, reports: int, references: int, coalesce_ms: int = 0, sqlite_sync: str = "full"
) -> dict[str, Any]:
    """Build the world on a fresh database, then time each phase of the pipeline.

    With ``coalesce_ms`` the service transactions run under the checkpoint policy an
    instance gets from ``ISEGORIA_CHECKPOINT_INTERVAL_MS`` (and its per-process memory of
    the log's frontier); the world itself is built as before.
    """
    database = Database(url, sqlite_synchronous="normal" if sqlite_sync == "normal" else "full")
    # (PostgreSQL ignores sqlite_synchronous; its cluster runs with fsync on.)
    migrate.upgrade(database)
    clock = ManualClock(START)
    signer = LogSigner("bench/cases", Ed25519PrivateKey.generate())
    uow = UnitOfWork(database, clock, signer, INSTANCE_SECRET)
    volunteers = volunteers_for(reports)
    started = time.perf_counter()
    world = build(uow, clock, signer, volunteers=volunteers)
    build_s = time.perf_counter() - started
    if coalesce_ms:
        memory = LogMemory(CheckpointPolicy(coalesce_ms / 1000, COALESCE_MAX_PENDING))
        uow = UnitOfWork(database, clock, signer, INSTANCE_SECRET, log_memory=memory)
    reference = reference_rates(database, uow, references)

    started, cpu = time.perf_counter(), time.process_time()
    case_ids = file_reports(uow, world, reports)
    file_s = time.perf_counter() - started
    file_cpu = time.process_time() - cpu
    started = time.perf_counter()
    draws = jobs.run_due(
        database, clock, signer, secret=INSTANCE_SECRET, kinds={cases_intake.JOB_DRAW_JURY}
    )
    draw_s = time.perf_counter() - started
    assert draws.done == reports and draws.failed == 0, draws
    by_case = seats(uow, case_ids)
    assert len(by_case) == reports, f"{reports - len(by_case)} cases lapsed without a jury"
    assert all(len(accounts) == JURY_SIZE for accounts in by_case.values())
    cpu = time.process_time()
    spent = serve(uow, by_case)
    serve_cpu = time.process_time() - cpu
    with uow.begin(readonly=True):
        undecided = uow.session.scalar(
            select(Case.id).where(Case.id.in_(case_ids), Case.status != "decided").limit(1)
        )
    assert undecided is None, f"case {undecided} was not decided after its last ballot"
    database.dispose()
    figures = summarise(reports, volunteers, build_s, reference, file_s, draw_s, spent)
    # CPU of this process (all of it on SQLite; on PostgreSQL the server's is not counted):
    # on a shared machine it moves far less than wall time from run to run.
    figures["cpu_ms_per_report"] = 1000 * file_cpu / reports
    figures["cpu_ms_per_reply_or_ballot"] = 1000 * serve_cpu / (2 * reports * JURY_SIZE)
    return figures


def summarise(
    reports: int,
    volunteers: int,
    build_s: float,
    reference: dict[str, float],
    file_s: float,
    draw_s: float,
    spent: dict[str, float],
) -> dict[str, Any]:
    """Rates per phase, and each as a fraction of the one-row durable transaction rate."""
    ballots = reports * JURY_SIZE
    serve_s = sum(spent.values())
    figures: dict[str, Any] = {
        "reports": reports,
        "volunteers": volunteers,
        "jury_size": JURY_SIZE,
        "world_build_s": build_s,
        **reference,
        "reports_filed_per_s": reports / file_s,
        "juries_drawn_per_s": reports / draw_s,
        "replies_per_s": ballots / spent["reply"],
        "ballots_cast_per_s": (ballots - reports) / spent["ballot"],
        "verdict_ballots_per_s": reports / spent["verdict"],
        "all_ballots_per_s": ballots / (spent["ballot"] + spent["verdict"]),
        "verdicts_per_s_while_serving": reports / serve_s,
        "cases_end_to_end_per_s": reports / (file_s + draw_s + serve_s),
        "seconds": {"file": file_s, "draw": draw_s, **spent},
    }
    row = reference["one_row_tx_per_s"]
    figures["ratio_to_one_row_tx"] = {
        name: figures[key] / row
        for name, key in (
            ("log_append", "log_append_tx_per_s"),
            ("file", "reports_filed_per_s"),
            ("draw", "juries_drawn_per_s"),
            ("reply", "replies_per_s"),
            ("ballot", "ballots_cast_per_s"),
            ("verdict_ballot", "verdict_ballots_per_s"),
        )
    }
    return figures


def postgres_database(base: str, name: str) -> str:
    """Create an empty database in the cluster at ``base``; return its URL."""
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"{base}/{name}"


def report(backend: str, f: dict[str, Any]) -> None:
    """Print one backend's figures."""
    ratio = f["ratio_to_one_row_tx"]
    print(
        f"[{backend}] {f['reports']} reports, {f['volunteers']} volunteers, juries of "
        f"{f['jury_size']} (world built in {f['world_build_s']:.1f} s)\n"
        f"  reference: one-row durable tx {f['one_row_tx_per_s']:,.0f}/s, "
        f"log-append tx {f['log_append_tx_per_s']:,.0f}/s ({ratio['log_append']:.2f}x)\n"
        f"  reports filed    {f['reports_filed_per_s']:8,.1f}/s  ({ratio['file']:.3f}x)\n"
        f"  juries drawn     {f['juries_drawn_per_s']:8,.1f}/s  ({ratio['draw']:.3f}x)\n"
        f"  replies          {f['replies_per_s']:8,.1f}/s  ({ratio['reply']:.3f}x)\n"
        f"  ballots cast     {f['ballots_cast_per_s']:8,.1f}/s  ({ratio['ballot']:.3f}x)\n"
        f"  verdict ballots  {f['verdict_ballots_per_s']:8,.1f}/s  ({ratio['verdict_ballot']:.3f}x)"
        f"\n  CPU of this process: {f['cpu_ms_per_report']:.2f} ms per report, "
        f"{f['cpu_ms_per_reply_or_ballot']:.2f} ms per reply or ballot"
        f"\n  verdicts reached {f['verdicts_per_s_while_serving']:8,.1f}/s while serving; "
        f"{f['cases_end_to_end_per_s']:,.1f} cases/s end to end"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run both backends, print the figures and write them as JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_REPORTS} reports")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results path")
    parser.add_argument(
        "--coalesce-ms",
        type=int,
        default=0,
        help="checkpoint at most every N ms (ISEGORIA_CHECKPOINT_INTERVAL_MS); 0: every tx",
    )
    parser.add_argument(
        "--sqlite-synchronous",
        choices=["full", "normal"],
        default="full",
        help="normal: no disk flush per commit, so the figures show CPU cost, not the disk",
    )
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    args = parser.parse_args(argv)
    reports = QUICK_REPORTS if args.quick else FULL_REPORTS
    references = REFERENCE_QUICK if args.quick else REFERENCE_FULL
    print(f"case_bench: {reports} reports per backend, {os.cpu_count()} cores")
    backends: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        backends["sqlite"] = run_backend(
            f"sqlite:///{tmp}/cases.db",
            reports,
            references,
            args.coalesce_ms,
            args.sqlite_synchronous,
        )
        report("sqlite", backends["sqlite"])
    if not args.sqlite_only:
        with throwaway_cluster(durable=True) as pg:
            url = postgres_database(pg, "bench_cases")
            backends["postgresql"] = run_backend(url, reports, references, args.coalesce_ms)
            report("postgresql", backends["postgresql"])
    results = {
        "benchmark": "case_bench",
        "quick": args.quick,
        "coalesce_ms": args.coalesce_ms,
        "sqlite_synchronous": args.sqlite_synchronous,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "backends": backends,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
