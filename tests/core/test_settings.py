"""Settings come from KIT_* variables; a bad one is named in one line."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.coordinators.accounts import add_coordinator
from kit.coordinators.signin import send_signin_link
from kit.core.errors import SettingsError
from kit.core.settings import PublicSite, Settings
from kit.outbox import email as mail_queue
from kit.reports.ideas import get_public_idea, request_email_support
from kit.store.models import OutboxMessage
from kit.web.app import create_app
from tests.factories import make_meeting
from tests.reports.test_ideas import board


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


# --- Secrets stay out of reprs and templates ----------------------------------------------

SECRET_KEY = "the-secret-key-nobody-may-see-0123456789abcdef"
SMTP_PASSWORD = "smtp-password-nobody-may-see"
DB_PASSWORD = "db-password-nobody-may-see"
SECRETS = (SECRET_KEY, SMTP_PASSWORD, DB_PASSWORD)


def with_secrets(settings: Settings) -> Settings:
    """The suite's settings (its database) with a secret key and an SMTP password."""
    smtp_url = f"smtp://kit:{SMTP_PASSWORD}@127.0.0.1:2525"
    return replace(settings, secret_key=SECRET_KEY, smtp_url=smtp_url)


def test_repr_hides_the_secret_key_and_passwords(tmp_path: Path) -> None:
    settings = Settings.from_env(
        env(
            tmp_path,
            KIT_SECRET_KEY=SECRET_KEY,
            KIT_SMTP_URL=f"smtp://kit:{SMTP_PASSWORD}@mail.example.org:587",
            KIT_DATABASE_URL=f"postgres://kit:{DB_PASSWORD}@127.0.0.1:5432/kit",
        )
    )
    for shown in (repr(settings), str(settings), f"{settings}", repr([settings])):
        assert not [s for s in SECRETS if s in shown], shown
    # Still says what it is configured with, passwords blanked out.
    assert "smtp_url='smtp://kit:***@mail.example.org:587'" in repr(settings)
    assert "database_url='postgres://kit:***@127.0.0.1:5432/kit'" in repr(settings)
    assert "secret_key='***'" in repr(settings)
    assert settings.secret_key == SECRET_KEY  # hidden from repr, not from the kit


def test_templates_get_only_public_values(tmp_path: Path) -> None:
    settings = Settings.from_env(
        env(tmp_path, KIT_SECRET_KEY=SECRET_KEY, KIT_CONTACT_EMAIL="help@example.org")
    )
    assert settings.public == PublicSite(
        base_url="http://127.0.0.1:8000",
        contact="help@example.org",
        tile_url=settings.tile_url,
        tile_attribution=settings.tile_attribution,
    )
    assert {f.name for f in fields(PublicSite)} == {
        "base_url",
        "contact",
        "tile_url",
        "tile_attribution",
    }


def debug_capture(app: ASGIApp, contexts: list[dict[str, Any]]) -> ASGIApp:
    """The app, asked for Starlette's ``http.response.debug`` messages: each page's
    template context (what TestClient reads as ``response.context``), kept in ``contexts``."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await app(scope, receive, send)
        scope = {**scope, "extensions": {**scope.get("extensions", {}), "http.response.debug": {}}}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.debug":
                contexts.append(message["info"]["context"])
            else:
                await send(message)

        await app(scope, receive, capture)

    return asgi


def holds_secrets(context: dict[str, Any]) -> list[str]:
    found = [k for k, v in context.items() if isinstance(v, Settings)]
    return found + [s for s in SECRETS if s in repr(context)]


async def test_no_page_or_email_sees_the_secret_key_or_the_smtp_password(
    settings: Settings, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = with_secrets(settings)
    pages: list[dict[str, Any]] = []
    emails: dict[str, dict[str, Any]] = {}
    render_email = mail_queue.render_email

    def recording_render_email(kind: str, context: dict[str, Any]) -> mail_queue.RenderedEmail:
        emails[kind] = context  # the real renderer still renders: this only looks
        return render_email(kind, context)

    monkeypatch.setattr(mail_queue, "render_email", recording_render_email)
    created = await make_meeting()
    emails.clear()  # the factory's own emails are sent with the factories' settings
    await add_coordinator("cara@example.org")
    transport = httpx.ASGITransport(app=debug_capture(create_app(site, manage_db=False), pages))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        paths = ["/", "/contact", "/privacy", f"/meetings/{created.meeting.public_id}"]
        answers = [await client.get(path) for path in paths]
        rsvp = {"name": "Ada Okafor", "email": "ada@example.org"}
        answers.append(
            await client.post(f"/api/meetings/{created.meeting.public_id}/rsvps", json=rsvp)
        )
    await send_signin_link("cara@example.org", ip="1.2.3.4", site=site)
    [idea] = await board(texts=["A shaded playground"])
    await request_email_support(await get_public_idea(idea.public_id), "bo@example.org", site=site)

    assert [a.status_code for a in answers] == [200, 200, 200, 200, 202]
    assert len(pages) == 4 and all(p["settings"] == site.public for p in pages)
    kinds = {"rsvp_confirmed", "host_new_rsvp", "coordinator_signin", "idea_support_confirm"}
    assert kinds <= set(emails)
    assert all(emails[kind]["site"] == site.public for kind in kinds)
    for context in [*pages, *emails.values()]:
        assert not holds_secrets(context)
    outputs = [a.text for a in answers]
    outputs += [
        f"{e.payload['subject']}\n{e.payload['body_text']}\n{e.payload['body_html']}"
        for e in await OutboxMessage.all()
    ]
    assert not [s for s in SECRETS for text in outputs if s in text]
