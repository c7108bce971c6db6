"""A real SMTP server for the tests (aiosmtpd), that can be stopped and started on one port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Collect:
    def __init__(self, box: list[EmailMessage]) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.box.append(parsed)
        return "250 OK"


class Mailbox:
    """Every message the server accepted, in order; ``stop``/``start`` keep the port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        """The ISEGORIA_SMTP_URL of this server."""
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (again)."""
        self._controller = Controller(_Collect(self.messages), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until ``start``."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        """The messages sent to ``address``."""
        return [m for m in self.messages if m["To"] == address]


@contextmanager
def running_mailbox() -> Iterator[Mailbox]:
    """An SMTP server on a free loopback port for the duration of the block."""
    box = Mailbox()
    box.start()
    try:
        yield box
    finally:
        box.stop()
