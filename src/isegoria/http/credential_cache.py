"""A short-lived, in-process memory of credentials that authenticated: API keys, sessions.

Platforms call the API in bulk with one key, and a citizen's browser sends its session
cookie with every call, so checking the credential in the database on every request (a
read transaction of its own, before the handler's) was most of what a cheap authenticated
call cost. This cache remembers, per app process, what a credential that authenticated
stands for (a platform and its scopes; an account, its role, its session's CSRF token and
expiry), for at most ``ttl`` seconds (``ISEGORIA_CREDENTIAL_CACHE_SECONDS``, default 5)
from the moment the database was asked. Security properties (docs/security.md,
"Credential cache"):

* **Keyed by the credential's SHA-256 digest**, never the credential itself: a hit means
  the caller sent the very key or cookie that authenticated, and a memory dump holds no
  usable credential.
* **Only successes are remembered.** A wrong, malformed, revoked or expired credential asks
  the database every time, so nothing an attacker sends fills the cache with refusals.
* **Revocation in this process is immediate.** Rotating keys through the API, logging out
  and editing one's profile clear the cache after their transaction commits; a look-up
  that started before the clear cannot store its (stale) answer after it (the generation
  check in ``put``). A session's expiry time is checked on every hit.
* **Revocation elsewhere is bounded.** A key revoked or a session ended by the CLI or by
  another worker keeps working in this process for at most ``ttl`` seconds after that
  commit: an entry expires ``ttl`` seconds after its database read *started*.
* **Bounded memory**: at most ``max_entries`` credentials; the oldest is forgotten first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

#: Default trust period; an operator can lower it, to 0 to check every request.
DEFAULT_TTL_SECONDS = 5.0
#: Credentials remembered per process: the platforms, and the citizens active in ``ttl``.
MAX_ENTRIES = 10_000

V = TypeVar("V")


class CredentialCache(Generic[V]):
    """What a credential stands for, by its digest, trusted for ``ttl`` seconds; thread-safe."""

    def __init__(
        self,
        ttl: float = DEFAULT_TTL_SECONDS,
        *,
        max_entries: int = MAX_ENTRIES,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.now = now  # monotonic seconds; tests may freeze it
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether anything is remembered at all (``ttl`` 0 turns the cache off)."""
        return self.ttl > 0

    def ticket(self) -> tuple[int, float]:
        """Take before asking the database: the generation and the time the read starts."""
        with self._lock:
            return self._generation, self.now()

    def get(self, digest: str) -> V | None:
        """What a credential stands for, if it authenticated under ``ttl`` seconds ago."""
        if not self.enabled:
            return None
        with self._lock:
            found = self._entries.get(digest)
            if found is None:
                return None
            expires, value = found
            if self.now() >= expires:
                del self._entries[digest]
                return None
            return value

    def put(self, digest: str, value: V, ticket: tuple[int, float]) -> None:
        """Remember an accepted credential, unless the cache was cleared since ``ticket``."""
        if not self.enabled:
            return
        generation, started = ticket
        with self._lock:
            if generation != self._generation:  # a revocation committed during the read
                return
            self._entries[digest] = (started + self.ttl, value)
            self._entries.move_to_end(digest)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (call after a revocation commits in this process)."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        """Credentials remembered now (expired ones included until looked up)."""
        return len(self._entries)
