"""The flow cookie: the verifier's private values and the form's answers, sealed until return.

The values (OIDC ``state``, ``nonce`` and PKCE ``code_verifier``) are encrypted and
authenticated with a key derived from the instance secret, and expire after
``FLOW_SECONDS``; the ``state`` echoed by the provider must equal the sealed one, which
binds the callback to the browser that started it (RFC 6749 §10.12, CSRF).
"""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from isegoria.identity.protocol import VerificationFailed

FLOW_COOKIE = "isegoria_idflow"
FLOW_PATH = "/register"
# Ten minutes to come back from the provider: long enough for a login with a second factor.
FLOW_SECONDS = 600


class FlowSealer:
    """Seals and opens the flow cookie with the instance secret."""

    def __init__(self, instance_secret: bytes) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"isegoria identity flow v1"
        ).derive(instance_secret)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, values: dict[str, str]) -> str:
        """Encrypt ``values`` into a cookie value."""
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def open(self, sealed: str | None) -> dict[str, str]:
        """The values of a live cookie, else ``VerificationFailed``."""
        if not sealed:
            raise VerificationFailed(
                "the registration was not started in this browser; start again"
            )
        try:
            data = json.loads(self._fernet.decrypt(sealed.encode(), ttl=FLOW_SECONDS))
        except (InvalidToken, ValueError):
            raise VerificationFailed(
                "the registration expired or was altered; start again"
            ) from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise VerificationFailed("the registration state is malformed; start again")
        return {str(k): v for k, v in data.items()}
