"""The sentences of a statement of reasons, in the language of the person who reads it.

Each sentence is a gettext message with named placeholders; counts go through ``ngettext``
so that every language gets its own plural forms (from the catalog's ``Plural-Forms``,
which Babel fills from the CLDR rules), never "1 time(s)". Dates are written the way the
language writes them (Babel's CLDR date formats), always in UTC.
"""

from __future__ import annotations

from datetime import datetime

from babel import Locale
from babel.dates import format_date

from isegoria.domain.sanctions import SanctionStep
from isegoria.domain.verdict import AppliedRule, VerdictRule
from isegoria.i18n import DEFAULT_LANGUAGE, LANGUAGES, translations

#: The gettext catalog of these sentences: ``locale/<lang>/LC_MESSAGES/reasons.po``.
REASONS_DOMAIN = "reasons"


def sentence_case(text: str) -> str:
    """``text`` with its first letter in upper case (the rest untouched)."""
    return text[:1].upper() + text[1:]


class Clerk:
    """Writes a statement's sentences in one of the interface languages."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._catalog = translations(self.language, REASONS_DOMAIN)

    def gettext(self, message: str, **values: object) -> str:
        """``message`` in this language, placeholders filled."""
        text = self._catalog.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        """The form of the message this language uses for ``n``, placeholders filled."""
        return self._catalog.ngettext(singular, plural, n) % {"n": n, **values}

    def when(self, instant: datetime) -> str:
        """A date and time as this language writes them: ``1 December 2026, 12:00 UTC``."""
        day = format_date(instant.date(), format="long", locale=self.language)
        return f"{day}, {instant:%H:%M} UTC"

    def language_name(self, code: str) -> str:
        """The name of language ``code`` in this language (``es`` -> ``Spanish``)."""
        name = Locale.parse(self.language).languages.get(code)
        return str(name) if name else code

    def days(self, n: int) -> str:
        """``7 days``, ``1 day``."""
        return self.ngettext("%(n)d day", "%(n)d days", n)

    def sanction(self, step: SanctionStep, days: int | None = None) -> str:
        """A sanction as the name of a measure: ``removal of the post``."""
        if step is SanctionStep.SUSPEND:
            return self.ngettext(
                "suspension of the account for %(n)d day",
                "suspension of the account for %(n)d days",
                days or 0,
            )
        names = {
            SanctionStep.NONE: self.gettext("no action"),
            SanctionStep.NOTE: self.gettext("a context note shown with the post"),
            SanctionStep.REDUCE_REACH: self.gettext("reduced reach of the post"),
            SanctionStep.REMOVE: self.gettext("removal of the post"),
            SanctionStep.BAN: self.gettext("closure of the account"),
        }
        return names[step]

    def step(self, step: SanctionStep) -> str:
        """A step of the ladder without its length: ``a suspension of the account``."""
        if step is SanctionStep.SUSPEND:
            return self.gettext("a suspension of the account")
        return self.sanction(step)

    def applied(self, rule: AppliedRule) -> str:
        """One rule of the verdict's arithmetic as a sentence with the case's numbers."""
        v = rule.values
        n = int(v.get("count", 0))
        if rule.rule in (VerdictRule.QUORUM_MET, VerdictRule.QUORUM_NOT_MET):
            text = (
                self.ngettext(
                    "The only juror cast a ballot.",
                    "All %(n)d jurors cast a ballot.",
                    int(v["jury"]),
                )
                if v["cast"] == v["jury"]
                else self.ngettext(
                    "%(n)d of the %(jury)s jurors cast a ballot; at least %(quorum)s were needed.",
                    "%(n)d of the %(jury)s jurors cast a ballot; at least %(quorum)s were needed.",
                    int(v["cast"]),
                    jury=v["jury"],
                    quorum=v["quorum"],
                )
            )
            if rule.rule is VerdictRule.QUORUM_NOT_MET:
                text += " " + self.gettext("So the case lapses and nothing happens to the post.")
            return text
        if rule.rule in (VerdictRule.SUPERMAJORITY_REACHED, VerdictRule.SUPERMAJORITY_NOT_REACHED):
            text = self.ngettext(
                "%(n)d of the %(cast)s ballots found that the post breaks the rule; "
                "%(needed)s were needed.",
                "%(n)d of the %(cast)s ballots found that the post breaks the rule; "
                "%(needed)s were needed.",
                int(v["yes"]),
                cast=v["cast"],
                needed=v["needed"],
            )
            if rule.rule is VerdictRule.SUPERMAJORITY_NOT_REACHED:
                text += " " + self.gettext(
                    "So no action is taken: when a jury is divided, doubt favours speech."
                )
            return text
        if rule.rule is VerdictRule.BALLOTS_CAPPED:
            return self.ngettext(
                "%(n)d ballot proposed more than rule %(rule)s allows and was counted as "
                "%(ceiling)s.",
                "%(n)d ballots proposed more than rule %(rule)s allows and were counted as "
                "%(ceiling)s.",
                int(v["over"]),
                rule=v["rule"],
                ceiling=self.sanction(SanctionStep(str(v["ceiling"])), int(v["ceiling_days"])),
            )
        if rule.rule in (VerdictRule.MEDIAN_SANCTION, VerdictRule.LOWER_MEDIAN_SANCTION):
            value = self.step(SanctionStep(str(v["step"])))
            return self._median(rule.rule is VerdictRule.LOWER_MEDIAN_SANCTION, n, value)
        if rule.rule in (VerdictRule.MEDIAN_SUSPENSION, VerdictRule.LOWER_MEDIAN_SUSPENSION):
            lower = rule.rule is VerdictRule.LOWER_MEDIAN_SUSPENSION
            days = self.days(int(v["days"]))
            if n == 1:
                return self.gettext("The only proposed length is %(days)s.", days=days)
            if lower:
                return self.gettext(
                    "Of the %(n)d proposed lengths, shortest first, the shorter of the two in "
                    "the middle is taken (doubt favours speech): %(days)s.",
                    n=n,
                    days=days,
                )
            return self.gettext(
                "The middle of the %(n)d proposed lengths, shortest first, is %(days)s.",
                n=n,
                days=days,
            )
        if rule.rule.value.startswith("appeal_"):
            return self._appeal_limit(rule.rule)
        needed, prior = int(v["needed"]), int(v["prior"])
        text = self.ngettext(
            "A ban needs at least %(n)d earlier upheld violation by the same author; "
            "they have %(prior)d.",
            "A ban needs at least %(n)d earlier upheld violations by the same author; "
            "they have %(prior)d.",
            needed,
            prior=prior,
        )
        if rule.rule is VerdictRule.BAN_NOT_ALLOWED:
            suspension = self.sanction(SanctionStep.SUSPEND, int(v["days"]))
            text += " " + self.gettext(
                "So the sanction is the step below, the longest suspension the rule allows: "
                "%(sanction)s.",
                sanction=suspension,
            )
        return text

    def _median(self, lower: bool, n: int, value: str) -> str:
        if n == 1:
            return self.gettext("The only proposed sanction is %(value)s.", value=value)
        if lower:
            return self.gettext(
                "Of the %(n)d proposed sanctions, mildest first, the milder of the two in the "
                "middle is taken (doubt favours speech): %(value)s.",
                n=n,
                value=value,
            )
        return self.gettext(
            "The middle of the %(n)d proposed sanctions, mildest first, is %(value)s.",
            n=n,
            value=value,
        )

    def _appeal_limit(self, rule: VerdictRule) -> str:
        """The limit an appeal verdict names (domain/appeals.py), as the case page says it."""
        if rule is VerdictRule.APPEAL_CAPPED:
            return self.gettext(
                "The author appealed alone, and the appeal jury's verdict was harsher than the "
                "first decision, so the first decision stands: no harsher outcome on one's own "
                "appeal."
            )
        if rule is VerdictRule.APPEAL_NO_HARSHER:
            return self.gettext(
                "The author appealed alone, so the outcome could not be harsher than the first "
                "decision; the appeal jury's verdict is within that limit."
            )
        if rule is VerdictRule.APPEAL_OPEN_REPORTER:
            return self.gettext(
                "A reporter appealed, so the appeal jury could decide a harsher outcome than the "
                "first decision."
            )
        return self.gettext(
            "The author appealed alone, and this jurisdiction's constitution allows a harsher "
            "outcome on one's own appeal."
        )
