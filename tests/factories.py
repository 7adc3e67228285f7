"""Build whole, valid objects the way users create them, with times relative to now."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import html
import json
import re
import sqlite3
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from kit.core.settings import Settings
from kit.maps.geocoding import make_geocoder
from kit.maps.places import AddressQuery, Geocoder, Place
from kit.meetings.service import CreatedMeeting, create_meeting, parse_meeting_input
from kit.outbox.channels import Sender
from kit.outbox.email import EmailSender
from kit.store.models import Campaign, Meeting, OutboxMessage
from kit.toolkit.mail import Transport

GEOCODER = make_geocoder("offline", "house-meeting-kit-tests/1.0")
SECRET = "test-secret-key-not-for-production"
# The same public settings as the `settings` fixture (tests/conftest.py).
SITE = Settings.from_env(
    {
        "KIT_DATA_DIR": str(Path(tempfile.gettempdir()) / "kit-test-factories"),
        "KIT_BASE_URL": "http://testserver",
        "KIT_SECRET_KEY": SECRET,
        "KIT_MAIL_FROM": "kit@example.org",
    }
)


def local(days: int = 7, hour: int = 18) -> str:
    """A wall-clock time `days` from now, as a host types it."""
    day = datetime.now(UTC) + timedelta(days=days)
    return f"{day:%Y-%m-%d}T{hour:02d}:30"


def meeting_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Neighbors talk schools",
        "description": "A living-room conversation.",
        "starts_at": local(7, 18),
        "ends_at": local(7, 20),
        "address": {
            "street": "417 Elm St",
            "locality": "New York",
            "postal_code": "10027",
            "country": "US",
            "directions": "ring the blue door",
        },
        "kind": "home",
        "capacity": 12,
        "visibility": "public",
        "rsvp_goal": 10,
        "host": {"name": "Quinn Doe", "email": "quinn@example.org", "phone": "+1 212 555 0100"},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


class HouseGeocoder:
    """The offline gazetteer, but with a house-precise point, as a street geocoder answers."""

    def __init__(self, lat: float, lon: float) -> None:
        self.lat, self.lon = lat, lon

    async def search(self, query: str) -> Place | None:
        return await GEOCODER.search(query)

    async def locate(self, address: AddressQuery) -> Place | None:
        place = await GEOCODER.locate(address)
        return place and replace(place, lat=self.lat, lon=self.lon, precision="address")


async def make_meeting(
    geocoder: Geocoder = GEOCODER, *, proven: bool = True, **overrides: Any
) -> CreatedMeeting:
    """A published meeting, as from a host who confirmed their email before (in the same
    browser); ``proven=False`` makes a new host's meeting, waiting for that confirmation."""
    data = parse_meeting_input(meeting_body(**overrides))
    proof = {data.host_email} if proven else set()
    return await create_meeting(data, geocoder=geocoder, site=SITE, proven_emails=proof)


async def make_campaign(slug: str = "winter-house-meetings", **fields: Any) -> Campaign:
    return await Campaign.create(
        slug=slug, name=fields.pop("name", "Winter House Meetings"), **fields
    )


async def csrf_from(client: httpx.AsyncClient, path: str) -> str:
    """Open a page as a browser would and read its form's CSRF token."""
    html = (await client.get(path)).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def as_form(body: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """A JSON-shaped body as the host form posts it (dotted input names)."""
    form: dict[str, str] = {}
    for key, value in body.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            form.update(as_form(value, f"{name}."))
        elif value is not None:
            form[name] = str(value)
    return form


LINK = re.compile(r"http://testserver(/[^\s\"'<>]+)")


async def emailed_link(to: str, prefix: str, kind: str | None = None) -> str:
    """The newest link (a path) starting with ``prefix`` in an email queued to ``to``: the
    way a person reaches their private pages, from their own mailbox."""
    rows = OutboxMessage.filter(recipient=to.lower()).order_by("-id")
    if kind:
        rows = rows.filter(kind=kind)
    for row in await rows:
        for path in LINK.findall(row.payload["body_text"]):
            if path.startswith(prefix):
                return path
    raise AssertionError(f"no {prefix}… link emailed to {to}")


async def rsvp_link(email: str = "ada@example.org") -> str:
    """The private RSVP page's path, from the newest email to the guest."""
    return await emailed_link(email, "/rsvp/")


async def rsvp_token(email: str = "ada@example.org") -> str:
    return (await rsvp_link(email)).removeprefix("/rsvp/")


async def confirm_emailed_meeting(client: httpx.AsyncClient, email: str) -> str:
    """Follow the confirmation link a new host was emailed and press Publish, as they
    would; return the manage page's path the kit then leads to."""
    path = await emailed_link(email, "/hosts/confirm/", kind="host_confirm")
    page = await client.get(path)
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    name = re.search(r'name="name"[^>]*value="([^"]*)"', page.text)
    assert csrf and name
    answer = await client.post(
        path, data={"csrf_token": csrf.group(1), "name": html.unescape(name.group(1))}
    )
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


async def publish_via_api(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    """A meeting published through the API by a new host who then confirms their email:
    the API's answer, with ``manage_url`` the live one the confirmation leads to."""
    body = meeting_body(**overrides)
    answer = await client.post("/api/meetings", json=body)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    if created["status"] == "awaiting":
        manage = await confirm_emailed_meeting(client, body["host"]["email"])
        created["manage_url"] = "http://testserver" + manage.split("&confirmed=")[0]
        created["status"] = str((await Meeting.get(public_id=created["id"])).status)
    return created


SERVER_CONFIRM = re.compile(r"https?://[^/\s]+(/hosts/confirm/[\w-]+)")
CONFIRM_SQL = (
    "SELECT e.payload FROM outbox_message e JOIN meeting m ON m.id = e.meeting_id "
    "WHERE m.public_id = {} AND e.kind = 'host_confirm' ORDER BY e.id DESC LIMIT 1"
)


async def query_server(database_url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows from a real server's database (``{}`` in ``sql`` marks each parameter)."""
    if database_url.startswith("sqlite://"):
        path = database_url.removeprefix("sqlite://").split("?", 1)[0]
        with contextlib.closing(sqlite3.connect(path)) as db:
            return list(db.execute(sql.format(*["?"] * len(params)), params).fetchall())
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        marks = [f"${n}" for n in range(1, len(params) + 1)]
        return [tuple(r) for r in await conn.fetch(sql.format(*marks), *params)]
    finally:
        await conn.close()


async def _confirmation_text(database_url: str, public_id: str) -> str:
    """The confirmation email a real server queued for this meeting, read from its database
    (the server may not have delivered it yet)."""
    rows = await query_server(database_url, CONFIRM_SQL, public_id)
    assert rows, f"no confirmation email for {public_id}"
    return str(json.loads(rows[0][0])["body_text"])


GUEST_MAIL_SQL = (
    "SELECT e.recipient, e.payload FROM outbox_message e JOIN meeting m ON m.id = e.meeting_id "
    "WHERE m.public_id = {} AND e.kind IN ('rsvp_confirmed', 'rsvp_waitlisted') ORDER BY e.id"
)


async def guest_pages_on_server(database_url: str, public_id: str) -> dict[str, str]:
    """Each guest's private RSVP page (a path), from the emails a real server queued."""
    pages = {}
    for to, payload in await query_server(database_url, GUEST_MAIL_SQL, public_id):
        text = json.loads(payload)["body_text"]
        found = re.search(r"https?://[^/\s]+(/rsvp/[\w-]+)", text)
        assert found, text
        pages[str(to)] = found.group(1)
    return pages


async def publish_on_server(
    http: httpx.AsyncClient, database_url: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Publish through a real server's API and confirm the host's email from the link the
    server emailed, as the host would; return the API's answer with the live manage URL."""
    answer = await http.post("/api/meetings", json=body)
    assert answer.status_code == 201, answer.text
    created = dict(answer.json())
    text = await _confirmation_text(database_url, created["id"])
    match = SERVER_CONFIRM.search(text)
    assert match, text
    page = await http.get(match.group(1))
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    # Behind https the session cookie is Secure, which httpx keeps off plain http: send
    # it back by hand, as the browser on the https side would.
    cookie = next(
        v.split(";", 1)[0]
        for v in page.headers.get_list("set-cookie")
        if v.startswith("kit_session=")
    )
    name = body["host"]["name"]
    published = await http.post(
        match.group(1),
        data={"csrf_token": csrf.group(1), "name": name},
        headers={"Cookie": cookie},
    )
    assert published.status_code == 303, published.text
    created["manage_url"] = str(http.base_url).rstrip("/") + published.headers["location"]
    created["status"] = "published"
    return created


def publish_on_server_sync(base: str, database_url: str, body: dict[str, Any]) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            return await publish_on_server(http, database_url, body)

    # In a thread of its own: the caller may be inside a running event loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


# Meetings whose seat count disagrees with their confirmed parties, or leaves 0..capacity.
SEATS_DISAGREE_SQL = """
SELECT m.public_id, m.seats_taken, m.capacity,
       COALESCE(SUM(CASE WHEN r.status = 'confirmed' THEN 1 + r.guests ELSE 0 END), 0) AS held
FROM meeting m LEFT JOIN rsvp r ON r.meeting_id = m.id
GROUP BY m.id, m.public_id, m.seats_taken, m.capacity
HAVING m.seats_taken <> COALESCE(SUM(CASE WHEN r.status = 'confirmed' THEN 1 + r.guests
                                          ELSE 0 END), 0)
    OR m.seats_taken < 0 OR m.seats_taken > m.capacity
"""


async def assert_seats_agree(database_url: str | None = None) -> None:
    """Every meeting's seats_taken is the sum of its confirmed parties, within 0..capacity:
    in the suite's database, or (``database_url``) a real server's."""
    if database_url is None:
        from tortoise import Tortoise

        rows: list[Any] = await Tortoise.get_connection("default").execute_query_dict(
            SEATS_DISAGREE_SQL
        )
    else:
        rows = await query_server(database_url, SEATS_DISAGREE_SQL)
    assert not rows, f"seat counts out of step (public_id, taken, capacity, held): {rows}"


def by_email(transport: Transport, mail_from: str = "kit@example.org") -> list[Sender]:
    """The senders of a worker that delivers email only, over ``transport``."""
    return [EmailSender(transport, mail_from)]
