"""Every parser of outside input: arbitrary input gives a value or the module's own error.

Each property feeds generated input (raw bytes, arbitrary JSON, and near-valid shapes that get
past the first checks) to one parser and accepts exactly two outcomes: a parsed value, or
the error type the module documents. Any other exception is a bug.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import tempfile
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from isegoria.domain.content import ContentSnapshot
from isegoria.integrations import atproto_labels, community_notes_tsv, webhooks
from isegoria.integrations.activitypub import ActivityPubError, FlagReport
from isegoria.integrations.community_notes_tsv_format import CommunityNotesFormatError
from isegoria.integrations.httpsig import HttpSignatureError, parse_signature_header
from isegoria.integrations.mastodon import MastodonAdapter, MastodonConfig, WebhookError
from isegoria.integrations.matrix_mapping import (
    Pseudonyms,
    RuleMapping,
    TriageItem,
    report_or_triage,
)
from isegoria.integrations.matrix_snapshot import MatrixConfig, snapshot_of_event
from tests.unit.test_activitypub import flag_body, receive, signed

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "whsec-fuzz"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Arbitrary JSON values, nested a few levels.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=15,
)
hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "9" * 400,
            "9" * 5000,
            "1e309",
            "NaN",
            "\x00",
            "\u202e",
            "é" * 100,
            "t=",
            "v1=",
            "t=1,v1=",
            "=,=,=",
            '"',
            'keyId="',
        ]
    ),
)


# -- outbound webhooks, verified by a receiver (integrations/webhooks.py) -------------------


@st.composite
def webhook_headers(draw: st.DrawFn) -> dict[str, str]:
    body_time = draw(
        st.one_of(
            st.integers(min_value=0, max_value=2**40).map(str),
            st.text(alphabet="0123456789", min_size=1, max_size=5000),
            hostile_text,
        )
    )
    mac = draw(st.one_of(st.text(alphabet="0123456789abcdef", max_size=64), hostile_text))
    shape = draw(st.sampled_from(["both", "signature-only", "garbage", "none"]))
    headers: dict[str, str] = {}
    if shape == "none":
        return headers
    if shape != "garbage":
        headers[webhooks.SIGNATURE_HEADER] = f"t={body_time},v1={mac}"
    else:
        headers[webhooks.SIGNATURE_HEADER] = draw(hostile_text)
    if shape != "signature-only":
        headers[webhooks.DELIVERY_HEADER] = draw(hostile_text)
    return headers


@FUZZ
@given(headers=webhook_headers(), body=st.binary(max_size=200))
def test_webhook_verify_inbound_raises_only_its_error(headers: dict[str, str], body: bytes) -> None:
    try:
        delivery = webhooks.verify_inbound(headers, body, SECRET, NOW, {})
    except webhooks.WebhookVerificationError:
        return
    assert isinstance(delivery, str)


@FUZZ
@given(stamp=st.integers(min_value=-(10**30), max_value=10**400), body=st.binary(max_size=50))
def test_webhook_signatures_with_any_timestamp_raise_only_its_error(
    stamp: int, body: bytes
) -> None:
    mac = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {webhooks.SIGNATURE_HEADER: f"t={stamp},v1={mac}", webhooks.DELIVERY_HEADER: "d"}
    try:
        webhooks.verify_inbound(headers, body, SECRET, NOW, {})
    except webhooks.WebhookVerificationError:
        return
    assert abs(NOW.timestamp() - stamp) <= webhooks.SIGNATURE_TOLERANCE_SECONDS


# -- Mastodon webhooks (integrations/mastodon.py) -------------------------------------------


def _mastodon() -> MastodonAdapter:
    config = MastodonConfig(rules=RuleMapping(), jurisdictions=("MX",), webhook_secret=SECRET)
    return MastodonAdapter(
        api=cast(Any, None),  # verify_webhook never calls the Mastodon API
        config=config,
        pseudonyms=Pseudonyms(b"k" * 64, platform="m"),
        clock=lambda: NOW,
    )


def _hub_signature(body: bytes) -> dict[str, str]:
    return {
        "X-Hub-Signature": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    }


mastodon_payloads = st.fixed_dictionaries(
    {},
    optional={
        "event": json_values,
        "object": st.one_of(json_values, st.fixed_dictionaries({"id": json_values})),
        "created_at": st.one_of(
            json_values,
            st.sampled_from(
                [
                    "2026-03-01T12:00:00Z",
                    "2026-03-01T12:00:00",
                    "2026-03-01",
                    "9999-12-31T23:59:59+14:00",
                ]
            ),
            st.datetimes().map(lambda d: d.isoformat()),
        ),
    },
)


@FUZZ
@given(payload=st.one_of(mastodon_payloads, json_values))
def test_mastodon_signed_payloads_raise_only_webhook_error(payload: Any) -> None:
    body = json.dumps(payload).encode()
    try:
        verified = _mastodon().verify_webhook(body, _hub_signature(body))
    except WebhookError:
        return
    assert isinstance(verified, dict)


@FUZZ
@given(body=st.binary(max_size=200), header=hostile_text)
def test_mastodon_unsigned_bytes_raise_only_webhook_error(body: bytes, header: str) -> None:
    try:
        _mastodon().verify_webhook(body, {"X-Hub-Signature": header})
    except WebhookError:
        return
    raise AssertionError("an unsigned body was accepted")


# -- ActivityPub Flags and HTTP signatures (integrations/activitypub.py, httpsig.py) --------


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(["type", "actor", "object", "content", "id", "@context"]),
        json_values,
        max_size=6,
    )
)
def test_signed_flags_of_any_shape_raise_only_activitypub_error(fields: dict[str, Any]) -> None:
    body = flag_body(**fields)
    try:
        report = receive(signed(body), body)
    except ActivityPubError:
        return
    assert isinstance(report, FlagReport)


@FUZZ
@given(
    value=st.one_of(
        hostile_text,
        st.lists(
            st.tuples(
                st.sampled_from(["keyId", "signature", "headers", "algorithm", "x", ""]),
                hostile_text,
            ),
            max_size=5,
        ).map(lambda pairs: ",".join(f'{k}="{v}"' for k, v in pairs)),
    )
)
def test_signature_headers_raise_only_http_signature_error(value: str) -> None:
    try:
        params = parse_signature_header(value)
    except HttpSignatureError:
        return
    assert params.key_id and isinstance(params.signature, bytes)


# -- Community Notes TSV imports (integrations/community_notes_tsv*.py) ---------------------

READERS = [
    community_notes_tsv.read_ratings,
    community_notes_tsv.read_notes,
    community_notes_tsv.read_note_status_history,
    community_notes_tsv.read_user_enrollment,
]
COLUMNS = [
    "noteId",
    "raterParticipantId",
    "noteAuthorParticipantId",
    "participantId",
    "createdAtMillis",
    "helpfulnessLevel",
    "helpful",
    "notHelpful",
    "classification",
    "currentStatus",
    "firstNonNMRStatus",
    "timestampMillisOfCurrentStatus",
    "enrollmentState",
    "modelingGroup",
    "successfulRatingNeededToEarnIn",
    "version",
    "summary",
]
cells = st.one_of(
    st.sampled_from(["1", "0", "-1", "HELPFUL", "NOT_HELPFUL", "1.0", "", "-1", "9" * 30]),
    st.text(
        alphabet=st.characters(blacklist_characters="\t\n\r", blacklist_categories=["Cs"]),
        max_size=12,
    ),
)


@st.composite
def tsv_files(draw: st.DrawFn) -> bytes:
    header = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=10))
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=len(header) + 1), max_size=4))
    text = "\n".join("\t".join(r) for r in [header, *rows]) + "\n"
    raw = text.encode("utf-8")
    if draw(st.booleans()):
        raw += draw(st.binary(max_size=20))  # a torn or mis-encoded tail
    return raw


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(tsv_files(), st.binary(max_size=200)), reader=st.sampled_from(READERS))
def test_tsv_imports_raise_only_the_format_error(raw: bytes, reader: Any) -> None:
    fd, name = tempfile.mkstemp(suffix=".tsv")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        try:
            rows = list(reader(name))
        except CommunityNotesFormatError:
            return
        assert all(isinstance(r, tuple) for r in rows)
    finally:
        os.unlink(name)


@FUZZ
@given(text=st.text(max_size=300), reader=st.sampled_from(READERS))
def test_tsv_text_streams_raise_only_the_format_error(text: str, reader: Any) -> None:
    try:
        list(reader(io.StringIO(text)))
    except CommunityNotesFormatError:
        pass


# -- Matrix report mapping (integrations/matrix_mapping.py, matrix_snapshot.py) -------------

PSEUDONYMS = Pseudonyms(b"p" * 64, platform="matrix")


@FUZZ
@given(
    data=st.one_of(
        json_values,
        st.dictionaries(
            st.sampled_from(["reasons", "keywords", "platform_rules", "categories", "known_rules"]),
            json_values,
            max_size=5,
        ),
    ),
    reason=hostile_text,
    category=st.none() | hostile_text,
    ids=st.lists(hostile_text, max_size=3),
)
def test_rule_mappings_and_matching_raise_only_value_error(
    data: Any, reason: str, category: str | None, ids: list[str]
) -> None:
    try:
        mapping = RuleMapping.from_json(data if isinstance(data, dict) else {"reasons": data})
    except ValueError:
        return
    found = report_or_triage(
        ContentSnapshot("e", "", "", "und", "@a", NOW, ("MX",)),
        mapping=mapping,
        reason=reason,
        reporter=None,
        platform_report_id="r",
        platform_rule_ids=ids,
        category=category,
    )
    assert isinstance(found, TriageItem) or found.rule_id


@FUZZ
@given(account=hostile_text)
def test_pseudonyms_raise_only_value_error(account: str) -> None:
    try:
        pseudonym = PSEUDONYMS.of(account)
    except ValueError:
        return
    try:
        PSEUDONYMS.account(account)
    except ValueError:
        pass
    assert pseudonym.startswith(PSEUDONYMS.of(account)[:3])


@FUZZ
@given(
    event=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"sender": json_values},
            optional={
                "content": json_values,
                "room_id": json_values,
                "event_id": json_values,
                "type": json_values,
                "origin_server_ts": st.one_of(json_values, st.integers(-(2**80), 2**80)),
            },
        ),
    )
)
def test_matrix_events_raise_only_value_error(event: Any) -> None:
    config = MatrixConfig.from_json({"jurisdictions": ["MX"], "rules": {}})
    try:
        snapshot = snapshot_of_event(
            event if isinstance(event, dict) else {"content": event},
            pseudonyms=PSEUDONYMS,
            config=config,
        )
    except ValueError:
        return
    assert snapshot.posted_at.tzinfo is not None


# -- AT Protocol createReport (integrations/atproto_labels.py) ------------------------------

atproto_inputs = st.fixed_dictionaries(
    {},
    optional={
        "reasonType": st.one_of(
            json_values, st.sampled_from(["com.atproto.moderation.defs#reasonSpam", "#", "x#y"])
        ),
        "reason": json_values,
        "subject": st.one_of(
            json_values,
            st.dictionaries(
                st.sampled_from(["$type", "did", "uri", "cid"]),
                st.one_of(
                    json_values,
                    st.sampled_from(
                        [
                            "com.atproto.admin.defs#repoRef",
                            "com.atproto.repo.strongRef",
                            "did:plc:abc",
                            "at://did:plc:abc/app.bsky.feed.post/1",
                        ]
                    ),
                ),
                max_size=4,
            ),
        ),
    },
)


@FUZZ
@given(
    body=st.one_of(atproto_inputs, st.dictionaries(st.text(max_size=10), json_values, max_size=4))
)
def test_atproto_create_report_raises_only_atproto_error(body: dict[str, Any]) -> None:
    try:
        report = atproto_labels.create_report(
            body, reason_rules={"com.atproto.moderation.defs#reasonSpam": "MX-1"}
        )
    except atproto_labels.AtprotoError:
        return
    assert report.subject_did.startswith("did:")


def test_an_old_timestamp_is_refused_not_crashed() -> None:
    """A regression found by the fuzzer: huge numbers must be a typed error, not Overflow."""
    stamp = 10**400
    headers = {webhooks.SIGNATURE_HEADER: f"t={stamp},v1=00", webhooks.DELIVERY_HEADER: "d"}
    try:
        webhooks.verify_inbound(headers, b"", SECRET, NOW - timedelta(0), {})
    except webhooks.WebhookVerificationError as error:
        assert "timestamp" in str(error)
    else:
        raise AssertionError("a timestamp 400 digits long was accepted")


@FUZZ
@given(
    data=st.one_of(
        json_values,
        st.dictionaries(
            st.sampled_from(
                ["jurisdictions", "rules", "language", "ban", "notify", "reduce_reach"]
            ),
            json_values,
            max_size=6,
        ),
    )
)
def test_matrix_configs_raise_only_value_error(data: Any) -> None:
    try:
        MatrixConfig.from_json(data if isinstance(data, dict) else {"jurisdictions": data})
    except ValueError:
        pass
