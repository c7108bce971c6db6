"""The labeler's signing key, its ``did:key``, and the DAG-CBOR bytes labels are signed over.

AT Protocol cryptography (atproto.com/specs/cryptography): keys are P-256 or secp256k1;
signatures are ECDSA over SHA-256 in the 64-byte compact ``r || s`` form, and must be
*low-S* (``s <= n/2``) so a signature cannot be flipped into a second valid one. Public keys
are published as ``did:key`` (multicodec prefix + compressed point, base58btc ``z``).

Labels are signed over their DAG-CBOR encoding (atproto.com/specs/data-model): maps with
keys sorted by length and then bytewise (RFC 7049 §3.9 canonical order), shortest-form
integers, no floats. The encoder here covers exactly the types a label holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

__all__ = ["CURVE_ORDER", "CborValue", "LabelerKey", "base58btc", "dag_cbor"]

Curve = Literal["secp256k1", "p256"]

#: Group orders (SEC 2 §2.4.1 for secp256k1; FIPS 186-4 D.1.2.3 for P-256), for low-S.
CURVE_ORDER: Final[dict[str, int]] = {
    "secp256k1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
    "p256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
}
#: Multicodec varint prefixes: secp256k1-pub 0xe7, p256-pub 0x1200.
_MULTICODEC: Final[dict[str, bytes]] = {"secp256k1": b"\xe7\x01", "p256": b"\x80\x24"}
_B58: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

CborValue = None | bool | int | str | bytes | list["CborValue"] | dict[str, "CborValue"]


def base58btc(data: bytes) -> str:
    """Bitcoin base58 (the ``z`` multibase), leading zero bytes as ``1``."""
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, digit = divmod(number, 58)
        out.append(_B58[digit])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def _head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes([major << 5 | info]) + value.to_bytes(size, "big")
    raise ValueError(f"integer {value} does not fit in 64 bits")


def dag_cbor(value: CborValue) -> bytes:
    """Canonical DAG-CBOR bytes of ``value`` (no floats, tags or CIDs: labels need none)."""
    if value is None:
        return b"\xf6"
    if value is True:
        return b"\xf5"
    if value is False:
        return b"\xf4"
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(3, len(raw)) + raw
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(dag_cbor(item) for item in value)
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode("utf-8")), k.encode("utf-8")))
        body = b"".join(dag_cbor(key) + dag_cbor(value[key]) for key in keys)
        return _head(5, len(value)) + body
    raise TypeError(f"cannot encode {type(value).__name__} as DAG-CBOR")


@dataclass(frozen=True)
class LabelerKey:
    """The labeler's private key (the ``#atproto_label`` verification method)."""

    private_key: ec.EllipticCurvePrivateKey
    curve: Curve

    @classmethod
    def generate(cls, curve: Curve = "secp256k1") -> LabelerKey:
        """A fresh key on ``curve``."""
        named = ec.SECP256K1() if curve == "secp256k1" else ec.SECP256R1()
        return cls(ec.generate_private_key(named), curve)

    @classmethod
    def from_pem(cls, pem: bytes) -> LabelerKey:
        """Load a PKCS#8 PEM key of either curve."""
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the labeler key must be an elliptic-curve key")
        if isinstance(key.curve, ec.SECP256K1):
            return cls(key, "secp256k1")
        if isinstance(key.curve, ec.SECP256R1):
            return cls(key, "p256")
        raise ValueError(f"curve {key.curve.name} is not allowed; use secp256k1 or P-256")

    def to_pem(self) -> bytes:
        """PKCS#8 PEM, unencrypted (store it as a secret)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def did_key(self) -> str:
        """``did:key:z...`` of the public key (compressed point)."""
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
        )
        return "did:key:z" + base58btc(_MULTICODEC[self.curve] + point)

    def sign(self, data: bytes) -> bytes:
        """64-byte low-S ECDSA-SHA256 signature of ``data``."""
        der = self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        order = CURVE_ORDER[self.curve]
        if s > order // 2:  # atproto requires the low-S form (malleability)
            s = order - s
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
