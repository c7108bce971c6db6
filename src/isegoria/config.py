"""One typed settings object, read from ``ISEGORIA_*`` environment variables."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import unquote_plus

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from isegoria.rate_rules import Rule

LogLevel = Literal["debug", "info", "warning", "error", "critical"]

# 32 random bytes: the HMAC/encryption key for sessions and stored platform secrets.
SECRET_KEY_BYTES = 32


class Settings(BaseSettings):
    """Effective configuration of one isegoria instance."""

    model_config = SettingsConfigDict(env_prefix="ISEGORIA_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path("var"),
        description="Directory for the embedded database and the instance's keys.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/isegoria.db. "
        "PostgreSQL: postgresql+psycopg://user:password@host/dbname",
    )
    secret_key_file: Path | None = Field(
        default=None, description="File holding the instance secret; default <data_dir>/secret.key"
    )
    signing_key_file: Path | None = Field(
        default=None,
        description="Ed25519 key that signs log checkpoints; default <data_dir>/log-signing.key",
    )
    origin: str = Field(
        default="isegoria.localhost/log",
        description="Log origin name, the first line of every checkpoint.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = Field(
        default="",
        description="Base URL people use to reach this instance; default http://host:port",
    )
    log_level: LogLevel = "info"
    secure_cookies: bool = Field(
        default=False,
        description="Behind HTTPS: cookies Secure and named __Host-isegoria_* (ASVS 3.4.4).",
    )
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    staff_session_hours: int = Field(
        default=4, ge=1, le=24, description="Lifetime of an operator's or auditor's session."
    )
    staff_idle_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="An operator's or auditor's session ends after this long without a request.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Request and error logs: one JSON object a line, or text."
    )
    # Rate limits, COUNT/[N]UNIT (units s, m, h, d): a burst of COUNT, then COUNT per period.
    ratelimit_enabled: bool = True
    ratelimit_shared: bool | None = Field(
        default=None,
        description="Keep rate-limit buckets in the database, shared by every process "
        "(default: on PostgreSQL yes, on SQLite no).",
    )
    ratelimit_login_address: str = Field(default="20/1m", description="Login tries per address.")
    ratelimit_login_failures: str = Field(
        default="5/15m", description="Failed logins per login name (then one per 3 minutes)."
    )
    ratelimit_login_address_failures: str = Field(
        default="50/1h", description="Failed logins from one address, whatever the login."
    )
    ratelimit_api_address: str = Field(default="300/1m", description="Anonymous API calls.")
    ratelimit_api_person: str = Field(default="600/1m", description="API calls per person.")
    ratelimit_api_platform: str = Field(
        default="60000/1m", description="API calls per platform (report intake in bulk)."
    )
    ratelimit_reports: str = Field(default="60/1h", description="Reports per person.")
    ratelimit_votes: str = Field(default="120/1h", description="Votes and ballots per person.")
    # Throughput and overload (docs/operations.md, "Capacity and overload").
    checkpoint_interval_ms: int = Field(
        default=0,
        ge=0,
        le=60_000,
        description="0: every write transaction integrates its log entries and signs a "
        "checkpoint (inline). N > 0: writers only sequence their entries and a timer integrates "
        "and signs at most every N ms (batched; docs/log.md), so writers do not wait on the log.",
    )
    checkpoint_max_pending: int = Field(
        default=1000,
        ge=1,
        description="Batched: integrate sooner once this many entries wait for the tree.",
    )
    max_in_flight: int = Field(
        default=40,
        ge=0,
        description="Requests one app process serves at once (40: the thread pool that runs "
        "request handlers); beyond, 503 with Retry-After (0: no cap).",
    )
    sqlite_synchronous: Literal["full", "normal"] = Field(
        default="full",
        description="SQLite only. full: every commit reaches the disk (survives power loss). "
        "normal: commits survive a crash of the server but not of the machine; much faster.",
    )
    credential_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="How long an app process trusts an API key or session cookie it has "
        "checked before asking the database again; a key revoked or a session ended by "
        "another process (the CLI, another worker) is refused here within this bound "
        "(0: check every request).",
    )
    opentelemetry: bool = Field(
        default=False,
        description="Let FastAPI send OpenTelemetry spans, metrics and logs to the globally "
        "configured providers (off: isegoria's own Prometheus metrics and JSON logs only).",
    )
    read_cache_entries: int = Field(
        default=4096,
        ge=0,
        le=1_000_000,
        description="Public answers about cases and the log one app process keeps, keyed by "
        "the log's size so none is ever stale (at most 64 MiB; 0: off).",
    )
    database_pool_size: int = Field(
        default=10,
        ge=1,
        le=200,
        description="Database connections per app process (and as many again in overflow).",
    )
    database_pool_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds a request waits for a database connection before it is answered 503.",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhooks and other requests made for platforms and remote servers "
        "reach loopback and private addresses (an intranet platform; tests). Default: refused.",
    )
    # Proof of personhood by OpenID Connect (docs/security.md); empty issuer: not offered.
    oidc_issuer: str = Field(default="", description="OpenID Connect issuer URL.")
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr | None = None
    # Notifications (docs/operators.md): e-mail is off without both; the inbox always works.
    smtp_url: SecretStr | None = Field(
        default=None, description="smtp://user:password@host:port?starttls=true (or smtps://)."
    )
    mail_from: str = Field(default="", description="Sender address of notification e-mails.")
    matrix_notify_url: str = Field(
        default="", description="Homeserver that sends Matrix notices; empty: no Matrix messages."
    )
    matrix_notify_token: SecretStr | None = None
    # Federation (docs/integrations/activitypub.md, docs/integrations/atproto.md).
    activitypub_platform: str = Field(
        default="", description="Platform whose posts federated Flags report; empty: no inbox."
    )
    activitypub_rules: dict[str, str] = Field(
        default_factory=dict,
        description='Flag comment keyword -> rule id, JSON, e.g. {"spam": "intl-5"}.',
    )
    activitypub_default_rule: str = Field(
        default="", description="Rule cited by a Flag no keyword maps; empty: refuse it."
    )
    activitypub_allow: list[str] = Field(
        default_factory=list,
        description="Only these server hosts may Flag (JSON list; empty: any).",
    )
    activitypub_deny: list[str] = Field(
        default_factory=list, description="Server hosts whose Flags are refused (JSON list)."
    )
    activitypub_key_file: Path | None = Field(
        default=None,
        description="RSA key of the instance actor; default <data_dir>/activitypub.key",
    )
    atproto_platform: str = Field(
        default="", description="Platform whose posts createReport reports; empty: refused."
    )
    atproto_reason_rules: dict[str, str] = Field(
        default_factory=dict, description="createReport reasonType -> rule id, JSON."
    )
    atproto_default_rule: str = Field(
        default="", description="Rule cited by a reasonType not mapped; empty: refuse it."
    )
    labeler_did: str = Field(
        default="", description="The labeler's DID; default did:web of the public URL's host."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator(
        "ratelimit_login_address",
        "ratelimit_login_failures",
        "ratelimit_login_address_failures",
        "ratelimit_api_address",
        "ratelimit_api_person",
        "ratelimit_api_platform",
        "ratelimit_reports",
        "ratelimit_votes",
    )
    @classmethod
    def _rule(cls, value: str) -> str:
        Rule.parse("setting", value)
        return value

    @property
    def effective_database_url(self) -> str:
        """The database URL in use, with the embedded SQLite default filled in."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'isegoria.db').resolve()}"

    @property
    def effective_public_url(self) -> str:
        """The base URL of the instance as people see it."""
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def activitypub_key_path(self) -> Path:
        """Where the instance actor's RSA key lives."""
        return self.activitypub_key_file or self.data_dir / "activitypub.key"

    @property
    def effective_labeler_did(self) -> str:
        """The labeler DID: as configured, else ``did:web`` of the public URL's host."""
        if self.labeler_did:
            return self.labeler_did
        host = self.effective_public_url.split("://", 1)[-1].split("/", 1)[0]
        # did:web spec §3.1: a port's colon is percent-encoded.
        return "did:web:" + host.replace(":", "%3A")

    @property
    def secret_key_path(self) -> Path:
        """Where the instance secret lives."""
        return self.secret_key_file or self.data_dir / "secret.key"

    @property
    def signing_key_path(self) -> Path:
        """Where the log-signing key lives."""
        return self.signing_key_file or self.data_dir / "log-signing.key"

    @cached_property
    def secret_key(self) -> bytes:
        """The instance secret, generated on first use and kept in the data directory."""
        return load_or_create_secret(self.secret_key_path)

    def masked(self) -> dict[str, str]:
        """Effective settings for display, with secrets masked."""
        return {
            "data_dir": str(self.data_dir.resolve()),
            "database_url": mask_url(self.effective_database_url),
            "secret_key_file": str(self.secret_key_path.resolve()),
            "signing_key_file": str(self.signing_key_path.resolve()),
            "origin": self.origin,
            "host": self.host,
            "port": str(self.port),
            "public_url": self.effective_public_url,
            "log_level": self.log_level,
            "secure_cookies": str(self.secure_cookies).lower(),
            "session_hours": str(self.session_hours),
            "staff_session_hours": str(self.staff_session_hours),
            "staff_idle_minutes": str(self.staff_idle_minutes),
            "log_format": self.log_format,
            "ratelimit_enabled": str(self.ratelimit_enabled).lower(),
            "ratelimit_shared": "auto"
            if self.ratelimit_shared is None
            else str(self.ratelimit_shared).lower(),
            "checkpoint_interval_ms": str(self.checkpoint_interval_ms),
            "max_in_flight": str(self.max_in_flight),
            "credential_cache_seconds": f"{self.credential_cache_seconds:g}",
            "read_cache_entries": str(self.read_cache_entries),
            "opentelemetry": str(self.opentelemetry).lower(),
            "database_pool_size": str(self.database_pool_size),
            "sqlite_synchronous": self.sqlite_synchronous,
            "oidc_issuer": self.oidc_issuer,
            "oidc_client_id": self.oidc_client_id,
            "oidc_client_secret": "***" if self.oidc_client_secret else "",
            "webhook_allow_private": str(self.webhook_allow_private).lower(),
            "activitypub_platform": self.activitypub_platform,
            "activitypub_key_file": str(self.activitypub_key_path.resolve()),
            "atproto_platform": self.atproto_platform,
            "labeler_did": self.effective_labeler_did,
        }


# Query parameters that carry a secret in a database URL: libpq accepts ``password`` and
# ``sslpassword`` there (https://www.postgresql.org/docs/current/libpq-connect.html).
SECRET_QUERY_PARAMETERS = frozenset({"password", "sslpassword"})


def mask_url(url: str) -> str:
    """Replace the password in a database URL (user part or query) with asterisks."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    rest, has_query, query = rest.partition("?")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user, has_password, _ = credentials.partition(":")
        rest = f"{user}{':***' if has_password else ''}@{host}"
    if has_query:
        query = "&".join(_mask_parameter(pair) for pair in query.split("&"))
    return f"{scheme}://{rest}{has_query}{query}"


def _mask_parameter(pair: str) -> str:
    name, has_value, _ = pair.partition("=")
    if has_value and unquote_plus(name).strip().lower() in SECRET_QUERY_PARAMETERS:
        return f"{name}=***"
    return pair


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) so that only its owner may enter it."""
    if path.is_dir():
        return
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)  # mkdir's mode is filtered by the umask; the folder must be private


def write_private_file(path: Path, data: bytes) -> None:
    """Create ``path`` readable by its owner only; never overwrite an existing file."""
    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def load_or_create_secret(path: Path) -> bytes:
    """Read the instance secret, creating it with fresh randomness on first start."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        try:
            write_private_file(path, secrets.token_hex(SECRET_KEY_BYTES).encode())
        except FileExistsError:
            pass  # another process created it first; read theirs
        data = path.read_bytes()
    key = bytes.fromhex(data.decode().strip())
    if len(key) < SECRET_KEY_BYTES:
        raise ValueError(f"secret key file {path} holds fewer than {SECRET_KEY_BYTES} bytes")
    return key
