"""A campaign's dashboard: every figure counted in the database, on a campaign built the
way people build one (meetings hosted, RSVPs, reports with attendees and commitments,
meetings growing from meetings), next to another campaign that must not leak in."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kit.coordinators import dashboard, exports
from kit.coordinators.charts import render_bar_chart, render_column_chart
from kit.meetings import tallies
from kit.store.models import (
    Attendee,
    Campaign,
    Commitment,
    Idea,
    Meeting,
    MeetingStatus,
    Report,
    Rsvp,
    RsvpStatus,
)
from kit.store.people import find_or_add_person
from tests.factories import make_campaign, make_meeting

PLACES = {
    "New York": ("10027", "US"),
    "Brooklyn": ("11201", "US"),
    "Oakland": ("94612", "US"),
    "Austin": ("78701", "US"),
}
ASKS = [{"key": "host", "label": "Host a meeting"}, {"key": "volunteer", "label": "Volunteer"}]


async def meeting_in(
    campaign: Campaign,
    title: str,
    town: str,
    *,
    host: str,
    status: MeetingStatus = MeetingStatus.PUBLISHED,
    ended_ago: timedelta | None = None,
    grew_from: Meeting | None = None,
) -> Meeting:
    """A meeting hosted the usual way, then moved to the past or to a status if asked."""
    postal_code, country = PLACES[town]
    created = await make_meeting(
        title=title,
        campaign=campaign.slug,
        host={"name": host.split("@")[0].title() + " Host", "email": host},
        address={"locality": town, "postal_code": postal_code, "country": country},
    )
    changes: dict[str, Any] = {"status": status}
    if ended_ago is not None:
        ends = datetime.now(UTC) - ended_ago
        changes.update(starts_at=ends - timedelta(hours=2), ends_at=ends)
    if grew_from is not None:
        changes["grew_from_id"] = grew_from.id
    await Meeting.filter(id=created.meeting.id).update(**changes)
    return await Meeting.get(id=created.meeting.id)


async def rsvp_to(meeting: Meeting, email: str, *, guests: int = 0, **fields: Any) -> Rsvp:
    person = await find_or_add_person(email.split("@")[0].title(), email)
    return await Rsvp.create(meeting=meeting, person=person, guests=guests, **fields)


async def report(meeting: Meeting, people: list[tuple[str, str, bool, list[str]]]) -> None:
    """The host's report: who came (name, email, consent) and what each committed to."""
    await Report.create(meeting=meeting, headcount=len(people), story="A good evening.")
    for name, email, consent, asks in people:
        attendee = await Attendee.create(
            meeting=meeting, name=name, email=email, phone="+1 212 555 0199", consent=consent
        )
        for ask in asks:
            await Commitment.create(meeting=meeting, attendee=attendee, ask=ask)


@dataclass
class World:
    a: Campaign
    b: Campaign
    meetings: dict[str, Meeting] = field(default_factory=dict)


async def build_world() -> World:
    """Campaign A ("winter") with eight meetings in every state, campaign B ("spring")
    with its own people, who must never show up in A's figures or files."""
    a = await make_campaign("winter", asks=ASKS, goals={"meetings": 10, "people": 20})
    b = await make_campaign("spring", name="Spring Listening", asks=ASKS)
    w = World(a, b)
    m = w.meetings
    m["held"] = await meeting_in(
        a, "First living room", "New York", host="h1@a.example",
        status=MeetingStatus.COMPLETED, ended_ago=timedelta(days=20),
    )  # fmt: skip
    m["grown"] = await meeting_in(
        a, "Second living room", "Brooklyn", host="h2@a.example",
        status=MeetingStatus.COMPLETED, ended_ago=timedelta(days=10), grew_from=m["held"],
    )  # fmt: skip
    m["overdue"] = await meeting_in(
        a, "Third living room", "Oakland", host="h3@a.example",
        ended_ago=timedelta(days=3), grew_from=m["grown"],
    )  # fmt: skip
    m["upcoming"] = await meeting_in(a, "Austin kitchen table", "Austin", host="h4@a.example")
    m["pending"] = await meeting_in(
        a, "Austin porch", "Austin", host="h5@a.example", status=MeetingStatus.PENDING
    )
    m["cancelled"] = await meeting_in(
        a, "Called off", "New York", host="h6@a.example", status=MeetingStatus.CANCELLED
    )
    m["hidden"] = await meeting_in(
        a, "Taken down", "Oakland", host="h7@a.example", status=MeetingStatus.HIDDEN
    )
    m["just_ended"] = await meeting_in(
        a, "Ended an hour ago", "New York", host="h8@a.example", ended_ago=timedelta(hours=1)
    )
    for email in ("g1@a.example", "g2@a.example", "g3@a.example"):
        await rsvp_to(m["held"], email, consent=True)
    await rsvp_to(m["held"], "g4@a.example", status=RsvpStatus.CANCELLED)
    await rsvp_to(m["grown"], "g1@a.example")
    await rsvp_to(m["grown"], "g5@a.example")
    await rsvp_to(m["overdue"], "g6@a.example", status=RsvpStatus.WAITLISTED)
    await rsvp_to(m["upcoming"], "g7@a.example", guests=2)
    await rsvp_to(m["upcoming"], "g8@a.example")
    await rsvp_to(m["cancelled"], "g9@a.example")
    await report(
        m["held"],
        [
            ("Ada Okafor", "ada@a.example", True, ["host", "volunteer"]),
            ("Bo Lind", "bo@a.example", False, ["volunteer"]),
            ('=HYPERLINK("http://evil.example")', "cy@a.example", True, []),
        ],
    )
    await report(m["grown"], [("Di Park", "di@a.example", True, ["host"])])
    await Idea.create(meeting=m["held"], campaign=a, text="A tenants' union", supporters=4)
    await Idea.create(meeting=m["held"], campaign=a, text="Bus stop benches")

    m["b_held"] = await meeting_in(
        b, "Spring circle", "Austin", host="hb1@b.example",
        status=MeetingStatus.COMPLETED, ended_ago=timedelta(days=5),
    )  # fmt: skip
    m["b_pending"] = await meeting_in(
        b, "Spring porch", "Oakland", host="hb2@b.example", status=MeetingStatus.PENDING
    )
    await rsvp_to(m["b_held"], "zed@b.example", consent=True)
    await report(m["b_held"], [("Zed Secret", "zed@b.example", True, ["host"])])
    await Idea.create(meeting=m["b_held"], campaign=b, text="Spring secret idea")
    # Rows above were written directly, not through kit.meetings.rsvps / kit.reports.service.
    await tallies.refresh_all()
    return w


async def test_totals_and_funnel_count_planned_meetings_only(db: str) -> None:
    w = await build_world()
    totals, funnel = await dashboard.totals_and_funnel(w.a.id)
    assert totals == dashboard.Totals(
        meetings=8,
        pending=1,
        published=3,
        completed=2,
        cancelled=1,
        hidden=1,
        commitments=4,
        ideas=2,
    )
    assert funnel == dashboard.Funnel(
        planned=6, held=2, reported=2, rsvps=8, attended=4, committed=3, new_hosts=2
    )


async def test_commitments_by_ask_follow_the_campaign_asks(db: str) -> None:
    w = await build_world()
    assert await dashboard.commitments_by_ask(w.a) == [
        ("host", "Host a meeting", 2),
        ("volunteer", "Volunteer", 2),
    ]


async def test_regions_then_towns(db: str) -> None:
    w = await build_world()
    regions = await dashboard.by_region(w.a.id)
    assert [(r.region, r.counts.meetings) for r in regions] == [("NY", 3), ("TX", 2), ("CA", 1)]
    ny = regions[0]
    assert ny.counts == dashboard.Counts(
        meetings=3, held=2, reported=2, rsvps=5, attended=4, committed=3, commitments=4
    )
    assert [(p.locality, p.counts.meetings) for p in ny.places] == [
        ("New York", 2),
        ("Brooklyn", 1),
    ]
    assert sum((r.counts for r in regions), dashboard.Counts()).meetings == 6


async def test_weeks_are_iso_weeks_of_the_start(db: str) -> None:
    w = await build_world()
    weeks = await dashboard.by_week(w.a.id)
    assert sum(week.counts.meetings for week in weeks) == 6
    assert [wk.starts_on for wk in weeks] == sorted(wk.starts_on for wk in weeks)
    held = w.meetings["held"].starts_at.astimezone(UTC).date()
    monday = held - timedelta(days=held.weekday())
    [week] = [wk for wk in weeks if wk.starts_on == monday]
    assert week.counts.held >= 1
    year, number, _ = held.isocalendar()
    assert week.label == f"{year}-W{number:02d}"


async def test_growth_tree_counts_generations(db: str) -> None:
    w = await build_world()
    growth = await dashboard.growth_tree(w.a.id)
    assert growth == dashboard.Growth(
        grown=2, generations=2, by_generation=[(0, 4), (1, 1), (2, 1)]
    )
    other = await dashboard.growth_tree(w.b.id)
    assert other == dashboard.Growth(grown=0, generations=0, by_generation=[(0, 2)])


async def test_growth_tree_survives_a_loop_of_links(db: str) -> None:
    w = await build_world()
    held, grown = w.meetings["held"], w.meetings["grown"]
    await Meeting.filter(id=held.id).update(grew_from_id=grown.id)  # a loop, by hand
    growth = await dashboard.growth_tree(w.a.id)
    assert growth.generations == dashboard.MAX_GENERATIONS


async def test_past_due_reports_wait_a_day(db: str) -> None:
    w = await build_world()
    count, rows = await dashboard.past_due_reports(w.a.id)
    assert count == 1
    [row] = rows
    assert (row.public_id, row.host_email) == (w.meetings["overdue"].public_id, "h3@a.example")
    later = datetime.now(UTC) + timedelta(days=1)
    count, rows = await dashboard.past_due_reports(w.a.id, now=later)
    assert count == 2 and rows[-1].public_id == w.meetings["just_ended"].public_id


async def test_dashboard_json_has_aggregates_and_no_personal_data(db: str) -> None:
    w = await build_world()
    body = dashboard.dashboard_to_json(await dashboard.campaign_dashboard(w.a))
    assert body["funnel"]["planned"] == 6
    assert body["growth"]["generations"] == 2
    assert body["past_due_reports"]["count"] == 1
    text = repr(body)
    for private in ("@a.example", "Ada", "417 Elm", "Zed", "Spring"):
        assert private not in text


async def test_exports_stream_in_batches_and_respect_consent(db: str, monkeypatch: Any) -> None:
    w = await build_world()
    monkeypatch.setattr(exports, "EXPORT_BATCH", 2)
    meetings = [row async for row in exports.export_rows("meetings", w.a.id)]
    assert len(meetings) == 8
    attendees = [row async for row in exports.export_rows("attendees", w.a.id)]
    header, _ = exports.EXPORTS["attendees"]
    by_name = {row[header.index("name")]: dict(zip(header, row, strict=True)) for row in attendees}
    assert set(by_name) == {"Ada Okafor", "Bo Lind", '=HYPERLINK("http://evil.example")', "Di Park"}
    assert by_name["Ada Okafor"]["email"] == "ada@a.example"
    assert by_name["Bo Lind"]["email"] == "" and by_name["Bo Lind"]["consent"] == "no"
    ideas = [row async for row in exports.export_rows("ideas", w.a.id)]
    assert len(ideas) == 2
    commitments = [row async for row in exports.export_rows("commitments", w.b.id)]
    assert [row[3] for row in commitments] == ["host"]


def parse_svg(markup: str) -> ET.Element:
    root = ET.fromstring(str(markup))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def test_bar_chart_is_an_accessible_image_without_style_attributes() -> None:
    svg = render_bar_chart(
        "chart-x", "Funnel <&>", "Described.", [("Planned", 10), ("Held", 4), ("Reported", 0)]
    )
    root = parse_svg(svg)
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Funnel <&>"
    assert root.find("{http://www.w3.org/2000/svg}title").text == "Funnel <&>"
    assert root.get("aria-describedby") == "chart-x-desc"
    rects = root.findall(".//{http://www.w3.org/2000/svg}rect")
    assert [float(r.get("width")) for r in rects][2] == 0
    assert float(rects[0].get("width")) > float(rects[1].get("width"))
    assert all(el.get("style") is None for el in root.iter())
    assert "<script" not in str(svg)


def test_column_chart_and_empty_chart() -> None:
    root = parse_svg(render_column_chart("w", "Weeks", "d", [(f"2026-W{i}", i) for i in range(30)]))
    assert len(root.findall(".//{http://www.w3.org/2000/svg}rect")) == 30
    assert all(el.get("style") is None for el in root.iter())
    empty = parse_svg(render_bar_chart("e", "Nothing", "d", []))
    assert "Nothing to show yet" in ET.tostring(empty, encoding="unicode")
