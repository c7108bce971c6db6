"""Cases: reports, juries, ballots, verdicts, appeals and retrials."""

__all__ = [
    "appeal",
    "ballots",
    "common",
    "intake",
    "interim",
    "jobs",
    "jury",
    "jury_verify",
    "replacements",
    "secrecy",
    "verdict",
    "views",
]
