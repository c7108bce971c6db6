"""Settings: defaults, masking, and the instance secret kept out of the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from isegoria.config import Settings, load_or_create_secret, mask_url


def test_defaults_give_an_embedded_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{(tmp_path / 'isegoria.db').resolve()}"
    assert settings.secret_key_path == tmp_path / "secret.key"
    assert settings.effective_public_url == "http://127.0.0.1:8000"


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ISEGORIA_PORT", "9123")
    monkeypatch.setenv("ISEGORIA_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("ISEGORIA_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert (settings.port, settings.log_level, settings.data_dir) == (9123, "debug", tmp_path)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql+psycopg://app:pw@db:5432/x", "postgresql+psycopg://app:***@db:5432/x"),
        ("postgresql+psycopg://app@db/x", "postgresql+psycopg://app@db/x"),
        ("postgresql+psycopg://app:p@ss@db/x", "postgresql+psycopg://app:***@db/x"),
        ("sqlite:////var/lib/isegoria.db", "sqlite:////var/lib/isegoria.db"),
        (
            "postgresql+psycopg://app@db/x?password=hunter22&sslmode=require",
            "postgresql+psycopg://app@db/x?password=***&sslmode=require",
        ),
        (
            "postgresql+psycopg:///x?host=/run/pg&PASSWORD=a%26b&sslpassword=k",
            "postgresql+psycopg:///x?host=/run/pg&PASSWORD=***&sslpassword=***",
        ),
        (
            "postgresql+psycopg://app:pw@db/x?pass%77ord=s3",
            "postgresql+psycopg://app:***@db/x?pass%77ord=***",
        ),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_masked_settings_never_show_the_password(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://u:hunter22@h/d")  # type: ignore[arg-type]
    assert "hunter22" not in str(settings.masked())
    assert "hunter22" not in repr(settings)


def test_masked_settings_hide_a_password_given_in_the_query(tmp_path: Path) -> None:
    url = "postgresql+psycopg://u@h/d?sslmode=require&password=hunter22"
    settings = Settings(data_dir=tmp_path, database_url=url)  # type: ignore[arg-type]
    assert "hunter22" not in str(settings.masked())
    assert settings.masked()["database_url"].endswith("password=***")


def test_the_data_folder_is_created_private(tmp_path: Path) -> None:
    load_or_create_secret(tmp_path / "data" / "secret.key")
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700


def test_secret_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "secret.key"
    first = load_or_create_secret(path)
    assert len(first) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret(path) == first


def test_a_truncated_secret_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_text("abcd")
    with pytest.raises(ValueError, match="fewer than 32 bytes"):
        load_or_create_secret(path)
