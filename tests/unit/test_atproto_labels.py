"""AT Protocol labels, checked with the `atproto` Python SDK as the client.

The SDK (atproto 0.0.73) has no label-verification function, and its ``Label`` model does
not decode the ``{"$bytes": ...}`` JSON form of ``sig``; so the test fetches
``queryLabels`` through the SDK's XRPC client (``Client.invoke_query``), validates each
label with the SDK's ``ComAtprotoLabelDefs.Label`` model, and verifies each signature with
the SDK's ``atproto_crypto.verify.verify_signature`` (did:key) over
``libipld.encode_dag_cbor`` of the label without ``sig`` (the SDK's DAG-CBOR library).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import libipld
import pytest
from atproto import Client, models
from atproto_client.models.utils import get_or_create
from atproto_crypto.did import parse_did_key
from atproto_crypto.verify import verify_signature
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from isegoria.domain.decisions import Decision, DecisionKind
from isegoria.domain.sanctions import SanctionStep
from isegoria.integrations.atproto_keys import CURVE_ORDER, LabelerKey, base58btc, dag_cbor
from isegoria.integrations.atproto_labels import (
    AtprotoError,
    Label,
    create_report,
    create_report_output,
    labels_for_decision,
    query_labels,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
AUTHOR = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
POST = f"at://{AUTHOR}/app.bsky.feed.post/3l6oveex3ii2l"
LABELER = "did:plc:isegorialabeler0000000001"


@cache
def _key(curve: str) -> LabelerKey:
    return LabelerKey.generate(curve)  # type: ignore[arg-type]


def key(curve: str = "secp256k1") -> LabelerKey:
    return _key(curve)  # one key per curve, however the curve is passed


def decision(
    number: int, kind: DecisionKind, sanction: SanctionStep, days: int | None = None
) -> Decision:
    return Decision(
        id=number,
        kind=kind,
        platform_id=1,
        case_id=5,
        content_id="3l6oveex3ii2l",
        content_url=POST,
        author=AUTHOR,
        sanction=sanction,
        suspension_days=days,
        issued_at=NOW,
        sequence=number,
        extra={"cid": "bafyreib2rxk3rh6kzwq"},
    )


def published(curve: str = "secp256k1") -> list[Label]:
    """Remove, suspend, then an appeal lifts the removal."""
    removed = decision(1, DecisionKind.SANCTION_IMPOSED, SanctionStep.REMOVE)
    suspended = decision(2, DecisionKind.SANCTION_IMPOSED, SanctionStep.SUSPEND, days=7)
    lifted = decision(3, DecisionKind.SANCTION_LIFTED, SanctionStep.NONE)
    out: list[Label] = []
    for item, restored in ((removed, None), (suspended, None), (lifted, removed)):
        out += labels_for_decision(item, key=key(curve), labeler_did=LABELER, restored=restored)
    return out


@pytest.fixture
def labeler_url() -> Iterator[tuple[str, list[Label]]]:
    labels = published()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            try:
                assert parts.path == "/xrpc/com.atproto.label.queryLabels"
                output = query_labels(
                    labels,
                    query.get("uriPatterns", []),
                    query.get("sources"),
                    int(query.get("limit", ["50"])[0]),
                    query.get("cursor", [None])[0],
                )
                status, body = 200, json.dumps(output).encode()
            except (AtprotoError, AssertionError) as exc:
                status = 400
                body = json.dumps({"error": "InvalidRequest", "message": str(exc)}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/xrpc", labels
    server.shutdown()
    server.server_close()


def sdk_query(base_url: str, **params: Any) -> dict[str, Any]:
    client = Client(base_url=base_url)
    response = client.invoke_query(
        "com.atproto.label.queryLabels",
        params=models.ComAtprotoLabelQueryLabels.Params(**params),
        output_encoding="application/json",
    )
    assert isinstance(response.content, dict)
    return response.content


def sdk_verify(raw: dict[str, Any], did_key: str) -> models.ComAtprotoLabelDefs.Label:
    sig = base64.b64decode(raw["sig"]["$bytes"] + "==")
    model = get_or_create({**raw, "sig": sig}, models.ComAtprotoLabelDefs.Label, strict=True)
    assert isinstance(model, models.ComAtprotoLabelDefs.Label)
    unsigned = {k: v for k, v in raw.items() if k != "sig"}
    assert verify_signature(did_key, libipld.encode_dag_cbor(unsigned), sig)
    return model


def test_the_sdk_reads_and_verifies_every_label(labeler_url: tuple[str, list[Label]]) -> None:
    url, _ = labeler_url
    output = sdk_query(url, uri_patterns=[f"at://{AUTHOR}*", AUTHOR], sources=[LABELER])
    models_ = [sdk_verify(raw, key().did_key) for raw in output["labels"]]
    assert [(m.val, m.uri, bool(m.neg)) for m in models_] == [
        ("isegoria-removed", POST, False),
        ("isegoria-suspended", AUTHOR, False),
        ("isegoria-removed", POST, True),  # the appeal retracted the removal
    ]
    assert all(m.ver == 1 and m.src == LABELER for m in models_)
    assert models_[0].cid == "bafyreib2rxk3rh6kzwq" and models_[1].cid is None
    assert models_[0].cts == "2026-03-01T12:00:00.123Z"
    assert models_[1].exp == "2026-03-08T12:00:00.123Z"  # a 7-day suspension expires


def test_a_tampered_label_or_another_key_fails_sdk_verification(
    labeler_url: tuple[str, list[Label]],
) -> None:
    url, _ = labeler_url
    raw = sdk_query(url, uri_patterns=[POST])["labels"][0]
    unsigned = {k: v for k, v in raw.items() if k != "sig"}
    sig = base64.b64decode(raw["sig"]["$bytes"] + "==")
    tampered = {**unsigned, "val": "isegoria-reduced-reach"}
    assert not verify_signature(key().did_key, libipld.encode_dag_cbor(tampered), sig)
    assert not verify_signature(key("p256").did_key, libipld.encode_dag_cbor(unsigned), sig)


def test_paging_through_the_sdk(labeler_url: tuple[str, list[Label]]) -> None:
    url, labels = labeler_url
    first = sdk_query(url, uri_patterns=["at://*", "did:*"], limit=2)
    assert len(first["labels"]) == 2 and first["cursor"] == "2"
    rest = sdk_query(url, uri_patterns=["at://*", "did:*"], limit=2, cursor=first["cursor"])
    assert [r["neg"] for r in rest["labels"]] == [True] and "cursor" not in rest
    assert sdk_query(url, uri_patterns=[POST], sources=["did:plc:other"])["labels"] == []


def test_p256_labels_verify_too() -> None:
    for label in published("p256"):
        sdk_verify(label.to_json(), key("p256").did_key)


def test_did_key_round_trips_through_the_sdk() -> None:
    for curve in ("secp256k1", "p256"):
        parsed = parse_did_key(key(curve).did_key)
        public = (
            key(curve)
            .private_key.public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        assert parsed.key_bytes == public
        assert parsed.jwt_alg == ("ES256K" if curve == "secp256k1" else "ES256")
    assert base58btc(b"\0\0\x01") == "112"


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=64))
def test_signatures_are_low_s(data: bytes) -> None:
    for curve in ("secp256k1", "p256"):
        sig = key(curve).sign(data)
        assert len(sig) == 64
        assert int.from_bytes(sig[32:], "big") <= CURVE_ORDER[curve] // 2


cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(value=cbor_values)
def test_our_dag_cbor_matches_the_sdk_encoder(value: Any) -> None:
    assert dag_cbor(value) == libipld.encode_dag_cbor(value)


def test_no_action_gives_no_label_and_bad_subjects_are_refused() -> None:
    nothing = decision(9, DecisionKind.NO_ACTION, SanctionStep.NONE)
    assert labels_for_decision(nothing, key=key(), labeler_did=LABELER) == []
    web = Decision(
        id=4,
        kind=DecisionKind.SANCTION_IMPOSED,
        platform_id=1,
        case_id=1,
        content_id="9",
        content_url="https://forum.example/9",
        author="alice",
        sanction=SanctionStep.BAN,
        suspension_days=None,
        issued_at=NOW,
        sequence=1,
    )
    with pytest.raises(AtprotoError, match="author's DID"):
        labels_for_decision(web, key=key(), labeler_did=LABELER)
    with pytest.raises(AtprotoError, match="at:// URI"):
        labels_for_decision(
            Decision(**{**web.__dict__, "sanction": SanctionStep.REMOVE}),
            key=key(),
            labeler_did=LABELER,
        )


def test_query_input_errors() -> None:
    with pytest.raises(AtprotoError, match="uriPatterns"):
        query_labels([], [])
    with pytest.raises(AtprotoError, match="between 1 and 250"):
        query_labels([], ["*"], limit=251)
    with pytest.raises(AtprotoError, match="cursor"):
        query_labels([], ["*"], cursor="abc")


RULES = {
    "com.atproto.moderation.defs#reasonSpam": "intl-7",
    "com.atproto.moderation.defs#reasonRude": "intl-2",
}


def test_create_report_maps_reasons_to_rules() -> None:
    post = create_report(
        {
            "reasonType": "com.atproto.moderation.defs#reasonSpam",
            "reason": "same link in 40 replies",
            "subject": {"$type": "com.atproto.repo.strongRef", "uri": POST, "cid": "bafyx"},
        },
        reason_rules=RULES,
    )
    assert (post.rule_id, post.subject_uri, post.subject_did, post.subject_cid) == (
        "intl-7",
        POST,
        AUTHOR,
        "bafyx",
    )
    account = create_report(
        {
            "reasonType": "com.atproto.moderation.defs#reasonOther",
            "subject": {"$type": "com.atproto.admin.defs#repoRef", "did": AUTHOR},
        },
        reason_rules=RULES,
    )
    assert account.rule_id is None and account.subject_uri == AUTHOR  # triage
    appeal = create_report(
        {"reasonType": "com.atproto.moderation.defs#reasonAppeal", "subject": {"did": AUTHOR}},
        reason_rules=RULES,
        default_rule="intl-0",
    )
    assert appeal.is_appeal and appeal.rule_id == "intl-0"
    output = create_report_output(post, report_id=12, reported_by="did:plc:r", created_at=NOW)
    parsed = get_or_create(output, models.ComAtprotoModerationCreateReport.Response, strict=True)
    assert isinstance(parsed, models.ComAtprotoModerationCreateReport.Response)
    assert parsed.id == 12 and parsed.reported_by == "did:plc:r"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"subject": {"did": AUTHOR}}, "reasonType"),
        ({"reasonType": "x#y", "subject": "did:plc:x"}, "subject must be"),
        ({"reasonType": "x#y", "subject": {"did": "alice"}}, "must be a DID"),
        ({"reasonType": "x#y", "subject": {"uri": "https://x", "cid": "b"}}, "at:// URI"),
        ({"reasonType": "x#y", "subject": {"uri": POST}}, "cid is required"),
        ({"reasonType": "x#y", "subject": {"$type": "app.bsky.x"}}, "not supported"),
        ({"reasonType": "x#y", "reason": 5, "subject": {"did": AUTHOR}}, "reason must"),
    ],
)
def test_create_report_refuses_bad_input(data: dict[str, Any], message: str) -> None:
    with pytest.raises(AtprotoError, match=message):
        create_report(data, reason_rules=RULES)
