"""Request and response bodies of the JSON API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from isegoria.domain.identity import (
    MAX_DISPLAY_NAME_LENGTH,
    MAX_PLATFORM_NAME_LENGTH,
    MAX_REGION_LENGTH,
    Role,
    Scope,
)
from isegoria.http.reauth import CurrentPassword


class Strict(BaseModel):
    """Bodies refuse unknown fields, so a typo is an error and not a silent no-op."""

    model_config = ConfigDict(extra="forbid")


class HealthOut(BaseModel):
    """Whether this instance can serve."""

    status: str
    database: str
    schema_revision: str | None
    schema_head: str


class JurisdictionOut(BaseModel):
    """A rule-making community."""

    code: str
    name: str
    parent: str | None
    languages: list[str]


class JurisdictionIn(Strict):
    """A new jurisdiction."""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")
    name: str = Field(min_length=1, max_length=120)
    parent: str | None = Field(default=None, max_length=32)
    languages: list[str] = Field(default_factory=list, max_length=24)


class StrataOut(BaseModel):
    """A citizen's self-declared strata."""

    region: str | None
    age_band: str | None
    leaning: str | None


class MeOut(BaseModel):
    """The logged-in person."""

    login: str
    display_name: str
    role: Role
    residences: list[str]
    strata: StrataOut | None
    jury_opt_in: bool | None
    csrf_token: str = Field(description="Send back as X-CSRF-Token on cookie-authenticated writes")


class ProfileIn(Strict):
    """Changes a citizen makes to their own profile; absent fields stay as they are."""

    display_name: str | None = Field(default=None, min_length=1, max_length=MAX_DISPLAY_NAME_LENGTH)
    region: str | None = Field(default=None, min_length=1, max_length=MAX_REGION_LENGTH)
    age_band: str | None = Field(default=None, max_length=16)
    leaning: str | None = Field(default=None, max_length=16)
    jury_opt_in: bool | None = None


class CitizenStatsOut(BaseModel):
    """How many citizens reside where (aggregates only, no personal data)."""

    total: int
    by_jurisdiction: dict[str, int]
    jury_volunteers: int


class PlatformOut(BaseModel):
    """A platform as operators and auditors see it (no secrets)."""

    id: int
    name: str
    webhook_url: str | None
    created_at: datetime
    live_keys: int


class PlatformIn(Strict):
    """A platform to register."""

    name: str = Field(min_length=1, max_length=MAX_PLATFORM_NAME_LENGTH)
    scopes: list[Scope] = Field(default_factory=lambda: list(Scope), min_length=1, max_length=8)


class IssuedKeyOut(BaseModel):
    """A new API key: shown once, store it now."""

    platform_id: int
    key_id: int
    key: str
    scopes: list[Scope]


class PlatformCreatedOut(BaseModel):
    """A registered platform with its first key and webhook secret (shown once)."""

    platform: PlatformOut
    api_key: IssuedKeyOut
    webhook_secret: str


class RotateKeyIn(Strict):
    """Scopes of the replacement key (default: those of the newest live key); the password."""

    scopes: list[Scope] | None = Field(default=None, min_length=1, max_length=8)
    current_password: CurrentPassword = None


class PlatformSelfOut(BaseModel):
    """What a platform's key can see of its own registration."""

    id: int
    name: str
    webhook_url: str | None
    scopes: list[Scope]


class WebhookIn(Strict):
    """Where to deliver decisions; null to stop delivery."""

    url: str | None = Field(max_length=2000)
