"""The instance's federated identities: its ActivityPub actor and its AT Protocol labeler.

Both keys come from the instance's secrets. The labeler key is *derived* from the instance
secret (HKDF-SHA256 to a secp256k1 scalar), so every process that holds the secret signs
with the same key and nothing new must be backed up. The actor's RSA key cannot be derived
(RSA key generation is not a function of a seed in ``cryptography``), so it is generated on
first use into ``<data_dir>/activitypub.key`` with mode 0600, next to ``secret.key``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Final

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from isegoria.config import write_private_file
from isegoria.integrations.activitypub import AS_CONTEXT
from isegoria.integrations.atproto_keys import CURVE_ORDER, LabelerKey

__all__ = [
    "ACTOR_PATH",
    "INBOX_PATH",
    "actor_document",
    "actor_key",
    "actor_urls",
    "did_document",
    "labeler_key",
]

ACTOR_PATH: Final = "/ap/actor"
INBOX_PATH: Final = "/ap/inbox"
#: 2048-bit RSA: what Mastodon generates for its actors (and verifies).
RSA_BITS: Final = 2048
_LABELER_INFO: Final = b"isegoria atproto labeler key v1"
#: W3C security vocabulary, where publicKey/publicKeyPem are defined (Mastodon's context).
SECURITY_CONTEXT: Final = "https://w3id.org/security/v1"


# Every decision about a post asks for the key; deriving it (HKDF and a scalar
# multiplication) costs about 0.6 ms, and a process holds one secret (tests hold a few).
@functools.lru_cache(maxsize=8)
def labeler_key(instance_secret: bytes) -> LabelerKey:
    """The labeler's secp256k1 key, derived from the instance secret (once per secret)."""
    order = CURVE_ORDER["secp256k1"]
    # 48 bytes reduced modulo n: the bias is below 2**-128 (FIPS 186-5 A.4.1's "extra bits").
    material = HKDF(algorithm=hashes.SHA256(), length=48, salt=None, info=_LABELER_INFO).derive(
        instance_secret
    )
    scalar = int.from_bytes(material, "big") % (order - 1) + 1
    return LabelerKey(ec.derive_private_key(scalar, ec.SECP256K1()), "secp256k1")


def actor_key(path: Path) -> rsa.RSAPrivateKey:
    """The instance actor's RSA key, created at ``path`` (mode 0600) on first use."""
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        fresh = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        try:
            write_private_file(
                path,
                fresh.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            )
        except FileExistsError:
            pass  # another process created it first; use theirs
        pem = path.read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return key


def actor_urls(public_url: str) -> tuple[str, str, str]:
    """The actor's id, its key id and its inbox URL under ``public_url``."""
    base = public_url.rstrip("/")
    actor = base + ACTOR_PATH
    return actor, actor + "#main-key", base + INBOX_PATH


def actor_document(public_url: str, key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The instance actor (an ``Application``) with its public key, as servers fetch it."""
    actor, key_id, inbox = actor_urls(public_url)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "@context": [AS_CONTEXT, SECURITY_CONTEXT],
        "id": actor,
        "type": "Application",
        "preferredUsername": "isegoria",
        "name": "isegoria",
        "summary": "Moderation decided by public law and citizen juries.",
        "inbox": inbox,
        "url": public_url.rstrip("/") + "/",
        "publicKey": {"id": key_id, "owner": actor, "publicKeyPem": pem.decode("ascii")},
    }


def did_document(did: str, key: LabelerKey, endpoint: str) -> dict[str, Any]:
    """The labeler's DID document: its ``#atproto_label`` key and ``#atproto_labeler`` service.

    atproto.com/specs/label "Labeler service identity": the signing key is the verification
    method with fragment ``#atproto_label``; the service of type ``AtprotoLabeler`` with
    fragment ``#atproto_labeler`` is where ``queryLabels`` is served.
    """
    return {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
        ],
        "id": did,
        "verificationMethod": [
            {
                "id": f"{did}#atproto_label",
                "type": "Multikey",
                "controller": did,
                # Multikey: the did:key without its "did:key:" prefix (same multibase string).
                "publicKeyMultibase": key.did_key.removeprefix("did:key:"),
            }
        ],
        "service": [
            {
                "id": "#atproto_labeler",
                "type": "AtprotoLabeler",
                "serviceEndpoint": endpoint.rstrip("/"),
            }
        ],
    }
