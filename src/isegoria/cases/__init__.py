"""Cases: reports, juries, ballots, verdicts, appeals and retrials."""

__all__ = [
    "appeal",
    "ballots",
    "capacity",
    "common",
    "draw_audit",
    "intake",
    "interim",
    "jobs",
    "jury",
    "jury_verify",
    "reasons_view",
    "replacements",
    "secrecy",
    "verdict",
    "views",
]
