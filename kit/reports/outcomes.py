"""What meetings achieved, as the public sees it: a held meeting's outcomes on its page,
and a campaign's totals, stories, idea board and map.

Numbers are counted in the database, never by looping over rows, and carry no names,
emails or addresses: these feed public pages and the public API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count, Max, Min, Sum

from kit.campaigns.service import asks_for, campaign_of
from kit.meetings.public import listed_q
from kit.reports import ideas as idea_board
from kit.store.models import Campaign, Commitment, Idea, Meeting, MeetingStatus, Report, Visibility


@dataclass(frozen=True)
class AskCount:
    key: str
    label: str
    count: int


def commitments_by_ask_key(
    rows: list[dict[str, Any]], asks: list[dict[str, str]]
) -> list[AskCount]:
    """Counts in the asks' order; asks a campaign dropped since keep their key as label."""
    counts = {str(r["ask"]): int(r["n"]) for r in rows}
    known = [AskCount(a["key"], a["label"], counts.pop(a["key"], 0)) for a in asks]
    return known + [AskCount(key, key, n) for key, n in sorted(counts.items())]


@dataclass(frozen=True)
class MeetingOutcomes:
    headcount: int
    commitments: list[AskCount]
    ideas: list[str]
    story: str  # "" unless the storyteller agreed to share it

    @property
    def commitments_total(self) -> int:
        return sum(c.count for c in self.commitments)


async def meeting_outcomes(meeting: Meeting) -> MeetingOutcomes | None:
    """What happened, for the meeting page: only for a completed meeting with a report."""
    if meeting.status is not MeetingStatus.COMPLETED:
        return None
    report = await Report.get_or_none(meeting_id=meeting.id)
    if report is None:
        return None
    rows = (
        await Commitment.filter(meeting_id=meeting.id)
        .annotate(n=Count("id"))
        .group_by("ask")
        .values("ask", "n")
    )
    texts = await Idea.filter(meeting_id=meeting.id).order_by("id").values_list("text", flat=True)
    return MeetingOutcomes(
        headcount=report.headcount,
        commitments=[
            c for c in commitments_by_ask_key(rows, asks_for(await campaign_of(meeting))) if c.count
        ],
        ideas=[str(t) for t in texts],
        story=report.story if report.story_consent else "",
    )


# One definition of each goal figure for the public campaign page, the coordinators'
# dashboard and both JSON answers, with the caption that says what it counts.
FIGURE_MEANS = {
    "meetings": "Meetings held: meetings that took place, neither cancelled nor hidden.",
    "people": "People reached: everyone at the meetings held, as their hosts counted them "
    "in their reports (the headcount includes people who didn't sign in).",
    "commitments": "Commitments: what people at the meetings held signed up for, one per "
    "person and ask.",
}


@dataclass(frozen=True)
class Progress:
    meetings_held: int
    people_reached: int
    commitments: list[AskCount]

    @property
    def commitments_total(self) -> int:
        return sum(c.count for c in self.commitments)


async def campaign_progress(campaign: Campaign) -> Progress:
    """Meetings held, people reached (the hosts' headcounts) and commitments by ask."""
    held = (
        await Meeting.filter(campaign_id=campaign.id, status=MeetingStatus.COMPLETED)
        .annotate(meetings=Count("id"), people=Sum("report__headcount"))
        .group_by("campaign_id")
        .values("meetings", "people")
    )
    commitments = (
        await Commitment.filter(
            meeting__campaign_id=campaign.id, meeting__status=MeetingStatus.COMPLETED
        )
        .annotate(n=Count("id"))
        .group_by("ask")
        .values("ask", "n")
    )
    return Progress(
        meetings_held=int(held[0]["meetings"]) if held else 0,
        people_reached=int(held[0]["people"] or 0) if held else 0,
        commitments=commitments_by_ask_key(commitments, asks_for(campaign)),
    )


def progress_to_json(progress: Progress) -> dict[str, Any]:
    return {
        "meetings_held": progress.meetings_held,
        "people_reached": progress.people_reached,
        "commitments": progress.commitments_total,
        "means": FIGURE_MEANS,
    }


@dataclass(frozen=True)
class CampaignOutcomes:
    campaign: Campaign
    meetings_held: int
    meetings_upcoming: int
    people_reached: int
    commitments: list[AskCount]
    ideas: list[Idea] = field(default_factory=list)

    @property
    def commitments_total(self) -> int:
        return sum(c.count for c in self.commitments)

    def goal(self, name: str) -> int | None:
        goals = self.campaign.goals if isinstance(self.campaign.goals, dict) else {}
        value = goals.get(name)
        return value if isinstance(value, int) and value > 0 else None


async def campaign_outcomes(campaign: Campaign, now: datetime | None = None) -> CampaignOutcomes:
    """Meetings held, people reached (the hosts' headcounts), commitments by ask, ideas."""
    now = now or datetime.now(UTC)
    progress = await campaign_progress(campaign)
    upcoming = await Meeting.filter(listed_q(now), campaign_id=campaign.id).count()
    return CampaignOutcomes(
        campaign=campaign,
        meetings_held=progress.meetings_held,
        meetings_upcoming=upcoming,
        people_reached=progress.people_reached,
        commitments=progress.commitments,
        ideas=await idea_board.list_ideas(campaign),
    )


def outcomes_as_json(outcomes: CampaignOutcomes) -> dict[str, Any]:
    """The public aggregates: counts and ideas, never a person."""
    return {
        "campaign": outcomes.campaign.slug,
        "goals": {
            name: outcomes.goal(name)
            for name in ("meetings", "people", "commitments")
            if outcomes.goal(name)
        },
        "meetings_held": outcomes.meetings_held,
        "meetings_upcoming": outcomes.meetings_upcoming,
        "people_reached": outcomes.people_reached,
        "commitments": {
            "total": outcomes.commitments_total,
            "by_ask": [
                {"key": c.key, "label": c.label, "count": c.count} for c in outcomes.commitments
            ],
        },
        "ideas": [idea_board.idea_as_json(i) for i in outcomes.ideas],
    }


@dataclass(frozen=True)
class Story:
    text: str
    locality: str
    when: datetime
    timezone: str


async def campaign_stories(campaign: Campaign, limit: int = 12) -> list[Story]:
    """Stories the teller agreed to share, newest first, with the town but no names."""
    rows = (
        await Report.filter(
            meeting__campaign_id=campaign.id,
            meeting__status=MeetingStatus.COMPLETED,
            story_consent=True,
        )
        .exclude(story="")
        .order_by("-filed_at")
        .limit(limit)
        .values("story", "meeting__locality", "meeting__starts_at", "meeting__timezone")
    )
    return [
        Story(r["story"], r["meeting__locality"], r["meeting__starts_at"], r["meeting__timezone"])
        for r in rows
    ]


async def upcoming_meetings(
    campaign: Campaign, now: datetime | None = None, limit: int = 50
) -> list[Meeting]:
    return (
        await Meeting.filter(listed_q(now or datetime.now(UTC)), campaign_id=campaign.id)
        .order_by("starts_at")
        .limit(limit)
        .select_related("campaign")
    )


def _on_the_map(campaign: Campaign, now: datetime | None) -> Any:
    # Held meetings stay on the map; of the others, those anyone may find.
    return Meeting.filter(
        Q(status=MeetingStatus.COMPLETED, visibility=Visibility.PUBLIC)
        | listed_q(now or datetime.now(UTC)),
        campaign_id=campaign.id,
    )


async def map_bounds(
    campaign: Campaign, now: datetime | None = None
) -> tuple[float, float, float, float] | None:
    """(south, west, north, east) around the campaign's map points; None when it has none."""
    rows = (
        await _on_the_map(campaign, now)
        .annotate(
            south=Min("approx_lat"),
            west=Min("approx_lon"),
            north=Max("approx_lat"),
            east=Max("approx_lon"),
        )
        .group_by("campaign_id")
        .values("south", "west", "north", "east")
    )
    if not rows or rows[0]["south"] is None:
        return None
    row = rows[0]
    return float(row["south"]), float(row["west"]), float(row["north"]), float(row["east"])


async def map_meetings(
    campaign: Campaign,
    box: tuple[float, float, float, float] | None,
    now: datetime | None = None,
    limit: int = 2000,
) -> list[Meeting]:
    """Held and upcoming public meetings of the campaign, in the map's box when given."""
    query = _on_the_map(campaign, now)
    if box:
        west, south, east, north = box
        query = query.filter(approx_lat__gte=south, approx_lat__lte=north)
        if west <= east:
            query = query.filter(approx_lon__gte=west, approx_lon__lte=east)
        else:  # across the antimeridian
            query = query.filter(Q(approx_lon__gte=west) | Q(approx_lon__lte=east))
    return await query.order_by("starts_at").limit(limit).select_related("campaign")
