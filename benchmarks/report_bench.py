"""Benchmark of transparency reports: recomputing every figure from a log of N cases.

Run: ``.venv/bin/python benchmarks/report_bench.py [--quick] [--out PATH]``.

A synthetic log is generated in memory as the canonical (RFC 8785) entry bytes a real
instance stores: per case, ``CaseOpened``, a jury of 5 drawn, 5 replies, 5 ballots, the
verdict, a ``DecisionIssued`` and (for most) its confirmation; 10 % of cases are appealed
and 2 % are consistency retrials (so the bootstrap of agreement runs on every rule). The
report is then computed from the bytes (``decode_entry`` and ``build_report``), as
``isegoria report --from-log`` does after verifying. The reference, measured in the same
run on the same bytes, is decoding alone (JSON parsing and the canonical-form check): the
floor of anything that reads the log. The ratio says what the figures add on top.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import rfc8785

from isegoria.log.entries import decode_entry
from isegoria.reports.figures import Scope
from isegoria.reports.report import build_report

FULL_CASES = 20_000
QUICK_CASES = 1_000
RULES = ("intl-1", "intl-2", "intl-3", "intl-4", "MX-1", "FR-1", "DE-1", "US-1")
LANGUAGES = ("es", "fr", "de", "en")
START = datetime(2026, 1, 1, tzinfo=UTC)
OUT = Path(__file__).resolve().parent / "results" / "report_bench.json"


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Log:
    def __init__(self) -> None:
        self.payloads: list[bytes] = []

    def add(self, kind: str, at: datetime, facts: dict[str, Any]) -> None:
        subject = {"type": "case", "id": str(facts.get("case_id", 0))}
        envelope = {
            "v": 1,
            "index": len(self.payloads),
            "kind": kind,
            "at": _stamp(at),
            "subject": subject,
            "facts": facts,
        }
        self.payloads.append(rfc8785.dumps(envelope))


def _verdict(case: int, stage: str, violation: bool) -> dict[str, Any]:
    return {
        "case_id": case,
        "stage": stage,
        "outcome": "violation" if violation else "no_violation",
        "sanction": "remove" if violation else "none",
        "suspension_days": None,
        "tally": {},
        "ballots": [],
        "statement_sha256": "0" * 64,
        "final": stage == "appeal",
    }


def synthetic_log(cases: int, rng: random.Random) -> list[bytes]:
    """The canonical bytes of a log with ``cases`` cases (see the module docstring)."""
    log = _Log()
    log.add("PlatformRegistered", START, {"platform_id": 1, "name": "Forum"})
    for case in range(1, cases + 1):
        at = START + timedelta(minutes=10 * case)
        rule = RULES[case % len(RULES)]
        log.add(
            "CaseOpened",
            at,
            {
                "case_id": case,
                "platform_id": 1,
                "content_digest": "d" * 64,
                "author": f"@a{case}",
                "rule": f"{rule}@v1",
                "jurisdiction": rule.split("-")[0],
                "posted_at": _stamp(at),
                "source": "user",
                "language": LANGUAGES[case % len(LANGUAGES)],
            },
        )
        jurors = [f"j{case}-{n}" for n in range(5)]
        log.add("JuryDrawn", at, {"case_id": case, "stage": "first", "jurors": jurors})
        for n, juror in enumerate(jurors):
            log.add(
                "JurorReplied",
                at + timedelta(hours=1),
                {"case_id": case, "stage": "first", "juror": juror, "accepted": n < 4},
            )
        for juror in jurors[:4]:
            log.add(
                "BallotCast",
                at + timedelta(hours=5),
                {"case_id": case, "stage": "first", "juror": juror},
            )
        violation = rng.random() < 0.6
        decided = at + timedelta(hours=rng.randint(6, 96))
        log.add("VerdictReached", decided, _verdict(case, "first", violation))
        log.add(
            "DecisionIssued",
            decided,
            {
                "case_id": case,
                "decision_id": case,
                "platform_id": 1,
                "decision_kind": "sanction_imposed" if violation else "no_action",
                "apply_by": _stamp(decided + timedelta(hours=24)),
            },
        )
        if rng.random() < 0.9:
            log.add(
                "DecisionConfirmed",
                decided + timedelta(hours=rng.randint(1, 40)),
                {"decision_id": case, "case_id": case, "status": "applied", "on_time": True},
            )
        if rng.random() < 0.02:
            side = {
                "outcome": "violation" if rng.random() < 0.6 else "no_violation",
                "sanction": "remove",
                "ballots": [],
            }
            log.add(
                "ConsistencyRetrialSettled",
                decided,
                {"case_id": case, "first": side, "retrial": side, "stands": "first"},
            )
        if rng.random() < 0.1:
            log.add(
                "AppealFiled", decided + timedelta(days=1), {"case_id": case, "appellant": "author"}
            )
            log.add(
                "VerdictReached",
                decided + timedelta(days=5),
                _verdict(case, "appeal", rng.random() < 0.5),
            )
    return log.payloads


def _best(runs: int, fn: Any) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    """Measure, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_CASES} cases, not {FULL_CASES}"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    cases = QUICK_CASES if args.quick else FULL_CASES
    payloads = synthetic_log(cases, random.Random(8))  # noqa: S311 - synthetic data
    runs = 1 if args.quick else 2
    decode = _best(runs, lambda: [decode_entry(p) for p in payloads])
    report_holder: dict[str, Any] = {}

    def full() -> None:
        report_holder["r"] = build_report([decode_entry(p) for p in payloads], Scope())

    report = _best(runs, full)
    result = {
        "benchmark": "report_bench",
        "quick": args.quick,
        "cases": cases,
        "entries": len(payloads),
        "decode_seconds": round(decode, 3),
        "report_seconds": round(report, 3),
        "entries_per_second": round(len(payloads) / report),
        "ratio_report_to_decode": round(report / decode, 2),
        "retrial_pairs": report_holder["r"]["consistency"]["pairs"],
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(
        f"{cases} cases, {len(payloads)} entries: decode {decode:.2f} s, "
        f"report {report:.2f} s ({result['entries_per_second']:,} entries/s), "
        f"ratio {result['ratio_report_to_decode']}x the decoding floor"
    )
    out = args.out or (OUT.with_suffix(".quick.json") if args.quick else OUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
