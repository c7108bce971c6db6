"""The command line: serve, demo, db, config, citizens, staff, platforms, jurisdictions."""

from __future__ import annotations

import logging
import logging.config
import sys
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from isegoria.cli_cases import cases_app, jury_app
from isegoria.cli_connectors import register as register_connectors
from isegoria.cli_export import export_app
from isegoria.cli_federation import federation_app
from isegoria.cli_log import log_app
from isegoria.cli_notes import notes_app
from isegoria.cli_ops import ops_app
from isegoria.cli_report import report_app
from isegoria.cli_rules import rules_app
from isegoria.cli_simulate import simulate_app
from isegoria.clock import Clock
from isegoria.clockfile import clock_from_environment
from isegoria.config import Settings
from isegoria.demo import builder, keys, world
from isegoria.domain.identity import Role, Scope, parse_scopes
from isegoria.errors import IsegoriaError
from isegoria.log.signing import load_signer
from isegoria.ops.logs import logging_config
from isegoria.security import SecretBox
from isegoria.services import jurisdictions, notes_scoring, people, platforms
from isegoria.store import migrate
from isegoria.store.db import Database
from isegoria.store.uow import UnitOfWork

app = typer.Typer(
    help="isegoria: moderation by public law and citizen juries.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
citizens_app = typer.Typer(help="Citizens.", no_args_is_help=True)
staff_app = typer.Typer(help="Operators and auditors.", no_args_is_help=True)
platforms_app = typer.Typer(help="Platforms and their API keys.", no_args_is_help=True)
jurisdictions_app = typer.Typer(help="Jurisdictions.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(citizens_app, name="citizens")
app.add_typer(staff_app, name="staff")
app.add_typer(platforms_app, name="platforms")
app.add_typer(jurisdictions_app, name="jurisdictions")
app.add_typer(rules_app, name="rules")
app.add_typer(log_app, name="log")
app.add_typer(cases_app, name="cases")
app.add_typer(jury_app, name="jury")
app.add_typer(simulate_app)  # `isegoria simulate` at the top level
app.add_typer(report_app)  # `isegoria report` at the top level
app.add_typer(export_app, name="export")
app.add_typer(notes_app, name="notes")
app.add_typer(federation_app, name="federation")
app.add_typer(ops_app)  # no name: `isegoria backup` and `isegoria restore` at the top level
register_connectors(platforms_app)  # `isegoria platforms connect-matrix ...`

console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as error:  # noqa: BLE001 - pydantic names the bad variable
        err.print(f"[red]configuration error:[/red] {error}")
        raise typer.Exit(2) from None


_opened: list[Database] = []


@app.callback()
def _root(ctx: typer.Context) -> None:
    """isegoria: moderation by public law and citizen juries."""
    ctx.call_on_close(_close_databases)


def _close_databases() -> None:
    while _opened:
        _opened.pop().dispose()


def _database(settings: Settings) -> Database:
    database = Database(settings.effective_database_url)
    _opened.append(database)
    return database


def _ready_uow(settings: Settings) -> UnitOfWork:
    database = _database(settings)
    try:
        migrate.ensure_current(database)
    except migrate.SchemaNotCurrent as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    return UnitOfWork(
        database,
        signer=load_signer(settings.origin, settings.signing_key_path),
        secret=settings.secret_key,
    )


def _fail(error: IsegoriaError) -> typer.Exit:
    err.print(f"[red]error:[/red] {error.detail}")
    return typer.Exit(1)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@app.command()
def config() -> None:
    """Print the effective settings (secrets masked) and the log's public key."""
    settings = _settings()
    table = Table("setting", "value", title="isegoria configuration")
    for key, value in settings.masked().items():
        table.add_row(key, value)
    signer = load_signer(settings.origin, settings.signing_key_path)
    table.add_row("log_verifier_key", signer.verifier_key)
    demo_seed = keys.is_demo_key(settings.data_dir, signer.verifier_key)
    if demo_seed is not None:
        table.add_row("demo_keys", f"seed {demo_seed}: {keys.DEMO_KEY_LABEL}")
    console.print(table)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    settings = _settings()
    database = _database(settings)
    migrate.upgrade(database)
    console.print(f"database at revision {migrate.current_revision(database)}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision and the newest one."""
    settings = _settings()
    database = _database(settings)
    current, head = migrate.current_revision(database), migrate.head_revision()
    console.print(f"current: {current or '(empty)'}\nhead:    {head}")
    if current != head:
        console.print("[yellow]not at head: run `isegoria db upgrade`[/yellow]")
        raise typer.Exit(1)


def _serve(settings: Settings, *, upgrade: bool, workers: int, clock: Clock | None = None) -> None:
    import uvicorn

    database = _database(settings)
    if upgrade:
        migrate.upgrade(database)
    try:
        migrate.ensure_current(database)
    except migrate.SchemaNotCurrent as error:
        err.print(f"[red]cannot serve:[/red] {error}")
        raise typer.Exit(1) from None
    database.dispose()
    _start_worker(settings, clock)
    log_config = logging_config(settings.log_format, settings.log_level)  # uvicorn: per worker
    logging.config.dictConfig(log_config)
    console.print(f"serving on {settings.effective_public_url}  (Ctrl+C to stop)")
    if workers > 1:
        uvicorn.run(
            "isegoria.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_level=settings.log_level,
            log_config=log_config,
        )
    else:
        from isegoria.app import create_app

        uvicorn.run(
            create_app(settings, clock=clock),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
            log_config=log_config,
        )


def _start_worker(settings: Settings, clock: Clock | None = None) -> None:
    """Run due deadline jobs in a background thread of this process."""
    from isegoria.log import timer
    from isegoria.services import connector_jobs, handlers, jobs, outbox  # noqa: F401

    database = _database(settings)
    signer = load_signer(settings.origin, settings.signing_key_path)
    clock = clock or clock_from_environment()
    loop = jobs.Worker(database, clock, signer, secret=settings.secret_key)
    loop.every(timer.INTERVAL_SECONDS, lambda: timer.ensure_checkpoint(database, clock, signer))
    connector_jobs.add_to(
        loop, database, clock, signer, settings.secret_key, public_url=settings.effective_public_url
    )
    loop.every(notes_scoring.SCORE_INTERVAL.total_seconds(), _notes_tick(database, clock))
    loop.start_thread()
    outbox.OutboxWorker(
        database,
        clock,
        SecretBox(settings.secret_key),
        allow_private=settings.webhook_allow_private,
    ).start_thread()
    from isegoria.services import activitypub_delivery

    activitypub_delivery.start_worker(database, clock, settings)


def _notes_tick(database: Database, clock: Clock) -> Callable[[], None]:
    """The worker's hourly tick: schedule a notes scoring job unless one is waiting."""

    def tick() -> None:
        uow = UnitOfWork(database, clock)
        with uow.begin():
            notes_scoring.ensure_scheduled(uow)

    return tick


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="Run what is due now, then exit.")] = False,
    poll: Annotated[float, typer.Option(min=0.1, max=3600, help="Seconds between polls.")] = 1.0,
) -> None:
    """Run deadline jobs (vote openings and closings, ...) as they fall due."""
    from isegoria.services import connector_jobs, handlers, jobs  # noqa: F401 - registers

    settings = _settings()
    uow = _ready_uow(settings)
    clock = clock_from_environment()
    if once:
        report = jobs.run_due(uow.database, clock, uow.signer, secret=uow.secret)
        connector_jobs.run_once(
            uow.database, clock, uow.signer, uow.secret, public_url=settings.effective_public_url
        )
        console.print(f"{report.done} jobs done, {report.failed} failed")
        raise typer.Exit(1 if report.failed else 0)
    console.print(f"running jobs every {poll} s (Ctrl+C to stop)")
    from isegoria.services import outbox

    loop = jobs.Worker(uow.database, clock, uow.signer, poll_seconds=poll, secret=uow.secret)
    connector_jobs.add_to(
        loop, uow.database, clock, uow.signer, uow.secret, public_url=settings.effective_public_url
    )
    loop.every(notes_scoring.SCORE_INTERVAL.total_seconds(), _notes_tick(uow.database, clock))
    delivery = outbox.OutboxWorker(
        uow.database,
        clock,
        SecretBox(settings.secret_key),
        allow_private=settings.webhook_allow_private,
    )
    delivery.start_thread()
    from isegoria.services import activitypub_delivery

    flag_outcomes = activitypub_delivery.start_worker(uow.database, clock, settings)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        loop.stop()
        delivery.stop()
        flag_outcomes.stop()


@app.command()
def serve(
    upgrade: Annotated[bool, typer.Option(help="Migrate the database first if needed.")] = False,
    workers: Annotated[int, typer.Option(min=1, max=64, help="App processes.")] = 1,
) -> None:
    """Serve the site and the API (ISEGORIA_HOST / ISEGORIA_PORT)."""
    _serve(_settings(), upgrade=upgrade, workers=workers)


@app.command()
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
    settings = _settings()
    database = _database(settings)
    migrate.upgrade(database)
    probe = UnitOfWork(database)
    with probe.begin(readonly=True):
        built = world.exists(probe)
    if built:
        logins = world.saved_logins(settings.data_dir)
        console.print("reusing the demo world in", settings.effective_database_url)
    else:
        try:
            report = builder.build(
                database,
                settings,
                seed=seed,
                citizens=citizens,
                cases=cases,
                on_stage=lambda stage: console.print(f"{stage}..."),
            )
        except keys.DemoKeyConflict as error:
            err.print(f"[red]error:[/red] {error}")
            raise typer.Exit(1) from None
        logins = report.logins
        if cases:
            console.print(f"{report.cases} demo cases decided, appealed, lapsed or pending")
            console.print(f"{report.notes} demo notes written, rated and scored")
        console.print(f"log: {report.tree_size} entries, root {report.root_hash}")
    found = keys.marker(settings.data_dir)
    if found is not None:
        console.print(f"demo keys of seed {found.seed} ({keys.DEMO_KEY_LABEL})")
    if logins is None:
        err.print("[yellow]the demo logins file is missing; add accounts with the CLI[/yellow]")
    else:
        table = Table("login", "password", title=f"Demo logins (kept in {settings.data_dir})")
        for login, password in logins.people.items():
            table.add_row(login, password)
        console.print(table)
        console.print(f"platform {logins.platform!r} API key: {logins.platform_key}")
    if serve_after:
        # On the demo's own clock: it goes on from the present the world was built for.
        _serve(settings, upgrade=False, workers=1, clock=keys.demo_clock(settings.data_dir))


@citizens_app.command("add")
def citizens_add(
    login: str,
    name: Annotated[str, typer.Option(help="Display name.")],
    jurisdiction: Annotated[list[str], typer.Option(help="Residence (repeatable).")],
    region: str | None = None,
    age_band: Annotated[str | None, typer.Option(help="18-29, 30-44, 45-59 or 60+")] = None,
    leaning: str | None = None,
    jury: Annotated[bool, typer.Option("--jury/--no-jury", help="Opt in to jury service.")] = False,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Add a citizen who can log in."""
    uow = _ready_uow(_settings())
    password = _read_password(password_stdin)
    try:
        with uow.begin():
            account = people.add_account(
                uow,
                login=login,
                display_name=name,
                role=Role.CITIZEN,
                password=password,
                residences=jurisdiction,
                strata=people.Strata(region=region, age_band=age_band, leaning=leaning),
                jury_opt_in=jury,
            )
    except IsegoriaError as error:
        raise _fail(error) from None
    console.print(f"citizen {account.login} added (id {account.id})")


@citizens_app.command("list")
def citizens_list(
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 50,
) -> None:
    """List citizens by login."""
    uow = _ready_uow(_settings())
    with uow.begin(readonly=True):
        rows = people.list_accounts(uow, role=Role.CITIZEN, limit=limit)
        total = people.count_citizens(uow)
        table = Table("login", "name", "residence", "region", "age", "leaning", "jury")
        for a in rows:
            table.add_row(
                a.login,
                a.display_name,
                ",".join(sorted(r.jurisdiction_code for r in a.residences)),
                a.region or "",
                a.age_band or "",
                a.leaning or "",
                "yes" if a.jury_opt_in else "no",
            )
    console.print(table)
    console.print(f"{len(rows)} of {total:,} citizens shown")


@staff_app.command("add")
def staff_add(
    login: str,
    role: Annotated[str, typer.Option(help="operator or auditor")],
    name: Annotated[str, typer.Option(help="Display name.")],
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Add an operator or an auditor."""
    if role not in (Role.OPERATOR.value, Role.AUDITOR.value):
        err.print("[red]error:[/red] --role must be operator or auditor")
        raise typer.Exit(2)
    uow = _ready_uow(_settings())
    password = _read_password(password_stdin)
    try:
        with uow.begin():
            account = people.add_account(
                uow, login=login, display_name=name, role=Role(role), password=password
            )
    except IsegoriaError as error:
        raise _fail(error) from None
    console.print(f"{role} {account.login} added (id {account.id})")


@platforms_app.command("add")
def platforms_add(
    name: str,
    scopes: Annotated[str, typer.Option(help="Comma-separated scopes.")] = ",".join(Scope),
) -> None:
    """Register a platform; prints its API key and webhook secret once."""
    settings = _settings()
    uow = _ready_uow(settings)
    box = SecretBox(settings.secret_key)
    try:
        parsed = parse_scopes(scopes)
        with uow.begin():
            platform, issued = platforms.add_platform(uow, box, name=name, scopes=parsed)
            secret = platforms.webhook_secret(box, platform)
    except ValueError as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    except IsegoriaError as error:
        raise _fail(error) from None
    console.print(f"platform {platform.name} (id {platform.id}) registered")
    console.print(f"API key (shown once): {issued.key}")
    console.print(f"webhook secret (shown once): {secret}")


@platforms_app.command("list")
def platforms_list() -> None:
    """List platforms and their live keys."""
    uow = _ready_uow(_settings())
    with uow.begin(readonly=True):
        table = Table("id", "name", "webhook", "live keys", "scopes")
        for p in platforms.list_platforms(uow):
            live = [k for k in p.api_keys if k.revoked_at is None]
            table.add_row(
                str(p.id),
                p.name,
                p.webhook_url or "",
                ", ".join(f"isg_{k.prefix}_…" for k in live),
                "; ".join(k.scopes for k in live),
            )
    console.print(table)


@platforms_app.command("rotate-key")
def platforms_rotate_key(
    platform: Annotated[str, typer.Argument(help="Platform id or name.")],
    scopes: Annotated[str | None, typer.Option(help="Scopes of the new key.")] = None,
) -> None:
    """Issue a new API key and revoke the platform's older keys."""
    uow = _ready_uow(_settings())
    try:
        parsed = parse_scopes(scopes) if scopes is not None else None
        with uow.begin():
            issued = platforms.rotate_key(
                uow, platforms.find_platform(uow, platform), scopes=parsed
            )
    except ValueError as error:
        err.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    except IsegoriaError as error:
        raise _fail(error) from None
    console.print(f"new API key (shown once): {issued.key}")


@platforms_app.command("rotate-webhook-secret")
def platforms_rotate_webhook_secret(
    platform: Annotated[str, typer.Argument(help="Platform id or name.")],
) -> None:
    """Replace the platform's webhook signing secret; prints the new one once."""
    settings = _settings()
    uow = _ready_uow(settings)
    try:
        with uow.begin():
            secret = platforms.rotate_webhook_secret(
                SecretBox(settings.secret_key),
                platforms.find_platform(uow, platform),
                now=uow.now(),
            )
    except IsegoriaError as error:
        raise _fail(error) from None
    console.print(f"new webhook secret (shown once): {secret}")
    hours = int(platforms.WEBHOOK_SECRET_GRACE.total_seconds() // 3600)
    console.print(
        f"install it at the platform within {hours} h: until then deliveries are signed "
        "with the new and the old secret"
    )


@jurisdictions_app.command("list")
def jurisdictions_list() -> None:
    """List jurisdictions."""
    uow = _ready_uow(_settings())
    with uow.begin(readonly=True):
        table = Table("code", "name", "parent", "languages", "citizens")
        for j in jurisdictions.list_jurisdictions(uow):
            table.add_row(
                j.code,
                j.name,
                j.parent_code or "",
                j.languages,
                str(people.count_citizens(uow, j.code)),
            )
    console.print(table)


@jurisdictions_app.command("add")
def jurisdictions_add(
    code: str,
    name: Annotated[str, typer.Option()],
    parent: Annotated[str | None, typer.Option()] = None,
    language: Annotated[list[str] | None, typer.Option(help="BCP 47 tag (repeatable).")] = None,
) -> None:
    """Add a jurisdiction."""
    uow = _ready_uow(_settings())
    try:
        with uow.begin():
            jurisdictions.add_jurisdiction(
                uow, code=code, name=name, parent=parent, languages=language or []
            )
    except IsegoriaError as error:
        raise _fail(error) from None
    console.print(f"jurisdiction {code} added")


def main() -> None:
    """Entry point of the `isegoria` command."""
    app()
