"""Agreement between the two juries of consistency retrials, per rule, from the log.

A case picked for a consistency retrial is tried by its first-instance jury and, without
either jury being told, by a second jury drawn disjointly (stage ``retrial``). Each such
case gives one pair of outcomes. Agreement is measured per rule on two outcomes: whether
a violation was found (nominal) and the sanction rung (ordinal), with Krippendorff's alpha,
raw agreement and a bootstrap interval (algorithms.agreement).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Final

import numpy as np

from isegoria.algorithms import agreement
from isegoria.reports.figures import LAPSED, VIOLATION, Scope
from isegoria.reports.ledger import RETRIAL, Ledger

# The bootstrap must give the same interval to everyone who recomputes the report from the
# same log, so its generator is seeded with a published constant.
BOOTSTRAP_SEED: Final = 20_260_808
RESAMPLES: Final = 1000


def retrial_pairs(
    ledger: Ledger, scope: Scope, codes: set[str] | None
) -> list[tuple[str, tuple[bool | None, bool | None], tuple[str | None, str | None]]]:
    """(rule, violation pair, sanction pair) of each case both juries decided in the period."""
    pairs = []
    for case in sorted(ledger.cases.values(), key=lambda c: c.case_id):
        if codes is not None and case.jurisdiction not in codes:
            continue
        second = case.verdicts.get(RETRIAL)
        if case.retrial_first is None or second is None or not scope.holds(second.at):
            continue
        outcomes = (case.retrial_first, (second.outcome, second.sanction))
        violation = tuple(None if o == LAPSED else o == VIOLATION for o, _s in outcomes)
        sanction = tuple(None if o == LAPSED else s for o, s in outcomes)
        pairs.append((case.rule_id, (violation[0], violation[1]), (sanction[0], sanction[1])))
    return pairs


def consistency_section(
    ledger: Ledger, scope: Scope, codes: set[str] | None, *, min_pairs: int = agreement.MIN_PAIRS
) -> dict[str, Any]:
    """Agreement per rule on violation and sanction, with rules flagged as too vague."""
    pairs = retrial_pairs(ledger, scope, codes)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    violation = agreement.agreement_by_rule(
        [(rule, list(v)) for rule, v, _s in pairs],
        agreement.VIOLATION_CATEGORIES,
        agreement.Level.NOMINAL,
        rng,
        min_pairs=min_pairs,
        n_resamples=RESAMPLES,
    )
    sanction = agreement.agreement_by_rule(
        [(rule, list(s)) for rule, _v, s in pairs],
        agreement.SANCTION_LADDER,
        agreement.Level.ORDINAL,
        rng,
        min_pairs=min_pairs,
        n_resamples=RESAMPLES,
    )

    def row(result: agreement.RuleAgreement) -> dict[str, Any]:
        return {**asdict(result), "flagged": result.flagged, "explanation": result.explanation}

    return {
        "pairs": len(pairs),
        "min_pairs": min_pairs,
        "violation": [row(r) for r in violation],
        "sanction": [row(r) for r in sanction],
        "vague_rules": sorted({r.rule for r in (*violation, *sanction) if r.flagged}),
    }
