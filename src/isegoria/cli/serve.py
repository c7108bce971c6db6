"""``isegoria serve``, ``worker`` and ``demo``: run the instance and its deadline jobs."""

from __future__ import annotations

import logging
import logging.config
import os
import time
from collections.abc import Callable
from typing import Annotated

import typer
import uvicorn
from rich.table import Table

from isegoria import worker as handlers  # noqa: F401 - importing it registers the job handlers
from isegoria.app import create_app
from isegoria.cli import boot
from isegoria.cli.boot import out as console
from isegoria.cli.progress import build_progress
from isegoria.clock import Clock
from isegoria.clockfile import clock_from_environment
from isegoria.config import Settings
from isegoria.connectors import jobs as connector_jobs
from isegoria.decisions import outbox
from isegoria.demo import builder, world
from isegoria.federation import activitypub_delivery
from isegoria.http.request_log import logging_config
from isegoria.jobs import checkpoint_timer as timer
from isegoria.jobs import queue as jobs
from isegoria.log import demo_keys as keys
from isegoria.notes import scoring as notes_scoring
from isegoria.notifications import delivery as notification_delivery
from isegoria.notifications import demo as notification_demo
from isegoria.security import SecretBox
from isegoria.store import migrate
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork

serve_app = typer.Typer()
# Lines are never folded: a root hash or an API key must stay whole to be copied.
#: The app factory uvicorn imports (in each worker process when there are several).
APP_FACTORY = "isegoria.app:create_app"


def _serve(settings: Settings, *, upgrade: bool, workers: int, clock: Clock | None = None) -> None:
    boot.secret(settings), boot.signer(settings)  # an unusable key: one line, before serving
    database = boot.database(settings)
    if upgrade:
        migrate.upgrade(database)
    boot.check_schema(settings, database)
    database.dispose()
    _start_worker(settings, clock)
    log_config = logging_config(settings.log_format, settings.log_level)  # uvicorn: per worker
    logging.config.dictConfig(log_config)
    console.print(f"serving on {settings.effective_public_url}  (Ctrl+C to stop)")
    if clock is not None:  # the demo's own clock: one process, handed the app itself
        uvicorn.run(
            create_app(settings, clock=clock),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            log_config=log_config,
        )
        return
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level,
        log_config=log_config,
    )


def _start_worker(settings: Settings, clock: Clock | None = None) -> None:
    """Run due deadline jobs in a background thread of this process."""
    database = boot.database(settings)
    signer = boot.signer(settings)
    clock = clock or clock_from_environment()
    loop = jobs.Worker(database, clock, signer, secret=settings.secret_key)
    loop.every(timer.INTERVAL_SECONDS, lambda: timer.ensure_checkpoint(database, clock, signer))
    connector_jobs.add_to(
        loop,
        database,
        clock,
        signer,
        settings.secret_key,
        public_url=settings.effective_public_url,
        allow_private=settings.webhook_allow_private,
    )
    loop.every(notes_scoring.SCORE_INTERVAL.total_seconds(), _notes_tick(database, clock))
    loop.start_thread()
    outbox.OutboxWorker(
        database,
        clock,
        SecretBox(settings.secret_key),
        allow_private=settings.webhook_allow_private,
    ).start_thread()
    notification_delivery.start_worker(database, clock, settings)
    activitypub_delivery.start_worker(database, clock, settings)


def _notes_tick(database: Database, clock: Clock) -> Callable[[], None]:
    """The worker's hourly tick: schedule a notes scoring job unless one is waiting."""

    def tick() -> None:
        uow = UnitOfWork(database, clock)
        with uow.begin():
            notes_scoring.ensure_scheduled(uow)

    return tick


@serve_app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Run what is due now, then exit.")] = False,
    poll: Annotated[float, typer.Option(min=0.1, max=3600, help="Seconds between polls.")] = 1.0,
) -> None:
    """Run deadline jobs (vote openings and closings, ...) as they fall due."""
    settings = boot.settings()
    uow = boot.ready_uow(settings)
    clock = clock_from_environment()
    if once:
        report = jobs.run_due(uow.database, clock, uow.signer, secret=uow.secret)
        connector_jobs.run_once(
            uow.database,
            clock,
            uow.signer,
            uow.secret,
            public_url=settings.effective_public_url,
            allow_private=settings.webhook_allow_private,
        )
        console.print(f"{report.done} jobs done, {report.failed} failed")
        raise typer.Exit(1 if report.failed else 0)
    console.print(f"running jobs every {poll} s (Ctrl+C to stop)")
    loop = jobs.Worker(uow.database, clock, uow.signer, poll_seconds=poll, secret=uow.secret)
    connector_jobs.add_to(
        loop,
        uow.database,
        clock,
        uow.signer,
        uow.secret,
        public_url=settings.effective_public_url,
        allow_private=settings.webhook_allow_private,
    )
    loop.every(notes_scoring.SCORE_INTERVAL.total_seconds(), _notes_tick(uow.database, clock))
    delivery = outbox.OutboxWorker(
        uow.database,
        clock,
        SecretBox(settings.secret_key),
        allow_private=settings.webhook_allow_private,
    )
    delivery.start_thread()
    notification_delivery.start_worker(uow.database, clock, settings)
    flag_outcomes = activitypub_delivery.start_worker(uow.database, clock, settings)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        loop.stop()
        delivery.stop()
        flag_outcomes.stop()


@serve_app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on (default ISEGORIA_HOST, else 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            min=1, max=65535, help="Port to listen on (default ISEGORIA_PORT, else 8000)."
        ),
    ] = None,
    upgrade: Annotated[bool, typer.Option(help="Migrate the database first if needed.")] = False,
    workers: Annotated[int, typer.Option(min=1, max=64, help="App processes.")] = 1,
) -> None:
    """Serve the site and the API (also on ISEGORIA_HOST / ISEGORIA_PORT)."""
    # The options win over the environment by becoming it: uvicorn's app processes read
    # their settings from the environment, and the public URL is derived from host and port.
    if host is not None:
        os.environ["ISEGORIA_HOST"] = host
    if port is not None:
        os.environ["ISEGORIA_PORT"] = str(port)
    settings = boot.settings()
    if workers > 1 and settings.effective_database_url.startswith("sqlite"):
        # SQLite has one writer, and each process would keep its own read cache and rate
        # limits: a second process would serve stale pages and double every budget.
        raise boot.fail(
            f"--workers {workers} needs PostgreSQL (ISEGORIA_DATABASE_URL=postgresql+psycopg://"
            "...); on SQLite serve with one process",
            boot.ExitCode.USAGE,
        )
    if settings.ratelimit_shared and settings.effective_database_url.startswith("sqlite"):
        # Else each app process would fail in http/ratelimit.install, after "serving on".
        raise boot.fail(
            "ISEGORIA_RATELIMIT_SHARED=true needs PostgreSQL; on SQLite leave it unset "
            "(one process keeps the rate-limit buckets itself)",
            boot.ExitCode.USAGE,
        )
    _serve(settings, upgrade=upgrade, workers=workers)


@serve_app.command()
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the site after building.")
    ] = True,
    citizens: Annotated[int, typer.Option(min=0, max=1_000_000)] = 3000,
    cases: Annotated[
        bool, typer.Option("--cases/--no-cases", help="Run demo reports through juries.")
    ] = True,
    seed: Annotated[
        int, typer.Option(min=0, help="The same seed builds the same world and log.")
    ] = 0,
) -> None:
    """Build (or reuse) the demo world, print its logins, and serve it."""
    settings = notification_demo.with_demo_mail(boot.settings())
    # The build commits about a thousand times; syncing each to the disk was seconds of it.
    # NORMAL still keeps every commit through a crash of this process, and the served demo
    # opens its own database with the operator's setting (ISEGORIA_SQLITE_SYNCHRONOUS).
    database = boot.database(settings, sqlite_synchronous="normal")
    migrate.upgrade(database)
    probe = UnitOfWork(database)
    with probe.begin(readonly=True):
        built = world.exists(probe)
    if built:
        logins = world.saved_logins(settings.data_dir)
        console.print("reusing the demo world in", settings.effective_database_url)
    else:
        try:
            started = time.monotonic()
            with build_progress(console) as progress:
                report = builder.build(
                    database,
                    settings,
                    seed=seed,
                    citizens=citizens,
                    cases=cases,
                    progress=progress,
                )
            console.print(f"demo world built in {time.monotonic() - started:.0f} s")
        except keys.DemoKeyConflict as error:
            raise boot.fail(str(error)) from None
        logins = report.logins
        if cases:
            console.print(f"{report.cases} demo cases decided, appealed, lapsed or pending")
            console.print(f"{report.notes} demo notes written, rated and scored")
        console.print(f"log: {report.tree_size} entries, root {report.root_hash}")
    found = keys.marker(settings.data_dir)
    if found is not None:
        console.print(f"demo keys of seed {found.seed} ({keys.DEMO_KEY_LABEL})")
    if logins is None:
        boot.err.print(
            "[yellow]the demo logins file is missing; add accounts with the CLI[/yellow]"
        )
    else:
        table = Table("login", "password", title=f"Demo logins (kept in {settings.data_dir})")
        for login, password in logins.people.items():
            table.add_row(login, password)
        console.print(table)
        for login, secret in logins.totp.items():
            console.print(
                f"{login} signs in with a second factor: add the key {secret} to an "
                f"authenticator app, or run `isegoria staff totp {login}` for the current code"
            )
        console.print(f"platform {logins.platform!r} API key: {logins.platform_key}")
    console.print(notification_demo.where_mail_goes(settings))
    if serve_after:
        # On the demo's own clock: it goes on from the present the world was built for (a
        # test's clock file, when set, overrides it as it does for any server).
        clock = clock_from_environment(keys.demo_clock(settings.data_dir))
        _serve(settings, upgrade=False, workers=1, clock=clock)
