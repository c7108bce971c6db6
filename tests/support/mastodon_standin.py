"""A stand-in Mastodon server for the adapter's tests, built from Mastodon's documented API.

Mastodon (Rails, PostgreSQL, Redis, Sidekiq) cannot run here, so this small Starlette app
serves the endpoints the adapter uses, with the payload shapes of docs.joinmastodon.org:
``GET /api/v1/instance/rules``; ``GET /api/v1/admin/reports`` (``resolved``,
``target_account_id``) and ``/api/v1/admin/reports/:id`` (Admin::Report: account,
target_account, statuses, category, rules, comment); ``POST .../reports/:id/resolve``;
``GET /api/v1/admin/accounts/:id`` (Admin::Account with suspended/silenced/sensitized/
disabled); ``POST /api/v1/admin/accounts/:id/action`` (type, text, report_id,
warning_preset_id, send_email_notification) and the undo endpoints ``enable``,
``unsilence``, ``unsuspend``, ``unsensitive``. ``report.created`` webhooks are signed as
Mastodon signs them: ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>``. Every
moderation call is recorded in ``actions`` for assertions.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.postgres import free_port

ACTION_TYPES = ("none", "sensitive", "disable", "silence", "suspend")
UNDO = {"enable": "disabled", "unsilence": "silenced", "unsuspend": "suspended",
        "unsensitive": "sensitized"}  # fmt: skip
ACTION_FLAG = {"sensitive": "sensitized", "disable": "disabled", "silence": "silenced",
               "suspend": "suspended"}  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Standin:
    """The server's state: accounts, statuses, reports, rules, and a record of every action."""

    token: str
    url: str = ""
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: list[dict[str, str]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(109_000))

    def _id(self) -> str:
        return str(next(self._ids))

    def add_rule(self, text: str) -> str:
        """A server rule, as the admin writes them; returns its id."""
        rule_id = str(len(self.rules) + 1)
        self.rules.append({"id": rule_id, "text": text, "hint": ""})
        return rule_id

    def add_account(self, username: str) -> str:
        """A local account; returns its id."""
        account_id = self._id()
        self.accounts[account_id] = {
            "id": account_id, "username": username, "acct": username,
            "display_name": username.title(), "locked": False, "bot": False,
            "created_at": _now(), "note": "", "url": f"https://social.test/@{username}",
            "followers_count": 0, "following_count": 0, "statuses_count": 0,
            "suspended": False, "silenced": False, "sensitized": False, "disabled": False,
        }  # fmt: skip
        return account_id

    def post(self, account_id: str, html: str, *, language: str = "es") -> str:
        """A status by the account; returns its id."""
        status_id = self._id()
        username = self.accounts[account_id]["username"]
        self.statuses[status_id] = {
            "id": status_id, "created_at": _now(), "content": html, "language": language,
            "visibility": "public", "sensitive": False, "spoiler_text": "",
            "uri": f"https://social.test/users/{username}/statuses/{status_id}",
            "url": f"https://social.test/@{username}/{status_id}",
            "media_attachments": [], "account_id": account_id,
        }  # fmt: skip
        return status_id

    def report(
        self,
        reporter: str,
        target: str,
        *,
        status_ids: tuple[str, ...] = (),
        category: str = "other",
        rule_ids: tuple[str, ...] = (),
        comment: str = "",
    ) -> str:
        """A report as ``POST /api/v1/reports`` files it; returns its id."""
        report_id = self._id()
        if rule_ids:
            category = "violation"  # Mastodon: rule_ids force the violation category
        self.reports[report_id] = {
            "id": report_id, "action_taken": False, "action_taken_at": None,
            "category": category, "comment": comment, "forwarded": False,
            "created_at": _now(), "updated_at": _now(), "reporter": reporter,
            "target": target, "status_ids": list(status_ids), "rule_ids": list(rule_ids),
        }  # fmt: skip
        return report_id

    def _public_account(self, account_id: str) -> dict[str, Any]:
        flags = ("suspended", "silenced", "sensitized", "disabled")
        return {k: v for k, v in self.accounts[account_id].items() if k not in flags}

    def admin_account(self, account_id: str) -> dict[str, Any]:
        """The Admin::Account entity."""
        row = self.accounts[account_id]
        return {
            "id": account_id, "username": row["username"], "domain": None,
            "created_at": row["created_at"], "email": f"{row['username']}@social.test",
            "ip": None, "ips": [], "locale": "es", "invite_request": None, "role": None,
            "confirmed": True, "approved": True, "disabled": row["disabled"],
            "silenced": row["silenced"], "suspended": row["suspended"],
            "sensitized": row["sensitized"], "account": self._public_account(account_id),
        }  # fmt: skip

    def admin_report(self, report_id: str) -> dict[str, Any]:
        """The Admin::Report entity."""
        row = self.reports[report_id]
        statuses = []
        for status_id in row["status_ids"]:
            status = dict(self.statuses[status_id])
            status["account"] = self._public_account(status.pop("account_id"))
            statuses.append(status)
        rules = [r for r in self.rules if r["id"] in row["rule_ids"]]
        hidden = ("reporter", "target", "status_ids", "rule_ids")
        return {
            **{k: v for k, v in row.items() if k not in hidden},
            "account": self.admin_account(row["reporter"]),
            "target_account": self.admin_account(row["target"]),
            "assigned_account": None, "action_taken_by_account": None,
            "statuses": statuses, "rules": rules,
        }  # fmt: skip

    def webhook(self, event: str, report_id: str, secret: str) -> tuple[bytes, dict[str, str]]:
        """A ``report.created`` delivery: the body and headers Mastodon sends."""
        body = json.dumps(
            {"event": event, "created_at": _now(), "object": self.admin_report(report_id)}
        ).encode()
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {"Content-Type": "application/json", "X-Hub-Signature": f"sha256={digest}"}

    def moderation(self) -> list[tuple[str, str]]:
        """The recorded moderation calls as (kind, account id) pairs, in order."""
        return [(a["type"], a["account_id"]) for a in self.actions]


def _app(state: Standin) -> Starlette:
    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {state.token}"

    def guard(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def wrapped(request: Request) -> Any:
            if not authorized(request):
                return JSONResponse({"error": "The access token is invalid"}, 401)
            key = request.path_params.get("id")
            if "/accounts/" in request.url.path and key not in state.accounts:
                return JSONResponse({"error": "Record not found"}, 404)
            if "/reports/" in request.url.path and key not in state.reports:
                return JSONResponse({"error": "Record not found"}, 404)
            return await handler(request)

        return wrapped

    async def params(request: Request) -> dict[str, Any]:
        # Mastodon accepts form data and JSON alike; Mastodon.py sends form data.
        if request.headers.get("content-type", "").startswith("application/json"):
            data = await request.json()
            return dict(data) if isinstance(data, dict) else {}
        return dict(await request.form())

    async def rules(request: Request) -> JSONResponse:
        return JSONResponse(state.rules)

    async def reports(request: Request) -> JSONResponse:
        query = request.query_params
        resolved = query.get("resolved") in ("true", "1", "True")
        rows = [
            state.admin_report(r)
            for r, row in state.reports.items()
            if row["action_taken"] == resolved
            and query.get("target_account_id", row["target"]) == row["target"]
        ]
        return JSONResponse(rows)

    async def report(request: Request) -> JSONResponse:
        return JSONResponse(state.admin_report(request.path_params["id"]))

    async def resolve(request: Request) -> JSONResponse:
        row = state.reports[request.path_params["id"]]
        row.update(action_taken=True, action_taken_at=_now(), updated_at=_now())
        state.actions.append(
            {"type": "resolve", "account_id": row["target"], "report_id": row["id"]}
        )
        return JSONResponse(state.admin_report(row["id"]))

    async def account(request: Request) -> JSONResponse:
        return JSONResponse(state.admin_account(request.path_params["id"]))

    async def action(request: Request) -> JSONResponse:
        account_id = request.path_params["id"]
        data = await params(request)
        kind = data.get("type", "none")
        if kind not in ACTION_TYPES:
            return JSONResponse({"error": f"Validation failed: type {kind!r}"}, 422)
        if kind in ACTION_FLAG:
            state.accounts[account_id][ACTION_FLAG[kind]] = True
        report_id = data.get("report_id")
        if report_id:
            # Mastodon: an action taken with report_id resolves that report.
            state.reports[str(report_id)].update(action_taken=True, action_taken_at=_now())
        state.actions.append({"type": kind, "account_id": account_id, **data})
        return JSONResponse({})

    async def undo(request: Request) -> JSONResponse:
        account_id, verb = request.path_params["id"], request.path_params["verb"]
        if verb not in UNDO:
            return JSONResponse({"error": "Not found"}, 404)
        state.accounts[account_id][UNDO[verb]] = False
        state.actions.append({"type": verb, "account_id": account_id})
        return JSONResponse(state.admin_account(account_id))

    return Starlette(
        routes=[
            Route("/api/v1/instance/rules", rules),
            Route("/api/v1/admin/reports", guard(reports)),
            Route("/api/v1/admin/reports/{id}", guard(report)),
            Route("/api/v1/admin/reports/{id}/resolve", guard(resolve), methods=["POST"]),
            Route("/api/v1/admin/accounts/{id}", guard(account)),
            Route("/api/v1/admin/accounts/{id}/action", guard(action), methods=["POST"]),
            Route("/api/v1/admin/accounts/{id}/{verb}", guard(undo), methods=["POST"]),
        ]
    )


@contextmanager
def running_standin() -> Iterator[Standin]:
    """Serve a fresh stand-in on a free loopback port until the block ends."""
    state = Standin(token=secrets.token_urlsafe(16))
    port = free_port()
    config = uvicorn.Config(_app(state), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the Mastodon stand-in did not start")
        time.sleep(0.02)
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(timeout=10)
