"""E-mail over SMTP: settings from one URL, one message per notification, a stable Message-ID.

``ISEGORIA_SMTP_URL`` is ``smtp://[user:password@]host[:port][?starttls=true]`` (or
``smtps://`` for TLS from the first byte), or ``file:///a/folder`` to write each message as
an ``.eml`` file there instead (the demo's outgoing mail; tests); ``ISEGORIA_MAIL_FROM`` is
the sender. Without both, e-mail is off. The Message-ID is derived from the notification,
so a message sent again after a crash carries the same id and mail clients show it once.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from isegoria.errors import InvalidInput

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send mail."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    tls: bool = False
    folder: Path | None = None  # file:// URL: write .eml files here instead of sending

    @property
    def domain(self) -> str:
        """The sender's domain, used in Message-IDs."""
        return self.sender.rpartition("@")[2].strip("> ") or self.host


def smtp_settings(url: str, sender: str) -> SmtpSettings | None:
    """Parse the SMTP URL; None when e-mail is not configured."""
    if not url or not sender:
        return None
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.path:
        return SmtpSettings(
            host="localhost", port=0, sender=sender, folder=Path(unquote(parts.path))
        )
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise InvalidInput(
            "ISEGORIA_SMTP_URL must look like smtp://user:pass@host:587?starttls=true"
        )
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["false"])[0].lower() in {"1", "true", "yes"}
    return SmtpSettings(
        host=parts.hostname,
        port=parts.port or DEFAULT_PORTS[parts.scheme],
        sender=sender,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        starttls=starttls,
        tls=parts.scheme == "smtps",
    )


def message_id(settings: SmtpSettings, notification_id: int) -> str:
    """The Message-ID of a notification's e-mail: the same on every attempt."""
    return f"<notification-{notification_id}@{settings.domain}>"


def compose(
    settings: SmtpSettings,
    *,
    notification_id: int,
    to: str,
    subject: str,
    body: str,
    language: str,
    unsubscribe_url: str,
) -> EmailMessage:
    """A plain-text message with the headers list managers and mail clients expect."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id(settings, notification_id)
    message["Date"] = formatdate(usegmt=True)
    message["Auto-Submitted"] = "auto-generated"
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(body)
    message["Content-Language"] = language  # after set_content, which clears Content-*
    return message


def send(settings: SmtpSettings, message: EmailMessage) -> None:
    """Hand one message to the SMTP server (raises on any failure, for a retry)."""
    if settings.folder is not None:
        _write(settings.folder, message)
        return
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.tls:
        smtp = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=TIMEOUT_SECONDS, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_SECONDS)
    with smtp:
        if settings.starttls:
            smtp.starttls(context=context)
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(message)


def _write(folder: Path, message: EmailMessage) -> None:
    """Write the message as ``<Message-ID>.eml``: a resend replaces the file, never adds one."""
    folder.mkdir(parents=True, exist_ok=True)
    name = str(message["Message-ID"]).strip("<>").replace("/", "_") + ".eml"
    partial = folder / f".{name}.partial"
    partial.write_bytes(bytes(message))
    os.replace(partial, folder / name)
