"""The demo's posts: what each says, the rule a reporter cites, and how jurors see it.

Each post cites the rule it plausibly breaks, in its own jurisdiction where that
jurisdiction has one (FR, DE, MX and US each have a national rule cited here) and an
international rule otherwise; the report and the jurors' reasons speak to that rule, in
the post's language. Rule ids follow the order the demo's law enacts them
(``isegoria.demo.law``): intl-1 incitement to violence, intl-2 credible threats, intl-3
doxxing, intl-4 fraud, intl-5 spam; FR-1 denial of crimes against humanity, DE-1
Volksverhetzung, MX-1 intimate images, US-1 misleading voters.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Post:
    """A demo post and what becomes of it."""

    jurisdiction: str
    language: str
    text: str
    rule: str  # the rule the reporter cites
    report: str  # the reporter's reason
    reasons: tuple[str, str]  # a juror's reason: (violation, no violation)
    propensity: float  # the chance a juror finds a violation
    appeal: str | None = None  # None, "upheld" or "overturned"
    lapse: bool = False  # jurors accept but too few vote
    interim: bool = False
    pending: bool = False  # reported now: the jury is still deciding


_THREAT_ES = (
    "Amenaza a una persona concreta y un lector razonable lo tomaría en serio.",
    "Es una expresión coloquial; no amenaza a nadie en serio.",
)
_INCITEMENT_ES = (
    "Llama a atacar a una persona en un lugar y a una hora concretos.",
    "Es una exageración política; nadie lo leería como un llamado real a la violencia.",
)
_FRAUD_ES = (
    "Promete dinero fácil para obtener datos de tarjetas: es una estafa.",
    "Es publicidad exagerada, no un engaño para obtener dinero o datos.",
)
_THREAT_EN = (
    "It threatens a specific person and a reasonable reader would take it seriously.",
    "It is an idiom; nobody is being threatened.",
)
_INCITEMENT_EN = (
    "It calls on others to go and hurt a specific person tonight.",
    "It is angry political talk, not a call to commit violence.",
)
_FRAUD_EN = (
    "It promises impossible returns to get people to send money: a scam.",
    "It is a bad offer, not one designed to trick people.",
)

POSTS = [
    Post(
        "MX",
        "es",
        "Sé dónde vives y esta noche vamos a ir por ti.",
        "intl-2",
        "Amenaza directamente a una usuaria con ir a su casa esta noche.",
        _THREAT_ES,
        0.95,
    ),
    Post(
        "MX",
        "es",
        "Te voy a matar de risa con este meme 😂",
        "intl-2",
        "Dice que va a matar a alguien.",
        _THREAT_ES,
        0.05,
    ),
    Post(
        "MX",
        "es",
        "Gana 5.000 pesos diarios, sólo manda tu número de tarjeta.",
        "intl-4",
        "Pide números de tarjeta a cambio de una ganancia imposible.",
        _FRAUD_ES,
        0.9,
        appeal="upheld",
    ),
    Post(
        "MX",
        "es",
        "Vamos todos a quemar la casa del diputado, hoy a las 8.",
        "intl-1",
        "Convoca a quemar la casa de un diputado a una hora concreta.",
        _INCITEMENT_ES,
        0.92,
        appeal="overturned",
    ),
    Post(
        "MX",
        "es",
        "Ese árbitro merece que lo corran del estadio.",
        "intl-1",
        "Incita a la afición contra el árbitro.",
        _INCITEMENT_ES,
        0.5,
        lapse=True,
    ),
    Post(
        "FR",
        "fr",
        "Je connais ton adresse, 12 rue des Lilas, fais attention à toi.",
        "intl-2",
        "Menace une personne en citant son adresse.",
        (
            "Il menace une personne précise en citant son adresse : c'est une menace crédible.",
            "Aucune menace précise : c'est une mise en garde maladroite.",
        ),
        0.9,
    ),
    Post(
        "FR",
        "fr",
        "Cette réforme va tuer la culture française, manifestons samedi !",
        "intl-1",
        "Appelle à la violence contre la réforme.",
        (
            "Il appelle à une action violente.",
            "Appeler à manifester n'est pas appeler à la violence ; « tuer » est une image.",
        ),
        0.08,
    ),
    Post(
        "FR",
        "fr",
        "Investissez 500 € et doublez-les en 24 heures, garanti.",
        "intl-4",
        "Promesse de gain impossible pour soutirer de l'argent.",
        (
            "Un gain garanti du double en 24 heures est une escroquerie.",
            "C'est une publicité outrancière, pas un piège pour soutirer de l'argent.",
        ),
        0.88,
        appeal="overturned",
    ),
    Post(
        "DE",
        "de",
        "Morgen um 18 Uhr alle zur Moschee in der Bahnhofstraße, wir zünden sie an.",
        "intl-1",
        "Ruft zu einem Brandanschlag auf eine Moschee zu einer bestimmten Zeit auf.",
        (
            "Der Beitrag ruft zu einem Brandanschlag an einem bestimmten Ort auf.",
            "Der Beitrag ist nicht ernst gemeint und ruft zu keiner Tat auf.",
        ),
        0.93,
        interim=True,
    ),
    Post(
        "DE",
        "de",
        "Diese Partei ist eine Katastrophe für das Land.",
        "DE-1",
        "Hetze gegen die Wähler dieser Partei.",
        (
            "Der Beitrag stachelt zum Hass gegen eine Gruppe auf.",
            "Kritik an einer Partei richtet sich nicht gegen eine nationale, religiöse oder "
            "ethnische Gruppe.",
        ),
        0.03,
    ),
    Post(
        "DE",
        "de",
        "Kauf jetzt! Kauf jetzt! Kauf jetzt! Link im Profil.",
        "intl-5",
        "Derselbe Werbetext wird in vielen Unterhaltungen wiederholt.",
        (
            "Derselbe Werbetext wird immer wieder gepostet.",
            "Ein einzelner Werbebeitrag ist noch keine Flut.",
        ),
        0.7,
    ),
    Post(
        "US",
        "en",
        "Everyone should go to his house tonight and make him pay.",
        "intl-1",
        "A call to go to someone's home tonight and hurt him.",
        _INCITEMENT_EN,
        0.9,
        appeal="upheld",
    ),
    Post(
        "US",
        "en",
        "The senator's speech was a disaster, vote him out.",
        "US-1",
        "This is election misinformation.",
        (
            "It misleads voters about how to vote.",
            "It says nothing false about when, where or how to vote; it is an opinion.",
        ),
        0.04,
    ),
    Post(
        "US",
        "en",
        "I'll kill it at the karaoke tonight!",
        "intl-2",
        "Says they will kill someone tonight.",
        _THREAT_EN,
        0.02,
        lapse=True,
    ),
    Post(
        "MX",
        "es",
        "Aquí están las fotos íntimas de mi ex, pásenlas: enlace en mi perfil.",
        "MX-1",
        "Difunde fotos íntimas de su expareja sin su consentimiento.",
        (
            "Difunde imágenes íntimas de una persona sin su consentimiento.",
            "No se ve que las imágenes sean íntimas ni de quién son.",
        ),
        0.95,
    ),
    Post(
        "FR",
        "fr",
        "Les chambres à gaz n'ont jamais existé, c'est une invention d'après-guerre.",
        "FR-1",
        "Conteste l'existence d'un crime contre l'humanité jugé à Nuremberg.",
        (
            "Il conteste un crime contre l'humanité jugé par le tribunal de Nuremberg.",
            "C'est une citation rapportée pour la critiquer.",
        ),
        0.93,
    ),
    Post(
        "US",
        "en",
        "Reminder: this year Democrats vote on Wednesday, Republicans on Tuesday.",
        "US-1",
        "False information about the day of the election.",
        (
            "It gives a false voting day to one party's voters.",
            "It is an obvious joke nobody would believe.",
        ),
        0.9,
    ),
    Post(
        "MX",
        "es",
        "Mañana publico la dirección de esa periodista para que sepan dónde está.",
        "intl-3",
        "Anuncia que publicará el domicilio de una periodista.",
        (
            "Anuncia la publicación del domicilio de una persona para exponerla.",
            "Todavía no publica ningún dato privado.",
        ),
        0.85,
        pending=True,
    ),
    Post(
        "US",
        "en",
        "Send 0.1 BTC to this wallet and get 1 BTC back, limited offer.",
        "intl-4",
        "A classic crypto giveaway scam.",
        _FRAUD_EN,
        0.9,
        pending=True,
    ),
]
