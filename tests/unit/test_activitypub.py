"""ActivityPub Flag inbox: HTTP signatures, actor keys, parsing, refusals; the outcome Note."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from isegoria.domain.content import ContentSnapshot
from isegoria.domain.decisions import Decision, DecisionKind, ReportSource
from isegoria.domain.sanctions import SanctionStep
from isegoria.integrations.activitypub import (
    ActivityPubError,
    ActorKeyCache,
    FlagReport,
    build_flag_outcome,
    receive_flag,
    report_requests,
    signed_delivery,
)
from isegoria.integrations.httpsig import digest_header, sign_request

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
REMOTE = "https://remote.example/actor"
KEY_ID = f"{REMOTE}#main-key"
INBOX = "https://isegoria.example/ap/inbox"
ACCOUNT = "https://isegoria-forum.example/users/bob"
POST = "https://isegoria-forum.example/users/bob/statuses/110"


@cache
def remote_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def actor_document(key: rsa.RSAPrivateKey | None = None) -> dict[str, Any]:
    key = key or remote_key()
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": REMOTE,
        "type": "Application",
        "inbox": f"{REMOTE}/inbox",
        "publicKey": {"id": KEY_ID, "owner": REMOTE, "publicKeyPem": pem(key)},
    }


def fetcher(documents: dict[str, dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    def fetch(url: str) -> dict[str, Any]:
        if url not in documents:
            raise LookupError(f"404 for {url}")
        return documents[url]

    return fetch


def key_cache(documents: dict[str, dict[str, Any]] | None = None) -> ActorKeyCache:
    return ActorKeyCache(fetcher(documents or {REMOTE: actor_document()}), clock=lambda: NOW)


def flag_body(**overrides: Any) -> bytes:
    flag = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://remote.example/0b5e8c1a",
        "type": "Flag",
        "actor": REMOTE,
        "content": "threatens a neighbour",
        "object": [ACCOUNT, POST],
        **overrides,
    }
    return json.dumps(flag).encode()


def signed(
    body: bytes, *, key: rsa.RSAPrivateKey | None = None, at: datetime = NOW
) -> dict[str, str]:
    return sign_request("POST", INBOX, body, key_id=KEY_ID, private_key=key or remote_key(), now=at)


def receive(headers: dict[str, str], body: bytes, keys: ActorKeyCache | None = None) -> FlagReport:
    return receive_flag("POST", "/ap/inbox", headers, body, keys=keys or key_cache(), now=NOW)


def test_a_signed_flag_yields_the_report() -> None:
    body = flag_body()
    report = receive(signed(body), body)
    assert report == FlagReport(
        flag_id="https://remote.example/0b5e8c1a",
        actor=REMOTE,
        account=ACCOUNT,
        posts=(POST,),
        content="threatens a neighbour",
    )


def test_single_object_and_empty_content_are_accepted() -> None:
    body = flag_body(object=POST, content="")
    report = receive(signed(body), body)
    assert report.account is None and report.posts == (POST,) and report.content == ""
    body = flag_body(object=ACCOUNT)
    assert receive(signed(body), body).account == ACCOUNT


def test_hs2019_and_a_key_served_as_its_own_document_verify() -> None:
    body = flag_body()
    headers = signed(body)
    headers["Signature"] = headers["Signature"].replace("rsa-sha256", "hs2019")
    key_doc = {"id": KEY_ID, "owner": REMOTE, "publicKeyPem": pem(remote_key())}
    assert receive(headers, body, key_cache({REMOTE: key_doc})).actor == REMOTE


def test_keys_are_cached_and_refetched_after_rotation() -> None:
    documents = {REMOTE: actor_document()}
    keys = key_cache(documents)
    body = flag_body()
    receive(signed(body), body, keys)
    receive(signed(body), body, keys)
    assert keys.fetches == 1
    documents[REMOTE] = actor_document(other_key())  # the remote server rotated its key
    receive(signed(body, key=other_key()), body, keys)
    assert keys.fetches == 2


def tamper_body(h: dict[str, str], b: bytes) -> tuple[dict[str, str], bytes]:
    return h, b.replace(b"neighbour", b"neighbor!")


def tamper_digest(h: dict[str, str], b: bytes) -> tuple[dict[str, str], bytes]:
    other = flag_body(content="other")
    return {**h, "Digest": digest_header(other)}, other


def tamper_date(h: dict[str, str], b: bytes) -> tuple[dict[str, str], bytes]:
    return {**h, "Date": "Sun, 01 Mar 2026 12:00:09 GMT"}, b


def tamper_host(h: dict[str, str], b: bytes) -> tuple[dict[str, str], bytes]:
    return {**h, "Host": "evil.example"}, b


def drop_digest_from_signed_list(h: dict[str, str], b: bytes) -> tuple[dict[str, str], bytes]:
    return {**h, "Signature": h["Signature"].replace(" digest", "")}, b


def unsigned(h: dict[str, str], b: bytes) -> tuple[dict[str, str], bytes]:
    return {k: v for k, v in h.items() if k != "Signature"}, b


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (tamper_body, "Digest header does not match"),
        (tamper_digest, "does not verify"),
        (tamper_date, "does not verify"),
        (tamper_host, "does not verify"),
        (drop_digest_from_signed_list, "does not cover digest"),
        (unsigned, "not signed"),
    ],
)
def test_tampering_is_refused(
    tamper: Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]], message: str
) -> None:
    body = flag_body()
    headers, body = tamper(signed(body), body)
    with pytest.raises(ActivityPubError, match=message):
        receive(headers, body)


def test_unknown_actor_wrong_key_and_stale_date_are_refused() -> None:
    body = flag_body()
    with pytest.raises(ActivityPubError, match="unknown actor"):
        receive(signed(body), body, key_cache({"https://other.example/": {}}))
    with pytest.raises(ActivityPubError, match="does not verify"):
        receive(signed(body, key=other_key()), body)
    with pytest.raises(ActivityPubError, match="s old"):
        receive(signed(body, at=NOW - timedelta(hours=2)), body)
    no_key = {**actor_document(), "publicKey": {"id": f"{REMOTE}#other", "publicKeyPem": "x"}}
    with pytest.raises(ActivityPubError, match="no public key"):
        receive(signed(body), body, key_cache({REMOTE: no_key}))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (flag_body(type="Like"), "expected a Flag"),
        (flag_body(actor="https://impostor.example/actor"), "is not the signer"),
        (flag_body(object=[]), "needs an object"),
        (flag_body(object=None), "needs an object"),
        (flag_body(object=[ACCOUNT, 42]), "must be a URI"),
        (flag_body(object="javascript:alert(1)"), "not an http"),
        (flag_body(content=["x"]), "content must be a string"),
        (flag_body(id=None), "id must be a URI"),
    ],
)
def test_malformed_flags_are_refused(body: bytes, message: str) -> None:
    with pytest.raises(ActivityPubError, match=message):
        receive(signed(body), body)


@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=200))
def test_arbitrary_signed_bytes_raise_only_our_error(body: bytes) -> None:
    try:
        receive(signed(body), body)
    except ActivityPubError:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    fields=st.dictionaries(
        st.sampled_from(["id", "type", "actor", "object", "content", "extra"]), json_values
    )
)
def test_arbitrary_json_activities_raise_only_our_error(fields: dict[str, Any]) -> None:
    body = json.dumps({"type": "Flag", "actor": REMOTE, **fields}).encode()
    try:
        report = receive(signed(body), body)
    except ActivityPubError:
        return
    assert report.actor == REMOTE and isinstance(report.posts, tuple)


@settings(max_examples=100, deadline=None)
@given(signature=st.text(max_size=200), date=st.text(max_size=40))
def test_arbitrary_signature_headers_raise_only_our_error(signature: str, date: str) -> None:
    body = flag_body()
    headers = {**signed(body), "Signature": signature, "Date": date}
    with pytest.raises(ActivityPubError):
        receive(headers, body)


def test_reports_are_made_for_known_posts() -> None:
    snapshot = ContentSnapshot(
        platform_content_id="110",
        url=POST,
        text="I know where you live",
        language="en",
        author="bob",
        posted_at=NOW - timedelta(days=1),
        jurisdictions=("FR",),
    )
    flag = FlagReport("https://remote.example/f", REMOTE, ACCOUNT, (POST, POST + "1"), "")
    requests = report_requests(flag, {POST: snapshot}, rule_id="FR-2")
    assert len(requests) == 1
    assert requests[0].snapshot is snapshot and requests[0].rule_id == "FR-2"
    assert requests[0].source is ReportSource.USER and requests[0].reporter == REMOTE
    assert "without a comment" in requests[0].reason


def test_the_outcome_note_is_signed_and_verifiable() -> None:
    flag = FlagReport("https://remote.example/f1", REMOTE, ACCOUNT, (POST,), "spam")
    decision = Decision(
        id=9,
        kind=DecisionKind.SANCTION_IMPOSED,
        platform_id=1,
        case_id=4,
        content_id="110",
        content_url=POST,
        author="bob",
        sanction=SanctionStep.REMOVE,
        suspension_days=None,
        issued_at=NOW,
        sequence=1,
        statement_url="https://isegoria.example/statements/4",
    )
    activity = build_flag_outcome(
        flag,
        decision,
        instance_actor="https://isegoria.example/actor",
        activity_id="https://isegoria.example/activities/9",
        published=NOW,
    )
    assert activity["type"] == "Create" and activity["to"] == [REMOTE]
    note = activity["object"]
    assert note["inReplyTo"] == flag.flag_id
    assert decision.statement_url in note["content"] and "remove" in note["content"]
    assert note["isegoria:outcome"]["sanction"] == "remove"

    instance_key = other_key()
    body, headers = signed_delivery(
        activity,
        f"{REMOTE}/inbox",
        key_id="https://isegoria.example/actor#main-key",
        private_key=instance_key,
        now=NOW,
    )
    assert json.loads(body) == activity
    assert headers["Digest"] == digest_header(body)
    # Rebuild the signing string as a remote server would and check the RSA signature.
    params = dict(part.split("=", 1) for part in headers["Signature"].split(","))
    assert params["headers"].strip('"') == "(request-target) host date digest"
    signing_string = (
        "(request-target): post /actor/inbox\n"
        f"host: remote.example\ndate: {headers['Date']}\ndigest: {headers['Digest']}"
    ).encode()
    instance_key.public_key().verify(
        base64.b64decode(params["signature"].strip('"')),
        signing_string,
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
