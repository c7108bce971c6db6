"""Build a whole demo world from a seed, stage by stage, on the demo's simulated clock.

The same seed builds the same public log, entry for entry, on every run and machine: the
keys come from the seed (``keys.py``), every random choice from a stream of the seed, and
every timestamp from a clock that starts at the demo's fixed present (``DEMO_PRESENT``)
rather than from the wall clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from isegoria.clock import ManualClock
from isegoria.config import Settings
from isegoria.demo import world
from isegoria.demo.cases import seed_cases
from isegoria.demo.notes import NOTES, seed_notes
from isegoria.demo.posts import POSTS
from isegoria.log import demo_keys as keys
from isegoria.log import read
from isegoria.log.signing import load_signer
from isegoria.notifications import demo as notification_demo
from isegoria.people import platforms
from isegoria.security import SecretBox
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork


class BuildProgress(Protocol):
    """Who is told how far a build has come: a progress bar, lines in a log, or nobody."""

    def stage(self, description: str, steps: int) -> None:
        """A stage of ``steps`` steps starts (0: its length is not known)."""

    def step(self) -> None:
        """One step of the current stage is done."""


class Silent:
    """A build nobody watches."""

    def stage(self, description: str, steps: int) -> None:
        """Say nothing."""

    def step(self) -> None:
        """Say nothing."""


@dataclass
class BuildReport:
    """What a build made: logins, counts, the log's size and root, and time per stage."""

    logins: world.DemoLogins
    seed: int
    cases: int = 0
    notes: int = 0
    tree_size: int = 0
    root_hash: str = ""
    seconds: dict[str, float] = field(default_factory=dict)


def _timed(report: BuildReport, stage: str, started: float) -> None:
    report.seconds[stage] = round(time.monotonic() - started, 1)


def build(
    database: Database,
    settings: Settings,
    *,
    seed: int,
    citizens: int,
    cases: bool = True,
    progress: BuildProgress | None = None,
) -> BuildReport:
    """Build the demo world of ``seed`` into an empty database whose schema is current."""
    keys.install(settings, seed)
    secret = keys.instance_secret(seed)
    signer = load_signer(settings.origin, settings.signing_key_path)
    present: datetime = keys.DEMO_PRESENT
    uow = UnitOfWork(
        database, ManualClock(present), signer, secret, entropy=keys.entropy(seed, "world")
    )
    progress = progress or Silent()
    started = time.monotonic()
    world_stage = f"building the demo world (seed {seed}) with {citizens:,} citizens and its law"
    progress.stage(world_stage, 0)
    with uow.begin():
        logins = world.build(uow, SecretBox(secret), citizens=citizens, seed=seed)
        notification_demo.opt_in(uow, logins.people)
    world.save_logins(settings.data_dir, logins)
    report = BuildReport(logins=logins, seed=seed)
    _timed(report, "world and law", started)
    if cases:
        started = time.monotonic()
        progress.stage("running the demo's reports through juries", len(POSTS))
        with uow.begin(readonly=True):
            platform_id = platforms.find_platform(uow, logins.platform).id
        report.cases = seed_cases(
            database, signer, secret, platform_id, present, seed, on_step=progress.step
        )
        _timed(report, "cases", started)
        started = time.monotonic()
        progress.stage("writing, rating and scoring the demo's notes", len(NOTES))
        report.notes = seed_notes(database, signer, secret, present, seed, on_step=progress.step)
        _timed(report, "notes", started)
    with uow.begin(readonly=True):
        report.tree_size = read.tree_size(uow.session)
        report.root_hash = read.root_at(uow.session, report.tree_size).hex()
    return report
