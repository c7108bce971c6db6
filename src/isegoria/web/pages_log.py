"""Pages of the transparency log: recent entries in readable form, and one entry's proof."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from isegoria.algorithms import merkle
from isegoria.http.deps import ServicesDep, UnitOfWorkDep
from isegoria.log import read
from isegoria.log.demo_keys import is_demo_key
from isegoria.log.entries import MalformedEntry, decode_entry
from isegoria.store.models import LogEntry
from isegoria.web.pages import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_INDEX = 2**63 - 1

# Where each kind of subject is shown; more arrive with each capability.
SUBJECT_LINKS = {
    "jurisdiction": "/api/v1/jurisdictions/{id}",
    "case": "/cases/{id}",
    "proposal": "/proposals/{id}",
}


def subject_link(subject_type: str, subject_id: str) -> str | None:
    """The page (or API resource) that shows the thing an entry records."""
    template = SUBJECT_LINKS.get(subject_type)
    return template.format(id=subject_id) if template else None


def describe(row: LogEntry) -> dict[str, Any]:
    """An entry in readable form, marking entries whose stored bytes no longer decode."""
    try:
        decoded = decode_entry(row.payload)
        facts, problem = decoded.facts, None
        if decoded.index != row.idx:
            problem = f"the entry says it is number {decoded.index}, but it is stored as {row.idx}"
    except MalformedEntry as error:
        facts, problem = {}, f"the stored bytes are not a valid entry ({error})"
    return {
        "index": row.idx,
        "kind": row.kind,
        "at": row.created_at,
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "link": subject_link(row.subject_type, row.subject_id),
        "facts": facts,
        "problem": problem,
        "leaf_hash": merkle.leaf_hash(row.payload).hex(),
        "payload": row.payload.decode("utf-8", errors="replace"),
    }


@router.get("/log", response_class=HTMLResponse)
def log_page(
    request: Request,
    uow: UnitOfWorkDep,
    services: ServicesDep,
    before: Annotated[int | None, Query(ge=1, le=MAX_INDEX)] = None,
) -> HTMLResponse:
    """The newest entries (or those before an index), with the latest signed checkpoint."""
    with uow.begin(readonly=True):
        session = uow.session
        size = read.tree_size(session)
        end = min(before if before is not None else size, size)
        start = max(0, end - PAGE_SIZE)
        rows = read.entries(session, start, end - start) if end > start else []
        checkpoint = read.latest_checkpoint(session)
        entries = [describe(r) for r in reversed(rows)]
    return render(
        request,
        "log.html",
        {
            "entries": entries,
            "size": size,
            "checkpoint": checkpoint,
            "older": start if start > 0 else None,
            "verifier_key": services.signer.verifier_key,
            # A demo world's key is derived from a public seed: say so next to the key.
            "demo_seed": is_demo_key(services.settings.data_dir, services.signer.verifier_key),
        },
    )


@router.get("/log/{index}", response_class=HTMLResponse)
def log_entry_page(
    request: Request,
    uow: UnitOfWorkDep,
    index: Annotated[int, Path(ge=0, le=MAX_INDEX)],
) -> HTMLResponse:
    """One entry, its inclusion proof against the latest checkpoint, and whether it holds."""
    with uow.begin(readonly=True):
        session = uow.session
        row = read.entry(session, index)
        checkpoint = read.latest_checkpoint(session)
        size = checkpoint.size if checkpoint is not None else 0
        proof: list[bytes] = []
        verified = False
        if index < size and checkpoint is not None:
            proof = read.inclusion_proof(session, index, size)
            verified = merkle.verify_inclusion(
                index, size, merkle.leaf_hash(row.payload), proof, checkpoint.root_hash
            )
        entry = describe(row)
    return render(
        request,
        "log_entry.html",
        {
            "entry": entry,
            "checkpoint": checkpoint,
            "proof": [p.hex() for p in proof],
            "verified": verified,
            "size": size,
        },
    )
