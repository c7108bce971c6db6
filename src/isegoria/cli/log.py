"""``isegoria log``: verify the log, witness a remote one, explain a proof, rotate the key.

Messages go to standard output and errors to standard error as plain lines (no wrapping,
no colour) so cron mail and scripts read them as they are; a Rich progress bar appears only
on a terminal.
"""

from __future__ import annotations

import functools
import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from isegoria.algorithms.checkpoint import NoteError, open_signed_note, parse_verifier_key
from isegoria.algorithms.merkle import leaf_hash
from isegoria.cases.common import seat_pseudonym
from isegoria.cli import boot
from isegoria.clockfile import clock_from_environment
from isegoria.config import Settings
from isegoria.errors import IsegoriaError
from isegoria.log import explain, keyring, read
from isegoria.log.checks import LogCheck, record_check
from isegoria.log.entries import format_instant
from isegoria.log.remote import RemoteLog, RemoteLogError, WitnessError
from isegoria.log.rotation import rotate_signing_key
from isegoria.log.verify import (
    InstanceReport,
    LogVerificationError,
    ProgressFn,
    VerifyReport,
    verify_instance,
    verify_remote,
)
from isegoria.log.witness import (
    WitnessState,
    load_state,
    now_text,
    run_witness,
    save_state,
)
from isegoria.ops.staff_trail import cli_actor, record_staff_action
from isegoria.store.db import Database

log_app = typer.Typer(
    help="The transparency log: verify it, witness it, explain a proof.", no_args_is_help=True
)

MAX_INDEX = 2**63 - 1  # indexes and sizes are BIGINT columns

UrlOption = Annotated[
    str | None, typer.Option(help="A remote instance's base URL (default: the local database).")
]
KeyOption = Annotated[
    str | None, typer.Option(help="The verifier key to pin: <name>+<key id>+<base64 key>.")
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(boot.ExitCode.REFUSED)


def _warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def _local_database() -> tuple[Settings, Database]:
    settings = boot.settings()
    return settings, boot.ready_database(settings)


def _instance_key(settings: Settings) -> str:
    path = settings.signing_key_path
    if not path.exists():
        raise _fail(f"no log signing key at {path}; pass the instance's verifier key with --key")
    return boot.signer(settings).verifier_key


def _served_key(remote: RemoteLog) -> str:
    _origin, key = remote.key()
    _warn(
        f"trusting the key {key} that {remote.url} serves (trust on first use); "
        "compare it with one published elsewhere, or pass --key"
    )
    return key


@contextmanager
def _progress() -> Iterator[ProgressFn | None]:
    if not boot.err.is_terminal:
        yield None
        return
    bar = Progress(
        "verifying", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=boot.err
    )
    task = bar.add_task("entries", total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield update


@log_app.command("verify")
def verify(
    url: UrlOption = None,
    key: KeyOption = None,
    state: Annotated[
        Path | None,
        typer.Option(help="State file of a checkpoint verified earlier (a witness's file)."),
    ] = None,
) -> None:
    """Recompute the whole log and check every entry, node and signed checkpoint."""
    try:
        held = load_state(state) if state is not None else None
    except WitnessError as error:
        raise _fail(str(error)) from None
    if held is not None and url is not None and held.url not in (None, url.rstrip("/")):
        raise _fail(f"state file {state} is for {held.url}, not {url}")
    pinned = key or (held.verifier_key if held is not None else None)
    audited: InstanceReport | None = None
    try:
        with _progress() as progress:
            if url is None:
                settings, database = _local_database()
                pinned = pinned or _instance_key(settings)
                holder = functools.partial(seat_pseudonym, settings.secret_key)
                try:
                    audited = verify_instance(
                        database, pinned, state=held, progress=progress, holder=holder
                    )
                except LogVerificationError as error:
                    _record(settings, ok=False, size=0, root="", summary=str(error))
                    raise
                report = audited.log
                summary = audited.lines()[0]
                _record(settings, audited.ok, report.size, report.root_hash.hex(), summary)
            else:
                remote = RemoteLog(url)
                try:
                    pinned = pinned or _served_key(remote)
                    report = verify_remote(remote, pinned, state=held, progress=progress)
                finally:
                    remote.close()
    except (LogVerificationError, RemoteLogError) as error:
        raise _fail(f"log verification failed: {error}") from None
    if state is not None:
        _save_verified(state, held, url, pinned, report)
    if audited is None:
        typer.echo(report.summary())
    elif audited.ok:
        typer.echo("\n".join(audited.lines()))
    else:
        # The verdict first, then the details: never "log verified" above a tampered table.
        verdict, *details = audited.lines()
        typer.echo(f"error: {verdict}", err=True)
        for line in details:
            typer.echo(line, err=True)
        raise typer.Exit(1)


def _record(settings: Settings, ok: bool, size: int, root: str, summary: str) -> None:
    """Keep the run for the audit console's "when the log was last checked" (log.checks)."""
    at = format_instant(clock_from_environment().now())
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no name for this uid (a container): the command still counts
        user = "?"
    try:
        record_check(
            settings.data_dir,
            LogCheck(at, f"{user} (isegoria log verify)", ok, size, root, summary),
        )
    except OSError as error:  # the verdict matters more than its record
        _warn(f"this run could not be recorded in {settings.data_dir}: {error}")


def _save_verified(
    path: Path, held: WitnessState | None, url: str | None, key: str, report: VerifyReport
) -> None:
    latest = report.latest
    if latest is None:
        return  # an empty log has no checkpoint to remember
    where = url.rstrip("/") if url is not None else (held.url if held is not None else None)
    save_state(
        path, WitnessState(where, key, latest.size, latest.root_hash, latest.note, now_text())
    )


@log_app.command("witness")
def witness(
    url: Annotated[str, typer.Option(help="The instance's base URL.")],
    state: Annotated[Path, typer.Option(help="JSON file holding the last verified checkpoint.")],
    key: KeyOption = None,
) -> None:
    """Check that the latest checkpoint extends the last one seen; run it from cron."""
    try:
        result = run_witness(url, state, key=key, warn=_warn)
    except WitnessError as error:
        raise _fail(str(error)) from None
    typer.echo(result.summary())


@log_app.command("proof")
def proof(
    index: Annotated[int, typer.Argument(min=0, max=MAX_INDEX, help="The entry's index.")],
    size: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_INDEX, help="Tree size (default: the latest checkpoint)."),
    ] = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Print an entry's inclusion proof as steps a person can redo by hand."""
    try:
        if url is None:
            payload, tree_size, hashes, root, source = _local_proof(index, size, key)
        else:
            payload, tree_size, hashes, root, source = _remote_proof(url, index, size, key)
    except (IsegoriaError, RemoteLogError, NoteError) as error:
        message = error.detail if isinstance(error, IsegoriaError) else str(error)
        raise _fail(message) from None
    trace = explain.trace_inclusion(index, tree_size, leaf_hash(payload), hashes, root)
    typer.echo(explain.render_proof(trace, payload, root_source=source))
    if not trace.ok:
        raise typer.Exit(1)


Proof = tuple[bytes, int, list[bytes], bytes, str]


def _local_proof(index: int, size: int | None, key: str | None) -> Proof:
    settings, database = _local_database()
    pinned = key or _instance_key(settings)
    session = database.session(readonly=True)
    try:
        if size is None:
            latest = read.latest_checkpoint(session)
            if latest is None:
                raise _fail("the log is empty: no checkpoint has been issued yet")
            size = latest.size
        hashes = read.inclusion_proof(session, index, size)
        payload = read.entry(session, index).payload
        row = read.checkpoint_at(session, size)
        if row is None:
            root = read.root_at(session, size)
            return payload, size, hashes, root, _unsigned(size)
        keys = _known_keys(keyring.local_rotations(session), pinned).keys_for(size)
        signed = open_signed_note(row.note, keys, origin=parse_verifier_key(pinned).name)
        return payload, size, hashes, signed.root_hash, _signed(size, " or ".join(keys))
    finally:
        session.close()


def _remote_proof(url: str, index: int, size: int | None, key: str | None) -> Proof:
    remote = RemoteLog(url)
    try:
        pinned = key or _served_key(remote)
        data = remote.inclusion(index, size)
        rotations = remote.rotations()
        try:
            payload = str(data["entry"]["payload"]).encode("utf-8")
            tree_size = int(data["tree_size"])
            hashes = [bytes.fromhex(h) for h in data["proof"]]
            checkpoint = data.get("checkpoint")
            stated_root = bytes.fromhex(data["root_hash"])
        except (KeyError, TypeError, ValueError):
            raise RemoteLogError(f"{remote.url}: malformed inclusion proof answer") from None
    finally:
        remote.close()
    if not checkpoint:
        return payload, tree_size, hashes, stated_root, _unsigned(tree_size)
    keys = _known_keys(rotations, pinned).keys_for(tree_size)
    signed = open_signed_note(
        str(checkpoint.get("note", "")), keys, origin=parse_verifier_key(pinned).name
    )
    if signed.size != tree_size:
        raise RemoteLogError(f"the checkpoint served is for size {signed.size}, not {tree_size}")
    return payload, tree_size, hashes, signed.root_hash, _signed(tree_size, " or ".join(keys))


def _known_keys(rotations: list[keyring.Rotation], pinned: str) -> keyring.KeyHistory:
    """The key history, refused unless the pinned key is one of its keys."""
    try:
        keys = keyring.build_history(rotations, pinned)
    except keyring.KeyHistoryError as error:
        raise _fail(str(error)) from None
    if keys.period_of(pinned) is None:
        raise _fail(f"the pinned key {pinned} is not one of the keys this log was signed with")
    return keys


def _signed(size: int, key: str) -> str:
    return f"signed checkpoint root (size {size}, signature by {key} verified)"


def _unsigned(size: int) -> str:
    return f"root of size {size} from the stored nodes (NOT signed: no checkpoint at this size)"


@log_app.command("checkpoint")
def checkpoint() -> None:
    """Print the latest signed checkpoint: the C2SP note GET /api/v1/log/checkpoint serves."""
    _settings, database = _local_database()
    session = database.session(readonly=True)
    try:
        latest = read.latest_checkpoint(session)
    finally:
        session.close()
    if latest is None:
        raise _fail("the log is empty: no checkpoint has been issued yet")
    typer.echo(latest.note, nl=False)


@log_app.command("rotate-key")
def rotate_key() -> None:
    """Replace the log signing key; the old key signs the entry that names the new one.

    Stop every app server and worker first and start them again afterwards: a process still
    holding the old key would sign checkpoints past its range, which ``verify`` rejects.
    """
    settings = boot.settings()
    path = settings.signing_key_path
    if not path.exists():  # checked first: loading the signer would create a key
        raise _fail(f"no log signing key at {path}: there is nothing to rotate")
    uow = boot.ready_uow(settings)

    def recorded(index: int) -> None:
        # LogKeyRotated is the public entry; the trail names who ran the rotation.
        detail = {"log_index": index}
        record_staff_action(uow, cli_actor(), "log_key.rotated", "log-key", detail=detail)

    try:
        rotation = rotate_signing_key(uow, settings.origin, path, within=recorded)
    except IsegoriaError as error:
        raise _fail(error.detail) from None
    typer.echo(f"log key rotated at entry {rotation.index}")
    typer.echo(f"retired: {rotation.retired} (signs checkpoints of size up to {rotation.boundary})")
    typer.echo(f"current: {rotation.current} (signs checkpoints from size {rotation.boundary} on)")
    typer.echo("restart every app server and worker now, so that they sign with the new key")
