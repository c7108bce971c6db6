"""How far an appeal can change a decision: no harsher outcome on one's own appeal.

What a citizen should know
--------------------------
* **Who may appeal.** The author may appeal a decision that acted against the post or its
  author (a note, reduced reach, removal, a suspension, a ban). A decision that took no action
  (no violation found, a lapsed case, an interim measure that lapsed) leaves the author
  nothing to appeal. A reporter may appeal a decision that found no violation.
* **An appeal is heard once**, by a new, larger jury, and its verdict is final. Because the
  author appeals only a decision that acted and a reporter only one that did not, the two
  never appeal the same decision.
* **No harsher outcome on one's own appeal** (no *reformatio in peius*). When the author
  alone appealed and the jurisdiction's constitution keeps ``no_harsher_on_own_appeal`` on
  (the default; only the citizens' vote can turn it off), the appeal jury may uphold, lighten
  or overturn the decision, never harden it: if its verdict is harsher, the first decision
  stands. So nobody has to fear appealing.
* **A reporter's appeal has no such limit**: the appeal jury may decide any outcome the rule
  allows. Were a reporter ever to appeal together with the author, the reporter's appeal
  lifts the limit, as a cross-appeal does in most legal systems: the other side asked for
  more, and the author knew it.

Every appeal verdict names the limit that applied, for its statement of reasons.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from enum import Enum

from isegoria.domain.constitution import Constitution
from isegoria.domain.sanctions import Sanction
from isegoria.domain.verdict import AppliedRule, Outcome, Verdict, VerdictError, VerdictRule

__all__ = ["AppealLimit", "Appellant", "appeal_limit_of", "limit_appeal"]


class Appellant(Enum):
    """Who filed an appeal."""

    AUTHOR = "author"
    REPORTER = "reporter"


class AppealLimit(Enum):
    """The limit that applied to an appeal's verdict, named in its statement of reasons."""

    #: The author appealed alone; the verdict could not be harsher, and it was not.
    NO_HARSHER = "no_harsher"
    #: The author appealed alone; the jury's verdict was harsher, so the first decision stands.
    CAPPED = "capped"
    #: A reporter appealed: the verdict could be harsher than the first decision.
    REPORTER_APPEALED = "reporter_appealed"
    #: The author appealed alone, but the constitution allows a harsher outcome.
    LIMIT_OFF = "limit_off"


_RULES: dict[AppealLimit, VerdictRule] = {
    AppealLimit.NO_HARSHER: VerdictRule.APPEAL_NO_HARSHER,
    AppealLimit.CAPPED: VerdictRule.APPEAL_CAPPED,
    AppealLimit.REPORTER_APPEALED: VerdictRule.APPEAL_OPEN_REPORTER,
    AppealLimit.LIMIT_OFF: VerdictRule.APPEAL_LIMIT_OFF,
}
_LIMITS = {rule: limit for limit, rule in _RULES.items()}


def limit_appeal(
    verdict: Verdict,
    *,
    first_outcome: Outcome,
    first_sanction: Sanction,
    appellants: Collection[Appellant],
    constitution: Constitution,
) -> Verdict:
    """The appeal jury's verdict within the limit that applies, with a sentence naming it."""
    if not appellants:
        raise VerdictError("an appeal has at least one appellant")
    first = f"'{first_sanction.describe()}'"
    decided = f"'{verdict.sanction.describe()}'"
    if Appellant.REPORTER in appellants:
        limit = AppealLimit.REPORTER_APPEALED
        detail = (
            "a reporter appealed, so the appeal jury could decide any outcome the rule allows, "
            f"harsher than the first decision ({first}) included"
        )
    elif not constitution.no_harsher_on_own_appeal:
        limit = AppealLimit.LIMIT_OFF
        detail = (
            f"the author appealed alone, and the constitution of {constitution.jurisdiction}, "
            "as its citizens voted it, allows a harsher outcome on one's own appeal "
            "(no_harsher_on_own_appeal is off)"
        )
    elif verdict.sanction > first_sanction:
        detail = (
            f"the author appealed alone, so the outcome cannot be harsher than the first "
            f"decision ({first}); the appeal jury's {decided} is brought back to it "
            "(no harsher outcome on one's own appeal)"
        )
        applied = (*verdict.applied, AppliedRule(VerdictRule.APPEAL_CAPPED, detail))
        return dataclasses.replace(
            verdict, outcome=first_outcome, sanction=first_sanction, applied=applied
        )
    else:
        limit = AppealLimit.NO_HARSHER
        detail = (
            f"the author appealed alone, so the outcome could not be harsher than the first "
            f"decision ({first}); the appeal jury's {decided} is within that limit"
        )
    applied = (*verdict.applied, AppliedRule(_RULES[limit], detail))
    return dataclasses.replace(verdict, applied=applied)


def appeal_limit_of(verdict: Verdict) -> AppealLimit | None:
    """The limit an appeal verdict names, None for a first-instance verdict."""
    for applied in verdict.applied:
        if applied.rule in _LIMITS:
            return _LIMITS[applied.rule]
    return None
