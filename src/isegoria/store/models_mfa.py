"""Tables of the second factor: TOTP secrets (sealed) and one-use recovery codes (hashed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from isegoria.store.models import Base
from isegoria.store.types import UTCDateTime


class SecondFactor(Base):
    """A person's authenticator app (TOTP); unconfirmed until a first code proves it works."""

    __tablename__ = "second_factors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The shared secret, sealed with the instance SecretBox: never stored in the clear.
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last 30-second time step a code was accepted for: a code is good once (no replay).
    last_used_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecoveryCode(Base):
    """A one-use recovery code, stored as an argon2id hash; shown to its owner only once."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Passkey(Base):
    """A WebAuthn credential (passkey or security key): the stronger second factor."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    # The authenticator's id for the credential; the browser names it in every assertion.
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    # A COSE public key: verifying an assertion needs nothing secret.
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # The authenticator's signature counter: one that does not grow betrays a cloned key.
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class PasskeyChallenge(Base):
    """A WebAuthn challenge handed to one browser session: single use, short-lived."""

    __tablename__ = "passkey_challenges"

    # The SHA-256 of the session token it was issued to, and what it is for: one at a time.
    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    challenge: Mapped[bytes] = mapped_column(LargeBinary(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
