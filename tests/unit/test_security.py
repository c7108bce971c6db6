"""Password hashes, API keys, tokens and sealed secrets."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, extract_parameters

from isegoria.domain.identity import InvalidLogin, Scope, check_login, parse_scopes
from isegoria.security import (
    SecretBox,
    hash_password,
    new_api_key,
    split_api_key,
    token_digest,
    verify_password,
)


def test_password_hash_is_argon2id_and_verifies() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "correct horse batterx")
    assert not verify_password(None, "anything")
    assert not verify_password("not a hash", "anything")


def test_the_instance_hashes_at_rfc_9106_cost(production_hasher: PasswordHasher) -> None:
    """The suite hashes cheaply (tests/conftest.py); the instance's own hasher does not."""
    parameters = extract_parameters(production_hasher.hash("correct horse battery"))
    assert (parameters.type.name, parameters.time_cost) == ("ID", 3)
    assert (parameters.memory_cost, parameters.parallelism) == (65536, 4)


def test_api_keys_are_unique_and_parse_back_to_their_prefix() -> None:
    keys = {new_api_key() for _ in range(50)}
    assert len(keys) == 50
    for prefix, key in keys:
        assert split_api_key(key) == prefix
    assert split_api_key("isg_short_x") is None
    assert split_api_key("Bearer nonsense") is None
    assert token_digest("a") != token_digest("b")


def test_secret_box_round_trips_and_binds_to_the_instance_key() -> None:
    box = SecretBox(b"k" * 32)
    sealed = box.seal("webhook secret")
    assert b"webhook secret" not in sealed
    assert box.open(sealed) == "webhook secret"
    with pytest.raises(ValueError, match="cannot be decrypted"):
        SecretBox(b"j" * 32).open(sealed)


@pytest.mark.parametrize("login", ["ana", "a1", "jean-luc.picard", "x_y"])
def test_good_logins(login: str) -> None:
    assert check_login(login) == login


@pytest.mark.parametrize("login", ["", "a", "Ana", "-ana", "ana smith", "a" * 65, "ana@x"])
def test_bad_logins(login: str) -> None:
    with pytest.raises(InvalidLogin):
        check_login(login)


def test_parse_scopes() -> None:
    assert parse_scopes("reports:write, cases:read,reports:write") == (
        Scope.REPORTS_WRITE,
        Scope.CASES_READ,
    )
    with pytest.raises(ValueError, match="unknown scope 'admin'"):
        parse_scopes("admin")
    with pytest.raises(ValueError, match="at least one scope"):
        parse_scopes(" , ")
