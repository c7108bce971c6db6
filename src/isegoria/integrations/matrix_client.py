"""A thin HTTP client for the Synapse admin API and the few client-API calls the adapter needs.

Only network I/O lives here, one method per endpoint, so the adapter's logic can be tested
against an in-memory stand-in. Endpoints: Synapse admin API documentation (event_reports,
user_reports, fetch_event, rooms/make_room_admin, users v2, suspend, shadow_ban,
send_server_notice) and the Matrix client-server API (join, redact, send, get event).
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote

from isegoria.integrations.egress import guarded_client

__all__ = ["SynapseAdmin", "SynapseAdminClient", "SynapseError"]

#: Reports per page: the admin API's own default (Synapse admin API, "Show reported events").
REPORTS_PAGE = 100
HTTP_TIMEOUT_S = 30.0


class SynapseError(RuntimeError):
    """Synapse answered with an error; ``errcode`` is the Matrix error code."""

    def __init__(self, status: int, errcode: str, message: str) -> None:
        super().__init__(f"Synapse answered {status} {errcode}: {message}")
        self.status = status
        self.errcode = errcode


class SynapseAdmin(Protocol):
    """What the adapter needs from a homeserver (the real client or a test double)."""

    def event_reports(self, start: int, limit: int) -> dict[str, Any]:
        """One page of event reports, newest first."""
        ...

    def event_report(self, report_id: int) -> dict[str, Any]:
        """One event report with the reported event's JSON (``event_json``)."""
        ...

    def user_reports(self, start: int, limit: int) -> dict[str, Any] | None:
        """One page of user reports, newest first; None if this Synapse has no such API."""
        ...

    def fetch_event(self, event_id: str) -> dict[str, Any] | None:
        """The event as the server stores it, or None if unknown."""
        ...

    def room_event(self, room_id: str, event_id: str) -> dict[str, Any]:
        """The event as a room member sees it (redactions applied)."""
        ...

    def make_room_admin(self, room_id: str) -> None:
        """Give the admin account the room's highest power level (and an invite)."""
        ...

    def join(self, room_id: str) -> None:
        """Join a room as the admin (idempotent for a member)."""
        ...

    def redact(self, room_id: str, event_id: str, txn_id: str, reason: str) -> str:
        """Redact an event as the admin; returns the redaction's event id."""
        ...

    def send_notice(self, room_id: str, txn_id: str, content: dict[str, Any]) -> str:
        """Send an ``m.room.message`` as the admin; returns its event id."""
        ...

    def user(self, user_id: str) -> dict[str, Any]:
        """The admin view of an account (deactivated, locked, suspended, shadow_banned)."""
        ...

    def set_suspended(self, user_id: str, suspended: bool) -> None:
        """Suspend or unsuspend (Synapse >= 1.119, MSC3823)."""
        ...

    def set_shadow_banned(self, user_id: str, banned: bool) -> None:
        """Shadow-ban or lift it."""
        ...

    def set_user_flag(self, user_id: str, flag: str, value: bool) -> None:
        """Set ``deactivated`` or ``locked`` through the users v2 API."""
        ...

    def server_notice(self, user_id: str, txn_id: str, content: dict[str, Any]) -> str:
        """Send a server notice to a user; the txn id makes a retry idempotent."""
        ...


def _path(value: str) -> str:
    return quote(value, safe="")


class SynapseAdminClient:
    """The real client: httpx with the admin account's access token."""

    def __init__(
        self,
        base_url: str,
        admin_token: str,
        *,
        timeout: float = HTTP_TIMEOUT_S,
        allow_private: bool = False,
    ):
        # The homeserver's URL was typed by an operator: every request is guarded like a
        # webhook's (no loopback, intranet or metadata address unless the operator allows it).
        self._http = guarded_client(
            allow_private=allow_private,
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {admin_token}"},
            timeout=timeout,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> SynapseAdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            raise SynapseError(
                response.status_code,
                str(body.get("errcode", "M_UNKNOWN")),
                str(body.get("error", response.text[:200])),
            )
        data = response.json()
        return data if isinstance(data, dict) else {}

    def event_reports(self, start: int, limit: int) -> dict[str, Any]:
        """One page of event reports, newest first."""
        return self._call(
            "GET", "/_synapse/admin/v1/event_reports", params={"from": start, "limit": limit}
        )

    def event_report(self, report_id: int) -> dict[str, Any]:
        """One event report with the reported event's JSON."""
        return self._call("GET", f"/_synapse/admin/v1/event_reports/{report_id}")

    def user_reports(self, start: int, limit: int) -> dict[str, Any] | None:
        """One page of user reports (Synapse >= 1.134), or None on an older server."""
        try:
            return self._call(
                "GET", "/_synapse/admin/v1/user_reports", params={"from": start, "limit": limit}
            )
        except SynapseError as error:
            if error.status in (404, 405) or error.errcode == "M_UNRECOGNIZED":
                return None
            raise

    def fetch_event(self, event_id: str) -> dict[str, Any] | None:
        """The stored event (admin ``fetch_event``), or None if the server does not know it."""
        try:
            event = self._call("GET", f"/_synapse/admin/v1/fetch_event/{_path(event_id)}")
        except SynapseError as error:
            if error.status == 404:
                return None
            raise
        inner = event.get("event")
        return inner if isinstance(inner, dict) else None

    def room_event(self, room_id: str, event_id: str) -> dict[str, Any]:
        """The event as the (joined) admin sees it through the client API."""
        return self._call(
            "GET", f"/_matrix/client/v3/rooms/{_path(room_id)}/event/{_path(event_id)}"
        )

    def make_room_admin(self, room_id: str) -> None:
        """Raise the admin to the room's admin level (Synapse invites it to a private room)."""
        self._call("POST", f"/_synapse/admin/v1/rooms/{_path(room_id)}/make_room_admin", json={})

    def join(self, room_id: str) -> None:
        """``POST /_matrix/client/v3/join/{room_id}`` as the admin."""
        self._call("POST", f"/_matrix/client/v3/join/{_path(room_id)}", json={})

    def redact(self, room_id: str, event_id: str, txn_id: str, reason: str) -> str:
        """Redact as the admin; a repeated txn id returns the first redaction."""
        reply = self._call(
            "PUT",
            f"/_matrix/client/v3/rooms/{_path(room_id)}/redact/{_path(event_id)}/{_path(txn_id)}",
            json={"reason": reason},
        )
        return str(reply["event_id"])

    def send_notice(self, room_id: str, txn_id: str, content: dict[str, Any]) -> str:
        """Send a message as the admin into a room it has joined."""
        reply = self._call(
            "PUT",
            f"/_matrix/client/v3/rooms/{_path(room_id)}/send/m.room.message/{_path(txn_id)}",
            json=content,
        )
        return str(reply["event_id"])

    def user(self, user_id: str) -> dict[str, Any]:
        """The admin view of an account."""
        return self._call("GET", f"/_synapse/admin/v2/users/{_path(user_id)}")

    def set_suspended(self, user_id: str, suspended: bool) -> None:
        """``PUT /_synapse/admin/v1/suspend/{user_id}``."""
        self._call(
            "PUT", f"/_synapse/admin/v1/suspend/{_path(user_id)}", json={"suspend": suspended}
        )

    def set_shadow_banned(self, user_id: str, banned: bool) -> None:
        """``POST`` (ban) or ``DELETE`` (lift) ``/_synapse/admin/v1/users/{id}/shadow_ban``."""
        method = "POST" if banned else "DELETE"
        self._call(method, f"/_synapse/admin/v1/users/{_path(user_id)}/shadow_ban")

    def set_user_flag(self, user_id: str, flag: str, value: bool) -> None:
        """``PUT /_synapse/admin/v2/users/{id}`` with ``deactivated`` or ``locked``."""
        if flag not in ("deactivated", "locked"):
            raise ValueError(f"not an account flag: {flag!r}")
        self._call("PUT", f"/_synapse/admin/v2/users/{_path(user_id)}", json={flag: value})

    def server_notice(self, user_id: str, txn_id: str, content: dict[str, Any]) -> str:
        """``PUT /_synapse/admin/v1/send_server_notice/{txn_id}``."""
        reply = self._call(
            "PUT",
            f"/_synapse/admin/v1/send_server_notice/{_path(txn_id)}",
            json={"user_id": user_id, "content": content},
        )
        return str(reply["event_id"])
