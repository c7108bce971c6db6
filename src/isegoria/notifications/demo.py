"""The demo's notifications: its citizens get e-mail, written to a folder anyone can open."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import select

from isegoria.config import Settings
from isegoria.domain.identity import Role
from isegoria.notifications.inbox import save_preferences
from isegoria.store.models import Account
from isegoria.unit_of_work import UnitOfWork

DEMO_SENDER = "isegoria demo <notices@demo.isegoria.invalid>"
#: The demo's citizens read their mail in these languages, in turn (the first in Spanish).
DEMO_LANGUAGES = ("es", "en", "fr", "de")


def mail_folder(settings: Settings) -> Path:
    """Where the demo writes its outgoing mail when no SMTP server is configured."""
    return settings.data_dir / "demo-mail"


def with_demo_mail(settings: Settings) -> Settings:
    """``settings``, sending mail to the demo's folder unless an SMTP server is configured."""
    if settings.smtp_url is not None:
        return settings
    folder = mail_folder(settings).resolve()
    update = {
        "smtp_url": SecretStr(folder.as_uri()),
        "mail_from": settings.mail_from or DEMO_SENDER,
    }
    return settings.model_copy(update=update)


def opt_in(uow: UnitOfWork, logins: Iterable[str]) -> int:
    """Give the demo's citizens who can log in an e-mail address and a language."""
    wanted = list(logins)
    citizens = uow.session.scalars(
        select(Account).where(Account.login.in_(wanted), Account.role == Role.CITIZEN.value)
    )
    count = 0
    for n, account in enumerate(sorted(citizens, key=lambda a: wanted.index(a.login))):
        save_preferences(
            uow,
            account.id,
            language=DEMO_LANGUAGES[n % len(DEMO_LANGUAGES)],
            email=f"{account.login}@demo.isegoria.invalid",
            email_on=True,
            matrix_id=None,
            matrix_on=False,
            languages=DEMO_LANGUAGES,
        )
        count += 1
    return count


def where_mail_goes(settings: Settings) -> str:
    """The line ``isegoria demo`` prints about its outgoing mail."""
    smtp_url = settings.smtp_url.get_secret_value() if settings.smtp_url else ""
    if smtp_url.startswith("file:"):
        return (
            f"outgoing mail (summons, decisions, votes): one .eml file per message in "
            f"{mail_folder(settings)}; open one with any mail client, or read "
            f"/notifications as a demo citizen (set ISEGORIA_SMTP_URL to send for real)"
        )
    return "outgoing mail goes to the SMTP server of ISEGORIA_SMTP_URL"
