"""A realistic, idempotent demo: one campaign, ~300 upcoming meetings in real
cities over the next six weeks with RSVPs, and past meetings with reports.

Every demo meeting goes through the same ``create_meeting`` and ``record_rsvp``
as a real one (its hosts count as having confirmed their email). Idempotent: each demo
meeting has a fixed submission key, so a second run finds it and adds nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from tortoise.transactions import in_transaction

from kit.campaigns.guides import DEFAULT_AGENDA, DEFAULT_ASKS, DEFAULT_GUIDE
from kit.core import urls
from kit.core.settings import Settings
from kit.maps.geocoding import make_geocoder
from kit.maps.places import AddressQuery, Geocoder, Place
from kit.meetings import tallies
from kit.meetings.rsvps import RsvpInput, record_rsvp
from kit.meetings.service import MeetingInput, create_meeting
from kit.store.models import (
    Attendee,
    Campaign,
    Commitment,
    Idea,
    Meeting,
    MeetingStatus,
    Report,
    Rsvp,
    RsvpSource,
    TokenKind,
    VenueKind,
    Visibility,
)
from kit.store.tokens import issue_token

CAMPAIGN_SLUG = "winter-house-meetings"
DEMO_EMAIL_DOMAIN = "demo.example.org"

# (locality, postal code, country): ZIPs for the US, towns elsewhere.
CITIES: tuple[tuple[str, str, str], ...] = (
    ("New York", "10027", "US"),
    ("Brooklyn", "11215", "US"),
    ("Oakland", "94612", "US"),
    ("Chicago", "60614", "US"),
    ("Austin", "78704", "US"),
    ("Seattle", "98103", "US"),
    ("Boulder", "80302", "US"),
    ("Atlanta", "30307", "US"),
    ("Ann Arbor", "48104", "US"),
    ("Minneapolis", "55406", "US"),
    ("Portland", "97214", "US"),
    ("Cambridge", "02139", "US"),
    ("Philadelphia", "19104", "US"),
    ("Phoenix", "85004", "US"),
    ("Miami", "33130", "US"),
    ("New Orleans", "70116", "US"),
    ("Madison", "53703", "US"),
    ("Durham", "27701", "US"),
    ("Nashville", "37206", "US"),
    ("Kansas City", "64111", "US"),
    ("Salt Lake City", "84102", "US"),
    ("Santa Fe", "87501", "US"),
    ("Honolulu", "96813", "US"),
    ("Anchorage", "99501", "US"),
    ("Washington", "20009", "US"),
    ("Los Angeles", "90026", "US"),
    ("San Diego", "92104", "US"),
    ("Pittsburgh", "15213", "US"),
    ("Cleveland", "44113", "US"),
    ("Louisville", "40204", "US"),
    ("Lyon", "", "FR"),
    ("Paris", "", "FR"),
    ("Berlin", "", "DE"),
    ("Zürich", "", "CH"),
    ("London", "", "GB"),
    ("Manchester", "", "GB"),
    ("Toronto", "", "CA"),
    ("Montréal", "", "CA"),
    ("Vancouver", "", "CA"),
    ("Mexico City", "", "MX"),
    ("Madrid", "", "ES"),
    ("Barcelona", "", "ES"),
    ("Lisbon", "", "PT"),
    ("Dublin", "", "IE"),
    ("Amsterdam", "", "NL"),
    ("Copenhagen", "", "DK"),
    ("Nairobi", "", "KE"),
    ("Cape Town", "", "ZA"),
    ("Sydney", "", "AU"),
    ("Melbourne", "", "AU"),
    ("Auckland", "", "NZ"),
    ("São Paulo", "", "BR"),
    ("Buenos Aires", "", "AR"),
    ("Bogotá", "", "CO"),
)

FIRST_NAMES = (
    "Ada",
    "Amara",
    "Ben",
    "Carmen",
    "Dev",
    "Elena",
    "Farah",
    "Gus",
    "Hana",
    "Ivan",
    "Jo",
    "Kwame",
    "Lena",
    "Mateo",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Vic",
    "Wen",
    "Yusuf",
    "Zoe",
)
LAST_NAMES = (
    "Okafor",
    "Garcia",
    "Nguyen",
    "Smith",
    "Haddad",
    "Kowalski",
    "Müller",
    "Rossi",
    "Tanaka",
    "Johnson",
    "Silva",
    "Dubois",
    "Patel",
    "Cohen",
    "Andersen",
    "Moreau",
)
STREETS = (  # the US and anywhere STREETS_BY_COUNTRY doesn't name
    "Elm St",
    "Maple Ave",
    "Oak Rd",
    "Cedar Lane",
    "Linden Ct",
    "Birch Way",
    "Church St",
    "Park Rd",
)
# Street names that fit each country, so a demo address reads like a real one there.
STREETS_BY_COUNTRY: dict[str, tuple[str, ...]] = {
    "FR": ("Rue des Lilas", "Rue de la République", "Avenue Jean Jaurès", "Rue Victor Hugo"),
    "DE": ("Lindenstraße", "Schillerstraße", "Bahnhofstraße", "Gartenweg"),
    "CH": ("Bahnhofstrasse", "Seestrasse", "Dorfstrasse", "Kirchgasse"),
    "GB": ("High Street", "Church Lane", "Victoria Road", "Mill Lane"),
    "IE": ("Main Street", "Church Road", "Parnell Street", "Castle Avenue"),
    "CA": ("Maple Street", "King Street", "Rue Saint-Denis", "Queen Street"),
    "MX": ("Calle Morelos", "Avenida Juárez", "Calle Hidalgo", "Calle Allende"),
    "ES": ("Calle Mayor", "Calle del Sol", "Avenida de la Constitución", "Calle Real"),
    "PT": ("Rua das Flores", "Rua Augusta", "Avenida da Liberdade", "Rua do Carmo"),
    "NL": ("Kerkstraat", "Molenweg", "Dorpsstraat", "Prinsengracht"),
    "DK": ("Nørregade", "Skolevej", "Kirkevej", "Vestergade"),
    "KE": ("Ngong Road", "Moi Avenue", "Kenyatta Avenue", "Lenana Road"),
    "ZA": ("Long Street", "Kloof Street", "Main Road", "Church Street"),
    "AU": ("George Street", "Smith Street", "Beach Road", "Queen Street"),
    "NZ": ("Queen Street", "Ponsonby Road", "Karangahape Road", "Victoria Street"),
    "BR": ("Rua Augusta", "Rua das Palmeiras", "Avenida Paulista", "Rua da Consolação"),
    "AR": ("Calle Florida", "Avenida Corrientes", "Calle Defensa", "Calle Perú"),
    "CO": ("Carrera Séptima", "Calle 85", "Avenida Jiménez", "Carrera 15"),
}
# Where the house number follows the street name ("Lindenstraße 12", "Calle Mayor, 12").
NUMBER_AFTER = {"DE", "CH", "NL", "DK", "ES", "PT", "MX", "BR", "AR", "CO"}
TOPICS = (
    ("Neighbors talk schools", "What do our kids need from the school board this year?"),
    ("Kitchen-table talk on rent", "Share how rising rents hit your block, and what to do."),
    ("Clean air on our street", "Traffic, trees and what a cleaner street would take."),
    ("Living-room meeting: safe bike routes", "Map the crossings that scare you."),
    ("Coffee and the library budget", "Why our branch matters, and how to keep it open."),
    ("Porch talk: a park for everyone", "Ideas for the empty lot on the corner."),
    ("Childcare we can afford", "Parents compare notes on waiting lists, costs and hours."),
    ("Getting the bus back", "Route 9 was cut. Who misses it, and who decides?"),
    ("Heat, repairs and our landlord", "Tenants of one building meet to make a common list."),
    ("Food on every table", "A pantry, a community garden, or both? Let's plan."),
    ("Our streets after dark", "Lights, crossings and walking home safely."),
    ("New neighbors welcome", "A first meeting for people who moved here this year."),
)
# Ways hosts name their meeting: the topic, the place, the host, or the street.
TITLE_FORMS = (
    "{topic}",
    "{topic} — {locality}",
    "{topic} at {first}'s",
    "{street}: {topic_lower}",
)
IDEAS = (
    "A walking school bus on Tuesdays",
    "Ask the council for a crossing guard",
    "Host a repair café at the library",
    "Start a tenants' group chat",
    "Plant trees along the bus route",
    "Monthly potluck for new neighbors",
)
STORIES = (
    "“I came because my daughter's class has 34 kids. I left with six neighbors "
    "who want to fix it.”",
    "“We'd lived on the same street for ten years and never talked. Now we have a plan.”",
)


class JitteredGeocoder:
    """Spreads demo homes around each town (a gazetteer knows only its centre)."""

    def __init__(self, inner: Geocoder, rng: random.Random) -> None:
        self.inner, self.rng = inner, rng

    async def search(self, query: str) -> Place | None:
        return await self.inner.search(query)

    async def locate(self, address: AddressQuery) -> Place | None:
        place = await self.inner.locate(address)
        if place is None:
            return None
        return replace(
            place,
            precision="address",
            lat=round(place.lat + self.rng.uniform(-0.05, 0.05), 6),
            lon=round(place.lon + self.rng.uniform(-0.07, 0.07), 6),
        )


@dataclass(frozen=True)
class DemoSummary:
    created: int
    meetings: int
    rsvps: int
    reports: int

    def describe(self) -> str:
        return (
            f"Demo ready: {self.meetings} meetings ({self.created} new), "
            f"{self.rsvps} RSVPs, {self.reports} reports."
        )


async def ensure_campaign(today: date) -> Campaign:
    campaign, _ = await Campaign.get_or_create(
        slug=CAMPAIGN_SLUG,
        defaults={
            "name": "Winter House Meetings",
            "description": "Neighbors meet in living rooms, libraries and cafés to talk about "
            "what their town needs, and leave with one thing to do together.",
            "starts_on": today - timedelta(days=30),
            "ends_on": today + timedelta(days=60),
            "guide_markdown": DEFAULT_GUIDE,
            "agenda": DEFAULT_AGENDA,
            "asks": DEFAULT_ASKS,
            "goals": {"meetings": 400, "people": 4000, "commitments": 1500},
        },
    )
    return campaign


def demo_person(rng: random.Random, n: int) -> tuple[str, str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    slug = f"{first}.{last}".lower().replace("ü", "u")
    return f"{first} {last}", f"{slug}.{n}@{DEMO_EMAIL_DOMAIN}"


def street_address(rng: random.Random, country: str) -> tuple[str, str]:
    """A house number and a street that fit the country; (the address, the street)."""
    street = rng.choice(STREETS_BY_COUNTRY.get(country, STREETS))
    number = rng.randint(2, 240) if country in NUMBER_AFTER else rng.randint(10, 999)
    if country in NUMBER_AFTER:
        return (
            f"{street}, {number}" if country in {"ES", "MX", "AR", "CO"} else f"{street} {number}"
        ), street
    return f"{number} {street}", street


def demo_title(rng: random.Random, topic: str, locality: str, host: str, street: str) -> str:
    form = rng.choice(TITLE_FORMS)
    return form.format(
        topic=topic,
        topic_lower=topic[0].lower() + topic[1:],
        locality=locality,
        first=host.split()[0],
        street=street,
    )


def demo_meeting_input(rng: random.Random, n: int, start: datetime) -> MeetingInput:
    locality, postal_code, country = CITIES[n % len(CITIES)]
    topic, description = TOPICS[rng.randrange(len(TOPICS))]
    host_name, host_email = demo_person(rng, n)
    public = rng.random() < 0.25
    address, street = street_address(rng, country)
    return MeetingInput(
        title=demo_title(rng, topic, locality, host_name, street),
        description=description,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        address=AddressQuery(
            street=address,
            locality=locality,
            postal_code=postal_code,
            country=country,
        ),
        directions="Ring the blue door" if not public else "",
        kind=VenueKind.PUBLIC if public else VenueKind.HOME,
        capacity=rng.choice((8, 10, 12, 15, 20)),
        visibility=Visibility.PUBLIC,
        campaign_slug=CAMPAIGN_SLUG,
        rsvp_goal=10,
        host_name=host_name,
        host_email=host_email,
        host_phone=None,
        host_note="Tea and cookies provided. Kids welcome.",
        reply_to_host=False,
    )


def grown_from(rng: random.Random, held: list[tuple[int, str]], offset: int) -> str:
    """Now and then, a meeting whose host came to an earlier one (at least three days
    before): the growth tree and the dashboard's "new hosts" have something to show."""
    earlier = [public_id for day, public_id in held if day < offset - 2]
    return rng.choice(earlier) if earlier and rng.random() < 0.2 else ""


def local_evening(rng: random.Random, day: date) -> datetime:
    """A naive local wall-clock time: create_meeting reads it in the place's zone."""
    return datetime(day.year, day.month, day.day, rng.choice((10, 14, 18, 19)), rng.choice((0, 30)))


async def load_demo(
    settings: Settings, *, meetings: int = 300, past: int = 40, seed: int = 2026
) -> DemoSummary:
    today = datetime.now(UTC).date()
    await ensure_campaign(today)
    offline = make_geocoder("offline", settings.geocoder_user_agent)
    created = 0
    already = await Meeting.filter(host__email__endswith=f"@{DEMO_EMAIL_DOMAIN}").count()
    held: list[tuple[int, str]] = []  # (days from today, public id) of past meetings
    # The past ones first, so that later meetings can grow from them.
    order = [*range(meetings, meetings + past), *range(meetings)]
    for n in order if already < meetings + past else []:
        # One generator per meeting: a rerun draws the same meeting (and so the same
        # submission key) whatever earlier meetings consumed.
        rng = random.Random(seed * 100_003 + n)
        is_past = n >= meetings
        offset = -rng.randint(3, 25) if is_past else rng.randint(1, 42)
        data = demo_meeting_input(rng, n, local_evening(rng, today + timedelta(days=offset)))
        data = replace(data, grew_from=grown_from(rng, held, offset))
        pretend_now = datetime.now(UTC) - timedelta(days=40) if is_past else None
        result = await create_meeting(
            data,
            geocoder=JitteredGeocoder(offline, rng),
            site=settings,
            now=pretend_now,
            notify_host=False,
            submission=f"demo-{seed}-{n}",
            proven_emails={data.host_email},  # the operator loads the demo: nobody to ask
        )
        if is_past:
            held.append((offset, result.meeting.public_id))
        if result.repeated:
            continue  # made by an earlier run
        created += 1
        await add_demo_rsvps(result.meeting, rng, n, pretend_now, settings)
        if is_past:
            await complete_with_report(result.meeting, rng)
    return DemoSummary(
        created=created,
        meetings=await Meeting.filter(campaign__slug=CAMPAIGN_SLUG).count(),
        rsvps=await Rsvp.filter(meeting__campaign__slug=CAMPAIGN_SLUG).count(),
        reports=await Report.filter(meeting__campaign__slug=CAMPAIGN_SLUG).count(),
    )


async def add_demo_rsvps(
    meeting: Meeting, rng: random.Random, n: int, now: datetime | None, settings: Settings
) -> None:
    for i in range(rng.randint(0, max(meeting.capacity - 3, 1))):
        name, email = demo_person(rng, n * 100 + i)
        await record_rsvp(
            meeting,
            RsvpInput(
                name=name,
                email=email,
                guests=rng.choice((0, 0, 0, 1)),
                consent=rng.random() < 0.6,
                source=RsvpSource.DEMO,
            ),
            site=settings,
            now=now,
            notify=False,
        )


async def complete_with_report(meeting: Meeting, rng: random.Random) -> None:
    """What a host would report: who came (RSVPs and walk-ins), commitments, ideas, a story."""
    confirmed = await Rsvp.filter(meeting_id=meeting.id, status="confirmed").select_related(
        "person"
    )
    came: list[tuple[str, str, Rsvp | None]] = [
        (r.person.name, r.person.email, r) for r in confirmed if rng.random() < 0.85
    ]
    came += [
        demo_person(rng, 90_000 + meeting.id * 10 + i) + (None,) for i in range(rng.randint(0, 3))
    ]
    async with in_transaction():
        await Report.create(
            meeting=meeting,
            headcount=len(came) + rng.randint(0, 2),
            story=rng.choice(STORIES),
            story_consent=True,
            guide_rating=rng.randint(3, 5),
        )
        for name, email, rsvp in came:
            attendee = await Attendee.create(
                meeting=meeting,
                rsvp=rsvp,
                name=name,
                email=email,
                walk_in=rsvp is None,
                consent=rng.random() < 0.6,
            )
            for ask in DEFAULT_ASKS:
                if rng.random() < 0.3:
                    await Commitment.create(meeting=meeting, attendee=attendee, ask=ask["key"])
        for text in rng.sample(IDEAS, 2):
            await Idea.create(
                meeting=meeting,
                campaign_id=meeting.campaign_id,  # type: ignore[attr-defined]
                text=text,
                supporters=0,
            )
        await Meeting.filter(id=meeting.id).update(
            status=MeetingStatus.COMPLETED, completed_at=meeting.ends_at
        )
        await tallies.refresh(meeting.id)


# What to try once the demo is loaded (printed by ``kit demo`` and ./scripts/quickstart) --

TRY_NEAR = CITIES[0][1]  # New York's ZIP: the most demo meetings are near it


@dataclass(frozen=True)
class DemoTour:
    """Where to start: a neighbor's search, a demo host's manage link, the coordinators."""

    base_url: str
    manage_url: str | None
    debug: bool

    def describe(self) -> str:
        base = self.base_url
        outbox = (
            f"{base}/dev/outbox"
            if self.debug
            else "the .eml files in KIT_DATA_DIR/outbox (or set KIT_DEBUG=1 for /dev/outbox)"
        )
        lines = [
            "",
            "What to try:",
            f"  As a neighbor:  {base}/find?near={TRY_NEAR}",
            f"  As a host:      {self.manage_url or '(no upcoming demo meeting to manage)'}",
            "  As a coordinator:",
            "      .venv/bin/kit coordinator add you@example.org --admin",
            f"      then sign in at {base}/coordinators/signin with that address",
            "      and open the link in the email it sends (see below)",
            f"  Emails the kit sends: {outbox}",
        ]
        return "\n".join(lines)


async def demo_manage_link(settings: Settings) -> str | None:
    """A fresh manage link to the next upcoming demo meeting. Its host is made up, so
    the link is printed for the operator instead of emailed; earlier links keep working."""
    meeting = (
        await Meeting.filter(
            campaign__slug=CAMPAIGN_SLUG,
            status=MeetingStatus.PUBLISHED,
            starts_at__gt=datetime.now(UTC),
            host__email__endswith=f"@{DEMO_EMAIL_DOMAIN}",
        )
        .order_by("starts_at", "id")
        .first()
    )
    if meeting is None:
        return None
    token = await issue_token(TokenKind.MEETING_MANAGE, meeting=meeting)
    return urls.manage(settings.base_url, meeting.public_id, token)


async def demo_tour(settings: Settings) -> DemoTour:
    return DemoTour(settings.base_url, await demo_manage_link(settings), settings.debug)
