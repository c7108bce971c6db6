"""The figures of a transparency report, computed from the ledger of the public log.

Every figure counts log events whose timestamp falls in the period (``start`` inclusive,
``end`` exclusive, UTC) and whose case belongs to the jurisdiction or one below it. The
definitions are in docs/reports.md; each function here implements one section.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from isegoria.reports.ledger import APPEAL, FIRST, CaseRecord, DecisionRecord, Event, Ledger

# Sanction ladder, lowest first (domain.sanctions.SanctionStep); an interim restriction is
# upheld when the verdict restricts at least as much as removal (services.cases_verdict).
LADDER = ("none", "note", "reduce_reach", "remove", "suspend", "ban")
UPHOLDS_INTERIM = frozenset({"remove", "suspend", "ban"})
HELPFUL = "helpful"  # a note's status when it is shown (issue 7)
LAPSED = "lapsed"
VIOLATION = "violation"
SECONDS_PER_HOUR = 3600


@dataclass(frozen=True)
class Scope:
    """Which part of the log a report covers: a period and a jurisdiction (None: all)."""

    start: datetime | None = None
    end: datetime | None = None
    jurisdiction: str | None = None

    def holds(self, at: datetime) -> bool:
        """True when an instant lies in the period."""
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)


def rung(step: str) -> int:
    """A sanction's rung on the ladder, 0 for none (unknown steps sort last)."""
    return LADDER.index(step) if step in LADDER else len(LADDER)


def nearest_rank(values: Sequence[float], percent: float) -> float | None:
    """The nearest-rank percentile: the smallest value with ``percent`` % at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


class Figures:
    """Compute each section of the report for one scope."""

    def __init__(self, ledger: Ledger, scope: Scope) -> None:
        self.ledger = ledger
        self.scope = scope
        codes = ledger.within(scope.jurisdiction)
        self.cases = {
            cid: c for cid, c in ledger.cases.items() if codes is None or c.jurisdiction in codes
        }
        self.codes = codes
        # Each section reads a few kinds of events: index them once (in log order).
        self.by_kind: dict[str, list[Event]] = defaultdict(list)
        for event in ledger.events:
            if scope.holds(event.at):
                self.by_kind[event.kind].append(event)

    def _case_events(self, *kinds: str) -> list[tuple[CaseRecord, datetime, dict[str, Any]]]:
        found = []
        for event in sorted((e for k in kinds for e in self.by_kind[k]), key=lambda e: e.index):
            case = self.cases.get(int(event.facts.get("case_id") or 0))
            if case is not None:
                found.append((case, event.at, event.facts))
        return found

    def reports(self) -> dict[str, Any]:
        """Reports received, by source and by rule (the first report opens the case)."""
        by_source: Counter[str] = Counter()
        by_rule: Counter[str] = Counter()
        for case, _at, facts in self._case_events("CaseOpened", "ReportFiled"):
            source = case.source if "report_id" not in facts else str(facts["source"])
            by_source[source] += 1
            by_rule[case.rule_id] += 1
        return {
            "total": sum(by_source.values()),
            "by_source": dict(sorted(by_source.items())),
            "by_rule": dict(sorted(by_rule.items())),
        }

    def cases_section(self) -> dict[str, Any]:
        """Cases opened, decided by a jury, lapsed, and pending at the end of the period."""
        opened = sum(1 for c in self.cases.values() if self.scope.holds(c.opened_at))
        outcomes: Counter[str] = Counter()
        for case in self.cases.values():
            verdict = case.verdicts.get(FIRST)
            if verdict is not None and self.scope.holds(verdict.at):
                outcomes[verdict.outcome] += 1
        pending = 0
        for case in self.cases.values():
            if self.scope.end is not None and case.opened_at >= self.scope.end:
                continue
            verdict = case.verdicts.get(FIRST)
            if verdict is None or (self.scope.end is not None and verdict.at >= self.scope.end):
                pending += 1
        return {
            "opened": opened,
            "decided": sum(n for o, n in outcomes.items() if o != LAPSED),
            "violation_found": outcomes[VIOLATION],
            "no_violation": outcomes["no_violation"],
            "lapsed": outcomes[LAPSED],
            "pending": pending,
        }

    def sanctions(self) -> dict[str, Any]:
        """Sanctions imposed, by rule, rule version and rung of the ladder."""
        counts: Counter[tuple[str, int, str]] = Counter()
        for case, _at, facts in self._case_events("SanctionImposed"):
            counts[(case.rule_id, case.rule_version, str(facts["sanction"]))] += 1
        rows = [
            {"rule": r, "version": v, "sanction": s, "count": n}
            for (r, v, s), n in sorted(counts.items(), key=lambda kv: (*kv[0][:2], rung(kv[0][2])))
        ]
        by_step = Counter({s: 0 for s in LADDER if s != "none"})
        for (_r, _v, s), n in counts.items():
            by_step[s] += n
        return {"total": sum(counts.values()), "by_step": dict(by_step), "rows": rows}

    def interim(self) -> dict[str, Any]:
        """Interim restrictions imposed in the period and what became of them."""
        imposed = upheld = lapsed = 0
        for case in self.cases.values():
            if case.interim_imposed_at is None or not self.scope.holds(case.interim_imposed_at):
                continue
            imposed += 1
            verdict = case.verdicts.get(FIRST)
            if case.interim_lapsed_at is not None:
                lapsed += 1
            elif verdict is not None and verdict.sanction in UPHOLDS_INTERIM:
                upheld += 1
        return {
            "imposed": imposed,
            "upheld": upheld,
            "lapsed": lapsed,
            "pending": imposed - upheld - lapsed,
        }

    def time_to_verdict(self) -> dict[str, Any]:
        """Hours from the first report to the first verdict, for verdicts in the period."""
        hours = []
        for case in self.cases.values():
            verdict = case.verdicts.get(FIRST)
            if verdict is not None and self.scope.holds(verdict.at):
                elapsed = (verdict.at - case.opened_at).total_seconds() / SECONDS_PER_HOUR
                hours.append(round(elapsed, 3))
        hours.sort()
        return {
            "count": len(hours),
            "median_hours": nearest_rank(hours, 50),
            "p90_hours": nearest_rank(hours, 90),
            "hours": hours,
        }

    def appeals(self) -> dict[str, Any]:
        """Appeals filed, decided, and overturned (the appeal jury's outcome differed)."""
        rows: dict[str, Counter[str]] = defaultdict(Counter)
        for case in self.cases.values():
            if case.appealed_at is not None and self.scope.holds(case.appealed_at):
                rows[case.rule_id]["filed"] += 1
            final = case.verdicts.get(APPEAL)
            first = case.verdicts.get(FIRST)
            if final is not None and self.scope.holds(final.at):
                rows[case.rule_id]["decided"] += 1
                if first is not None and final.outcome != first.outcome:
                    rows[case.rule_id]["overturned"] += 1
                if first is not None and final.sanction != first.sanction:
                    rows[case.rule_id]["sanction_changed"] += 1
        keys = ("filed", "decided", "overturned", "sanction_changed")
        by_rule = {rule: {k: rows[rule][k] for k in keys} for rule in sorted(rows)}
        total = {k: sum(r[k] for r in by_rule.values()) for k in keys}
        return {**total, "by_rule": by_rule}

    def jurors(self) -> dict[str, Any]:
        """Juror participation: summons answered, declined, unanswered, ballots cast."""
        draws = self._case_events("JuryDrawn", "JurorsReplaced")
        seats = accepted = declined = 0
        for _case, _at, facts in draws:
            seats += len(facts.get("jurors", facts.get("replacements", [])))
        for _case, _at, facts in self._case_events("JurorReplied"):
            if facts["accepted"]:
                accepted += 1
            else:
                declined += 1
        ballots = len(self._case_events("BallotCast"))
        no_reply = no_ballot = 0
        for case in self.cases.values():
            for stage, verdict in case.verdicts.items():
                if not self.scope.holds(verdict.at):
                    continue
                # Counted when the jury closed: only then is a missing answer final.
                no_reply += len(case.summoned.get(stage, set()) - case.replied.get(stage, set()))
                no_ballot += len(case.accepted.get(stage, set()) - case.voted.get(stage, set()))
        return {
            "draws": len(draws),
            "summoned": seats,
            "accepted": accepted,
            "declined": declined,
            "no_reply": no_reply,
            "ballots_cast": ballots,
            "accepted_without_ballot": no_ballot,
        }

    def notes(self) -> dict[str, Any]:
        """Context notes that became shown (helpful) or stopped being shown in the period."""
        shown = hidden = 0
        for event in self.by_kind["NoteStatusChanged"]:
            code = str(event.facts.get("jurisdiction", ""))
            if self.codes is not None and code not in self.codes:
                continue
            now, before = event.facts.get("status"), event.facts.get("previous")
            if now == HELPFUL and before != HELPFUL:
                shown += 1
            elif before == HELPFUL and now != HELPFUL:
                hidden += 1
        return {"shown": shown, "hidden": hidden}

    def _in_scope(self, decision: DecisionRecord) -> bool:
        """Whether a decision concerns the report's jurisdictions (by its case or its note)."""
        if decision.case_id is not None:
            return decision.case_id in self.cases
        return self.codes is None or decision.jurisdiction in self.codes

    def compliance(self) -> dict[str, Any]:
        """Per platform: decisions issued in the period and how the platform answered."""
        as_of = self.ledger.last_at
        if self.scope.end is not None and (as_of is None or self.scope.end < as_of):
            as_of = self.scope.end
        rows: dict[int, Counter[str]] = defaultdict(Counter)
        for decision in self.ledger.decisions.values():
            if not self.scope.holds(decision.issued_at):
                continue
            if self.codes is not None and not self._in_scope(decision):
                continue
            row = rows[decision.platform_id]
            row["issued"] += 1
            confirmed = decision.confirmed_at is not None and (
                as_of is None or decision.confirmed_at <= as_of
            )
            if confirmed and decision.status == "failed":
                row["failed"] += 1
            elif confirmed:
                row["on_time" if decision.on_time else "late"] += 1
            elif as_of is not None and decision.apply_by < as_of:
                row["never_confirmed"] += 1
            else:
                row["awaiting"] += 1
        keys = ("issued", "on_time", "late", "failed", "never_confirmed", "awaiting")
        platforms = []
        for pid in sorted(rows):
            counts = {k: rows[pid][k] for k in keys}
            due = counts["issued"] - counts["awaiting"]
            platforms.append(
                {
                    "platform_id": pid,
                    "platform": self.ledger.platforms.get(pid, f"platform {pid}"),
                    **counts,
                    "on_time_share": round(counts["on_time"] / due, 4) if due else None,
                }
            )
        return {"as_of": None if as_of is None else as_of.isoformat(), "platforms": platforms}

    def daily(self) -> dict[str, Any]:
        """Reports and verdicts per UTC day, for the time-series chart."""
        reports: Counter[date] = Counter()
        verdicts: Counter[date] = Counter()
        for _case, at, _facts in self._case_events("CaseOpened", "ReportFiled"):
            reports[at.date()] += 1
        for _case, at, _facts in self._case_events("VerdictReached"):
            verdicts[at.date()] += 1
        days = sorted(set(reports) | set(verdicts))
        if not days:
            return {"dates": [], "reports": [], "verdicts": []}
        span = [days[0] + timedelta(days=n) for n in range((days[-1] - days[0]).days + 1)]
        return {
            "dates": [d.isoformat() for d in span],
            "reports": [reports[d] for d in span],
            "verdicts": [verdicts[d] for d in span],
        }
