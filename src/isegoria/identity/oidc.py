"""OpenID Connect as a proof of personhood: authorization-code flow with PKCE.

OpenID Connect Core 1.0 §3.1 (code flow), RFC 7636 (PKCE with S256), OpenID Connect
Discovery 1.0 (the provider's metadata) and RFC 7517 (its JWKS). The ID token is checked as
Core §3.1.3.7 asks: signature with a key from the provider's JWKS, ``iss`` equal to the
configured issuer, ``aud`` containing our client id (and ``azp`` equal to it when there are
several audiences), ``exp`` in the future, ``iat`` present, ``nonce`` equal to the one we
sent, and a non-empty ``sub``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from isegoria.identity.protocol import Begun, VerificationFailed, VerifiedPerson

DISCOVERY_PATH = "/.well-known/openid-configuration"
# Signature algorithms accepted for ID tokens: RS256 is the one every provider must support
# (Core §15.1); ES256 is common. "none" and HMAC (which would use the client secret) are not.
ID_TOKEN_ALGORITHMS = ("RS256", "ES256")
# RFC 7636 §4.1: a verifier is 43 to 128 characters; 48 random bytes give 64 characters.
PKCE_VERIFIER_BYTES = 48
# Clock skew tolerated on exp/iat between us and the provider (seconds).
LEEWAY_SECONDS = 60
HTTP_TIMEOUT_SECONDS = 10.0
MAX_SUBJECT_LENGTH = 255  # Core §2: sub is at most 255 ASCII characters


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of ``verifier`` (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def basic_credentials(client_id: str, secret: str) -> str:
    """An HTTP Basic header value for a client (RFC 6749 §2.3.1: form-encode both parts)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


class OidcVerifier:
    """Proves personhood through an OpenID Connect provider."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str | None = None,
        *,
        http: httpx.Client | None = None,
        now: Callable[[], int] = lambda: int(time.time()),
        scope: str = "openid",
    ) -> None:
        self._issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self._http = http  # None: a short-lived client per call (no socket outlives it)
        self._now = now
        self.scope = scope
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    @property
    def issuer(self) -> str:
        """The provider's issuer identifier."""
        return self._issuer

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self._http is not None:
            return self._http.request(method, url, **kwargs)
        with httpx.Client(timeout=HTTP_TIMEOUT_SECONDS) as client:
            return client.request(method, url, **kwargs)

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._send("GET", url)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise VerificationFailed(
                "the identity provider did not answer (%(error)s)", error=error
            ) from None
        if not isinstance(data, dict):
            raise VerificationFailed("the identity provider's answer is not a JSON object")
        return data

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (fetched once)."""
        if self._metadata is None:
            data = self._get_json(self._issuer + DISCOVERY_PATH)
            # Discovery §4.3: the issuer in the document must be exactly the one configured.
            if data.get("issuer") != self._issuer:
                raise VerificationFailed("the provider's discovery document names another issuer")
            for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(data.get(field), str):
                    raise VerificationFailed(
                        "the provider's discovery document lacks %(field_name)s", field_name=field
                    )
            self._metadata = data
        return self._metadata

    def _key_set(self, *, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            jwks = self._get_json(self.metadata()["jwks_uri"])
            try:
                self._keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError) as error:
                raise VerificationFailed(
                    "the provider's JWKS is unusable (%(error)s)", error=error
                ) from None
        return self._keys

    def begin(self, return_url: str) -> Begun:
        """The authorization URL with fresh state, nonce and PKCE challenge."""
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(PKCE_VERIFIER_BYTES)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": return_url,
                "scope": self.scope,
                "state": state,
                "nonce": nonce,
                "code_challenge": pkce_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        endpoint = self.metadata()["authorization_endpoint"]
        separator = "&" if "?" in endpoint else "?"
        return Begun(
            f"{endpoint}{separator}{query}",
            {"state": state, "nonce": nonce, "code_verifier": verifier},
        )

    def complete(
        self, private_state: Mapping[str, str], params: Mapping[str, str], return_url: str
    ) -> VerifiedPerson:
        """Check the state, redeem the code with the PKCE verifier, validate the ID token."""
        expected = private_state.get("state", "")
        if not expected or not hmac.compare_digest(params.get("state", ""), expected):
            raise VerificationFailed("the provider's answer does not belong to this registration")
        if error := params.get("error"):
            raise VerificationFailed("the identity provider refused: %(error)s", error=error[:200])
        code = params.get("code", "")
        if not code:
            raise VerificationFailed("the identity provider sent no authorization code")
        id_token = self._redeem(code, private_state.get("code_verifier", ""), return_url)
        return self.validate_id_token(id_token, private_state.get("nonce", ""))

    def _redeem(self, code: str, verifier: str, return_url: str) -> str:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": return_url,
            "code_verifier": verifier,
            "client_id": self.client_id,
        }
        headers = {}
        if self.client_secret:  # client_secret_basic; a public client relies on PKCE alone
            headers["Authorization"] = basic_credentials(self.client_id, self.client_secret)
        try:
            response = self._send(
                "POST", self.metadata()["token_endpoint"], data=form, headers=headers
            )
            data = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise VerificationFailed("the token exchange failed (%(error)s)", error=error) from None
        if response.status_code != 200 or not isinstance(data, dict):
            raise VerificationFailed(
                "the token exchange was refused (%(status_code)s)", status_code=response.status_code
            )
        id_token = data.get("id_token")
        if not isinstance(id_token, str):
            raise VerificationFailed("the provider returned no ID token")
        return id_token

    def validate_id_token(self, id_token: str, nonce: str) -> VerifiedPerson:
        """The person named by a valid ID token, else ``VerificationFailed``."""
        if not nonce:
            raise VerificationFailed("no nonce was kept for this registration")
        try:
            token = jwt.decode(id_token, self._key_set(), algorithms=ID_TOKEN_ALGORITHMS)
        except JoseError:
            # The provider may have rotated its keys since we fetched them: fetch once more.
            try:
                token = jwt.decode(
                    id_token, self._key_set(refresh=True), algorithms=ID_TOKEN_ALGORITHMS
                )
            except (JoseError, ValueError) as error:
                raise VerificationFailed(
                    "the ID token's signature is invalid (%(error)s)", error=error
                ) from None
        except ValueError as error:
            raise VerificationFailed("the ID token is malformed (%(error)s)", error=error) from None
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            now=self._now,
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self._issuer},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as error:
            raise VerificationFailed(
                "the ID token is not acceptable (%(error)s)", error=error
            ) from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise VerificationFailed("the ID token was issued to another party (azp)")
        subject = claims["sub"]
        if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_LENGTH:
            raise VerificationFailed("the ID token's subject is malformed")
        return VerifiedPerson(self._issuer, subject)

    def close(self) -> None:
        """Close an HTTP client that was handed in."""
        if self._http is not None:
            self._http.close()
