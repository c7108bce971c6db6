"""A cases world in a data directory that a real server serves, killed and restarted by tests.

The test keeps its own access to the database (to set things up and to check afterwards)
and publishes its clock through a file the server reads on every call.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select, text

from isegoria.cases import ballots as cases_ballots
from isegoria.cases import jury as cases_jury
from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.domain.identity import Role
from isegoria.domain.states import JurorStatus
from isegoria.log import read as log_read
from isegoria.log.entries import decode_entry
from isegoria.log.signing import load_signer
from isegoria.log.verify import verify_database
from isegoria.people import accounts as people
from isegoria.people import sessions
from isegoria.store import migrate
from isegoria.store.db import Database
from isegoria.store.models import LogEntry
from isegoria.store.models_cases import Case, CaseBallot, Juror, Jury, Report
from isegoria.unit_of_work import UnitOfWork
from tests.conftest import START
from tests.support import crash
from tests.support.cases_world import AGES, LEANINGS, CasesWorld, build

WAIT_SECONDS = 30  # polling limit for the worker (draws and deadlines) after a restart
SETTLED = {"decided", "appealed", "final"}
# 32 regions x 4 age bands x 3 leanings: 384 strata profiles, whose lottery takes seconds
# to prepare on a 2-core machine (preparation grows with profiles, not with people).
REGIONS = [f"region-{n:02d}" for n in range(32)]


class CrashWorld:
    """A cases world in a data directory, with the test's own access to its database."""

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.settings = (
            Settings(data_dir=data_dir, database_url=database_url)
            if database_url
            else Settings(data_dir=data_dir)
        )
        self.database = Database(self.settings.effective_database_url)
        migrate.upgrade(self.database)
        self.clock = ManualClock(START)
        self.clock_file = data_dir / "clock.txt"
        signer = load_signer(self.settings.origin, self.settings.signing_key_path)
        self.verifier_key = signer.verifier_key
        self.uow = UnitOfWork(self.database, self.clock, signer, self.settings.secret_key)
        self.world: CasesWorld = build(self.uow, self.clock, signer)
        self.write_clock()

    @property
    def sqlite_path(self) -> Path:
        """The SQLite database file (SQLite worlds only)."""
        assert self.database.is_sqlite and self.database.url.database
        return Path(self.database.url.database)

    def kill_inside_a_write(self, server: crash.Crashable) -> bool:
        """SIGKILL ``server`` the moment one of its write transactions is open (SQLite: it
        holds the write lock; PostgreSQL: a backend has written); False if none was seen."""
        if self.database.is_sqlite:
            return kill_inside_a_write(server, self.sqlite_path)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if postgres_writer_in_flight(self.database):
                crash.kill(server.process)
                return True
            time.sleep(0.001)
        return False

    def write_clock(self) -> None:
        """Publish the test's instant to the server atomically (it reads the file per call)."""
        partial = self.clock_file.with_suffix(".partial")
        partial.write_text(self.clock.now().isoformat())
        os.replace(partial, self.clock_file)

    def start(
        self, env: dict[str, str] | None = None, log_path: Path | None = None
    ) -> crash.Crashable:
        """Start the server on this world."""
        full = {"ISEGORIA_CLOCK_FILE": str(self.clock_file), **(env or {})}
        if self.database_url:
            full["ISEGORIA_DATABASE_URL"] = self.database_url
        return crash.start(self.data_dir, full, log_path or self.data_dir / "server.log")

    def add_large_pool(self, count: int, regions: int = len(REGIONS)) -> None:
        """``count`` MX volunteers over ``regions`` x 12 strata profiles: a slow lottery."""
        names = REGIONS[:regions]
        with self.uow.begin():
            for n in range(count):
                people.add_account(
                    self.uow,
                    login=f"lp{n:05d}",
                    display_name=f"Volunteer lp{n}",
                    role=Role.CITIZEN,
                    password=None,
                    residences=["MX"],
                    strata=people.Strata(
                        region=names[n % len(names)],
                        age_band=AGES[(n // len(names)) % len(AGES)],
                        leaning=LEANINGS[(n // (len(names) * len(AGES))) % len(LEANINGS)],
                    ),
                    jury_opt_in=True,
                )

    def fresh_jury(self, candidates: list[int]) -> tuple[int, Jury, list[Juror]] | None:
        """An acknowledged case whose first jury is drawn and no juror has answered yet."""
        with self.uow.begin(readonly=True):
            for case_id in candidates:
                jury = self.uow.session.scalars(
                    select(Jury).where(Jury.case_id == case_id, Jury.stage == "first")
                ).first()
                if jury is None or jury.closed:
                    continue
                jurors = list(
                    self.uow.session.scalars(select(Juror).where(Juror.jury_id == jury.id))
                )
                if len(jurors) == jury.size and all(
                    j.status == JurorStatus.SUMMONED for j in jurors
                ):
                    return case_id, jury, jurors
        return None

    def wait_fresh_jury(self, candidates: list[int]) -> tuple[int, Jury, list[Juror]]:
        """Poll while the server's worker draws juries for the filed cases."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if found := self.fresh_jury(candidates):
                return found
            time.sleep(0.2)
        raise AssertionError(f"no fresh first jury among cases {candidates[:20]}...")

    def juries_of(self, case_id: int) -> list[Jury]:
        """Every jury of a case."""
        with self.uow.begin(readonly=True):
            return list(self.uow.session.scalars(select(Jury).where(Jury.case_id == case_id)))

    def accept_and_vote(self, case_id: int, jurors: list[Juror]) -> None:
        """All jurors accept; the given ones vote that the post breaks the rule."""
        for juror in jurors:
            with self.uow.begin():
                cases_jury.reply(
                    self.uow, account_id=juror.account_id, case_id=case_id, accept=True
                )
            with self.uow.begin():
                cases_ballots.cast_ballot(
                    self.uow,
                    account_id=juror.account_id,
                    case_id=case_id,
                    violation=True,
                    sanction="remove",
                    suspension_days=None,
                    reason="A threat.",
                )

    def session_of(self, account_id: int) -> tuple[str, str]:
        """A logged-in session for a juror: (cookie token, CSRF token)."""
        with self.uow.begin():
            account = people.get_account(self.uow, account_id)
            token, row = sessions.start_session(self.uow, account, hours=2)
            return token, row.csrf_token


def writer_holds_lock(path: Path) -> bool:
    """Whether some connection holds SQLite's write lock on ``path`` right now.

    ``BEGIN IMMEDIATE`` with no busy timeout takes the lock or fails at once with "database
    is locked"; taken, it is released at once (the server's writers wait on their busy
    timeout meanwhile, a few microseconds).
    """
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if "locked" in str(error):
            return True
        raise
    else:
        connection.execute("ROLLBACK")
        return False
    finally:
        connection.close()


def postgres_writer_in_flight(database: Database) -> bool:
    """Whether another PostgreSQL backend of this database is inside a transaction that
    has written (it has a transaction id) right now."""
    with database.engine.connect() as connection:
        found = connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
                "AND pid <> pg_backend_pid() AND datname = current_database()"
            )
        )
    return bool(found)


def kill_inside_a_write(server: crash.Crashable, path: Path, within: float = WAIT_SECONDS) -> bool:
    """SIGKILL the server the moment a write transaction holds the lock; False if none did."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if writer_holds_lock(path):
            crash.kill(server.process)
            return True
        time.sleep(0.001)
    return False


def _stage_of(entry: LogEntry) -> str:
    return str(decode_entry(entry.payload).facts["stage"])


def check_database(made: CrashWorld, checkpoints: dict[int, str]) -> int:
    """The log verifies, earlier checkpoints are prefixes, every case is whole; the log size."""
    report = verify_database(made.database, made.verifier_key)
    with made.uow.begin(readonly=True):
        session = made.uow.session
        for size, root in checkpoints.items():
            row = log_read.checkpoint_at(session, size)
            assert row is not None, f"the checkpoint at size {size} seen before a kill is gone"
            assert row.root_hash.hex() == root, f"the checkpoint at size {size} changed root"
        kinds: dict[str, Counter[tuple[str, str]]] = {}
        for entry in session.scalars(select(LogEntry).where(LogEntry.subject_type == "case")):
            stage = _stage_of(entry) if entry.kind in ("JuryDrawn", "BallotCast") else ""
            if entry.kind == "VerdictReached":
                stage = _stage_of(entry)
            kinds.setdefault(entry.subject_id, Counter())[(entry.kind, stage)] += 1
        reports = Counter(session.scalars(select(Report.case_id)))
        ballots_by_jury = Counter(session.scalars(select(CaseBallot.jury_id)))
        for case in session.scalars(select(Case)):
            seen = kinds.get(str(case.id), Counter())
            assert seen[("CaseOpened", "")] == 1, f"case {case.id} has no CaseOpened entry"
            # The opening report is in CaseOpened; each later one joins with ReportFiled.
            joined = seen[("ReportFiled", "")]
            assert joined == reports[case.id] - 1, f"case {case.id}: reports vs log"
            if case.status in SETTLED:
                assert case.statement is not None, f"case {case.id} decided without reasons"
                assert seen[("VerdictReached", "first")] == 1, f"case {case.id}: no verdict entry"
            stages = Counter(session.scalars(select(Jury.stage).where(Jury.case_id == case.id)))
            assert all(n == 1 for n in stages.values()), f"case {case.id}: juries {stages}"
            for jury in session.scalars(select(Jury).where(Jury.case_id == case.id)):
                where = f"case {case.id} {jury.stage} jury"
                assert seen[("JuryDrawn", jury.stage)] == 1, f"{where}: no JuryDrawn entry"
                ballots = ballots_by_jury[jury.id]
                assert seen[("BallotCast", jury.stage)] == ballots, f"{where}: ballots vs log"
                verdicts = seen[("VerdictReached", jury.stage)]
                assert verdicts == (1 if jury.closed else 0), f"{where}: closed vs verdict"
                if jury.closed and jury.stage == "first":
                    assert case.status in SETTLED and case.statement is not None, where
    return report.size
