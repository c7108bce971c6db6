"""What a person reads about signing in: when to retry after failed logins, and dates."""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.dates import format_datetime, format_timedelta

from isegoria import i18n


def retry_message(retry_after: int) -> str:
    """One sentence, in the reader's language, that says when to try again."""
    wait = format_timedelta(
        timedelta(seconds=max(1, retry_after)),
        threshold=1.0,
        locale=i18n.current_language(),
    )
    # The same words whichever limit was reached (this login's failures, this address's
    # attempts): which one would tell a guesser whether the login exists.
    return i18n.gettext(
        "Too many sign-in attempts. For your safety, wait %(wait)s before trying again."
    ) % {"wait": wait}


def retry_headers(retry_after: int) -> dict[str, str]:
    """The header that tells a client when to come back."""
    return {"Retry-After": str(max(1, retry_after))}


def when(moment: datetime | None) -> str:
    """A moment in the reader's language (UTC), or a dash for never."""
    if moment is None:
        return "—"
    return format_datetime(moment, format="medium", locale=i18n.current_language()) + " UTC"
