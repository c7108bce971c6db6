"""Server-rendered pages (Jinja2): parse the form, call one service, render; charts as SVG."""

__all__ = [
    "forms",
    "my_isegoria",
    "pages",
    "pages_cases",
    "pages_identity",
    "pages_law",
    "pages_log",
    "pages_mfa",
    "pages_notes",
    "pages_notifications",
    "pages_portal",
    "pages_reports",
    "pages_staff",
    "pages_staff_actions",
    "pages_triage",
    "proposal_form",
]
