"""Rule texts rendered safely, diffs between versions, and ballot receipts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from isegoria.law.read import diff_lines, diff_text
from isegoria.law.votes import receipt_for
from isegoria.web.pages_law import countdown, markdown


def test_markdown_escapes_raw_html_and_drops_script_links() -> None:
    html = str(markdown("**bold** <script>alert(1)</script> [x](javascript:alert(1)) <b>b</b>"))
    assert "<strong>bold</strong>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>" not in html
    assert 'href="javascript' not in html


def test_diff_marks_added_removed_and_kept_lines() -> None:
    old = "title\nkeep one\nremove me\nkeep two"
    new = "title\nkeep one\nadd me\nkeep two"
    kinds = [(line.kind, line.text) for line in diff_lines(old, new)]
    assert ("del", "remove me") in kinds and ("add", "add me") in kinds
    assert ("ctx", "keep one") in kinds and kinds[0][0] == "hunk"
    assert diff_lines("same", "same") == []
    assert "-remove me\n+add me" in diff_text(diff_lines(old, new))


def test_receipts_bind_proposal_ballot_choice_and_secret() -> None:
    base = receipt_for(7, "b" * 32, "yes", "n" * 32)
    assert len(base) == 64 and base == receipt_for(7, "b" * 32, "yes", "n" * 32)
    others = {
        receipt_for(8, "b" * 32, "yes", "n" * 32),
        receipt_for(7, "c" * 32, "yes", "n" * 32),
        receipt_for(7, "b" * 32, "no", "n" * 32),
        receipt_for(7, "b" * 32, "yes", "m" * 32),
    }
    assert base not in others and len(others) == 4


def test_countdown() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert (
        countdown(now + timedelta(days=2, hours=3, minutes=4, seconds=59), now) == "2 d 3 h 4 min"
    )
    assert countdown(now, now) == "closed"
