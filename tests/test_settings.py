"""Settings come from KIT_* variables; a bad one is named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.errors import SettingsError
from kit.settings import Settings


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"KIT_DATA_DIR": str(tmp_path), **values}


def test_defaults_use_a_sqlite_file_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path))
    assert settings.database_url == f"sqlite://{tmp_path / 'kit.sqlite3'}"
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.smtp_url is None
    assert settings.geocoder == "offline"


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings.from_env(env(tmp_path)).secret_key
    second = Settings.from_env(env(tmp_path)).secret_key
    assert first == second
    assert len(first) >= 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert Settings.from_env(env(tmp_path / "other")).secret_key != first


def test_explicit_secret_key_wins(tmp_path: Path) -> None:
    settings = Settings.from_env(env(tmp_path, KIT_SECRET_KEY="s3cret-from-env"))
    assert settings.secret_key == "s3cret-from-env"
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KIT_DATABASE_URL", "not a url"),
        ("KIT_DATABASE_URL", "mysql://root@localhost/kit"),
        ("KIT_DATABASE_URL", "postgres://user@host:notaport/kit"),
        ("KIT_DATABASE_URL", "postgres://"),
        ("KIT_BASE_URL", "ftp://example.org"),
        ("KIT_SMTP_URL", "mail.example.org:587"),
        ("KIT_MAIL_FROM", "nobody"),
        ("KIT_DEBUG", "maybe"),
        ("KIT_FORWARDED_ALLOW_IPS", "proxy.internal"),
        ("KIT_FORWARDED_ALLOW_IPS", "10.0.0.1, 10.0.0.300"),
        ("KIT_FORWARDED_ALLOW_IPS", "*, 127.0.0.1"),
        ("KIT_DATABSE_URL", "sqlite://x.db"),
    ],
)
def test_malformed_setting_names_the_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env(tmp_path, **{name: value}))
    assert caught.value.env == name
    assert str(caught.value).startswith(name)
    assert "\n" not in str(caught.value)


def test_postgres_and_smtp_urls_are_accepted(tmp_path: Path) -> None:
    settings = Settings.from_env(
        env(
            tmp_path,
            KIT_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
            KIT_SMTP_URL="smtp://user:pass@mail.example.org:587",
            KIT_MAIL_FROM="House Meeting Kit <kit@example.org>",
        )
    )
    assert settings.database_url.startswith("postgres://")
    assert settings.smtp_url == "smtp://user:pass@mail.example.org:587"


def test_no_proxy_is_trusted_unless_listed(tmp_path: Path) -> None:
    assert Settings.from_env(env(tmp_path)).forwarded_allow_ips == ()
    listed = Settings.from_env(
        env(tmp_path, KIT_FORWARDED_ALLOW_IPS=" 127.0.0.1, ::1,10.1.2.3/8 ,127.0.0.1")
    )
    assert listed.forwarded_allow_ips == ("127.0.0.1", "::1", "10.0.0.0/8")
    anyone = Settings.from_env(env(tmp_path, KIT_FORWARDED_ALLOW_IPS="*"))
    assert anyone.forwarded_allow_ips == ("*",)


def test_contact_email_defaults_to_the_sender_address(tmp_path: Path) -> None:
    base = {"KIT_DATA_DIR": str(tmp_path), "KIT_MAIL_FROM": "kit@example.org"}
    assert Settings.from_env(base).contact == "kit@example.org"
    chosen = Settings.from_env({**base, "KIT_CONTACT_EMAIL": "help@example.org"})
    assert chosen.contact == "help@example.org"
    with pytest.raises(SettingsError, match="KIT_CONTACT_EMAIL"):
        Settings.from_env({**base, "KIT_CONTACT_EMAIL": "nobody"})
