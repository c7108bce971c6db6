"""The identity-verification hook: how an instance proves a person before making them a citizen.

A verifier runs a browser round trip to something that knows people (an OpenID Connect
provider, an e-ID scheme, an in-person desk issuing one-time codes...). ``begin`` says where
to send the browser and which private values to keep for the return; ``complete`` checks the
return and names the person by a subject that is stable for that verifier. isegoria maps
each (verifier issuer, subject) to at most one citizen, so "one person, one account" holds
as far as the verifier guarantees "one person, one subject".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from isegoria.errors import IsegoriaError


class VerificationFailed(IsegoriaError):
    """The identity provider's answer could not be accepted; the person should start again."""

    status = 400
    title = "Identity not verified"


@dataclass(frozen=True)
class VerifiedPerson:
    """A person as the verifier knows them: who vouches (issuer) and their stable subject."""

    issuer: str
    subject: str


@dataclass(frozen=True)
class Begun:
    """Where to send the browser, and the values to keep (secretly) until it returns."""

    redirect_url: str
    private_state: dict[str, str]


class IdentityVerifier(Protocol):
    """Proves that a browser belongs to a distinct, real person."""

    @property
    def issuer(self) -> str:
        """Who vouches for people: part of the key that makes a person one citizen."""
        ...

    def begin(self, return_url: str) -> Begun:
        """Start a verification that will come back to ``return_url``."""
        ...

    def complete(
        self, private_state: Mapping[str, str], params: Mapping[str, str], return_url: str
    ) -> VerifiedPerson:
        """Check the browser's return (query ``params``); raise ``VerificationFailed`` if bad."""
        ...
