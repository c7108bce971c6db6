"""Live loopback servers for federation tests: a remote fediverse server, and our app.

``RemoteServer`` plays a Mastodon-like server on a free loopback port: it publishes an
instance actor (with an RSA key), serves posts as ActivityStreams ``Note``s, signs the
``Flag``s it sends, and records what reaches its inbox (answering with statuses the test
queues). ``serve_app`` runs an isegoria app under uvicorn in a thread, so clients that
need a real HTTP server (the atproto SDK) can talk to it while the test drives its clock.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from isegoria.integrations.httpsig import sign_request
from tests.support.postgres import free_port

AP_CONTEXT = "https://www.w3.org/ns/activitystreams"


@dataclass
class Received:
    """One POST that reached the remote inbox."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RemoteServer:
    """A fediverse server on loopback: actor, posts, and an inbox that records."""

    base: str
    key: rsa.RSAPrivateKey
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    inbox_statuses: list[int] = field(default_factory=list)  # answers to give, then 202
    gets: list[str] = field(default_factory=list)

    @property
    def actor(self) -> str:
        """The instance actor's id."""
        return f"{self.base}/actor"

    @property
    def key_id(self) -> str:
        """The id of the actor's key."""
        return f"{self.actor}#main-key"

    def publish_actor(self, key: rsa.RSAPrivateKey | None = None) -> None:
        """Serve the actor document with the public half of ``key`` (default: ours)."""
        pem = (
            (key or self.key)
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        self.documents["/actor"] = {
            "@context": [AP_CONTEXT, "https://w3id.org/security/v1"],
            "id": self.actor,
            "type": "Application",
            "inbox": f"{self.base}/actor/inbox",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {
                "id": self.key_id,
                "owner": self.actor,
                "publicKeyPem": pem.decode("ascii"),
            },
        }

    def publish_note(self, path: str, text: str, author: str, published: datetime) -> str:
        """Serve a post as a ``Note``; returns its URI."""
        uri = self.base + path
        self.documents[path] = {
            "@context": AP_CONTEXT,
            "id": uri,
            "type": "Note",
            "attributedTo": author,
            "content": f"<p>{text}</p>",
            "contentMap": {"es": f"<p>{text}</p>"},
            "published": published.isoformat().replace("+00:00", "Z"),
        }
        return uri

    def flag(self, objects: Any, content: str = "", *, flag_id: str | None = None) -> bytes:
        """A Flag activity from this server's actor, as JSON bytes."""
        activity = {
            "@context": AP_CONTEXT,
            "id": flag_id or f"{self.base}/flags/{len(self.documents)}-{time.monotonic_ns()}",
            "type": "Flag",
            "actor": self.actor,
            "content": content,
            "object": objects,
        }
        return json.dumps(activity).encode()

    def signed(
        self,
        inbox_url: str,
        body: bytes,
        now: datetime,
        *,
        key: rsa.RSAPrivateKey | None = None,
        key_id: str | None = None,
    ) -> dict[str, str]:
        """Headers that sign a POST of ``body`` to ``inbox_url`` as this server."""
        headers = sign_request(
            "POST",
            inbox_url,
            body,
            key_id=key_id or self.key_id,
            private_key=key or self.key,
            now=now,
        )
        headers["Content-Type"] = "application/activity+json"
        return headers


def _handler(remote: RemoteServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            """Keep test output quiet."""

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            remote.gets.append(self.path)
            document = remote.documents.get(self.path.split("#")[0])
            if document is None:
                self.send_response(404)
                self.end_headers()
                return
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/activity+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            status = remote.inbox_statuses.pop(0) if remote.inbox_statuses else 202
            if status < 300:
                remote.received.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@contextmanager
def remote_server() -> Iterator[RemoteServer]:
    """A remote server on a free loopback port, with its actor published."""
    port = free_port()
    remote = RemoteServer(
        base=f"http://127.0.0.1:{port}",
        key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )
    remote.publish_actor()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(remote))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield remote
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def serve_app(app: FastAPI, port: int) -> Iterator[str]:
    """Serve ``app`` on ``port`` in a thread until the block ends; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        httpx.get(f"{url}/healthz", timeout=5)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
