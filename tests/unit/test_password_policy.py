"""Password rules (ASVS 2.1.1 and 2.1.7): at least 12 characters and not a common password."""

from __future__ import annotations

import pytest

from isegoria.domain.identity import MIN_PASSWORD_LENGTH
from isegoria.errors import InvalidInput
from isegoria.password_policy import common_passwords, is_common
from isegoria.people.accounts import check_password


def test_the_minimum_is_twelve_characters() -> None:
    assert MIN_PASSWORD_LENGTH == 12
    with pytest.raises(InvalidInput, match="a password is 12 to 256 characters"):
        check_password("kx8#Vq2!mZr")  # 11 characters, not on any list
    assert check_password("kx8#Vq2!mZr4") == "kx8#Vq2!mZr4"


@pytest.mark.parametrize(
    "password", ["password1234", "PASSWORD1234", "Qwerty123456", "iloveyou2024", "111111111111"]
)
def test_a_common_password_is_refused_in_any_letter_case(password: str) -> None:
    assert is_common(password)
    with pytest.raises(InvalidInput, match="commonly used and breached") as refused:
        check_password(password)
    assert refused.value.field == "password"


@pytest.mark.parametrize(
    "password", ["a long enough password", "correct horse battery", "tundra ladle 47 quietly"]
)
def test_an_uncommon_long_password_is_accepted(password: str) -> None:
    assert not is_common(password)
    assert check_password(password) == password


def test_the_bundled_list_is_a_few_thousand_lower_case_entries_without_its_comments() -> None:
    entries = common_passwords()
    assert len(entries) > 5000
    assert all(entry == entry.lower() and entry.strip() == entry for entry in entries)
    assert not any(entry.startswith("#") for entry in entries)
    assert "123456" in entries and "qwertyuiop" in entries
