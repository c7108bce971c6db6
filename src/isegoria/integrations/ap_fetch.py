"""Fetching ActivityPub documents (actors, keys, posts) from other servers, defensively.

Every fetch is a request to a server someone else controls, made because a stranger POSTed
to our inbox. So: only hosts the operator allows (and none it denies), only public
addresses (:mod:`isegoria.integrations.egress`), short timeouts, no
redirects to elsewhere, a size cap read in chunks (a server cannot make us buffer a
gigabyte), JSON objects only, and a small time-limited cache so a burst of Flags from one
server costs one fetch.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from isegoria.integrations.egress import EgressRefused, guarded_client

__all__ = ["DocumentFetcher", "FetchRefused", "host_of"]

#: Media types ActivityPub §3.2 says a server must answer with and be asked for.
ACCEPT: Final = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
MAX_DOCUMENT_BYTES: Final = 256 * 1024  # an actor with a 4096-bit key is ~5 KiB
CONNECT_TIMEOUT_SECONDS: Final = 3.0
READ_TIMEOUT_SECONDS: Final = 5.0
CACHE_SIZE: Final = 256
CACHE_TTL: Final = timedelta(minutes=10)  # short: a rotated key is re-fetched anyway


class FetchRefused(ValueError):
    """A document could not be fetched, or its server is not allowed."""


def host_of(url: str) -> str:
    """The lower-case host (without port) of ``url``."""
    return (urlsplit(url).hostname or "").lower()


class DocumentFetcher:
    """GETs JSON-LD documents from allowed hosts, with limits and a small cache."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        allow: Collection[str] = (),
        deny: Collection[str] = (),
        client: httpx.Client | None = None,
        allow_private: bool = False,
    ) -> None:
        self._clock = clock
        self.allow = frozenset(h.lower() for h in allow)
        self.deny = frozenset(h.lower() for h in deny)
        # The same address guard as webhooks: a Flag names URLs we then fetch (SSRF).
        self._client = client or guarded_client(
            allow_private=allow_private,
            timeout=httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
        )
        self._cache: OrderedDict[str, tuple[datetime, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()  # the app serves requests from a thread pool

    def check_host(self, url: str) -> None:
        """Raise unless the operator lets ``url``'s server talk to this inbox."""
        host = host_of(url)
        if not url.startswith(("https://", "http://")) or not host:
            raise FetchRefused(f"{url[:120]!r} is not an http(s) URL")
        if host in self.deny or any(host.endswith("." + d) for d in self.deny):
            raise FetchRefused(f"the server {host} is on this instance's deny list")
        if self.allow and host not in self.allow:
            raise FetchRefused(f"the server {host} is not on this instance's allow list")

    def __call__(self, url: str) -> dict[str, Any]:
        """The JSON object at ``url`` (from the cache when fresh)."""
        self.check_host(url)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(url)
            if cached is not None and now - cached[0] < CACHE_TTL:
                self._cache.move_to_end(url)
                return cached[1]
        document = self._get(url)
        with self._lock:
            self._cache[url] = (now, document)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return document

    def forget(self, url: str) -> None:
        """Drop ``url`` from the cache (its key did not verify: it may have rotated)."""
        with self._lock:
            self._cache.pop(url, None)

    def _get(self, url: str) -> dict[str, Any]:
        try:
            with self._client.stream("GET", url, headers={"Accept": ACCEPT}) as response:
                if response.status_code != 200:
                    raise FetchRefused(f"GET {url} answered HTTP {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_DOCUMENT_BYTES:
                    raise FetchRefused(f"{url} is larger than {MAX_DOCUMENT_BYTES} bytes")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise FetchRefused(f"{url} is larger than {MAX_DOCUMENT_BYTES} bytes")
        except EgressRefused as exc:
            raise FetchRefused(f"GET {url} refused: {exc}") from None
        except httpx.HTTPError as exc:
            raise FetchRefused(f"GET {url} failed: {type(exc).__name__}") from None
        try:
            document = json.loads(bytes(body))
        except (ValueError, UnicodeDecodeError):
            raise FetchRefused(f"{url} did not answer with JSON") from None
        if not isinstance(document, dict):
            raise FetchRefused(f"{url} did not answer with a JSON object")
        return document
