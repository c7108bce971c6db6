"""A short-lived, in-process memory of platform API keys that authenticated.

Platforms call the API in bulk with one key, so checking that key in the database on every
request (a read transaction and a join) is most of what a cheap platform call costs. This
cache remembers, per app process, the platform and scopes of a key that authenticated, for
at most ``ttl`` seconds (``ISEGORIA_API_KEY_CACHE_SECONDS``, default 5) from the moment the
database was asked. Security properties (docs/security.md, "API key cache"):

* **Keyed by the key's SHA-256 digest**, never the key itself: a hit means the caller sent
  the very key that authenticated, and a memory dump holds no usable key.
* **Only successes are remembered.** A wrong, malformed or revoked key asks the database
  every time, so nothing an attacker sends can fill the cache with refusals or shadow a
  key issued later.
* **Revocation in this process is immediate.** Rotating keys through the API clears the
  cache after the rotation commits; a lookup that started before the clear cannot store
  its (stale) answer after it (the generation check in ``put``).
* **Revocation elsewhere is bounded.** A key revoked by the CLI or by another worker keeps
  working in this process for at most ``ttl`` seconds after the revocation committed: an
  entry expires ``ttl`` seconds after its database read *started*.
* **Bounded memory**: at most ``max_entries`` keys; the oldest is forgotten first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from isegoria.services.platforms import PlatformPrincipal

#: Default trust period; an operator can lower it, to 0 to check every request.
DEFAULT_TTL_SECONDS = 5.0
#: Keys remembered per process: far more than the platforms one instance serves.
MAX_ENTRIES = 1024


class KeyCache:
    """Platform principals by key digest, each trusted for ``ttl`` seconds; thread-safe."""

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
        self._entries: OrderedDict[str, tuple[float, PlatformPrincipal]] = OrderedDict()
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

    def get(self, digest: str) -> PlatformPrincipal | None:
        """The principal of a key that authenticated less than ``ttl`` seconds ago, or None."""
        if not self.enabled:
            return None
        with self._lock:
            found = self._entries.get(digest)
            if found is None:
                return None
            expires, principal = found
            if self.now() >= expires:
                del self._entries[digest]
                return None
            return principal

    def put(self, digest: str, principal: PlatformPrincipal, ticket: tuple[int, float]) -> None:
        """Remember a key the database accepted, unless the cache was cleared since ``ticket``."""
        if not self.enabled:
            return
        generation, started = ticket
        with self._lock:
            if generation != self._generation:  # a revocation committed during the read
                return
            self._entries[digest] = (started + self.ttl, principal)
            self._entries.move_to_end(digest)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every key (call after a revocation commits in this process)."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        """Keys remembered now (expired ones included until looked up)."""
        return len(self._entries)
