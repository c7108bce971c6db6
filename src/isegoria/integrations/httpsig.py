"""HTTP Signatures as the fediverse uses them (draft-cavage-http-signatures-12, RSA-SHA256).

Mastodon signs every server-to-server POST with a ``Signature`` header over
``(request-target) host date digest`` and an RSA key published on the actor
(``publicKey.publicKeyPem``); ``algorithm`` is ``rsa-sha256`` or ``hs2019`` (draft §2.1.3:
the algorithm is derived from the key, which for actors is RSA with SHA-256). The body is
bound through ``Digest: SHA-256=<base64>`` (RFC 3230). This module signs and verifies such
requests; fetching keys is the caller's business (see :mod:`.activitypub`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Final
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "MAX_DATE_SKEW_SECONDS",
    "REQUIRED_HEADERS",
    "HttpSignatureError",
    "SignatureParams",
    "digest_header",
    "parse_signature_header",
    "sign_request",
    "verify_request",
]

#: Headers a POST must sign: the target (method and path), the host, the date (replay
#: window) and the digest (body integrity); Mastodon signs exactly these.
REQUIRED_HEADERS: Final = ("(request-target)", "host", "date", "digest")
#: How far the Date header may be from our clock: one hour, Mastodon's clock-skew margin
#: (app/controllers/concerns/signature_verification.rb, CLOCK_SKEW_MARGIN). Senders sign at
#: each delivery attempt, so a queued retry still carries a fresh Date.
MAX_DATE_SKEW_SECONDS: Final = 3600
#: Algorithms accepted; both mean RSASSA-PKCS1-v1_5 with SHA-256 for actor keys.
ACCEPTED_ALGORITHMS: Final = frozenset({"rsa-sha256", "hs2019"})
MAX_SIGNATURE_HEADER: Final = 8192  # characters; a 4096-bit signature is ~700


class HttpSignatureError(ValueError):
    """A request's HTTP signature is missing, malformed, stale or does not verify."""


@dataclass(frozen=True)
class SignatureParams:
    """The parsed ``Signature`` header (draft-cavage §2.1)."""

    key_id: str
    algorithm: str
    headers: tuple[str, ...]
    signature: bytes


def digest_header(body: bytes) -> str:
    """The ``Digest`` value for ``body`` (RFC 3230 with RFC 5843's SHA-256)."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def parse_signature_header(value: str) -> SignatureParams:
    """Read ``keyId="...",algorithm="...",headers="...",signature="..."``."""
    if len(value) > MAX_SIGNATURE_HEADER:
        raise HttpSignatureError("Signature header is too long")
    params: dict[str, str] = {}
    rest = value.strip()
    while rest:
        name, sep, rest = rest.partition("=")
        if not sep or not rest.startswith('"'):
            raise HttpSignatureError(f"Signature header is malformed near {name.strip()!r}")
        end = rest.find('"', 1)
        if end < 0:
            raise HttpSignatureError("Signature header has an unterminated quoted value")
        params[name.strip().lower()] = rest[1:end]
        rest = rest[end + 1 :].lstrip()
        if rest.startswith(","):
            rest = rest[1:].lstrip()
        elif rest:
            raise HttpSignatureError("Signature header parameters must be separated by commas")
    for required in ("keyid", "signature"):
        if not params.get(required):
            raise HttpSignatureError(f"Signature header has no {required} parameter")
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except ValueError:
        raise HttpSignatureError("Signature header's signature is not base64") from None
    # draft-cavage §2.1.6: without a headers parameter only (created) is signed; Mastodon
    # treats that as "date". Either way it cannot cover our required headers.
    names = tuple(params.get("headers", "date").lower().split())
    return SignatureParams(
        key_id=params["keyid"],
        algorithm=params.get("algorithm", "hs2019").lower(),
        headers=names,
        signature=signature,
    )


def _signing_string(
    names: tuple[str, ...], method: str, path: str, headers: Mapping[str, str]
) -> bytes:
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {path}")
        elif name in headers:
            lines.append(f"{name}: {headers[name].strip()}")
        else:
            raise HttpSignatureError(f"the signed header {name!r} is missing from the request")
    return "\n".join(lines).encode("utf-8")


def sign_request(
    method: str,
    url: str,
    body: bytes,
    *,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime,
) -> dict[str, str]:
    """Headers (Host, Date, Digest, Signature) that sign a request as Mastodon does."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    headers = {
        "host": parts.netloc,
        "date": format_datetime(now, usegmt=True),
        "digest": digest_header(body),
    }
    signed = _signing_string(REQUIRED_HEADERS, method, path, headers)
    signature = private_key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    value = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(REQUIRED_HEADERS)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return {
        "Host": headers["host"],
        "Date": headers["date"],
        "Digest": headers["digest"],
        "Signature": value,
    }


def verify_request(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    public_key_for: Callable[[str, bool], rsa.RSAPublicKey],
    now: datetime,
    max_skew: int = MAX_DATE_SKEW_SECONDS,
) -> SignatureParams:
    """Verify a signed request; return the signature's parameters (its ``keyId``) or raise.

    ``public_key_for(key_id, refresh)`` returns the sender's key; on a mismatch it is asked
    once more with ``refresh=True``, so a key the sender rotated is refetched, not cached
    forever.
    """
    lowered = _lower(headers)
    if "signature" not in lowered:
        raise HttpSignatureError("the request is not signed (no Signature header)")
    params = parse_signature_header(lowered["signature"])
    if params.algorithm not in ACCEPTED_ALGORITHMS:
        raise HttpSignatureError(
            f"signature algorithm {params.algorithm!r} is not supported; use rsa-sha256 or hs2019"
        )
    missing = [name for name in REQUIRED_HEADERS if name not in params.headers]
    if missing:
        raise HttpSignatureError(f"the signature does not cover {', '.join(missing)}")
    digest = lowered.get("digest", "")
    expected_digest = digest_header(body)
    offered = [part.strip() for part in digest.split(",")]
    sha256 = [part for part in offered if part[:8].lower() == "sha-256="]
    if not sha256 or not hmac.compare_digest(sha256[0][8:], expected_digest[8:]):
        raise HttpSignatureError("the Digest header does not match the body (SHA-256)")
    try:
        sent = parsedate_to_datetime(lowered.get("date", ""))
    except (TypeError, ValueError):
        raise HttpSignatureError("the Date header is not an HTTP date") from None
    if sent.tzinfo is None:
        raise HttpSignatureError("the Date header has no time zone (use GMT)")
    skew = (now - sent).total_seconds()
    if abs(skew) > max_skew:
        raise HttpSignatureError(
            f"the Date header is {int(abs(skew))} s {'old' if skew > 0 else 'ahead'}; "
            f"signed requests are accepted within {max_skew} s"
        )
    signed = _signing_string(params.headers, method, path, lowered)
    for refresh in (False, True):
        key = public_key_for(params.key_id, refresh)
        try:
            key.verify(params.signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return params
    raise HttpSignatureError(f"the signature does not verify with key {params.key_id}")
