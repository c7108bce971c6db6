"""The audit console's pure parts: the record of log checks, the pool states, the formats."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from isegoria import i18n
from isegoria.cases.capacity import PoolState, pool_state
from isegoria.log import checks
from isegoria.web import audit_format
from isegoria.web.audit_proofs import ProofInput, parse_count, parse_root


def _run(n: int, ok: bool = True) -> checks.LogCheck:
    return checks.LogCheck(f"2026-01-0{n % 9 + 1}T00:00:00Z", f"auditor{n}", ok, n, "ab" * 32, "x")


def test_runs_are_kept_newest_first_up_to_the_limit(tmp_path: Path) -> None:
    assert checks.recent_checks(tmp_path) == []
    for n in range(checks.MAX_KEPT + 3):
        checks.record_check(tmp_path, _run(n))
    kept = checks.recent_checks(tmp_path)
    assert len(kept) == checks.MAX_KEPT
    assert kept[0].by == f"auditor{checks.MAX_KEPT + 2}"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".log-checks.")]


def test_an_unreadable_record_reads_as_none_and_is_replaced(tmp_path: Path) -> None:
    (tmp_path / checks.CHECKS_FILE).write_text("{not json")
    assert checks.recent_checks(tmp_path) == []
    (tmp_path / checks.CHECKS_FILE).write_text('[{"at": "x"}, 3]')
    assert checks.recent_checks(tmp_path) == []
    checks.record_check(tmp_path, _run(1, ok=False))
    assert [c.ok for c in checks.recent_checks(tmp_path)] == [False]


@pytest.mark.parametrize(
    ("cases", "volunteers", "needed", "state"),
    [
        (0, 0, 0.0, PoolState.IDLE),
        (3, 0, 5.0, PoolState.EMPTY),
        (3, 100, 50.0, PoolState.AMPLE),
        (3, 100, 80.0, PoolState.LOW),
        (3, 100, 100.0, PoolState.LOW),
        (3, 100, 100.5, PoolState.DRY),
    ],
)
def test_a_pool_is_flagged_before_it_runs_dry(
    cases: int, volunteers: int, needed: float, state: PoolState
) -> None:
    assert pool_state(cases, volunteers, needed) is state


@pytest.mark.parametrize(
    ("text", "value"), [("", None), (" 12 ", 12), ("0", 0), ("9223372036854775807", 2**63 - 1)]
)
def test_counts_are_whole_numbers(text: str, value: int | None) -> None:
    assert parse_count(text, "n") == value


@pytest.mark.parametrize(
    "text", ["-1", "1.5", "1e3", "\u0663", "\u00b2", "9223372036854775808", "x"]
)
def test_anything_else_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ProofInput, match="whole number"):
        parse_count(text, "n")


def test_a_root_is_64_hex_digits() -> None:
    assert parse_root("AB" * 32) == bytes([0xAB]) * 32
    for bad in ("ab" * 31, "zz" * 32, "ab" * 33):
        with pytest.raises(ProofInput, match="64 hexadecimal"):
            parse_root(bad)


def test_numbers_and_instants_follow_the_reader() -> None:
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    token = i18n.set_language("de")
    try:
        assert audit_format.number(12345.678, 1) == "12.345,7"
        assert audit_format.percent(0.5) == "50\xa0%"  # a no-break space, as German writes it
        assert audit_format.instant(at).startswith("01.03.2026")
        assert audit_format.number(float("nan")) == "–"
    finally:
        i18n._current.reset(token)
    assert audit_format.number(12345.678, 1) == "12,345.7"
    assert audit_format.instant("2026-03-01T09:30:00.000000Z") == "Mar 1, 2026, 9:30:00\u202fAM UTC"
