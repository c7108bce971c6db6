"""ActivityPub: ``Flag`` reports from other servers in, verdict notifications out.

Inbound (ActivityStreams Vocabulary §4.10 ``Flag``, as Mastodon federates reports): the
activity's ``actor`` is the reporting *server's* actor (Mastodon sends reports from its
instance actor so the reporting person stays private); ``object`` is one URI or a list,
the reported account first and then the reported posts; ``content`` is the reporter's
comment and may be empty. :func:`receive_flag` verifies the HTTP signature against the
actor's key (fetched through an injected fetcher, cached), checks that the signer is the
actor, and returns a :class:`FlagReport`; anything else raises :class:`ActivityPubError`
with a message saying what was wrong, and nothing is created.

Outbound: ActivityPub defines no "outcome of your Flag" activity. isegoria sends a
``Create`` of a ``Note`` addressed only to the reporting actor, ``inReplyTo`` the Flag,
whose text states the outcome and links the public statement of reasons; the same facts
are in a machine-readable ``isegoria:outcome`` object. Software that does not know the
extension shows the Note as a direct message to the instance actor.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from isegoria.domain.content import MAX_REPORT_REASON, MAX_URL, ContentSnapshot, ReportRequest
from isegoria.domain.decisions import Decision, ReportSource
from isegoria.integrations.httpsig import HttpSignatureError, sign_request, verify_request

__all__ = [
    "AS_CONTEXT",
    "ISEGORIA_NS",
    "ActivityPubError",
    "ActorKey",
    "ActorKeyCache",
    "FlagReport",
    "build_flag_outcome",
    "receive_flag",
    "report_requests",
    "signed_delivery",
]

AS_CONTEXT: Final = "https://www.w3.org/ns/activitystreams"
#: JSON-LD namespace of the outcome extension (documented in docs/integrations/activitypub.md).
ISEGORIA_NS: Final = "https://isegoria.org/ns#"
MAX_FLAG_BYTES: Final = 256 * 1024  # a Flag is a few hundred bytes; refuse megabyte bodies
MAX_FLAG_OBJECTS: Final = 100  # our limit: more objects than this is a dump, not a report
KEY_CACHE_SIZE: Final = 1024
KEY_CACHE_TTL: Final = timedelta(hours=24)  # keys rotate rarely; a failure refetches anyway
PUBLIC_KEY_PEM_MAX: Final = 16 * 1024


class ActivityPubError(ValueError):
    """An inbound activity is refused (signature, actor, shape); nothing was created."""


@dataclass(frozen=True)
class ActorKey:
    """A public key published by an actor."""

    key_id: str
    owner: str
    public_key: rsa.RSAPublicKey


def _key_from_document(key_id: str, document: Any) -> ActorKey:
    if not isinstance(document, dict):
        raise ActivityPubError(f"key document for {key_id} is not a JSON object")
    candidates: list[Any]
    if "publicKeyPem" in document:  # the keyId URL served the key object itself
        candidates = [document]
    else:  # it served the actor: look for the key among its publicKey entries
        published = document.get("publicKey")
        listed = published if isinstance(published, list) else [published]
        # A key embedded in its actor belongs to that actor when it names no owner.
        candidates = [
            {"owner": document.get("id"), **item} if isinstance(item, dict) else item
            for item in listed
        ]
    for candidate in candidates:
        if not isinstance(candidate, dict) or candidate.get("id") != key_id:
            continue
        pem, owner = candidate.get("publicKeyPem"), candidate.get("owner")
        if not isinstance(pem, str) or not isinstance(owner, str) or len(pem) > PUBLIC_KEY_PEM_MAX:
            break
        try:
            key = serialization.load_pem_public_key(pem.encode("ascii", errors="replace"))
        except (ValueError, TypeError):
            raise ActivityPubError(f"the key {key_id} is not a valid PEM public key") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise ActivityPubError(f"the key {key_id} is not an RSA key")
        return ActorKey(key_id=key_id, owner=owner, public_key=key)
    raise ActivityPubError(f"no public key {key_id} is published by its actor")


class ActorKeyCache:
    """Actor keys by ``keyId``, fetched through ``fetcher`` and kept for a while (LRU)."""

    def __init__(
        self,
        fetcher: Callable[[str], dict[str, Any]],
        *,
        clock: Callable[[], datetime],
        ttl: timedelta = KEY_CACHE_TTL,
        size: int = KEY_CACHE_SIZE,
    ) -> None:
        self._fetcher = fetcher
        self._clock = clock
        self._ttl = ttl
        self._size = size
        self._keys: OrderedDict[str, tuple[datetime, ActorKey]] = OrderedDict()
        self.fetches = 0

    def get(self, key_id: str, *, refresh: bool = False) -> ActorKey:
        """The key ``key_id``, from the cache unless stale or ``refresh``."""
        now = self._clock()
        cached = self._keys.get(key_id)
        if cached and not refresh and now - cached[0] < self._ttl:
            self._keys.move_to_end(key_id)
            return cached[1]
        url = key_id.split("#", 1)[0]
        if not url.startswith("https://") and not url.startswith("http://"):
            raise ActivityPubError(f"keyId {key_id!r} is not an http(s) URL")
        self.fetches += 1
        try:
            document = self._fetcher(url)
        except Exception as exc:  # any failure of a remote fetch means: actor unknown
            raise ActivityPubError(f"unknown actor: could not fetch key {key_id} ({exc})") from exc
        key = _key_from_document(key_id, document)
        self._keys[key_id] = (now, key)
        self._keys.move_to_end(key_id)
        while len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return key


@dataclass(frozen=True)
class FlagReport:
    """A verified ``Flag``: who reported, which account and posts, and the comment."""

    flag_id: str
    actor: str  # the reporting server's actor
    account: str | None  # the reported account's URI, when the first object is one
    posts: tuple[str, ...]
    content: str


def _uri(value: Any, what: str) -> str:
    if isinstance(value, dict):  # an embedded object: use its id
        value = value.get("id")
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        raise ActivityPubError(f"{what} must be a URI (at most {MAX_URL} characters)")
    if not value.startswith(("https://", "http://")):
        raise ActivityPubError(f"{what} {value[:80]!r} is not an http(s) URI")
    return value


def _parse_flag(body: bytes, signer: str, is_account: Callable[[str], bool]) -> FlagReport:
    try:
        activity = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ActivityPubError("the body is not valid JSON") from None
    if not isinstance(activity, dict):
        raise ActivityPubError("the activity must be a JSON object")
    kind = activity.get("type")
    if kind != "Flag" and not (isinstance(kind, list) and "Flag" in kind):
        raise ActivityPubError(f"expected a Flag activity, got type {str(kind)[:40]!r}")
    actor = _uri(activity.get("actor"), "actor")
    if actor != signer:
        raise ActivityPubError(f"the Flag's actor {actor} is not the signer {signer}")
    flag_id = _uri(activity.get("id"), "id")
    objects = activity.get("object")
    items = objects if isinstance(objects, list) else [objects]
    if not items or objects is None:
        raise ActivityPubError("a Flag needs an object: the reported account and/or posts")
    if len(items) > MAX_FLAG_OBJECTS:
        raise ActivityPubError(f"a Flag may name at most {MAX_FLAG_OBJECTS} objects")
    uris = [_uri(item, "object") for item in items]
    account = uris[0] if is_account(uris[0]) else None
    posts = tuple(uris[1:] if account else uris)
    content = activity.get("content") or ""
    if not isinstance(content, str):
        raise ActivityPubError("content must be a string")
    return FlagReport(flag_id, actor, account, posts, content[:MAX_REPORT_REASON])


def _looks_like_account(uri: str) -> bool:
    """Mastodon puts the account first; account URIs have no status path segment."""
    return "/statuses/" not in uri and "/objects/" not in uri and "/notes/" not in uri


def receive_flag(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    keys: ActorKeyCache,
    now: datetime,
    is_account: Callable[[str], bool] = _looks_like_account,
) -> FlagReport:
    """Verify and parse a ``Flag`` POSTed to the inbox, or raise :class:`ActivityPubError`."""
    if len(body) > MAX_FLAG_BYTES:
        raise ActivityPubError(f"the body is larger than {MAX_FLAG_BYTES} bytes")
    owners: dict[str, str] = {}

    def public_key_for(key_id: str, refresh: bool) -> rsa.RSAPublicKey:
        key = keys.get(key_id, refresh=refresh)
        owners[key_id] = key.owner
        return key.public_key

    try:
        params = verify_request(method, path, headers, body, public_key_for=public_key_for, now=now)
    except HttpSignatureError as exc:
        raise ActivityPubError(f"bad HTTP signature: {exc}") from exc
    return _parse_flag(body, owners[params.key_id], is_account)


def report_requests(
    flag: FlagReport,
    snapshots: Mapping[str, ContentSnapshot],
    *,
    rule_id: str,
    rule_version: int | None = None,
) -> list[ReportRequest]:
    """One report per reported post found in ``snapshots`` (by URI), citing ``rule_id``.

    A Flag names no rule, so the caller passes the rule the instance maps federated reports
    to (or its triage rule). Posts not in ``snapshots`` were never handed to isegoria.
    """
    reason = flag.content or f"reported from {flag.actor} without a comment"
    return [
        ReportRequest(
            snapshot=snapshots[uri],
            rule_id=rule_id,
            rule_version=rule_version,
            reason=reason,
            source=ReportSource.USER,
            reporter=flag.actor,
        )
        for uri in flag.posts
        if uri in snapshots
    ]


def build_flag_outcome(
    flag: FlagReport,
    decision: Decision,
    *,
    instance_actor: str,
    activity_id: str,
    published: datetime,
) -> dict[str, Any]:
    """The ``Create``/``Note`` telling the reporting server what came of its Flag."""
    sanction = decision.sanction.label if decision.restricts else "no action"
    text = f"Your report {flag.flag_id} was decided by a citizen jury: {sanction}." + (
        f" Statement of reasons: {decision.statement_url}" if decision.statement_url else ""
    )
    outcome = {
        "type": "isegoria:Outcome",
        "decision": decision.kind.value,
        "sanction": decision.sanction.value,
        "suspensionDays": decision.suspension_days,
        "statement": decision.statement_url or None,
        "subject": decision.content_url,
    }
    note = {
        "id": f"{activity_id}/note",
        "type": "Note",
        "attributedTo": instance_actor,
        "to": [flag.actor],
        "inReplyTo": flag.flag_id,
        "content": text,
        "published": published.isoformat(),
        "url": decision.statement_url or None,
        "isegoria:outcome": outcome,
    }
    return {
        "@context": [AS_CONTEXT, {"isegoria": ISEGORIA_NS}],
        "id": activity_id,
        "type": "Create",
        "actor": instance_actor,
        "to": [flag.actor],
        "published": published.isoformat(),
        "object": note,
    }


def signed_delivery(
    activity: Mapping[str, Any],
    inbox_url: str,
    *,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers to POST ``activity`` to ``inbox_url``, signed as Mastodon does."""
    body = json.dumps(activity, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = sign_request("POST", inbox_url, body, key_id=key_id, private_key=private_key, now=now)
    headers["Content-Type"] = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
    return body, headers
