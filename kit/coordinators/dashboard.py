"""A campaign's numbers, counted in the database: the funnel, regions, weeks, the growth
tree and the meetings whose report is overdue. (The CSV exports are kit.coordinators.exports.)

Every figure is one SQL statement run by ``kit.store.sql.read_rows``, its values placed with
``SqlParams``; Python only reshapes the few grouped rows that come back, never the
campaign's meetings or people.

Counts cover the meetings a campaign is planning or held: pending, published and
completed ones ("planned"). Cancelled and hidden meetings are counted apart.

RSVPs, attendees and commitments are not counted here: each meeting row keeps its own
tallies (kit.meetings.tallies, recounted whenever its RSVPs or report change), and triggers
on the meeting table sum those rows into ``dashboard_tally`` by campaign, status and place,
and by campaign, status and ISO week (kit/store/migrations/_dashboard_tally.py). The
totals, the funnel, the regions and the weeks read those few hundred rows instead of the
campaign's meetings; ``source="meetings"`` counts the same figures from the meeting rows
(the tests' oracle, and what ``kit.coordinators.tally.rebuild`` restores the tallies to).
``campaign_dashboard`` takes the funnel from the regions' sums.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter
from typing import Any, Literal

from kit.campaigns.service import asks_for
from kit.maps.countries import country_name, region_name
from kit.reports.outcomes import (
    Progress,
    campaign_progress,
    commitments_by_ask_key,
    progress_to_json,
)
from kit.store.models import Campaign, Meeting, MeetingStatus
from kit.store.sql import SqlParams, as_date, as_datetime, default_params, read_rows

PLANNED_STATUSES = ("pending", "published", "completed")
PLANNED = "(" + ", ".join(f"'{status}'" for status in PLANNED_STATUSES) + ")"
Source = Literal["tally", "meetings"]  # where the sums come from: the tallies or a recount
OVERDUE_AFTER = timedelta(hours=24)
PAST_DUE_SHOWN = 100
MAX_GENERATIONS = 100  # a guard against a loop of grew_from links


# --- SQL on either database ----------------------------------------------------------------


def _week_start(p: SqlParams) -> str:
    """The Monday (UTC) of a meeting's ISO week."""
    if p.postgres:
        return "CAST(date_trunc('week', m.starts_at AT TIME ZONE 'UTC') AS date)"
    return "date(m.starts_at, 'weekday 0', '-6 days')"


# --- The figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    meetings: int = 0
    held: int = 0
    reported: int = 0
    rsvps: int = 0
    attended: int = 0
    committed: int = 0  # attendees with at least one commitment
    commitments: int = 0

    def __add__(self, other: Counts) -> Counts:
        return total([self, other])


def _campaign_meetings(p: SqlParams, campaign_id: int) -> str:
    """A subquery: the ids of the campaign's planned meetings."""
    campaign = p.add(campaign_id)
    return f"(SELECT id FROM meeting WHERE campaign_id = {campaign} AND status IN {PLANNED})"


def _grouped_counts(p: SqlParams, campaign_id: int, keys: Sequence[str]) -> str:
    """Counts of a campaign's planned meetings grouped by ``keys`` (SQL expressions over
    ``m``, each ``... AS name``). People are summed from the tallies each meeting row
    keeps (kit.meetings.tallies), so this reads one table."""
    names = ", ".join(k.rsplit(" AS ", 1)[-1] for k in keys) or "1"
    select = ", ".join(keys) + "," if keys else ""
    group = f"GROUP BY {names}" if keys else ""
    return f"""
        SELECT {select}
          COUNT(*) AS meetings,
          SUM(CASE WHEN m.status = 'completed' THEN 1 ELSE 0 END) AS held,
          SUM(CASE WHEN m.reported THEN 1 ELSE 0 END) AS reported,
          SUM(m.rsvp_count) AS rsvps,
          SUM(m.attendee_count) AS attended,
          SUM(m.committed_count) AS committed,
          SUM(m.commitment_count) AS commitments
        FROM meeting m
        WHERE m.campaign_id = {p.add(campaign_id)} AND m.status IN {PLANNED}
        {group}
    """


async def grouped_counts(
    campaign_id: int, keys: Sequence[str], p: SqlParams | None = None
) -> list[dict[str, Any]]:
    """Run ``_grouped_counts``; pass ``p`` when ``keys`` were written for its dialect."""
    p = p or default_params()
    return await read_rows(_grouped_counts(p, campaign_id, keys), p)


def _tallied_counts(p: SqlParams, campaign_id: int, grain: str, keys: Sequence[str]) -> str:
    """The same counts as ``_grouped_counts``, summed from the tallies of one grain
    ("place" or "week"), ``keys`` written over ``t``. Rows a change emptied are skipped."""
    names = ", ".join(k.rsplit(" AS ", 1)[-1] for k in keys)
    select = ", ".join(keys) + "," if keys else ""
    group = f"GROUP BY {names} HAVING SUM(t.meetings) > 0" if keys else ""
    week = "t.week = ''" if grain == "place" else "t.week <> ''"
    return f"""
        SELECT {select}
          SUM(t.meetings) AS meetings,
          SUM(CASE WHEN t.status = 'completed' THEN t.meetings ELSE 0 END) AS held,
          SUM(t.reported) AS reported,
          SUM(t.rsvps) AS rsvps,
          SUM(t.attended) AS attended,
          SUM(t.committed) AS committed,
          SUM(t.commitments) AS commitments
        FROM dashboard_tally t
        WHERE t.campaign_id = {p.add(campaign_id)} AND {week} AND t.status IN {PLANNED}
        {group}
    """


async def tallied_counts(campaign_id: int, grain: str, keys: Sequence[str]) -> list[dict[str, Any]]:
    p = default_params()
    return await read_rows(_tallied_counts(p, campaign_id, grain, keys), p)


COUNTED = tuple(Counts.__dataclass_fields__)
_figures = attrgetter(*COUNTED)


def total(counts: Iterable[Counts]) -> Counts:
    """The sum of many counts (a thousand towns' in a region: no Counts in between)."""
    columns = list(zip(*map(_figures, counts), strict=True))
    return Counts(*map(sum, columns)) if columns else Counts()


def _counts(row: dict[str, Any]) -> Counts:
    return Counts(*(int(row[k] or 0) for k in COUNTED))


@dataclass(frozen=True)
class Funnel:
    planned: int
    held: int
    reported: int
    rsvps: int
    attended: int
    committed: int
    new_hosts: int

    def steps(self) -> list[tuple[str, int]]:
        return [
            ("Meetings planned", self.planned),
            ("Meetings held", self.held),
            ("Meetings reported", self.reported),
            ("RSVPs", self.rsvps),
            ("Attended (on sign-in sheets)", self.attended),
            ("Committed", self.committed),
            ("New hosts", self.new_hosts),
        ]


@dataclass(frozen=True)
class Totals:
    meetings: int  # every status
    pending: int
    published: int
    completed: int
    cancelled: int
    hidden: int
    commitments: int
    ideas: int


def _by_status(source: Source) -> str:
    """The campaign's meetings by status, as one row ``t`` (its id is parameter {campaign})."""
    if source == "meetings":
        table, count, where = "meeting m", "1", ""
    else:
        table, count, where = "dashboard_tally m", "m.meetings", "AND m.week = ''"
    by = "".join(
        f"SUM(CASE WHEN m.status = '{s}' THEN {count} ELSE 0 END) AS {s},"
        for s in ("pending", "published", "completed", "cancelled", "hidden")
    )
    return f"""(SELECT {by} SUM({count}) AS meetings
                FROM {table} WHERE m.campaign_id = {{campaign}} {where}) t"""


def _new_hosts(source: Source) -> str:
    """Hosts of planned meetings that grew from the campaign's (parameter {campaign})."""
    if source == "meetings":
        return f"""SELECT COUNT(DISTINCT child.host_id) FROM meeting child
            JOIN meeting parent ON parent.id = child.grew_from_id
            WHERE parent.campaign_id = {{campaign}} AND child.status IN {PLANNED}"""
    return (
        "SELECT COUNT(*) FROM dashboard_host_tally h "
        "WHERE h.campaign_id = {campaign} AND h.meetings > 0"
    )


async def totals_and_funnel(
    campaign_id: int, counts: Counts | None = None, source: Source = "tally"
) -> tuple[Totals, Funnel]:
    """Meetings by status, ideas and new hosts (cheap), and the funnel. Pass ``counts``
    (the sum of ``by_region``) to skip counting the people a second time."""
    p = default_params()
    campaign = p.add(campaign_id)
    [row] = await read_rows(
        f"""
        SELECT t.*,
          ({_new_hosts(source).format(campaign=campaign)}) AS new_hosts,
          (SELECT COUNT(*) FROM idea i WHERE i.campaign_id = {campaign}) AS ideas
        FROM {_by_status(source).format(campaign=campaign)}
        """,
        p,
    )
    n = {k: int(val or 0) for k, val in row.items()}
    if counts is None:
        if source == "meetings":
            [grand] = await grouped_counts(campaign_id, [])
        else:
            [grand] = await tallied_counts(campaign_id, "place", [])
        counts = _counts(grand)
    totals = Totals(
        meetings=n["meetings"],
        pending=n["pending"],
        published=n["published"],
        completed=n["completed"],
        cancelled=n["cancelled"],
        hidden=n["hidden"],
        commitments=counts.commitments,
        ideas=n["ideas"],
    )
    funnel = Funnel(
        planned=counts.meetings,
        held=counts.held,
        reported=counts.reported,
        rsvps=counts.rsvps,
        attended=counts.attended,
        committed=counts.committed,
        new_hosts=n["new_hosts"],
    )
    return totals, funnel


def _asks_counted(campaign: Campaign, counted: dict[str, int]) -> list[tuple[str, str, int]]:
    """(key, label, how many) for each of the campaign's asks, then any others reported."""
    counted = dict(counted)
    labels = {a["key"]: a["label"] for a in campaign.asks}
    known = [(key, label, counted.pop(key, 0)) for key, label in labels.items()]
    return known + sorted(((k, k, n) for k, n in counted.items()), key=lambda t: -t[2])


@dataclass(frozen=True)
class Outcomes:
    """Commitments by ask and headcount, for each status of the campaign's meetings."""

    commitments: dict[str, dict[str, int]]  # status -> ask -> commitments
    headcount: dict[str, int]  # status -> the reports' headcounts

    def asks(self, statuses: Iterable[str]) -> dict[str, int]:
        summed: dict[str, int] = {}
        for status in statuses:
            for ask, n in self.commitments.get(status, {}).items():
                summed[ask] = summed.get(ask, 0) + n
        return {ask: n for ask, n in summed.items() if n}


async def outcomes(campaign_id: int, source: Source = "tally") -> Outcomes:
    """The campaign's ``Outcomes``: a few tallied rows, or (``"meetings"``) a recount."""
    p = default_params()
    campaign = p.add(campaign_id)
    if source == "meetings":
        sql = f"""
            SELECT m.status, c.ask, COUNT(*) AS commitments, 0 AS headcount
            FROM commitment c JOIN meeting m ON m.id = c.meeting_id
            WHERE m.campaign_id = {campaign} GROUP BY m.status, c.ask
            UNION ALL
            SELECT m.status, '' AS ask, 0 AS commitments, SUM(r.headcount) AS headcount
            FROM report r JOIN meeting m ON m.id = r.meeting_id
            WHERE m.campaign_id = {campaign} GROUP BY m.status
        """
    else:
        sql = f"""
            SELECT t.status, t.ask, t.commitments, t.headcount FROM dashboard_outcome_tally t
            WHERE t.campaign_id = {campaign}
        """
    commitments: dict[str, dict[str, int]] = {}
    headcount: dict[str, int] = {}
    for row in await read_rows(sql, p):
        status = str(row["status"])
        if row["ask"]:
            by_ask = commitments.setdefault(status, {})
            by_ask[row["ask"]] = by_ask.get(row["ask"], 0) + int(row["commitments"] or 0)
        else:
            headcount[status] = headcount.get(status, 0) + int(row["headcount"] or 0)
    return Outcomes(commitments, headcount)


async def commitments_by_ask(
    campaign: Campaign, counted: Outcomes | None = None
) -> list[tuple[str, str, int]]:
    """(key, label, how many) for each of the campaign's asks, then any others reported,
    at the planned meetings."""
    counted = counted or await outcomes(campaign.id)
    return _asks_counted(campaign, counted.asks(PLANNED_STATUSES))


def progress(campaign: Campaign, held: int, counted: Outcomes) -> Progress:
    """``kit.reports.outcomes.campaign_progress`` from the tallies: ``held`` is the
    campaign's completed meetings (the funnel's), the rest comes from ``counted``."""
    done = MeetingStatus.COMPLETED.value
    return Progress(
        meetings_held=held,
        people_reached=counted.headcount.get(done, 0),
        commitments=commitments_by_ask_key(
            [{"ask": k, "n": n} for k, n in counted.asks([done]).items()], asks_for(campaign)
        ),
    )


@dataclass(frozen=True)
class Place:
    locality: str
    counts: Counts


@dataclass(frozen=True)
class Region:
    country: str
    region: str  # state or province; "" where the gazetteer has none
    counts: Counts
    places: list[Place] = field(default_factory=list)

    @property
    def label(self) -> str:
        """Names, not codes: "New York, United States" for ("US", "NY")."""
        country = country_name(self.country)
        return f"{region_name(self.country, self.region)}, {country}" if self.region else country


async def by_region(campaign_id: int, source: Source = "tally") -> list[Region]:
    """Regions (state or province) with their towns, most meetings first."""
    keys = ["country", "region", "locality"]
    if source == "meetings":
        rows = await grouped_counts(campaign_id, [f"m.{k} AS {k}" for k in keys])
    else:
        rows = await tallied_counts(campaign_id, "place", [f"t.{k} AS {k}" for k in keys])
    regions: dict[tuple[str, str], list[Place]] = {}
    for row in rows:
        places = regions.setdefault((row["country"], row["region"]), [])
        places.append(Place(row["locality"], _counts(row)))
    result = []
    for (country, region), places in regions.items():
        places.sort(key=lambda p: (-p.counts.meetings, p.locality))
        result.append(Region(country, region, total(p.counts for p in places), places))
    return sorted(result, key=lambda r: (-r.counts.meetings, r.label))


@dataclass(frozen=True)
class Week:
    starts_on: date  # the Monday
    counts: Counts

    @property
    def label(self) -> str:
        year, week, _ = self.starts_on.isocalendar()
        return f"{year}-W{week:02d}"


async def by_week(campaign_id: int, source: Source = "tally") -> list[Week]:
    """ISO weeks (Monday to Sunday, UTC) of the meetings' start, oldest first."""
    if source == "meetings":
        p = default_params()
        rows = await grouped_counts(campaign_id, [f"{_week_start(p)} AS week"], p)
    else:
        rows = await tallied_counts(campaign_id, "week", ["t.week AS week"])
    weeks = [Week(as_date(row["week"]), _counts(row)) for row in rows]
    return sorted(weeks, key=lambda w: w.starts_on)


@dataclass(frozen=True)
class Growth:
    grown: int  # planned meetings that grew from another meeting
    generations: int  # 0: nothing grew yet; 1: children of first meetings; 2: grandchildren...
    by_generation: list[tuple[int, int]]  # (generation, meetings), generation 0 included


async def growth_tree(campaign_id: int, planned: int | None = None) -> Growth:
    """How far meetings spread: each meeting's generation is the number of grew_from links
    above it, found by walking up from the meetings that grew (primary-key lookups only).
    A walk goes one step deeper per link, so the meetings of generation g are those the
    walk reached at depth g less those it reached at g + 1: no grouping by meeting. Pass
    ``planned`` (the funnel's planned meetings) to skip counting generation 0: it is the
    planned meetings that did not grow."""
    p = default_params()
    campaign = p.add(campaign_id)
    roots = f"""UNION ALL SELECT 0, COUNT(*) FROM meeting m
        WHERE m.campaign_id = {campaign} AND m.status IN {PLANNED} AND m.grew_from_id IS NULL"""
    rows = await read_rows(
        f"""
        WITH RECURSIVE up(parent, depth) AS (
          SELECT m.grew_from_id, 1 FROM meeting m
          WHERE m.campaign_id = {campaign} AND m.status IN {PLANNED}
            AND m.grew_from_id IS NOT NULL
          UNION ALL
          SELECT p.grew_from_id, up.depth + 1 FROM up JOIN meeting p ON p.id = up.parent
          WHERE p.grew_from_id IS NOT NULL AND up.depth < {MAX_GENERATIONS}
        )
        SELECT depth, COUNT(*) AS meetings FROM up GROUP BY depth
        {roots if planned is None else ""}
        """,
        p,
    )
    reached = {int(r["depth"]): int(r["meetings"]) for r in rows}
    grown = reached.get(1, 0)
    if planned is not None:
        reached[0] = planned
    counted = [(g, reached.get(g, 0) - reached.get(g + 1, 0)) for g in sorted(reached) if g > 0]
    counted.insert(0, (0, reached.get(0, 0) - (grown if planned is not None else 0)))
    generations = max((g for g, n in counted if n), default=0)
    return Growth(grown, generations, [(g, n) for g, n in counted if n or g == 0])


@dataclass(frozen=True)
class PastDue:
    public_id: str
    title: str
    locality: str
    region: str
    country: str
    ended_at: datetime
    timezone: str
    host_name: str
    host_email: str
    reminders: int


def _past_due_where(p: SqlParams, campaign_id: int, cutoff: datetime) -> str:
    return f"""
        m.campaign_id = {p.add(campaign_id)} AND m.status = 'published'
        AND m.ends_at < {p.time(cutoff)}
        AND NOT EXISTS (SELECT 1 FROM report r WHERE r.meeting_id = m.id)
    """


async def past_due_reports(
    campaign_id: int, now: datetime | None = None, limit: int = PAST_DUE_SHOWN
) -> tuple[int, list[PastDue]]:
    """Meetings that ended over a day ago with no report: how many, and the oldest ones."""
    cutoff = (now or datetime.now(UTC)) - OVERDUE_AFTER
    p = default_params()
    where = _past_due_where(p, campaign_id, cutoff)
    [count] = await read_rows(f"SELECT COUNT(*) AS n FROM meeting m WHERE {where}", p)
    p = default_params()
    where, shown = _past_due_where(p, campaign_id, cutoff), p.add(limit)
    rows = await read_rows(
        f"""
        SELECT m.public_id, m.title, m.locality, m.region, m.country, m.ends_at, m.timezone,
               m.report_reminders, p.name AS host_name, p.email AS host_email
        FROM meeting m JOIN person p ON p.id = m.host_id
        WHERE {where}
        ORDER BY m.ends_at, m.id LIMIT {shown}
        """,
        p,
    )
    return int(count["n"]), [
        PastDue(
            public_id=r["public_id"],
            title=r["title"],
            locality=r["locality"],
            region=r["region"],
            country=r["country"],
            ended_at=as_datetime(r["ends_at"]) or datetime.now(UTC),
            timezone=r["timezone"],
            host_name=r["host_name"],
            host_email=r["host_email"],
            reminders=int(r["report_reminders"] or 0),
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Dashboard:
    campaign: Campaign
    totals: Totals
    funnel: Funnel
    commitments: list[tuple[str, str, int]]
    regions: list[Region]
    weeks: list[Week]
    growth: Growth
    past_due_count: int
    past_due: list[PastDue]
    progress: Progress  # the goal figures, exactly as the public campaign page shows them
    latest: list[LatestMeeting]


@dataclass(frozen=True)
class LatestMeeting:
    public_id: str
    title: str
    status: str
    starts_at: datetime
    timezone: str
    locality: str
    region: str


LATEST_SHOWN = 20


async def latest_meetings(campaign_id: int, limit: int = LATEST_SHOWN) -> list[LatestMeeting]:
    """The meetings nearest today in date order: the next ones coming up, then the most
    recent past ones (latest first), so "latest" reads as dates, not as when they were
    entered."""
    now = datetime.now(UTC)
    base = Meeting.filter(campaign_id=campaign_id).exclude(status=MeetingStatus.DRAFT)
    fields = ("public_id", "title", "status", "starts_at", "timezone", "locality", "region")
    coming = await base.filter(starts_at__gte=now).order_by("starts_at", "id").limit(limit)
    past = await base.filter(starts_at__lt=now).order_by("-starts_at", "-id").limit(limit)
    n_past = min(len(past), limit - min(len(coming), limit // 2))
    picked = sorted(
        coming[: limit - n_past] + past[:n_past], key=lambda m: (m.starts_at, m.id), reverse=True
    )
    return [
        LatestMeeting(**{f: getattr(m, f) for f in fields} | {"status": m.status.value})
        for m in picked
    ]


async def campaign_dashboard(
    campaign: Campaign, now: datetime | None = None, source: Source = "tally"
) -> Dashboard:
    regions = await by_region(campaign.id, source)
    counts = total(r.counts for r in regions)
    totals, funnel = await totals_and_funnel(campaign.id, counts, source)
    past_due_count, past_due = await past_due_reports(campaign.id, now)
    counted = await outcomes(campaign.id, source)
    if source == "meetings":
        shown, planned = await campaign_progress(campaign), None
    else:
        shown, planned = progress(campaign, counts.held, counted), counts.meetings
    return Dashboard(
        campaign=campaign,
        totals=totals,
        funnel=funnel,
        commitments=await commitments_by_ask(campaign, counted),
        regions=regions,
        weeks=await by_week(campaign.id, source),
        growth=await growth_tree(campaign.id, planned),
        past_due_count=past_due_count,
        past_due=past_due,
        progress=shown,
        latest=await latest_meetings(campaign.id),
    )


def dashboard_to_json(d: Dashboard) -> dict[str, Any]:
    """The aggregates as the coordinators' API gives them: no names, emails or addresses."""
    return {
        "campaign": {"slug": d.campaign.slug, "name": d.campaign.name, "goals": d.campaign.goals},
        "totals": asdict(d.totals),
        "progress": progress_to_json(d.progress),
        "funnel": asdict(d.funnel),
        "commitments": [{"ask": k, "label": label, "count": n} for k, label, n in d.commitments],
        "regions": [
            {
                "country": r.country,
                "label": r.label,
                "region": r.region,
                **asdict(r.counts),
                "places": [{"locality": p.locality, **asdict(p.counts)} for p in r.places],
            }
            for r in d.regions
        ],
        "weeks": [
            {"week": w.label, "starts_on": w.starts_on.isoformat(), **asdict(w.counts)}
            for w in d.weeks
        ],
        "growth": {
            "grown": d.growth.grown,
            "generations": d.growth.generations,
            "by_generation": [{"generation": g, "meetings": n} for g, n in d.growth.by_generation],
        },
        "past_due_reports": {
            "count": d.past_due_count,
            "meetings": [
                {"id": p.public_id, "title": p.title, "ended_at": p.ended_at.isoformat()}
                for p in d.past_due
            ],
        },
    }
