"""Use cases for what a meeting puts on paper: the host packet, the flyer, the guide,
and the host's own agenda timings.

The layout is ``kit.toolkit.printables``, a leaf that knows no model: here a meeting
becomes its plain ``PrintableMeeting`` and ``Place`` (``meeting_to_printable``,
``exact_place``, ``public_place``), and this is where the privacy rule is applied:
only the host's packet gets the exact address, the flyer and the guide get
``kit.meetings.public.public_location``.

Each ``get_*`` gathers what drives a document (the meeting, its campaign, its
confirmed guests, the agenda on the clock) and builds the document's HTML, which
is cheap. The PDF is expensive (≈0.5 s of CPU), so it is cached per process,
keyed by the SHA-256 of that HTML: it renders again exactly when something it
shows changed (the meeting, an RSVP, the guide, a template), and never serves a
stale copy. Rendering happens in a worker thread, one at a time (WeasyPrint is not
thread-safe), so a PDF never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import anyio
from tortoise.functions import Count

from kit.campaigns.guides import DEFAULT_AGENDA, DEFAULT_GUIDE, agenda_items
from kit.campaigns.service import SLUG_LENGTH, asks_for
from kit.core import urls
from kit.core import validation as v
from kit.core.errors import CampaignNotFound, Conflict, ValidationError
from kit.core.rendering import wall_clock
from kit.core.settings import Settings
from kit.meetings.hosttools import tracked_url
from kit.meetings.public import public_location
from kit.meetings.service import get_meeting
from kit.store.models import (
    Campaign,
    Meeting,
    MeetingStatus,
    Rsvp,
    RsvpSource,
    RsvpStatus,
    VenueKind,
)
from kit.toolkit import printables
from kit.toolkit.printables import (
    PDF,
    AgendaSlot,
    Document,
    Place,
    PrintableCampaign,
    PrintableMeeting,
    Rendered,
    plan_agenda,
)

MAX_ITEM_MINUTES = 180
MAX_AGENDA_MINUTES = 12 * 60
_render_limiter = anyio.CapacityLimiter(1)
log = logging.getLogger("kit.printables")


class PdfCache:
    """An LRU of rendered PDFs by fingerprint, bounded in entries and bytes; thread-safe."""

    def __init__(self, size: int = 64, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.size, self.max_bytes = size, max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def put(self, key: str, value: bytes) -> None:
        with self._lock:
            if key in self._items:
                self._bytes -= len(self._items.pop(key))
            self._items[key] = value
            self._bytes += len(value)
            while len(self._items) > self.size or (
                self._bytes > self.max_bytes and len(self._items) > 1
            ):
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


PDF_CACHE = PdfCache()


async def render_cached(document: Document, cache: PdfCache | None = None) -> Rendered:
    """The document's PDF: from the cache, or rendered in the worker thread and kept."""
    cache = PDF_CACHE if cache is None else cache
    key = document.fingerprint
    data = cache.get(key)
    if data is None:

        def render() -> bytes:
            # A request that waited for the limiter behind an identical one finds its PDF here.
            done = cache.get(key)
            if done is None:
                done = printables.render(document).data
                cache.put(key, done)
            return done

        data = await anyio.to_thread.run_sync(render, limiter=_render_limiter)
    return Rendered(document.filename, PDF, data)


async def warm_up() -> None:
    """WeasyPrint imported, fonts and stylesheet loaded, in the render thread."""
    await anyio.to_thread.run_sync(printables.warm_up, limiter=_render_limiter)


async def _warm_up_quietly() -> None:
    try:
        await warm_up()
    except Exception:  # noqa: BLE001 - the first PDF then pays, and reports, the same failure
        log.warning("could not warm up the PDF renderer", exc_info=True)


@contextlib.asynccontextmanager
async def warming_up() -> AsyncIterator[asyncio.Task[None]]:
    """Warm up the PDF renderer in the background while the block runs (``kit serve``):
    the first packet no longer pays WeasyPrint's import and font loading (≈0.5 s), and no
    request waits for it, because the work happens in the render thread after start-up."""
    task = asyncio.create_task(_warm_up_quietly(), name="kit-pdf-warm-up")
    try:
        yield task
    finally:
        task.cancel()  # one not yet started never starts; one under way finishes its thread
        with contextlib.suppress(asyncio.CancelledError):
            await task


# A meeting as the leaf prints it ---------------------------------------------------------


def campaign_to_printable(campaign: Campaign) -> PrintableCampaign:
    return PrintableCampaign(
        name=campaign.name, slug=campaign.slug, description=campaign.description
    )


def meeting_to_printable(meeting: Meeting) -> PrintableMeeting:
    """What every printout shares: no address, no guest, the host's first name only.
    Needs ``meeting.host`` and ``meeting.campaign`` fetched."""
    campaign = meeting.campaign
    return PrintableMeeting(
        title=meeting.title,
        starts_at=wall_clock(meeting.starts_at, meeting.timezone),
        ends_at=wall_clock(meeting.ends_at, meeting.timezone),
        timezone=meeting.timezone,
        country=meeting.country,
        capacity=meeting.capacity,
        host_first_name=meeting.host.first_name,
        is_home=meeting.kind is VenueKind.HOME,
        cancelled=meeting.status is MeetingStatus.CANCELLED,
        description=meeting.description,
        host_note=meeting.host_note,
        campaign=campaign_to_printable(campaign) if campaign else None,
    )


def exact_place(meeting: Meeting) -> Place:
    """The address, for the host's own packet only (a home's venue name is never shown)."""
    return Place(
        locality=meeting.locality,
        region=meeting.region,
        postal_code=meeting.postal_code,
        venue=meeting.venue_name if meeting.kind is VenueKind.PUBLIC else "",
        street=meeting.street,
        directions=meeting.directions,
    )


def public_place(meeting: Meeting) -> Place:
    """Where the public may read the meeting is (``public_location``): a home's town only."""
    location = public_location(meeting)
    return Place(
        locality=location["locality"],
        region=location["region"],
        postal_code=location["postal_code"],
        venue=location.get("venue", ""),
        street=location.get("street", ""),
    )


# What drives a document -----------------------------------------------------------------


def meeting_minutes(meeting: Meeting) -> int:
    """How long the meeting lasts, in whole minutes of elapsed time."""
    return int((meeting.ends_at - meeting.starts_at).total_seconds() // 60)


def scale_agenda(items: Sequence[tuple[str, int]], minutes: int) -> list[tuple[str, int]]:
    """The items stretched or squeezed to ``minutes`` in all, each keeping its share, in
    whole minutes that add up exactly (largest remainders get the spare minutes)."""
    total = sum(m for _, m in items)
    if total <= 0 or minutes <= 0:
        return list(items)
    exact = [m * minutes / total for _, m in items]
    whole = [int(x) for x in exact]
    by_remainder = sorted(range(len(items)), key=lambda n: (whole[n] - exact[n], n))
    for n in by_remainder[: minutes - sum(whole)]:
        whole[n] += 1
    return [(title, m) for (title, _), m in zip(items, whole, strict=True)]


def base_agenda(meeting: Meeting) -> list[tuple[str, int]]:
    """The campaign's agenda, or the kit's fitted to the meeting's length (its 100
    minutes would run past a 90-minute meeting), before the host's own timings."""
    campaign = meeting.campaign
    items = agenda_items(campaign.agenda) if campaign else []
    if items:
        return items
    length = meeting_minutes(meeting)
    if 0 < length <= MAX_AGENDA_MINUTES:
        return scale_agenda(agenda_items(DEFAULT_AGENDA), length)
    return agenda_items(DEFAULT_AGENDA)


def agenda_for(meeting: Meeting) -> list[tuple[str, int]]:
    """The host's timings when they set some, else the campaign's (or the kit's)."""
    return agenda_items(meeting.agenda) or base_agenda(meeting)


def agenda_slots(meeting: Meeting) -> list[AgendaSlot]:
    """The agenda on the clock, from the meeting's start in its own time zone.

    Needs ``meeting.campaign`` fetched (``get_meeting`` and ``get_managed_meeting`` do).
    """
    start = wall_clock(meeting.starts_at, meeting.timezone)
    try:
        return plan_agenda(agenda_for(meeting), start)
    except OverflowError:  # a stored start at the calendar's end (year 9999): no clock times
        return []


def agenda_overrun(meeting: Meeting) -> int:
    """Minutes the agenda in effect runs past the meeting's end (0 when it fits)."""
    planned = sum(m for _, m in agenda_for(meeting))
    return max(planned - meeting_minutes(meeting), 0)


def overrun_message(meeting: Meeting) -> str | None:
    """What the host is told when their timings run past the meeting's end."""
    late = agenda_overrun(meeting)
    if not late:
        return None
    end = wall_clock(meeting.ends_at, meeting.timezone).strftime("%-I:%M %p")
    return (
        f"These timings run {late} minutes past your meeting's end ({end}). Shorten a part, "
        "or tell your guests it may run late."
    )


def campaign_guide_markdown(campaign: Campaign | None) -> str:
    """The campaign's guide, or the kit's when it has none."""
    guide = campaign.guide_markdown if campaign else ""
    return guide if guide.strip() else DEFAULT_GUIDE


def guide_markdown_for(meeting: Meeting) -> str:
    return campaign_guide_markdown(meeting.campaign)


async def confirmed_guests(meeting: Meeting) -> list[tuple[str, int]]:
    """(name, people they bring along) of each confirmed RSVP: names only, never contacts."""
    rows = await Rsvp.filter(meeting_id=meeting.id, status=RsvpStatus.CONFIRMED).values_list(
        "person__name", "guests"
    )
    return [(str(name), int(guests)) for name, guests in rows]


def flyer_rsvp_url(site: Settings, meeting: Meeting) -> str:
    """The flyer's QR: the meeting page, its RSVPs counted as coming from the flyer."""
    return tracked_url(meeting, site, RsvpSource.FLYER)


async def flyer_link_target(public_id: str, *, site: Settings) -> str:
    """Where a flyer's short link leads: the meeting page, counted as the flyer.
    MeetingNotFound for a meeting nobody may see (yet)."""
    return flyer_rsvp_url(site, await get_meeting(public_id))


# Documents ------------------------------------------------------------------------------


async def packet_document(meeting: Meeting, token: str, *, site: Settings) -> Document:
    return printables.packet_document(
        meeting_to_printable(meeting),
        address=exact_place(meeting),
        host_name=meeting.host.name,
        agenda=agenda_slots(meeting),
        guide_markdown=guide_markdown_for(meeting),
        asks=asks_for(meeting.campaign),
        guests=await confirmed_guests(meeting),
        meeting_url=urls.meeting(site.base_url, meeting.public_id),
        report_url=urls.report_form(site.base_url, meeting.public_id, token),
    )


def check_shareable(meeting: Meeting) -> None:
    """A printout with the meeting's QR codes only once the meeting can be seen: a new
    host's meeting waits for their confirmed email, and its page answers 404 until then."""
    if meeting.status is MeetingStatus.AWAITING:
        raise Conflict(
            "Your meeting isn't published yet: confirm your email address with the link we "
            "sent you, then print. Until then its QR codes would lead nowhere."
        )


async def get_packet(meeting: Meeting, token: str, *, site: Settings) -> Rendered:
    """The host packet. ``meeting`` comes from ``get_managed_meeting(public_id, token)``."""
    check_shareable(meeting)
    return await render_cached(await packet_document(meeting, token, site=site))


async def get_flyer(meeting: Meeting, *, site: Settings) -> Rendered:
    check_shareable(meeting)
    return await render_cached(flyer_document(meeting, site=site))


def flyer_document(meeting: Meeting, *, site: Settings) -> Document:
    """The flyer, with the public location: a home's town, never its street."""
    return printables.flyer_document(
        meeting_to_printable(meeting),
        location=public_place(meeting),
        rsvp_url=flyer_rsvp_url(site, meeting),
        short_url=urls.meeting_short(site.base_url, meeting.public_id),
    )


async def get_meeting_guide(meeting: Meeting) -> Rendered:
    return await render_cached(meeting_guide_document(meeting))


def meeting_guide_document(meeting: Meeting) -> Document:
    """The meeting's guide, with the public location as the flyer has it."""
    return printables.meeting_guide_document(
        meeting_to_printable(meeting),
        location=public_place(meeting),
        agenda=agenda_slots(meeting),
        guide_markdown=guide_markdown_for(meeting),
    )


async def campaign_country(campaign: Campaign) -> str:
    """Where most of a campaign's meetings are (for the paper size); US when it has none."""
    rows = (
        await Meeting.filter(campaign_id=campaign.id)
        .annotate(n=Count("id"))
        .group_by("country")
        .order_by("-n", "country")
        .limit(1)
        .values_list("country", flat=True)
    )
    return str(rows[0]) if rows else "US"


async def get_campaign_guide(slug: str) -> Rendered:
    """A public campaign's guide and agenda; CampaignNotFound for a private or unknown one."""
    found = v.can_be_key(slug, SLUG_LENGTH)
    campaign = await Campaign.get_or_none(slug=slug, is_public=True) if found else None
    if campaign is None:
        raise CampaignNotFound()
    document = printables.campaign_guide_document(
        campaign_to_printable(campaign),
        agenda=agenda_items(campaign.agenda) or agenda_items(DEFAULT_AGENDA),
        guide_markdown=campaign_guide_markdown(campaign),
        country=await campaign_country(campaign),
    )
    return await render_cached(document)


# The host's timings ---------------------------------------------------------------------


def parse_agenda_minutes(
    meeting: Meeting, raw: Mapping[str, Any], problems: v.Problems
) -> list[dict[str, object]]:
    """``minutes.0``, ``minutes.1``… for the items of the meeting's current agenda;
    a missing field keeps that item's current minutes."""
    agenda: list[dict[str, object]] = []
    for n, (title, current) in enumerate(agenda_for(meeting)):
        minutes = v.integer(
            raw,
            f"minutes.{n}",
            problems,
            label=f"Minutes for “{title}”",
            default=current,
            minimum=0,
            maximum=MAX_ITEM_MINUTES,
        )
        agenda.append({"title": title, "minutes": current if minutes is None else minutes})
    total = sum(int(str(item["minutes"])) for item in agenda)
    if not problems and total > MAX_AGENDA_MINUTES:
        problems["minutes.0"] = (
            f"The agenda adds up to {total} minutes; keep it to {MAX_AGENDA_MINUTES // 60} hours "
            "or less."
        )
    return agenda


async def update_agenda(meeting: Meeting, raw: Mapping[str, Any]) -> Meeting:
    """Save the host's minutes per agenda item, and their note when one is sent.

    ``reset`` goes back to the campaign's (or the kit's) timings. Timings equal to
    those are stored as "none of the host's own", so a later campaign change still
    reaches the meeting. The next packet shows the new clock times.
    """
    if meeting.status in {MeetingStatus.CANCELLED, MeetingStatus.COMPLETED}:
        raise Conflict(f"This meeting is {meeting.status}, so it can no longer be changed.")
    problems: v.Problems = {}
    agenda = None if v.boolean(raw, "reset") else parse_agenda_minutes(meeting, raw, problems)
    fields = ["agenda", "updated_at"]
    note = meeting.host_note
    if "host_note" in raw:
        note = v.text(
            raw, "host_note", problems, label="Your note", max_length=2000, multiline=True
        )
        fields.append("host_note")
    if problems:
        raise ValidationError(problems)
    if agenda is not None and [(i["title"], i["minutes"]) for i in agenda] == base_agenda(meeting):
        agenda = None
    meeting.agenda, meeting.host_note = agenda, note
    await meeting.save(update_fields=fields)
    return meeting
