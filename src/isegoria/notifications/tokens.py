"""Unsubscribe links that work without login: a token signed with the instance secret.

The token names the account and the channel, nothing else; whoever holds the link can only
turn that one channel off for that one citizen, which is what a mail footer link is for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_PURPOSE = b"isegoria/unsubscribe/v1"
_SIGNATURE_BYTES = 16


def _signature(secret: bytes, account_id: int, channel: str) -> bytes:
    message = b"%s|%d|%s" % (_PURPOSE, account_id, channel.encode())
    return hmac.new(secret, message, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def unsubscribe_token(secret: bytes, account_id: int, channel: str) -> str:
    """The token of the link that turns ``channel`` off for ``account_id``."""
    signature = base64.urlsafe_b64encode(_signature(secret, account_id, channel)).decode()
    return f"{account_id}.{channel}.{signature.rstrip('=')}"


def read_token(secret: bytes, token: str) -> tuple[int, str] | None:
    """The (account, channel) a valid token names; None for anything forged or malformed."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or len(token) > 200:
        return None
    account_id, channel, signature = int(parts[0]), parts[1], parts[2]
    expected = unsubscribe_token(secret, account_id, channel).rsplit(".", 1)[1]
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    return account_id, channel
