"""Server-rendered pages (Jinja2): parse the form, call one service, render; charts as SVG."""

__all__ = [
    "formatting",
    "law_words",
    "log_facts",
    "pages",
    "pages_cases",
    "pages_identity",
    "pages_law",
    "pages_log",
    "pages_mfa",
    "pages_notes",
    "pages_notifications",
    "pages_reports",
    "pages_triage",
]
