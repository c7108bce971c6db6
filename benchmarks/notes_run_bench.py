"""Benchmark of a whole notes scoring run through the service, against the bare scorer.

Fills a fresh SQLite database with planted two-camp data (raters as citizens, one post per
note, one row per rating), then times ``services.notes_scoring.run_scoring``: loading every
rating, scoring, storing every note's score and every rater's factor, the status history,
one log entry per changed status, NOTE_SHOWN decisions and the run's entry, in one
transaction. The in-run reference is the bare scorer (``algorithms.bridging.score``) on the
same ratings, so ``ratio = run time / scorer time`` is the price of the database around it.

Usage: ``.venv/bin/python benchmarks/notes_run_bench.py [--quick]`` (``--quick``: 10^4 and
10^5 ratings; the full run adds 10^6). Writes benchmarks/results/notes_run_bench[.quick].json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert

from isegoria.algorithms.bridging import RatingsMatrix, score
from isegoria.algorithms.bridging_synthetic import two_camp_ratings
from isegoria.clock import ManualClock
from isegoria.domain.identity import Scope
from isegoria.log.signing import LogSigner
from isegoria.notes import scoring as notes_scoring
from isegoria.people import jurisdictions, platforms
from isegoria.security import SecretBox
from isegoria.store import migrate
from isegoria.store.db import Database
from isegoria.store.models import Account
from isegoria.store.models_cases import Content
from isegoria.store.models_notes import NoteRatingRow, NoteRow
from isegoria.unit_of_work import UnitOfWork

RESULTS = Path(__file__).parent / "results"
SIZES = [(1_000, 500, 10_000), (10_000, 5_000, 100_000), (100_000, 50_000, 1_000_000)]
NOW = datetime(2026, 11, 1, tzinfo=UTC)
ANSWER = {1.0: "helpful", 0.5: "somewhat_helpful", 0.0: "not_helpful"}
CHUNK = 50_000


def _fill(uow: UnitOfWork, ratings: RatingsMatrix) -> None:
    """Raters, posts, notes and ratings as rows (bulk inserts, ids = index + 1)."""
    with uow.begin():
        jurisdictions.add_jurisdiction(uow, code="MX", name="Mexico", parent=None, languages=[])
        platform_row, _ = platforms.add_platform(
            uow, SecretBox(b"k" * 32), name="Bench", scopes=[Scope.CASES_READ]
        )
        base = {"role": "citizen", "created_at": NOW, "display_name": "Rater"}
        for start in range(0, ratings.n_raters, CHUNK):
            stop = min(start + CHUNK, ratings.n_raters)
            uow.session.execute(
                insert(Account),
                [{**base, "id": i + 1, "login": f"r{i}"} for i in range(start, stop)],
            )
        post = {
            "platform_id": platform_row.id,
            "text": "A post.",
            "language": "es",
            "author": "@p",
            "posted_at": NOW,
            "jurisdictions": "MX",
            "media": "[]",
            "context": "{}",
            "received_at": NOW,
        }
        uow.session.execute(
            insert(Content),
            [
                {
                    **post,
                    "id": n + 1,
                    "platform_content_id": f"p{n}",
                    "url": "",
                    "digest": f"{n:064d}",
                }
                for n in range(ratings.n_notes)
            ],
        )
        uow.session.execute(
            insert(NoteRow),
            [
                {
                    "id": n + 1,
                    "content_id": n + 1,
                    "jurisdiction": "MX",
                    "classification": "not_misleading",
                    "reasons": "[]",
                    "text": "Context: https://example.org/source",
                    "language": "es",
                    "created_at": NOW,
                    "status": "needs_more_ratings",
                    "by_jury": False,
                    "scored_ratings": 0,
                }
                for n in range(ratings.n_notes)
            ],
        )
        rater, note, value = ratings.rater.tolist(), ratings.note.tolist(), ratings.value.tolist()
        for start in range(0, len(rater), CHUNK):
            uow.session.execute(
                insert(NoteRatingRow),
                [
                    {
                        "note_id": note[i] + 1,
                        "rater_account_id": rater[i] + 1,
                        "helpfulness": ANSWER[value[i]],
                        "tags": "[]",
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for i in range(start, min(start + CHUNK, len(rater)))
                ],
            )


def run_size(n_raters: int, n_notes: int, n_ratings: int) -> dict[str, Any]:
    """Fill a database, time the bare scorer and the service run on it."""
    data = two_camp_ratings(n_raters, n_notes, n_ratings, seed=7)
    ratings, _ = data.ratings.deduplicated()  # the table holds one rating per rater and note
    with tempfile.TemporaryDirectory() as directory:
        database = Database(f"sqlite:///{directory}/bench.db")
        migrate.upgrade(database)
        signer = LogSigner("bench.example/log", Ed25519PrivateKey.generate())
        uow = UnitOfWork(database, ManualClock(NOW), signer, b"k" * 32)
        started = time.perf_counter()
        _fill(uow, ratings)
        fill_seconds = time.perf_counter() - started
        started = time.perf_counter()
        reference = score(ratings)
        scorer_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with uow.begin():
            summary = notes_scoring.run_scoring(uow)
        run_seconds = time.perf_counter() - started
        database.dispose()
    return {
        "ratings": len(ratings),
        "raters": n_raters,
        "notes": n_notes,
        "fill_seconds": fill_seconds,
        "scorer_seconds": scorer_seconds,
        "run_seconds": run_seconds,
        "ratio_run_to_scorer": run_seconds / scorer_seconds,
        "changed": summary.changed,
        "shown": summary.shown,
        "same_helpful_count_as_scorer": summary.counts["helpful"]
        == int(np.count_nonzero(reference.status == 1)),
    }


def main() -> None:
    """Run the sizes, print a table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stop at 10^5 ratings")
    args = parser.parse_args()
    sizes = SIZES[:2] if args.quick else SIZES
    print(f"{'ratings':>9} {'fill s':>8} {'scorer s':>9} {'run s':>8} {'ratio':>6} {'shown':>6}")
    rows = []
    for size in sizes:
        row = run_size(*size)
        rows.append(row)
        print(
            f"{row['ratings']:>9,} {row['fill_seconds']:>8.2f} {row['scorer_seconds']:>9.2f} "
            f"{row['run_seconds']:>8.2f} {row['ratio_run_to_scorer']:>6.1f} {row['shown']:>6,}",
            flush=True,
        )
    report = {
        "benchmark": "notes_run_bench",
        "quick": args.quick,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "reference": "the bare scorer (algorithms.bridging.score) on the same ratings",
        "sizes": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("notes_run_bench.quick.json" if args.quick else "notes_run_bench.json")
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
