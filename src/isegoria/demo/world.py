"""Seed a plausible demo world: jurisdictions, thousands of citizens, staff and a platform.

Idempotent: a second run reuses what is there and prints the same logins. Every random
choice comes from the demo's seed (``isegoria demo --seed N``), so every world built with
the same seed is the same; only the login passwords and the platform key are fresh (they
never reach the log, and a served demo should not have well-known passwords).
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyotp
from sqlalchemy import func, insert, select

from isegoria.config import write_private_file
from isegoria.demo.law import seed_law
from isegoria.domain.identity import STRATA, Role, Scope
from isegoria.identity import mfa
from isegoria.log.demo_keys import rng as demo_rng
from isegoria.people import accounts as people
from isegoria.people import jurisdictions, platforms
from isegoria.security import SecretBox
from isegoria.store.models import Account, Residence
from isegoria.unit_of_work import UnitOfWork

LOGINS_FILE = "demo-logins.json"

JURISDICTIONS: list[tuple[str, str, str | None, list[str]]] = [
    ("intl", "International baseline", None, ["en", "es", "fr", "de"]),
    ("EU", "European Union", "intl", ["en", "fr", "de", "es"]),
    ("FR", "France", "EU", ["fr"]),
    ("DE", "Germany", "EU", ["de"]),
    ("MX", "Mexico", "intl", ["es"]),
    ("US", "United States", "intl", ["en", "es"]),
]

# Regions with rough population weights, so the strata look like a real citizenry.
REGIONS: dict[str, dict[str, float]] = {
    "FR": {
        "Île-de-France": 18,
        "Auvergne-Rhône-Alpes": 12,
        "Hauts-de-France": 9,
        "Nouvelle-Aquitaine": 9,
        "Occitanie": 9,
        "Grand Est": 8,
        "Other": 35,
    },
    "DE": {
        "Nordrhein-Westfalen": 21,
        "Bayern": 16,
        "Baden-Württemberg": 13,
        "Niedersachsen": 10,
        "Hessen": 8,
        "Other": 32,
    },
    "MX": {
        "Ciudad de México": 7,
        "Estado de México": 13,
        "Jalisco": 7,
        "Veracruz": 6,
        "Puebla": 5,
        "Nuevo León": 5,
        "Other": 57,
    },
    "US": {"Northeast": 17, "Midwest": 21, "South": 38, "West": 24},
}
CITIZEN_SHARE = {"FR": 0.22, "DE": 0.26, "MX": 0.24, "US": 0.28}
AGE_WEIGHTS = {"18-29": 20, "30-44": 26, "45-59": 26, "60+": 28}
LEANING_WEIGHTS = {
    "left": 14,
    "centre-left": 20,
    "centre": 22,
    "centre-right": 20,
    "right": 14,
    "none": 10,
}
# Older citizens volunteer more often, as they do for real citizens' assemblies.
OPT_IN_BY_AGE = {"18-29": 0.18, "30-44": 0.24, "45-59": 0.32, "60+": 0.40}

GIVEN = {
    "FR": ["Camille", "Léa", "Hugo", "Louis", "Chloé", "Nathan", "Inès", "Jules", "Manon", "Lucas"],
    "DE": ["Mia", "Ben", "Emma", "Paul", "Hannah", "Leon", "Lina", "Finn", "Marie", "Jonas"],
    "MX": [
        "Sofía",
        "Mateo",
        "Valentina",
        "Santiago",
        "Regina",
        "Diego",
        "Camila",
        "Emiliano",
        "Ximena",
        "Leonardo",
    ],
    "US": [
        "Olivia",
        "Liam",
        "Ava",
        "Noah",
        "Sophia",
        "Elijah",
        "Isabella",
        "James",
        "Mia",
        "Henry",
    ],
}
FAMILY = {
    "FR": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"],
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"],
    "MX": ["Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez"],
    "US": ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson"],
}

# People who can log in: (login, display name, role, residence)
NAMED: list[tuple[str, str, Role, str | None]] = [
    ("ana", "Ana Morales", Role.CITIZEN, "MX"),
    ("marie", "Marie Lefèvre", Role.CITIZEN, "FR"),
    ("jonas", "Jonas Becker", Role.CITIZEN, "DE"),
    ("sam", "Sam Carter", Role.CITIZEN, "US"),
    ("operator", "Instance Operator", Role.OPERATOR, None),
    ("auditor", "Independent Auditor", Role.AUDITOR, None),
]


@dataclass
class DemoLogins:
    """What a person needs to try the demo: logins, passwords and a platform key."""

    people: dict[str, str]
    platform: str
    platform_key: str
    webhook_secret: str
    # Staff must use a second factor: the demo's TOTP secrets (`isegoria staff totp LOGIN`).
    totp: dict[str, str] = field(default_factory=dict)


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _seed_citizens(uow: UnitOfWork, count: int, seed: int) -> None:
    """Insert ``count`` synthetic citizens (no password: they cannot log in)."""
    rng = demo_rng(seed, "citizens")
    now = uow.now()
    accounts, residences = [], []
    start = int(uow.session.scalar(select(func.max(Account.id))) or 0) + 1
    for n in range(count):
        country = _weighted(rng, CITIZEN_SHARE)
        age = _weighted(rng, AGE_WEIGHTS)
        account_id = start + n
        accounts.append(
            {
                "id": account_id,
                "login": f"citizen-{n + 1:05d}",
                "display_name": f"{rng.choice(GIVEN[country])} {rng.choice(FAMILY[country])}",
                "password_hash": None,
                "role": Role.CITIZEN.value,
                "created_at": now,
                "disabled": False,
                "region": _weighted(rng, REGIONS[country]),
                "age_band": age,
                "leaning": _weighted(rng, LEANING_WEIGHTS),
                "jury_opt_in": rng.random() < OPT_IN_BY_AGE[age],
            }
        )
        residences.append({"account_id": account_id, "jurisdiction_code": country})
    uow.session.execute(insert(Account), accounts)
    uow.session.execute(insert(Residence), residences)


def saved_logins(data_dir: Path) -> DemoLogins | None:
    """The logins saved when the demo world was built, if any."""
    path = data_dir / LOGINS_FILE
    if not path.exists():
        return None
    return DemoLogins(**json.loads(path.read_text()))


def save_logins(data_dir: Path, logins: DemoLogins) -> None:
    """Keep the demo logins next to the database, readable by the owner only."""
    path = data_dir / LOGINS_FILE
    path.unlink(missing_ok=True)
    write_private_file(path, json.dumps(asdict(logins), indent=2).encode())


def exists(uow: UnitOfWork) -> bool:
    """Whether a demo world was built in this database."""
    return any(j.code == "intl" for j in jurisdictions.list_jurisdictions(uow))


def build(uow: UnitOfWork, box: SecretBox, *, citizens: int, seed: int = 0) -> DemoLogins:
    """Create the demo world in an empty database; return the logins to use."""
    existing = {j.code for j in jurisdictions.list_jurisdictions(uow)}
    for code, name, parent, languages in JURISDICTIONS:
        if code not in existing:
            jurisdictions.add_jurisdiction(
                uow, code=code, name=name, parent=parent, languages=languages
            )
    rng = demo_rng(seed, "named-people")
    passwords: dict[str, str] = {}
    secrets_totp: dict[str, str] = {}
    for login, name, role, residence in NAMED:
        password = secrets.token_urlsafe(9)  # 9 random bytes: 12 characters, the minimum
        strata = None
        if role is Role.CITIZEN:
            assert residence is not None  # noqa: S101
            strata = people.Strata(
                region=_weighted(rng, REGIONS[residence]),
                age_band=rng.choice(STRATA["age_band"]),
                leaning=rng.choice(STRATA["leaning"][:5]),
            )
        account = people.add_account(
            uow,
            login=login,
            display_name=name,
            role=role,
            password=password,
            residences=[residence] if residence else [],
            strata=strata,
            jury_opt_in=role is Role.CITIZEN,
        )
        passwords[login] = password
        if mfa.must_have_factor(role.value):
            secrets_totp[login] = pyotp.random_base32()
            mfa.enrol_known_secret(uow, box, account, secrets_totp[login])
    _seed_citizens(uow, citizens, seed)
    seed_law(uow, seed)
    platform, issued = platforms.add_platform(uow, box, name="Demo Forum", scopes=list(Scope))
    logins = DemoLogins(
        people=passwords,
        platform=platform.name,
        platform_key=issued.key,
        webhook_secret=platforms.webhook_secret(box, platform),
        totp=secrets_totp,
    )
    return logins
