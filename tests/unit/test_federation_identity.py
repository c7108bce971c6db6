"""The instance's federated identities and the defensive document fetcher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from atproto_core.did_doc import DidDocument
from atproto_crypto.did import get_did_key

from isegoria.config import Settings
from isegoria.integrations.ap_fetch import MAX_DOCUMENT_BYTES, DocumentFetcher, FetchRefused
from isegoria.integrations.federation_identity import (
    actor_document,
    actor_key,
    did_document,
    labeler_key,
)
from tests.support.federation import remote_server

NOW = datetime(2026, 5, 1, tzinfo=UTC)


def test_the_labeler_key_is_derived_from_the_instance_secret() -> None:
    one, again, other = (labeler_key(s) for s in (b"a" * 32, b"a" * 32, b"b" * 32))
    assert one.did_key == again.did_key != other.did_key
    assert one.curve == "secp256k1" and one.did_key.startswith("did:key:zQ3s")  # secp256k1


def test_the_did_document_carries_the_label_key_and_endpoint() -> None:
    key = labeler_key(b"s" * 32)
    document = DidDocument.from_dict(
        did_document("did:web:labeler.example", key, "https://labeler.example/")
    )
    [method] = document.verification_method or []
    assert method.id == "did:web:labeler.example#atproto_label"
    assert method.public_key_multibase is not None
    assert get_did_key(method.type, method.public_key_multibase) == key.did_key
    endpoint = document.get_service_endpoint("#atproto_labeler", "AtprotoLabeler")
    assert endpoint == "https://labeler.example"


def test_did_web_encodes_the_port(tmp_path: Path) -> None:
    with_port = Settings(data_dir=tmp_path, public_url="http://127.0.0.1:8123/")
    assert with_port.effective_labeler_did == "did:web:127.0.0.1%3A8123"
    plain = Settings(data_dir=tmp_path, public_url="https://labeler.example")
    assert plain.effective_labeler_did == "did:web:labeler.example"
    chosen = Settings(data_dir=tmp_path, labeler_did="did:plc:abc")
    assert chosen.effective_labeler_did == "did:plc:abc"


def test_the_actor_key_is_created_once_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "activitypub.key"
    first = actor_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert actor_key(path).private_numbers() == first.private_numbers()
    actor = actor_document("https://isegoria.example/", first)
    assert actor["publicKey"]["id"] == "https://isegoria.example/ap/actor#main-key"
    assert actor["inbox"] == "https://isegoria.example/ap/inbox"


def test_the_fetcher_caches_limits_and_obeys_the_lists() -> None:
    with remote_server() as remote:
        clock = [NOW]
        # The test server listens on loopback, which only an operator's setting allows.
        fetch = DocumentFetcher(
            clock=lambda: clock[0], deny=["blocked.example"], allow_private=True
        )
        assert fetch(remote.actor)["id"] == remote.actor
        assert fetch(remote.actor)["id"] == remote.actor
        assert remote.gets.count("/actor") == 1  # the second read came from the cache
        clock[0] += timedelta(hours=1)
        fetch(remote.actor)
        assert remote.gets.count("/actor") == 2  # stale: fetched again
        remote.documents["/big"] = {"id": "x", "padding": "a" * MAX_DOCUMENT_BYTES}
        with pytest.raises(FetchRefused, match="larger than"):
            fetch(f"{remote.base}/big")
        with pytest.raises(FetchRefused, match="HTTP 404"):
            fetch(f"{remote.base}/nothing")
        with pytest.raises(FetchRefused, match="deny list"):
            fetch("https://sub.blocked.example/actor")
        only = DocumentFetcher(clock=lambda: NOW, allow=["mastodon.example"])
        with pytest.raises(FetchRefused, match="not on this instance's allow list"):
            only(remote.actor)
        with pytest.raises(FetchRefused, match="not an http"):
            only("ftp://mastodon.example/actor")
