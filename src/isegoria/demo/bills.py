"""The demo's bills: the international baseline, one national rule each, and amendments.

Enacted in this order by ``isegoria.demo.law``, so rule ids follow it: intl-1 to intl-5,
then EU-1, FR-1, DE-1, MX-1 and US-1 (the demo's posts cite them by id).
"""

from __future__ import annotations

from dataclasses import dataclass

from isegoria.law.proposals import RuleDraft


@dataclass(frozen=True)
class Bill:
    """A demo proposal: who proposes, where, what, and how the synthetic citizens vote."""

    proposer: str
    jurisdiction: str
    title: str
    rationale: str
    draft: RuleDraft
    turnout: float = 0.2
    yes_share: float = 0.8


def _rule(
    title: str,
    text: str,
    category: str,
    cap: str,
    *,
    days: int = 0,
    ground: str = "legal",
    covered: tuple[str, ...] = (),
    not_covered: tuple[str, ...] = (),
) -> RuleDraft:
    return RuleDraft(title, text, category, ground, cap, days, list(covered), list(not_covered))


INTERNATIONAL_BASELINE = [
    Bill(
        "ana",
        "intl",
        "Ban incitement to violence",
        "Calls to attack people lead to real attacks; every legal order forbids them.",
        _rule(
            "Incitement to violence",
            "Do not call on others to **commit violence** against a person or a group, "
            "or praise a violent attack in order to encourage more.\n\nReporting on, "
            "condemning or analysing violence is not incitement.",
            "violence",
            "suspend",
            days=30,
            covered=("Let's go burn their houses tonight",),
            not_covered=("A news report quoting a call to violence in order to criticise it",),
        ),
    ),
    Bill(
        "marie",
        "intl",
        "Ban credible threats",
        "A threat silences its target even when it is never carried out.",
        _rule(
            "Credible threats",
            "Do not threaten a specific person with death, injury or sexual violence in a way "
            "a reasonable reader would take seriously.",
            "cyber_violence",
            "suspend",
            days=14,
            covered=("I know where you live and I will hurt you",),
            not_covered=("I could kill for a coffee",),
        ),
    ),
    Bill(
        "jonas",
        "intl",
        "Ban doxxing",
        "Publishing someone's home address exposes them to harassment at their door.",
        _rule(
            "Doxxing",
            "Do not publish another person's home address, private phone number, identity "
            "documents or similar private data without their consent.",
            "data_protection_and_privacy",
            "remove",
            covered=("Posting a critic's home address with a call to 'visit' them",),
            not_covered=("The published address of a company or a public office",),
        ),
    ),
    Bill(
        "sam",
        "intl",
        "Ban fraud",
        "Scams take savings from the most vulnerable users.",
        _rule(
            "Fraud and scams",
            "Do not post offers, links or messages designed to trick people into giving money, "
            "passwords or personal data.",
            "scams_and_fraud",
            "suspend",
            days=90,
            covered=("A fake bank login page",),
            not_covered=("An honest but bad investment tip",),
        ),
    ),
    Bill(
        "ana",
        "intl",
        "Limit spam",
        "Automated floods of identical posts drown out conversation.",
        _rule(
            "Spam",
            "Do not post the same or nearly the same content repeatedly, or automatically, "
            "to advertise or to flood a conversation.",
            "other_terms_violation",
            "suspend",
            days=7,
            ground="community_standard",
            covered=("The same link posted in 50 threads in an hour",),
        ),
    ),
]

NATIONAL = [
    Bill(
        "marie",
        "EU",
        "Terrorist content",
        "Regulation (EU) 2021/784 makes terrorist content illegal across the Union.",
        _rule(
            "Terrorist content",
            "Do not disseminate content that incites, solicits or instructs the commission "
            "of terrorist offences (Regulation (EU) 2021/784, Art. 2(7)).",
            "public_security",
            "ban",
            days=365,
            covered=("A bomb-making manual shared to recruit attackers",),
            not_covered=("Journalistic or academic reporting on terrorism",),
        ),
    ),
    Bill(
        "marie",
        "FR",
        "Négationnisme",
        "La loi Gayssot réprime la contestation des crimes contre l'humanité.",
        _rule(
            "Contestation de crimes contre l'humanité",
            "Ne pas contester l'existence des crimes contre l'humanité jugés par le tribunal "
            "de Nuremberg (loi du 29 juillet 1881, art. 24 bis).",
            "illegal_or_harmful_speech",
            "remove",
        ),
    ),
    Bill(
        "jonas",
        "DE",
        "Volksverhetzung",
        "§ 130 StGB stellt die Aufstachelung zum Hass gegen Teile der Bevölkerung unter Strafe.",
        _rule(
            "Volksverhetzung",
            "Keine Aufstachelung zum Hass gegen nationale, religiöse oder ethnische Gruppen "
            "und keine Angriffe auf ihre Menschenwürde (§ 130 StGB).",
            "illegal_or_harmful_speech",
            "suspend",
            days=30,
        ),
    ),
    Bill(
        "ana",
        "MX",
        "Violencia digital",
        "La Ley Olimpia sanciona la difusión de imágenes íntimas sin consentimiento.",
        _rule(
            "Difusión de imágenes íntimas sin consentimiento",
            "No difundir, exhibir ni compartir imágenes o videos íntimos de una persona sin "
            "su consentimiento (Ley Olimpia, Código Penal Federal art. 199 octies).",
            "cyber_violence_against_women",
            "ban",
            days=365,
            covered=("Compartir fotos íntimas de una expareja",),
        ),
    ),
    Bill(
        "sam",
        "US",
        "Voting misinformation",
        "False claims about when or how to vote disenfranchise voters.",
        _rule(
            "Misleading voters about how to vote",
            "Do not post false information about the date, place or manner of voting, or "
            "about who is eligible to vote.",
            "civic_discourse_or_elections",
            "remove",
            covered=("'Democrats vote on Wednesday this year'",),
            not_covered=("Arguing that a candidate's policy is bad",),
        ),
    ),
]

SPAM_AMENDMENT = _rule(
    "Spam",
    "Do not post the same or nearly the same content repeatedly, or automatically, "
    "to advertise or to flood a conversation.",
    "other_terms_violation",
    "reduce_reach",
    ground="community_standard",
    covered=("The same link posted in 50 threads in an hour",),
    not_covered=("A campaign asking people to sign a petition, posted once per thread",),
)

OPEN_MX_AMENDMENT = _rule(
    "Difusión de imágenes íntimas sin consentimiento",
    "No difundir, exhibir, compartir **ni amenazar con difundir** imágenes o videos íntimos "
    "de una persona sin su consentimiento (Ley Olimpia, Código Penal Federal art. 199 octies).",
    "cyber_violence_against_women",
    "ban",
    days=365,
    covered=("Compartir fotos íntimas de una expareja", "Amenazar con publicarlas"),
)

FAILED_BILL = Bill(
    "sam",
    "US",
    "Ban all political advertising",
    "Paid political messages distort debate.",
    _rule(
        "Political advertising",
        "Do not post paid political advertisements.",
        "civic_discourse_or_elections",
        "remove",
        ground="community_standard",
    ),
    turnout=0.02,
    yes_share=0.6,
)
