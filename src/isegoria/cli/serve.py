"""``isegoria serve``, ``worker`` and ``demo``: run the instance and its deadline jobs."""

from __future__ import annotations

import logging
import logging.config
import os
from collections.abc import Callable
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from isegoria import worker as handlers  # noqa: F401 - importing it registers the job handlers
from isegoria.cli import boot
from isegoria.clock import Clock
from isegoria.clockfile import clock_from_environment
from isegoria.config import Settings
from isegoria.connectors import jobs as connector_jobs
from isegoria.decisions import outbox
from isegoria.demo import world
from isegoria.demo.cases import seed_cases
from isegoria.demo.notes import seed_notes
from isegoria.federation import activitypub_delivery
from isegoria.http.request_log import logging_config
from isegoria.jobs import checkpoint_timer as timer
from isegoria.jobs import queue as jobs
from isegoria.notes import scoring as notes_scoring
from isegoria.notifications import delivery as notification_delivery
from isegoria.notifications import demo as notification_demo
from isegoria.people import platforms
from isegoria.security import SecretBox
from isegoria.store import migrate
from isegoria.store.db import Database
from isegoria.unit_of_work import UnitOfWork

serve_app = typer.Typer()
console = Console()
#: The app factory uvicorn imports (in each worker process when there are several).
APP_FACTORY = "isegoria.app:create_app"


def _serve(settings: Settings, *, upgrade: bool, workers: int) -> None:
    boot.secret(settings), boot.signer(settings)  # an unusable key: one line, before serving
    database = boot.database(settings)
    if upgrade:
        migrate.upgrade(database)
    boot.check_schema(settings, database)
    database.dispose()
    _start_worker(settings)
    log_config = logging_config(settings.log_format, settings.log_level)  # uvicorn: per worker
    logging.config.dictConfig(log_config)
    console.print(f"serving on {settings.effective_public_url}  (Ctrl+C to stop)")
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level,
        log_config=log_config,
    )


def _start_worker(settings: Settings) -> None:
    """Run due deadline jobs in a background thread of this process."""
    database = boot.database(settings)
    signer = boot.signer(settings)
    clock = clock_from_environment()
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
    _serve(boot.settings(), upgrade=upgrade, workers=workers)


@serve_app.command()
def demo(
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the site after building.")
    ] = True,
    citizens: Annotated[int, typer.Option(min=0, max=1_000_000)] = 3000,
    cases: Annotated[
        bool, typer.Option("--cases/--no-cases", help="Run demo reports through juries.")
    ] = True,
) -> None:
    """Build (or reuse) the demo world, print its logins, and serve it."""
    settings = notification_demo.with_demo_mail(boot.settings())
    database = boot.database(settings)
    migrate.upgrade(database)
    uow = UnitOfWork(
        database,
        signer=boot.signer(settings),
        secret=boot.secret(settings),
    )
    box = SecretBox(settings.secret_key)
    with uow.begin(readonly=True):
        built = world.exists(uow)
    if built:
        logins = world.saved_logins(settings.data_dir)
        console.print("reusing the demo world in", settings.effective_database_url)
    else:
        with console.status(f"building the demo world with {citizens:,} citizens..."):
            with uow.begin():
                logins = world.build(uow, box, citizens=citizens)
                notification_demo.opt_in(uow, logins.people)
            world.save_logins(settings.data_dir, logins)
        if cases:
            with console.status("running the demo's reports through juries..."):
                with uow.begin(readonly=True):
                    platform_id = platforms.find_platform(uow, logins.platform).id
                assert uow.signer is not None  # noqa: S101 - set above
                opened = seed_cases(
                    database, uow.signer, settings.secret_key, platform_id, uow.now()
                )
            console.print(f"{opened} demo cases decided, appealed, lapsed or pending")
            with console.status("writing, rating and scoring the demo's notes..."):
                written = seed_notes(database, uow.signer, settings.secret_key, uow.now())
            console.print(f"{written} demo notes written, rated and scored")
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
        _serve(settings, upgrade=False, workers=1)
