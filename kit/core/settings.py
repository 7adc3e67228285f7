"""One frozen Settings object, built once from ``KIT_*`` environment variables.

Every setting is declared once in ``SETTINGS`` with its help text; the README's
configuration table is checked against that list by ``tests/test_docs.py``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from kit.core.errors import SettingsError

# A rate limit's setting: hits per window (the counting is kit.store.ratelimit's).
_RULE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)\s*$")
_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Limit:
    hits: int
    seconds: int

    @classmethod
    def parse(cls, env: str, text: str) -> Limit:
        match = _RULE.match(text.lower())
        if not match or int(match.group(1)) < 1:
            raise SettingsError(env, f"{text!r} is not a rate like 10/minute or 5/hour")
        return cls(int(match.group(1)), _SECONDS[match.group(2)])


@dataclass(frozen=True)
class Setting:
    env: str
    help: str
    default: str | None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "KIT_DATA_DIR", "Folder for the SQLite file, the secret key and the mail outbox.", "./var"
    ),
    Setting(
        "KIT_DATABASE_URL",
        "Database URL: sqlite:///abs/path.db or postgres://user@host:5432/db.",
        "sqlite://<KIT_DATA_DIR>/kit.sqlite3",
    ),
    Setting(
        "KIT_BASE_URL",
        "Public URL of the service, used in emails, invites and QR codes.",
        "http://127.0.0.1:8000",
    ),
    Setting(
        "KIT_SECRET_KEY",
        "Key that signs sessions and CSRF tokens; unset, one is generated once and kept "
        "in KIT_DATA_DIR.",
        None,
    ),
    Setting(
        "KIT_SMTP_URL",
        "smtp://user:pass@host:587 (STARTTLS), smtps://… (TLS) or smtp://127.0.0.1:2525 (plain); "
        "unset, emails are written as .eml files to KIT_DATA_DIR/outbox.",
        None,
    ),
    Setting("KIT_MAIL_FROM", "Sender address of every email the kit sends.", "kit@localhost"),
    Setting(
        "KIT_CONTACT_EMAIL",
        "Where people write to the operator (the Contact and Privacy pages: questions, "
        "data deletion); unset, KIT_MAIL_FROM.",
        None,
    ),
    Setting(
        "KIT_GEOCODER",
        "offline (bundled gazetteers), or a geopy geocoder name such as nominatim.",
        "offline",
    ),
    Setting(
        "KIT_GEOCODER_USER_AGENT",
        "User agent sent to a remote geocoder (required by Nominatim).",
        "house-meeting-kit/0.1",
    ),
    Setting(
        "KIT_TILE_URL",
        "Map tile URL template for Leaflet.",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    ),
    Setting(
        "KIT_TILE_ATTRIBUTION",
        "Attribution shown under the map tiles (HTML allowed).",
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
    ),
    Setting(
        "KIT_RATE_LIMIT_RSVP",
        "RSVPs one client may send (also the cap per meeting is ten times this).",
        "10/minute",
    ),
    Setting("KIT_RATE_LIMIT_HOST", "Meetings one client may publish.", "10/hour"),
    Setting("KIT_RATE_LIMIT_MESSAGE", "Messages a host may send to their guests.", "5/day"),
    Setting("KIT_REMINDER_HOURS", "How many hours before a meeting guests get a reminder.", "24"),
    Setting(
        "KIT_FORWARDED_ALLOW_IPS",
        "Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto kit serve believes: "
        "comma-separated addresses or networks (127.0.0.1, 10.0.0.0/8); unset, nobody's, "
        "and each client is the address that connects.",
        None,
    ),
    Setting("KIT_DEBUG", "1 shows tracebacks in the browser; never in production.", "0"),
)

_KNOWN = {s.env for s in SETTINGS}


def _default(env: str) -> str | None:
    return next(s.default for s in SETTINGS if s.env == env)


def hide_password(url: str) -> str:
    """``smtp://kit:hunter2@host`` → ``smtp://kit:***@host``: a URL fit for a log line."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class PublicSite:
    """What templates (pages and emails) may know of the settings: public values only.

    Templates get this view, never ``Settings``, so no page or email can print the
    secret key or a password, however a template is written.
    """

    base_url: str
    contact: str
    tile_url: str
    tile_attribution: str


# Shown hidden in repr(settings), so a traceback, a log line or a debugger gives nothing away.
_HIDDEN_IN_REPR: dict[str, Callable[[str], str]] = {
    "secret_key": lambda _: "***",
    "database_url": hide_password,
    "smtp_url": hide_password,
}


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    base_url: str
    secret_key: str
    smtp_url: str | None
    mail_from: str
    geocoder: str
    geocoder_user_agent: str
    tile_url: str
    tile_attribution: str
    rate_limit_rsvp: Limit = Limit(10, 60)
    rate_limit_host: Limit = Limit(10, 3600)
    rate_limit_message: Limit = Limit(5, 86400)
    reminder_hours: int = 24
    # Proxies trusted to say who the client is (X-Forwarded-For); empty: none.
    forwarded_allow_ips: tuple[str, ...] = ()
    debug: bool = False
    contact_email: str = ""  # unset: mail_from (see ``contact``)

    @property
    def contact(self) -> str:
        """The address people write to: KIT_CONTACT_EMAIL, else the sender address."""
        return self.contact_email or self.mail_from

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def public(self) -> PublicSite:
        return PublicSite(self.base_url, self.contact, self.tile_url, self.tile_attribution)

    def __repr__(self) -> str:  # dataclass keeps a __repr__ the class defines
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value and f.name in _HIDDEN_IN_REPR:
                value = _HIDDEN_IN_REPR[f.name](value)
            shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every ``KIT_*`` variable; raise SettingsError naming the bad one."""
        env = dict(os.environ if environ is None else environ)
        get: Callable[[str], str] = lambda name: env.get(name) or _default(name) or ""  # noqa: E731
        unknown = sorted(
            k
            for k in env
            if k.startswith("KIT_") and k not in _KNOWN and not k.startswith("KIT_TEST_")
        )
        if unknown:
            raise SettingsError(unknown[0], "is not a setting the kit knows (typo?)")
        data_dir = Path(get("KIT_DATA_DIR")).resolve()
        database_url = env.get("KIT_DATABASE_URL") or f"sqlite://{data_dir / 'kit.sqlite3'}"
        return cls(
            data_dir=data_dir,
            database_url=parse_database_url(database_url),
            base_url=parse_base_url(get("KIT_BASE_URL")),
            secret_key=env.get("KIT_SECRET_KEY") or _stored_secret_key(data_dir),
            smtp_url=parse_smtp_url(env["KIT_SMTP_URL"]) if env.get("KIT_SMTP_URL") else None,
            mail_from=parse_email_setting("KIT_MAIL_FROM", get("KIT_MAIL_FROM")),
            geocoder=get("KIT_GEOCODER").strip().lower(),
            geocoder_user_agent=get("KIT_GEOCODER_USER_AGENT"),
            tile_url=get("KIT_TILE_URL"),
            tile_attribution=get("KIT_TILE_ATTRIBUTION"),
            rate_limit_rsvp=Limit.parse("KIT_RATE_LIMIT_RSVP", get("KIT_RATE_LIMIT_RSVP")),
            rate_limit_host=Limit.parse("KIT_RATE_LIMIT_HOST", get("KIT_RATE_LIMIT_HOST")),
            rate_limit_message=Limit.parse("KIT_RATE_LIMIT_MESSAGE", get("KIT_RATE_LIMIT_MESSAGE")),
            reminder_hours=parse_int("KIT_REMINDER_HOURS", get("KIT_REMINDER_HOURS"), 1, 24 * 14),
            forwarded_allow_ips=parse_forwarded_allow_ips(
                "KIT_FORWARDED_ALLOW_IPS", get("KIT_FORWARDED_ALLOW_IPS")
            ),
            debug=parse_bool("KIT_DEBUG", get("KIT_DEBUG")),
            contact_email=parse_email_setting("KIT_CONTACT_EMAIL", env["KIT_CONTACT_EMAIL"])
            if env.get("KIT_CONTACT_EMAIL")
            else "",
        )


def parse_database_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or not rest:
        raise SettingsError(
            "KIT_DATABASE_URL",
            f"{url!r} is not a URL like sqlite:///path/kit.store.db or postgres://user@host:5432/db",
        )
    if scheme == "sqlite":
        return url
    if scheme in {"postgres", "postgresql", "asyncpg"}:
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise SettingsError("KIT_DATABASE_URL", "has a port that is not a number") from None
        if not parts.hostname or not parts.path.strip("/"):
            raise SettingsError(
                "KIT_DATABASE_URL",
                "needs a host and a database name, e.g. postgres://user@127.0.0.1:5432/kit",
            )
        return url
    raise SettingsError(
        "KIT_DATABASE_URL", f"scheme {scheme!r} is not supported; use sqlite:// or postgres://"
    )


def parse_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise SettingsError("KIT_BASE_URL", f"{url!r} is not an http(s) URL")
    return url.rstrip("/")


def parse_smtp_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise SettingsError(
            "KIT_SMTP_URL", "must look like smtp://user:pass@host:587 or smtps://host:465"
        )
    try:
        parts.port  # noqa: B018
    except ValueError:
        raise SettingsError("KIT_SMTP_URL", "has a port that is not a number") from None
    return url


def parse_email_setting(name: str, value: str) -> str:
    local, at, domain = value.rpartition("<")[2].rstrip(">").partition("@")
    if not at or not local or not domain:
        raise SettingsError(name, f"{value!r} is not an email address")
    return value


def parse_int(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(name, f"{value!r} is not a whole number") from None
    if not low <= number <= high:
        raise SettingsError(name, f"must be between {low} and {high}")
    return number


def parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(name, f"{value!r} is not 0 or 1")


def parse_forwarded_allow_ips(name: str, value: str) -> tuple[str, ...]:
    """Addresses and networks, normalized (``10.0.0.7/8`` becomes ``10.0.0.0/8``), or ``*``.

    Checked here because uvicorn takes a word it can't read as an address for a name
    that no client ever has: a typo would silently trust nobody.
    """
    entries = [part.strip() for part in value.split(",") if part.strip()]
    if "*" in entries:
        if len(entries) > 1:
            raise SettingsError(name, "lists * (every client) with other entries; use * alone")
        return ("*",)
    trusted = []
    for entry in entries:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(
                name, f"{entry!r} is not an IP address or network like 10.0.0.0/8"
            ) from None
        single = network.num_addresses == 1 and "/" not in entry
        trusted.append(str(network.network_address) if single else str(network))
    return tuple(dict.fromkeys(trusted))


def _stored_secret_key(data_dir: Path) -> str:
    """Generate the key once and keep it, so sessions survive restarts without a constant."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key
