"""Subscribable calendars: a campaign's meetings, meetings near a place, a person's own.

Rendering thousands of events takes a second of CPU, so a feed is rendered in a
worker thread and kept, per process, under a fingerprint of what drives it (how
many meetings and when the newest changed): a stale copy can't be served, and
any worker can rebuild it, so nothing here needs sharing between processes.

A feed's meetings are read as raw rows of only the columns its events show
(``FEED_COLUMNS``, the host's name joined): through the ORM, building 5,000 whole
meetings with their hosts took longer than rendering them. A near-me feed's key is
read the same way, from the searched meetings' ids and ``updated_at`` alone; its
meetings are read only when that key isn't cached.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio
from tortoise.functions import Count, Max

from kit.campaigns.service import SLUG_LENGTH
from kit.core.errors import NotFound
from kit.core.validation import can_be_key
from kit.meetings.calendar_events import meeting_local_times, render_feed
from kit.meetings.public import VISIBLE_STATUSES
from kit.store.models import (
    Campaign,
    Meeting,
    Person,
    Rsvp,
    RsvpStatus,
    TokenKind,
    Visibility,
)
from kit.store.sql import SqlParams, partial_model, query_dicts
from kit.store.tokens import find_token, issue_token, revoke_tokens

# Feeds keep recent past meetings too, so a calendar doesn't lose last week's event.
PAST_WINDOW = timedelta(days=30)
_render_limiter = anyio.CapacityLimiter(1)
# Meetings are planned at most two years ahead (kit.meetings.input.MAX_AHEAD). A stored
# one much further out is a mistake, and would stretch the feed's VTIMEZONEs over every
# year until it (thousands of years: megabytes, and seconds of CPU).
FEED_HORIZON = timedelta(days=10 * 366)
log = logging.getLogger("kit.meetings.feeds")


@dataclass(frozen=True)
class Feed:
    name: str
    meetings: Sequence[Meeting]
    exact_for: frozenset[int] = frozenset()


class FeedCache:
    """An LRU of rendered feeds keyed by their content fingerprint, bounded by bytes.

    Near-me feeds are many and small (about 0.5 kB an event, 100 events at most):
    a bound of 64 entries, as it was, held none of 200 subscribers' feeds by the time
    each came back. The newest entry is kept even when it alone is over the bound (a
    campaign of 50,000 meetings must not be rendered on every fetch).
    """

    def __init__(self, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        return None

    def put(self, key: str, value: bytes) -> None:
        old = self._items.pop(key, None)
        self.bytes += len(value) - (len(old) if old is not None else 0)
        self._items[key] = value
        while self.bytes > self.max_bytes and len(self._items) > 1:
            self.bytes -= len(self._items.popitem(last=False)[1])


def public_feed_meetings(now: datetime | None = None):  # noqa: ANN201 - a QuerySet
    now = now or datetime.now(UTC)
    return Meeting.filter(
        visibility=Visibility.PUBLIC, status__in=VISIBLE_STATUSES, starts_at__gt=now - PAST_WINDOW
    )


async def fingerprint(query, *parts: object) -> str:  # noqa: ANN001 - a QuerySet
    """Count and newest change of the meetings in a feed: cheap, and changes with any edit."""
    row = (
        await query.annotate(n=Count("id"), newest=Max("updated_at")).first().values("n", "newest")
    )
    raw = "|".join(str(p) for p in (*parts, row and row["n"], row and row["newest"]))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class FeedSource:
    """What a feed depends on (``key``) and how to load it when it isn't cached."""

    key: str
    load: Callable[[], Awaitable[Feed]]


# What kit.meetings.calendar_events reads of a meeting for a feed's event (and
# feed_problem for leaving one out), and of its host: the first name.
FEED_COLUMNS = (
    "id",
    "public_id",
    "host_id",
    "title",
    "description",
    "host_note",
    "starts_at",
    "ends_at",
    "timezone",
    "street",
    "directions",
    "lat",
    "lon",
    "locality",
    "region",
    "postal_code",
    "country",
    "approx_lat",
    "approx_lon",
    "kind",
    "venue_name",
    "status",
    "updated_at",
)
HOST_COLUMNS = ("id", "name")
_HOST_JOINED = tuple(f"host__{c}" for c in HOST_COLUMNS)


def feed_params() -> SqlParams:
    return SqlParams(Meeting._meta.db.capabilities.dialect)


async def read_feed_meetings(where: str, p: SqlParams) -> list[Meeting]:
    """The meetings matching ``where`` (SQL on ``m``, the meeting table) soonest first,
    as read-only models holding ``FEED_COLUMNS``, each with its host (``HOST_COLUMNS``)
    where ``meeting.host`` finds it, as ``select_related("host")`` leaves it."""
    columns = ", ".join(f"m.{c}" for c in FEED_COLUMNS)
    hosts = ", ".join(f"h.{c} AS {j}" for c, j in zip(HOST_COLUMNS, _HOST_JOINED, strict=True))
    sql = (
        f"SELECT {columns}, {hosts} FROM meeting AS m JOIN person AS h ON h.id = m.host_id "
        f"WHERE {where} ORDER BY m.starts_at, m.id"
    )
    rows = await query_dicts(Meeting._meta.db, sql, p.values)
    people: dict[int, Person] = {}
    meetings = []
    for row in rows:
        meeting = partial_model(Meeting, row, FEED_COLUMNS)
        host = people.get(row["host_id"])
        if host is None:
            shown = dict(zip(HOST_COLUMNS, (row[j] for j in _HOST_JOINED), strict=True))
            host = people[row["host_id"]] = partial_model(Person, shown, HOST_COLUMNS)
        object.__setattr__(meeting, "_host", host)
        meetings.append(meeting)
    return meetings


def public_feed_sql(p: SqlParams, now: datetime) -> str:
    """``public_feed_meetings`` as raw SQL on ``m``."""
    statuses = ", ".join(f"'{status.value}'" for status in sorted(VISIBLE_STATUSES))
    return (
        f"m.visibility = '{Visibility.PUBLIC.value}' AND m.status IN ({statuses}) "
        f"AND m.starts_at > {p.time(now - PAST_WINDOW)}"
    )


async def campaign_feed(slug: str) -> FeedSource:
    found = can_be_key(slug, SLUG_LENGTH)
    campaign = await Campaign.get_or_none(slug=slug, is_public=True) if found else None
    if campaign is None:
        raise NotFound("We couldn't find that campaign.")
    now = datetime.now(UTC)
    query = public_feed_meetings(now).filter(campaign_id=campaign.id)

    async def load() -> Feed:
        p = feed_params()
        where = f"{public_feed_sql(p, now)} AND m.campaign_id = {p.add(campaign.id)}"
        return Feed(f"{campaign.name} · House Meeting Kit", await read_feed_meetings(where, p))

    return FeedSource(await fingerprint(query, "campaign", campaign.id, campaign.name), load)


def loaded_source(
    name: str, meetings: Sequence[Meeting], exact: frozenset[int] = frozenset()
) -> FeedSource:
    """A feed whose meetings are already at hand (a search page, a person's few meetings)."""
    raw = "|".join(f"{m.id}:{m.updated_at.isoformat()}:{m.id in exact}" for m in meetings)
    key = hashlib.sha256(f"{name}|{raw}".encode()).hexdigest()[:32]

    async def load() -> Feed:
        return Feed(name, meetings, exact)

    return FeedSource(key, load)


async def near_feed(label: str, items: Sequence[tuple[Meeting, float]]) -> FeedSource:
    """The meetings a search found, keyed by their ids and when each last changed."""
    name = f"House meetings near {label}"
    p = feed_params()
    ids = ", ".join(p.add(i) for i in sorted({m.id for m, _ in items}))
    where = f"m.id IN ({ids})" if ids else "1 = 0"
    sql = f"SELECT m.id, m.updated_at FROM meeting AS m WHERE {where} ORDER BY m.id"
    rows = await query_dicts(Meeting._meta.db, sql, p.values)
    raw = "|".join(f"{row['id']}:{row['updated_at']}" for row in rows)
    key = hashlib.sha256(f"near|{name}|{raw}".encode()).hexdigest()[:32]

    async def load() -> Feed:
        return Feed(name, await read_feed_meetings(where, p))

    return FeedSource(key, load)


async def person_feed(token: str) -> FeedSource:
    """A person's own meetings: RSVPs and meetings they host, exact where they may know it."""
    access = await find_token(token, TokenKind.PERSON_FEED)
    if access is None:
        raise NotFound("That calendar link is not valid any more.")
    person = await Person.get(id=access.person_id)  # type: ignore[attr-defined]
    since = datetime.now(UTC) - PAST_WINDOW
    rsvps = (
        await Rsvp.filter(person_id=person.id, meeting__starts_at__gt=since)
        .exclude(status=RsvpStatus.CANCELLED)
        .select_related("meeting", "meeting__host")
    )
    hosted = await Meeting.filter(
        host_id=person.id, starts_at__gt=since, status__in=VISIBLE_STATUSES
    ).select_related("host")
    meetings = {r.meeting.id: r.meeting for r in rsvps} | {m.id: m for m in hosted}
    exact = {r.meeting.id for r in rsvps if r.status is RsvpStatus.CONFIRMED} | {
        m.id for m in hosted
    }
    ordered = sorted(meetings.values(), key=lambda m: m.starts_at)
    return loaded_source(f"{person.first_name}'s house meetings", ordered, frozenset(exact))


async def new_person_feed_token(person: Person) -> str:
    """A fresh private feed link. Other links keep working: asking for a link is not a
    reason to break the one already in someone's calendar (``revoke_person_feeds`` is)."""
    return await issue_token(TokenKind.PERSON_FEED, person=person)


async def revoke_person_feeds(person: Person) -> int:
    return await revoke_tokens(TokenKind.PERSON_FEED, person=person)


def calendar_ready(meetings: Sequence[Meeting], now: datetime) -> list[Meeting]:
    """The meetings a feed shows. One with dates no calendar can hold on its place's
    clock (year 9999: ``meeting_local_times``), or that are absurdly far ahead, is left out and
    logged: every subscriber's calendar would otherwise refuse, or choke on, the feed."""
    ready = []
    for meeting in meetings:
        problem = feed_problem(meeting, now)
        if problem is None:
            ready.append(meeting)
            continue
        log.warning(
            "feed: left out meeting %s (%s to %s): %s",
            meeting.public_id,
            meeting.starts_at.isoformat(),
            meeting.ends_at.isoformat(),
            problem,
        )
    return ready


def feed_problem(meeting: Meeting, now: datetime) -> str | None:
    if meeting_local_times(meeting) is None:
        return "its place's clock can't show those dates"
    if meeting.starts_at > now + FEED_HORIZON:
        return "it starts more than ten years ahead"
    return None


async def render_feed_cached(
    cache: FeedCache, source: FeedSource, *, base_url: str, organizer_email: str
) -> bytes:
    cached = cache.get(source.key)
    if cached is not None:
        return cached
    feed = await source.load()
    meetings = calendar_ready(feed.meetings, datetime.now(UTC))

    def render() -> bytes:
        return render_feed(
            meetings,
            base_url=base_url,
            name=feed.name,
            exact_for=feed.exact_for,
            organizer_email=organizer_email,
        )

    # CPU-bound for big feeds: off the event loop, one render at a time.
    body = await anyio.to_thread.run_sync(render, limiter=_render_limiter)
    cache.put(source.key, body)
    return body
