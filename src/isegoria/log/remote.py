"""A remote instance's public log, read over HTTP by witnesses, verifiers and auditors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from isegoria.log.keyring import Rotation

API_PREFIX = "/api/v1/log"
PAGE_SIZE = 1000  # the API's largest page (log.read.MAX_PAGE)
HTTP_TIMEOUT_SECONDS = 30.0


class RemoteLogError(Exception):
    """The remote instance could not be reached or answered something unusable."""


class WitnessError(Exception):
    """The new checkpoint failed a check; the message says which and why."""


def _hex(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise RemoteLogError(f"{what} is not a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise RemoteLogError(f"{what} is not valid hex: {value[:80]!r}") from None


class RemoteLog:
    """The public log API of one instance, read over HTTP."""

    def __init__(self, url: str, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self._client = client or httpx.Client(timeout=HTTP_TIMEOUT_SECONDS)
        self._owns_client = client is None

    def close(self) -> None:
        """Close the HTTP connections this object opened."""
        if self._owns_client:
            self._client.close()

    def _get(self, path: str, params: dict[str, int] | None = None) -> httpx.Response:
        target = f"{self.url}{API_PREFIX}{path}"
        try:
            response = self._client.get(target, params=params)
        except httpx.HTTPError as error:
            raise RemoteLogError(f"cannot reach {target}: {error}") from None
        if response.status_code != httpx.codes.OK:
            detail = response.text[:300]
            try:
                detail = str(response.json().get("detail", detail))
            except (ValueError, AttributeError):
                pass
            raise RemoteLogError(f"{target} answered HTTP {response.status_code}: {detail}")
        return response

    def _json(self, path: str, params: dict[str, int] | None = None) -> dict[str, Any]:
        try:
            data = self._get(path, params).json()
        except ValueError:
            raise RemoteLogError(f"{self.url}{API_PREFIX}{path} did not answer JSON") from None
        if not isinstance(data, dict):
            raise RemoteLogError(f"{self.url}{API_PREFIX}{path} did not answer a JSON object")
        return data

    def key(self) -> tuple[str, str]:
        """The origin and verifier key the instance publishes."""
        data = self._json("/key")
        return str(data.get("origin")), str(data.get("verifier_key"))

    def rotations(self) -> list[Rotation]:
        """The key rotations the instance publishes (none from an instance that predates them)."""
        target = f"{self.url}{API_PREFIX}/keys"
        try:
            if self._client.get(target).status_code == httpx.codes.NOT_FOUND:
                return []
        except httpx.HTTPError as error:
            raise RemoteLogError(f"cannot reach {target}: {error}") from None
        rows = self._json("/keys").get("rotations")
        try:
            return [
                Rotation(int(r["index"]), str(r["at"]), str(r["previous_key"]), str(r["new_key"]))
                for r in rows or []
            ]
        except (KeyError, TypeError, ValueError):
            raise RemoteLogError(f"{self.url}: malformed key history") from None

    def checkpoint_at(self, size: int) -> tuple[int, bytes, str] | None:
        """(size, root hash, signed note) of the checkpoint of exactly ``size``, if any."""
        page = self._json("/checkpoints", {"start_size": size, "limit": 1})
        try:
            rows = page["checkpoints"]
            if not rows or int(rows[0]["size"]) != size:
                return None
            return size, _hex(rows[0]["root_hash"], "root hash"), str(rows[0]["note"])
        except (KeyError, TypeError, ValueError):
            raise RemoteLogError(f"{self.url}: malformed checkpoints page") from None

    def checkpoint_note(self) -> str:
        """The latest signed checkpoint, as text."""
        return self._get("/checkpoint").text

    def tree_size(self) -> int:
        """How many entries the instance says its log holds."""
        try:
            return int(self._json("/entries", {"start": 0, "limit": 1})["tree_size"])
        except (KeyError, TypeError, ValueError):
            raise RemoteLogError(f"{self.url}: the entries page has no tree_size") from None

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """The RFC 9162 consistency proof between two sizes, as the server gives it."""
        data = self._json("/consistency", {"first": first, "second": second})
        proof = data.get("proof")
        if not isinstance(proof, list):
            raise RemoteLogError(f"{self.url}: the consistency answer has no proof list")
        return [_hex(p, f"consistency proof hash {n}") for n, p in enumerate(proof)]

    def inclusion(self, index: int, size: int | None) -> dict[str, Any]:
        """An entry with its inclusion proof (the API's JSON, unchecked)."""
        return self._json(f"/entries/{index}", None if size is None else {"tree_size": size})

    def entries(self, stop: int) -> Iterator[tuple[int, bytes, bytes]]:
        """(index, payload bytes, the leaf hash the API states) for indexes below ``stop``."""
        start = 0
        while start < stop:
            page = self._json("/entries", {"start": start, "limit": PAGE_SIZE})
            rows = page.get("entries")
            if not isinstance(rows, list) or not rows:
                return
            for row in rows:
                try:
                    index, payload = int(row["index"]), str(row["payload"]).encode("utf-8")
                    leaf = _hex(row["leaf_hash"], f"leaf hash of entry {index}")
                except (KeyError, TypeError, ValueError):
                    raise RemoteLogError(f"{self.url}: malformed entry after {start}") from None
                if index >= stop:
                    return
                yield index, payload, leaf
            following = page.get("next_start")
            if following is None:
                return
            start = int(following)

    def checkpoints(self) -> Iterator[tuple[int, bytes, str]]:
        """(size, root hash, signed note) of every checkpoint, smallest first."""
        start: int | None = 0
        while start is not None:
            page = self._json("/checkpoints", {"start_size": start, "limit": PAGE_SIZE})
            try:
                for row in page["checkpoints"]:
                    yield int(row["size"]), _hex(row["root_hash"], "root hash"), str(row["note"])
                following = page.get("next_start")
            except (KeyError, TypeError, ValueError):
                raise RemoteLogError(f"{self.url}: malformed checkpoints page") from None
            start = None if following is None else int(following)
