"""The rules of the game, pure: identities, sanctions, rulebook, constitutions, tallies,
verdicts, the states they talk about, and the log entries they produce. No I/O.
"""

__all__ = [
    "appeals",
    "case_events",
    "connector_events",
    "constitution",
    "content",
    "decisions",
    "events",
    "identity",
    "note_events",
    "notes",
    "retrial",
    "rulebook",
    "sanctions",
    "staff_events",
    "states",
    "tally",
    "verdict",
]
