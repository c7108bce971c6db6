"""Pure parts of the platform adapters: pseudonyms, rule mapping, snapshots, paging."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isegoria.domain.content import ReportRequest
from isegoria.integrations.matrix import (
    MatrixAdapter,
    MatrixConfig,
    MatrixCursor,
    snapshot_of_event,
)
from isegoria.integrations.matrix_mapping import Pseudonyms, RuleMapping, RuleMatch, TriageItem

KEY = bytes(range(64))
MAPPING = RuleMapping(
    reasons={"spam": "intl-5"},  # the demo world's rules (docs/integrations/matrix.md)
    keywords={"threat": "intl-2", "doxxing": "intl-3", "scam": "intl-4"},
    platform_rules={"3": "intl-2"},
    categories={"spam": "intl-5"},
    known_rules=frozenset({"MX-3", "intl-2"}),
)
CONFIG = MatrixConfig(rules=MAPPING, jurisdictions=("intl",))


@settings(max_examples=50, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=80,
    )
)
def test_pseudonym_is_stable_and_reversible(account: str) -> None:
    names = Pseudonyms(KEY, platform="matrix")
    assert names.of(account) == names.of(account)
    assert names.account(names.of(account)) == account


@pytest.mark.parametrize("account", ["\ud800", "@a\udfff:example.org", "x\x00y"])
def test_an_account_id_that_is_not_text_is_refused(account: str) -> None:
    # JSON may carry a lone surrogate ("\ud800"), which has no UTF-8 form.
    with pytest.raises(ValueError, match="account id"):
        Pseudonyms(KEY, platform="matrix").of(account)


def test_pseudonym_hides_the_account_and_refuses_foreign_ones() -> None:
    names = Pseudonyms(KEY, platform="matrix")
    alice = names.of("@alice:example.org")
    assert "alice" not in alice and alice != names.of("@alicf:example.org")
    assert len(names.of("@a:b")) == len(names.of("@abcdefgh:b"))  # padded to a bucket
    other = Pseudonyms(os.urandom(64), platform="matrix")
    with pytest.raises(ValueError, match="not issued"):
        other.account(alice)
    with pytest.raises(ValueError, match="not a pseudonym"):
        Pseudonyms(KEY, platform="mastodon").account(alice)


@pytest.mark.parametrize(
    ("reason", "kwargs", "expected"),
    [
        ("this breaks mx-3 clearly, a threat", {}, RuleMatch("MX-3", "cited")),
        ("Spam", {}, RuleMatch("intl-5", "reason")),
        ("a THREAT to me", {}, RuleMatch("intl-2", "keyword")),
        ("whatever", {"platform_rule_ids": ["3"]}, RuleMatch("intl-2", "platform_rule")),
        ("", {"category": "spam"}, RuleMatch("intl-5", "category")),
        ("threat and doxxing", {}, ("intl-2", "intl-3")),
        ("I dislike it", {}, ()),
        ("see ZZ-9", {}, ()),  # an unknown rule id is not trusted
    ],
)
def test_rule_mapping_precedence(reason: str, kwargs: dict[str, Any], expected: object) -> None:
    assert MAPPING.match(reason, **kwargs) == expected


def test_rule_mapping_from_json_rejects_unknown_keys() -> None:
    loaded = RuleMapping.from_json({"reasons": {"Spam": "intl-5"}, "known_rules": ["MX-3"]})
    assert loaded.match("spam") == RuleMatch("intl-5", "reason")
    with pytest.raises(ValueError, match="unknown keys"):
        RuleMapping.from_json({"reason": {}})
    with pytest.raises(ValueError, match="ban must be one of"):
        MatrixConfig.from_json({"jurisdictions": ["intl"], "ban": "delete"})


def test_snapshot_of_event() -> None:
    names = Pseudonyms(KEY, platform="matrix")
    event = {
        "event_id": "$e1", "room_id": "!r:hs", "sender": "@bob:hs", "type": "m.room.message",
        "origin_server_ts": 1_767_225_600_000, "content": {"body": "hola", "msgtype": "m.text"},
    }  # fmt: skip
    snap = snapshot_of_event(event, pseudonyms=names, config=CONFIG, room_name="Plaza")
    assert snap.text == "hola" and snap.platform_content_id == "$e1"
    assert snap.posted_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert snap.context == {"room": "!r:hs", "event_type": "m.room.message", "room_name": "Plaza"}
    assert names.account(snap.author) == "@bob:hs" and snap.url == "https://matrix.to/#/!r:hs/$e1"


class _PagedReports:
    """Event reports 1..n, newest first, two per page, as Synapse pages them."""

    def __init__(self, n: int) -> None:
        self.rows = [
            {"id": i, "event_id": f"$e{i}", "room_id": "!r:hs", "sender": "@a:hs",
             "user_id": "@b:hs", "reason": "spam" if i % 2 else "meh", "received_ts": 0}
            for i in range(n, 0, -1)
        ]  # fmt: skip
        self.pages = 0

    def event_reports(self, start: int, limit: int) -> dict[str, Any]:
        self.pages += 1
        page = self.rows[start : start + 2]
        reply: dict[str, Any] = {"event_reports": page, "total": len(self.rows)}
        if start + 2 < len(self.rows):
            reply["next_token"] = start + 2
        return reply

    def event_report(self, report_id: int) -> dict[str, Any]:
        row = next(r for r in self.rows if r["id"] == report_id)
        event = {"content": {"body": f"text {report_id}"}, "origin_server_ts": 0}
        return {**row, "event_json": event}

    def user_reports(self, start: int, limit: int) -> None:
        return None


def test_poll_reads_only_past_the_cursor_and_stops_paging_there() -> None:
    fake = _PagedReports(7)
    adapter = MatrixAdapter(fake, CONFIG, Pseudonyms(KEY, platform="matrix"))  # type: ignore[arg-type]
    polled = adapter.poll_reports(MatrixCursor(event_reports=4))
    assert [i.snapshot.platform_content_id for i in polled.items] == ["$e5", "$e6", "$e7"]
    assert fake.pages == 2  # page 1 has 7,6; page 2 has 5,4 and 4 was handled: stop
    assert polled.cursor == MatrixCursor(event_reports=7)
    assert isinstance(polled.items[0], ReportRequest) and isinstance(polled.items[1], TriageItem)
    assert MatrixCursor.from_json(polled.cursor.to_json()) == polled.cursor
    assert adapter.poll_reports(polled.cursor).items == ()
