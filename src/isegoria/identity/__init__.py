"""Proof of personhood: the hook an instance plugs in so that one person holds one citizen account.

``IdentityVerifier`` is the protocol; ``OidcVerifier`` is the implementation shipped (OpenID
Connect authorization-code flow with PKCE). See docs/security.md, "One citizen, one vote".
"""

from __future__ import annotations

from isegoria.identity.oidc import OidcVerifier
from isegoria.identity.protocol import (
    Begun,
    IdentityVerifier,
    VerificationFailed,
    VerifiedPerson,
)

__all__ = [
    "Begun",
    "IdentityVerifier",
    "OidcVerifier",
    "VerificationFailed",
    "VerifiedPerson",
    "flow",
    "mfa",
    "passkeys",
    "protocol",
    "registration",
]
