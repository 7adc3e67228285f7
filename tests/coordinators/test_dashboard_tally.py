"""The dashboard's tallies (``dashboard_tally``, kept by triggers on the meeting table) give
exactly the figures a full recount of the meetings gives: on random campaigns built the
way people build them (meetings hosted, RSVPs, reports filed and edited), then after
RSVPs are cancelled, meetings cancelled, hidden, moved to another town, week or campaign,
and deleted. The recount (``source="meetings"``) is the oracle."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from kit.coordinators import dashboard, tally
from kit.meetings import service as meetings
from kit.meetings.rsvps import RsvpInput, cancel_rsvp, record_rsvp
from kit.reports import service as reports
from kit.store.models import (
    Attendee,
    Campaign,
    Commitment,
    DashboardHostTally,
    DashboardOutcomeTally,
    DashboardTally,
    Meeting,
    MeetingStatus,
    Report,
    Rsvp,
    RsvpStatus,
)
from tests.coordinators.test_dashboard import ASKS
from tests.coordinators.test_dashboard import PLACES as TOWNS
from tests.factories import SITE, make_campaign, make_meeting


async def figures(campaign: Campaign, source: dashboard.Source) -> dict[str, Any]:
    """What the coordinators' page and API show, minus the lists the tallies don't hold,
    plus the goal figures' commitments by ask."""
    d = await dashboard.campaign_dashboard(campaign, source=source)
    shown = dashboard.dashboard_to_json(d)
    kept = ("totals", "funnel", "regions", "weeks", "commitments", "progress", "growth")
    return {k: shown[k] for k in kept} | {"progress_by_ask": d.progress.commitments}


async def assert_tallies_agree(campaigns: list[Campaign]) -> dict[str, Any]:
    """Each campaign's tallied figures are the recount's; returns the first campaign's."""
    for campaign in campaigns:
        assert await figures(campaign, "tally") == await figures(campaign, "meetings")
    return await figures(campaigns[0], "tally")


async def hosted(rng: random.Random, campaign: Campaign, n: int) -> Meeting:
    town = rng.choice(sorted(TOWNS))
    postal_code, country = TOWNS[town]
    created = await make_meeting(
        title=f"Meeting {n}",
        campaign=campaign.slug,
        capacity=rng.randint(2, 6),
        host={"name": f"Host {n}", "email": f"host{n}@example.org"},
        address={"locality": town, "postal_code": postal_code, "country": country},
    )
    return created.meeting


async def took_place(meeting: Meeting, days_ago: int) -> Meeting:
    """The meeting moved into the past (as time passing would), fetched to be reported."""
    ends = datetime.now(UTC) - timedelta(days=days_ago, hours=1)
    await Meeting.filter(id=meeting.id).update(starts_at=ends - timedelta(hours=2), ends_at=ends)
    return await Meeting.get(id=meeting.id).prefetch_related("host")


def report_body(rng: random.Random, sheet: reports.ReportSheet) -> dict[str, Any]:
    came = [r for r in sheet.rsvps if rng.random() < 0.7]
    walk_ins = [{"name": f"Walk-in {i}"} for i in range(rng.randint(0, 2))]
    attendees = [{"email": r.person.email} for r in came] + walk_ins
    for person in attendees:
        person["commitments"] = rng.sample(["host", "volunteer"], rng.randint(0, 2))
    return {"attendees": attendees, "headcount": len(attendees), "story": "A good evening."}


async def file(rng: random.Random, meeting: Meeting) -> None:
    sheet = await reports.report_sheet(meeting)
    data = reports.parse_report_json(report_body(rng, sheet), sheet)
    await reports.file_report(meeting, data, site=SITE)


async def build(rng: random.Random, campaigns: list[Campaign]) -> list[Meeting]:
    """Meetings in both campaigns, RSVPs (some waitlisted), past ones with a report."""
    made = []
    for n in range(16):
        meeting = await hosted(rng, rng.choice(campaigns), n)
        for g in range(rng.randint(0, 5)):
            guest = RsvpInput(name=f"Guest {n}-{g}", email=f"g{n}-{g}@example.org")
            await record_rsvp(meeting, replace(guest, guests=rng.choice([0, 0, 1])), site=SITE)
        if rng.random() < 0.6:
            meeting = await took_place(meeting, days_ago=rng.randint(0, 30))
            if rng.random() < 0.8:
                await file(rng, meeting)
        made.append(meeting)
    return made


async def test_tallies_match_a_recount_through_every_change(db: str) -> None:
    rng = random.Random(15)
    spring = await make_campaign("spring", asks=ASKS)
    other = await make_campaign("other", name="Other", asks=ASKS)
    campaigns = [spring, other]
    made = await build(rng, campaigns)
    shown = await assert_tallies_agree(campaigns)
    assert shown["funnel"]["planned"] > 0 and shown["funnel"]["attended"] > 0
    assert shown["regions"] and shown["weeks"]

    # Reports edited: fewer people, other commitments.
    for meeting in made:
        fresh = await Meeting.get(id=meeting.id).prefetch_related("host")
        if fresh.reported:
            await file(rng, fresh)
    await assert_tallies_agree(campaigns)

    # RSVPs withdrawn, meetings cancelled and hidden.
    before = await figures(spring, "tally")
    for rsvp in await Rsvp.filter(status=RsvpStatus.CONFIRMED).select_related("meeting"):
        if rng.random() < 0.3 and rsvp.meeting.status is MeetingStatus.PUBLISHED:
            await cancel_rsvp(rsvp, site=SITE)
    published = Meeting.filter(status=MeetingStatus.PUBLISHED).order_by("id")
    upcoming = await published.prefetch_related("host")
    await meetings.cancel_meeting(upcoming[0], site=SITE)
    await Meeting.filter(id=upcoming[1].id).update(status=MeetingStatus.HIDDEN)
    assert await assert_tallies_agree(campaigns) != before

    # A meeting moved to another town, another week and the other campaign, one deleted.
    moved = upcoming[2]
    await Meeting.filter(id=moved.id).update(
        locality="Austin", postal_code="78701", starts_at=moved.starts_at + timedelta(days=9)
    )
    await Meeting.filter(id=upcoming[3].id).update(
        campaign_id=other.id if upcoming[3].campaign_id == spring.id else spring.id
    )
    await Meeting.filter(id=made[-1].id).delete()
    await assert_tallies_agree(campaigns)


async def test_outcome_tallies_follow_commitments_reports_and_deletes(db: str) -> None:
    """Commitments edited in place, attendees, reports and reported meetings deleted
    (each with its cascade), meetings completed, moved or left without a campaign."""
    rng = random.Random(21)
    spring = await make_campaign("spring", asks=ASKS)
    other = await make_campaign("other", name="Other", asks=ASKS)
    campaigns = [spring, other]
    for _ in range(3):
        await build(rng, campaigns)
    shown = await assert_tallies_agree(campaigns)
    assert shown["progress"]["commitments"] > 0 and shown["progress"]["people_reached"] > 0
    reported = await Meeting.filter(reported=True).order_by("id")
    assert len(reported) >= 6

    # Commitments changed in place: another ask (one unknown to the campaign), another meeting.
    changed = await Commitment.all().order_by("id").limit(6)
    for c in changed[:3]:
        await Commitment.filter(id=c.id).update(ask=rng.choice(["call", "donate"]))
    await Commitment.filter(id=changed[3].id).update(meeting_id=reported[-1].id)
    await Report.filter(meeting_id=reported[0].id).update(headcount=41)
    await assert_tallies_agree(campaigns)

    # Deletes and their cascades: a commitment, an attendee, a report, reported meetings.
    await Commitment.filter(id=changed[4].id).delete()
    attendee = await Attendee.filter(commitments__id__isnull=False).first()
    assert attendee is not None
    await Attendee.filter(id=attendee.id).delete()
    await Report.filter(meeting_id=reported[1].id).delete()
    await Meeting.filter(id__in=[reported[2].id, reported[3].id]).delete()
    await assert_tallies_agree(campaigns)

    # Reported meetings completed, moved to the other campaign, hidden, left without one.
    await Meeting.filter(id__in=[m.id for m in reported[4:]]).update(status=MeetingStatus.COMPLETED)
    await Meeting.filter(id=reported[4].id).update(
        campaign_id=other.id if reported[4].campaign_id == spring.id else spring.id
    )
    await Meeting.filter(id=reported[5].id).update(status=MeetingStatus.HIDDEN)
    await assert_tallies_agree(campaigns)
    await other.delete()
    await assert_tallies_agree([spring])


async def generations(campaign: Campaign) -> dashboard.Growth:
    """The growth tree by brute force: walk up from every planned meeting in Python."""
    rows = await Meeting.all().values_list("id", "grew_from_id", "campaign_id", "status")
    parent = {i: up for i, up, _, _ in rows}
    counted: dict[int, int] = {}
    for i, _, campaign_id, status in rows:
        if campaign_id != campaign.id or status not in dashboard.PLANNED_STATUSES:
            continue
        depth, at = 0, i
        while parent.get(at) is not None and depth < dashboard.MAX_GENERATIONS:
            depth, at = depth + 1, parent[at]
        counted[depth] = counted.get(depth, 0) + 1
    counted.setdefault(0, 0)
    by = sorted(counted.items())
    return dashboard.Growth(sum(n for g, n in by if g), max(g for g, n in by if n or not g), by)


async def test_growth_tree_matches_a_walk_in_python(db: str) -> None:
    """Random grew_from links, across campaigns and statuses, with chains and a loop."""
    rng = random.Random(5)
    spring = await make_campaign("spring", asks=ASKS)
    other = await make_campaign("other", name="Other", asks=ASKS)
    made = [m.id for m in await build(rng, [spring, other]) + await build(rng, [spring, other])]
    for at, meeting_id in enumerate(made[1:], start=1):
        if rng.random() < 0.6:
            await Meeting.filter(id=meeting_id).update(grew_from_id=rng.choice(made[:at]))
    for campaign in (spring, other):
        shown = (await figures(campaign, "tally"))["growth"]
        assert shown == (await figures(campaign, "meetings"))["growth"]
        walked = await generations(campaign)
        assert shown["grown"] == walked.grown and shown["generations"] == walked.generations
        assert [(g["generation"], g["meetings"]) for g in shown["by_generation"]] == (
            walked.by_generation
        )
    assert walked.generations >= 2
    assert (await figures(spring, "tally"))["funnel"]["new_hosts"] > 0

    # New hosts as parents and children change: hosts swapped, children cancelled, a
    # parent and its child moved in one statement, a parent deleted, a meeting its own parent.
    grown = await Meeting.filter(grew_from_id__isnull=False).order_by("id")
    child = grown[0]
    await Meeting.filter(id=grown[1].id).update(host_id=child.host_id)
    await Meeting.filter(id=grown[2].id).update(status=MeetingStatus.CANCELLED)
    await Meeting.filter(id__in=[child.id, child.grew_from_id]).update(
        campaign_id=other.id, status=MeetingStatus.HIDDEN
    )
    await Meeting.filter(id__in=[child.id, child.grew_from_id]).update(
        campaign_id=spring.id, status=MeetingStatus.PUBLISHED
    )
    await Meeting.filter(id=grown[3].grew_from_id).delete()
    await Meeting.filter(id=grown[4].id).update(grew_from_id=grown[4].id)
    await Meeting.filter(id=grown[4].id).update(campaign_id=other.id)
    await assert_tallies_agree([spring, other])

    await Meeting.filter(id=made[0]).update(grew_from_id=made[-1])  # a loop
    await Meeting.filter(id=made[-1]).update(grew_from_id=made[1])
    shown = (await figures(spring, "tally"))["growth"]
    assert shown == (await figures(spring, "meetings"))["growth"]
    assert (shown["grown"], shown["generations"]) == (
        (walked := await generations(spring)).grown,
        walked.generations,
    )


async def test_rebuild_counts_the_same_tallies_again(db: str) -> None:
    rng = random.Random(7)
    campaigns = [await make_campaign("spring", asks=ASKS), await make_campaign("fall", asks=ASKS)]
    made = await build(rng, campaigns)
    for child, parent in zip(made[1::2], made[::2], strict=False):
        await Meeting.filter(id=child.id).update(grew_from_id=parent.id)
    new_hosts = (await figures(campaigns[0], "tally"))["funnel"]["new_hosts"]
    kept = await counted_rows()
    outcomes = await outcome_rows()
    assert outcomes
    await DashboardTally.all().update(meetings=0, rsvps=99)  # gone wrong somehow
    await DashboardOutcomeTally.all().update(commitments=7, headcount=-1)
    await DashboardHostTally.all().delete()
    assert await counted_rows() != kept and await outcome_rows() != outcomes
    await tally.rebuild()
    assert await counted_rows() == kept and await outcome_rows() == outcomes
    assert (
        new_hosts > 0 and (await figures(campaigns[0], "tally"))["funnel"]["new_hosts"] == new_hosts
    )
    await assert_tallies_agree(campaigns)


async def counted_rows() -> list[tuple[Any, ...]]:
    """The tallies that count a meeting (a change leaves emptied rows behind)."""
    rows = await DashboardTally.filter(meetings__gt=0).values_list(
        "campaign_id", "week", "status", "country", "region", "locality", "meetings",
        "reported", "rsvps", "attended", "committed", "commitments",
    )  # fmt: skip
    return sorted(rows)


async def outcome_rows() -> list[tuple[Any, ...]]:
    rows = await DashboardOutcomeTally.filter(
        Q(commitments__not=0) | Q(headcount__not=0)
    ).values_list("campaign_id", "status", "ask", "commitments", "headcount")
    return sorted(rows)


async def test_a_coordinator_sees_only_their_campaigns_tallies(db: str) -> None:
    rng = random.Random(3)
    spring, other = await make_campaign("spring", asks=ASKS), await make_campaign("other")
    await hosted(rng, other, 1)
    await hosted(rng, other, 2)
    shown = await figures(spring, "tally")
    assert shown["totals"]["meetings"] == 0 and shown["regions"] == [] == shown["weeks"]
    assert (await figures(other, "tally"))["totals"]["meetings"] == 2
