"""The public transparency log: checkpoints, entries, inclusion and consistency proofs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from isegoria.algorithms.merkle import leaf_hash
from isegoria.errors import Conflict, InvalidInput, NotFound
from isegoria.http.access import PUBLIC, access
from isegoria.http.deps import PublicAnswerDep, ServicesDep, UnitOfWorkDep
from isegoria.log import read
from isegoria.store.models import LogCheckpoint, LogEntry
from isegoria.unit_of_work import UnitOfWork

router = APIRouter(prefix="/log", tags=["log"])

# Sizes and indexes are unsigned 63-bit so they fit a PostgreSQL BIGINT.
MAX_INDEX = 2**63 - 1
Index = Annotated[int, Path(ge=0, le=MAX_INDEX, description="Entry index, from 0")]


class LogKeyOut(BaseModel):
    """How to verify this log's checkpoints."""

    origin: str
    verifier_key: str = Field(description="C2SP signed-note verifier key: name+keyid+base64")
    hash_algorithm: str = "SHA-256 (RFC 9162 §2.1)"
    entry_format: str = "RFC 8785 canonical JSON, UTF-8"


class CheckpointOut(BaseModel):
    """A signed tree head."""

    size: int
    root_hash: str = Field(description="Hex SHA-256 Merkle tree hash of the first `size` entries")
    note: str = Field(description="The C2SP tlog-checkpoint signed note")
    created_at: str


class EntryOut(BaseModel):
    """One log entry: the exact bytes hashed, and what they say."""

    index: int
    kind: str
    subject_type: str
    subject_id: str
    created_at: str
    payload: str = Field(description="The canonical JSON text whose UTF-8 bytes are the leaf")
    leaf_hash: str = Field(description="Hex SHA-256(0x00 || payload)")


class EntriesPage(BaseModel):
    """A page of entries in index order."""

    tree_size: int
    entries: list[EntryOut]
    next_start: int | None


class InclusionOut(BaseModel):
    """An entry with its RFC 9162 inclusion proof against a tree size."""

    entry: EntryOut
    tree_size: int
    root_hash: str
    proof: list[str] = Field(description="Hex hashes, leaf to root (RFC 9162 §2.1.3)")
    checkpoint: CheckpointOut | None = Field(description="The signed checkpoint at tree_size")


class ConsistencyOut(BaseModel):
    """An RFC 9162 consistency proof between two tree sizes."""

    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str] = Field(description="Hex hashes (RFC 9162 §2.1.4)")


class CheckpointsPage(BaseModel):
    """Checkpoints in size order."""

    checkpoints: list[CheckpointOut]
    next_start: int | None


def checkpoint_out(row: LogCheckpoint) -> CheckpointOut:
    """A checkpoint row as the API shows it."""
    return CheckpointOut(
        size=row.size,
        root_hash=row.root_hash.hex(),
        note=row.note,
        created_at=row.created_at.isoformat(),
    )


def entry_out(row: LogEntry) -> EntryOut:
    """An entry row as the API shows it."""

    return EntryOut(
        index=row.idx,
        kind=row.kind,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        created_at=row.created_at.isoformat(),
        payload=row.payload.decode("utf-8", errors="replace"),
        leaf_hash=leaf_hash(row.payload).hex(),
    )


@router.get("/key", response_model=LogKeyOut, **access(PUBLIC))
async def log_key(services: ServicesDep) -> LogKeyOut:
    """The origin and public key that sign this log's checkpoints (from memory, no I/O)."""
    return LogKeyOut(origin=services.signer.origin, verifier_key=services.signer.verifier_key)


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}, 404: {}},
    **access(PUBLIC),
)
def latest_checkpoint_note(uow: UnitOfWorkDep) -> PlainTextResponse:
    """The latest signed checkpoint as a C2SP signed note (text/plain)."""
    with uow.begin(readonly=True):
        row = read.latest_checkpoint(uow.session)
        if row is None:
            raise NotFound("the log is empty: no checkpoint has been issued yet")
        return PlainTextResponse(row.note)


@router.get("", response_model=CheckpointOut, **access(PUBLIC))
async def latest_checkpoint(answer: PublicAnswerDep) -> Response:
    """The latest checkpoint with its size and root hash."""

    def build(uow: UnitOfWork) -> CheckpointOut:
        row = read.latest_checkpoint(uow.session)
        if row is None:
            raise NotFound("the log is empty: no checkpoint has been issued yet")
        return checkpoint_out(row)

    return await answer(("log",), build, CheckpointOut)


@router.get("/checkpoints", response_model=CheckpointsPage, **access(PUBLIC))
async def list_checkpoints(
    answer: PublicAnswerDep,
    start_size: Annotated[int, Query(ge=0, le=MAX_INDEX)] = 0,
    limit: Annotated[int, Query(ge=1, le=read.MAX_PAGE)] = 100,
) -> Response:
    """Every checkpoint issued, smallest tree first (for verifiers)."""

    def build(uow: UnitOfWork) -> CheckpointsPage:
        rows = read.checkpoints(uow.session, start_size, limit + 1)
        more = len(rows) > limit
        return CheckpointsPage(
            checkpoints=[checkpoint_out(r) for r in rows[:limit]],
            next_start=rows[limit].size if more else None,
        )

    return await answer(("checkpoints", start_size, limit), build, CheckpointsPage)


@router.get("/entries", response_model=EntriesPage, **access(PUBLIC))
async def list_entries(
    answer: PublicAnswerDep,
    start: Annotated[int, Query(ge=0, le=MAX_INDEX)] = 0,
    limit: Annotated[int, Query(ge=1, le=read.MAX_PAGE)] = 100,
) -> Response:
    """Entries from `start` on, in index order."""

    def build(uow: UnitOfWork) -> EntriesPage:
        size = read.tree_size(uow.session)
        rows = read.entries(uow.session, start, limit)
        next_start = start + limit if start + limit < size else None
        entries = [entry_out(r) for r in rows]
        return EntriesPage(tree_size=size, entries=entries, next_start=next_start)

    return await answer(("entries", start, limit), build, EntriesPage)


@router.get("/entries/{index}", response_model=InclusionOut, **access(PUBLIC))
async def entry_with_proof(
    answer: PublicAnswerDep,
    index: Index,
    tree_size: Annotated[
        int | None,
        Query(ge=1, le=MAX_INDEX, description="Prove against this size (default: latest)"),
    ] = None,
) -> Response:
    """One entry with its inclusion proof against a tree size."""

    def build(uow: UnitOfWork) -> InclusionOut:
        session = uow.session
        size = read.tree_size(session) if tree_size is None else tree_size
        if index >= size and tree_size is None and read.is_sequenced(session, index):
            raise Conflict(
                "entry %(index)s is recorded but not yet in the tree, which holds %(size)s "
                "entries; a signed checkpoint will cover it within seconds: ask again then",
                field="index",
                index=index,
                size=size,
            )
        if index >= size:
            where = "the log" if tree_size is None else f"a tree of size {size}"
            raise InvalidInput(
                "index %(index)s is not in %(where)s; it must be below %(size)s",
                field="index",
                index=index,
                where=where,
                size=size,
            )
        proof, root = read.proof_and_root(session, index, size)
        checkpoint = read.checkpoint_at(session, size)
        return InclusionOut(
            entry=entry_out(read.entry(session, index)),
            tree_size=size,
            root_hash=root.hex(),
            proof=[p.hex() for p in proof],
            checkpoint=checkpoint_out(checkpoint) if checkpoint else None,
        )

    return await answer(("entry", index, tree_size), build, InclusionOut)


@router.get("/consistency", response_model=ConsistencyOut, **access(PUBLIC))
def consistency(
    uow: UnitOfWorkDep,
    first: Annotated[int, Query(ge=0, le=MAX_INDEX, description="The older tree size")],
    second: Annotated[int, Query(ge=0, le=MAX_INDEX, description="The newer tree size")],
) -> ConsistencyOut:
    """Proof that the tree of size `first` is a prefix of the tree of size `second`."""
    with uow.begin(readonly=True):
        session = uow.session
        proof = read.consistency_proof(session, first, second)
        return ConsistencyOut(
            first=first,
            second=second,
            first_root=read.root_at(session, first).hex(),
            second_root=read.root_at(session, second).hex(),
            proof=[p.hex() for p in proof],
        )
