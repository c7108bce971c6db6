"""The concurrent log-append helper of ``benchmarks/scale_bench.py`` leaves a sound log."""

from __future__ import annotations

from benchmarks.log_writers import append_concurrently

from isegoria.log.signing import LogSigner
from isegoria.log.verify import verify_database
from isegoria.store.db import Database
from tests.integration.test_log_append import assert_log_is_sound

WRITERS = 2
APPENDS_EACH = 5


def test_concurrent_writers_leave_dense_indices_and_matching_roots(
    database: Database, signer: LogSigner
) -> None:
    figures = append_concurrently(
        database, signer, writers=WRITERS, appends_per_writer=APPENDS_EACH
    )
    total = WRITERS * APPENDS_EACH
    assert figures["appends"] == total
    # Every transaction's wait for the log's lock, and its hold until commit, was timed.
    assert figures["head_lock"]["transactions_timed"] == total
    assert_log_is_sound(database, signer, total)
    assert verify_database(database, signer.verifier_key).size == total
