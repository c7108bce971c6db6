"""Notifications: the citizen's inbox, and e-mail and Matrix messages sent through an outbox."""

__all__ = [
    "delivery",
    "demo",
    "hooks",
    "inbox",
    "mail",
    "messages",
    "tokens",
    "views",
]
