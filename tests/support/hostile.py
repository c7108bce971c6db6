"""Hostile posts: what platforms will send sooner or later, one kind at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from isegoria.domain.content import MAX_CONTENT_TEXT

MEGABYTE_HEAD = "BEGIN-OF-POST "
MEGABYTE_TAIL = " END-OF-POST"


@dataclass(frozen=True)
class HostilePost:
    """One kind of hostile content: the post's text and author, and a phrase to look for."""

    kind: str
    text: str
    visible: str  # a part of the text that must appear on the page, as text
    author: str = "@troll"


def _megabyte() -> str:
    fill = MAX_CONTENT_TEXT - len(MEGABYTE_HEAD) - len(MEGABYTE_TAIL)
    lines = ("word " * 15 + "\n") * (fill // 76 + 1)
    return MEGABYTE_HEAD + lines[:fill] + MEGABYTE_TAIL


HOSTILE = [
    HostilePost(
        "html",
        '<h1 id="injected">BIG</h1><a id="jslink" href="javascript:alert(3)">click</a>'
        '<style>body{display:none}</style><iframe src="https://evil.example/"></iframe>',
        '<h1 id="injected">BIG</h1>',
    ),
    HostilePost(
        "script",
        '<script>alert("xss")</script><img src=x onerror="alert(2)"><svg onload=alert(4)>'
        "</pre></blockquote><script>console.error('escaped')</script>",
        '<script>alert("xss")</script>',
        author='<script>alert("author")</script>',
    ),
    HostilePost(
        "rtl",
        "Pay the invoice \u202egpj.exe\u202c now, and \u2067isolated\u2069 too",
        "Pay the invoice",
        author="@\u202eevil",
    ),
    HostilePost(
        "zero_width",
        "\npay\u200bpal lo\u200cg\u200din \ufeffhere\u2060 cafe\u0301 \U0001f600",
        "pay\u200bpal",
    ),
    HostilePost("megabyte", _megabyte(), MEGABYTE_HEAD.strip()),
    # The platform received bytes that were not UTF-8 (b"caf\xe9 \xff\xfe"); JSON carries
    # Unicode text only, so it decoded them with replacement before sending (docs/api.md).
    HostilePost("invalid_utf8", b"caf\xe9 \xff\xfe ok".decode("utf-8", errors="replace"), "ok"),
]


def report_body(post: HostilePost, content_id: str, posted_at: datetime) -> dict[str, Any]:
    """A platform's report of the hostile post under MX's threats rule."""
    return {
        "content": {
            "content_id": content_id,
            "url": "javascript:alert(5)",
            "text": post.text,
            "language": "es",
            "author": post.author,
            "posted_at": posted_at.isoformat(),
            "jurisdictions": ["MX"],
        },
        "rule": "MX-1",
        "reason": "Hostile content test.",
        "source": "user",
        "reporter": "@victim",
    }
