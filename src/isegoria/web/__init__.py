"""Server-rendered pages (Jinja2): parse the form, call one service, render; charts as SVG."""

__all__ = [
    "pages",
    "pages_cases",
    "pages_identity",
    "pages_law",
    "pages_log",
    "pages_mfa",
    "pages_notes",
    "pages_notifications",
    "pages_passkeys",
    "pages_reports",
    "pages_staff_people",
    "pages_staff_trail",
    "pages_triage",
    "signin_limits",
]
