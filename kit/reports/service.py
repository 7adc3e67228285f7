"""Use cases after a meeting: the host's report and what filing it causes. What the
public sees of it afterwards is in ``kit.reports.outcomes``.

A report is typed from the printed sign-in sheet, so the form follows the sheet
row for row: each confirmed RSVP (sorted by name, as ``kit.toolkit.printables``
prints them), the rows for the people they bring, then blank rows for walk-ins.
The form and the JSON body both arrive as dotted names and are checked into one
``ReportInput``; ``file_report`` writes it, and the emails it causes, in ONE
transaction.

The emails a report causes go to addresses the host typed, which nobody has proven, so
they are bounded: thank-yous go once (on the first filing), to at most
``MAX_THANKED_WALK_INS`` walk-ins; an invitation to host goes to a walk-in only when
the host says they agreed to one, once per address, and to at most
``MAX_HOST_INVITATIONS`` people per meeting. Both are non-essential mail: addresses
that unsubscribed get neither. (Filings are rate-limited too: ``kit.web.limits``.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from kit.campaigns.service import MAX_ASKS_SHOWN, asks_for, campaign_of
from kit.core import urls
from kit.core import validation as v
from kit.core.errors import Conflict, ValidationError
from kit.core.settings import Settings
from kit.meetings import notifications, tallies
from kit.meetings.input import MAX_CAPACITY
from kit.meetings.rsvps import rsvp_ref
from kit.store.models import (
    Attendee,
    Campaign,
    Channel,
    Commitment,
    Idea,
    Meeting,
    MeetingStatus,
    OutboxMessage,
    Report,
    Rsvp,
    RsvpStatus,
)

HOST_ASK = "host"  # ticking it earns a personal invitation to host
IDEA_MAX = 300
MAX_IDEAS = 20
MAX_ATTENDEES = 300
MAX_HEADCOUNT = 1000
TEXT_MAX = 5000
MIN_WALK_IN_ROWS = 5
MAX_WALK_IN_ROWS = 40
NO_CAMPAIGN_EDIT_DAYS = 60
# The biggest sheet the form can print: a full meeting (every seat a row) and the most
# walk-in rows, each with came, name, email, phone, two consents and a box per ask.
MAX_FORM_FIELDS = (MAX_CAPACITY + MAX_WALK_IN_ROWS) * (6 + MAX_ASKS_SHOWN) + 50
# Walk-ins thanked by email: as many as the printed sheet has blank rows. Confirmed
# guests are all thanked; the seats (and the RSVP rate limits) bound them already.
MAX_THANKED_WALK_INS = MAX_WALK_IN_ROWS
# Invitations to host, per meeting and for good: in a meeting of 10 to 40 neighbors a
# handful say they'd host; 20 is half of a full living room.
MAX_HOST_INVITATIONS = 20
_ROW_INDEX = re.compile(r"^walkin\.(\d{1,3})\.")


# The sign-in sheet, as the form lays it out -----------------------------------------------


@dataclass(frozen=True)
class SheetRow:
    kind: str  # "rsvp" (a confirmed RSVP, pre-printed) or "walkin" (a row to fill in)
    key: str  # the form's name prefix: "rsvp.<ref>" or "walkin.<n>"
    number: int  # the row's number on the printed sheet
    name: str = ""
    hint: str = ""  # "guest of Sam"


@dataclass(frozen=True)
class ReportSheet:
    asks: list[dict[str, str]]
    rsvps: list[Rsvp]
    rows: list[SheetRow]

    @property
    def walk_in_rows(self) -> int:
        return sum(1 for row in self.rows if row.kind == "walkin")

    @property
    def asks_to_host(self) -> bool:
        """Whether the sheet has the "host a meeting" box (and so the invitation tick)."""
        return any(a["key"] == HOST_ASK for a in self.asks)


async def report_sheet(meeting: Meeting, *, walk_ins: int = 0) -> ReportSheet:
    """Rows in the printed sheet's order; at least ``walk_ins`` rows to fill in."""
    rsvps = sorted(
        await Rsvp.filter(meeting_id=meeting.id, status=RsvpStatus.CONFIRMED)
        .order_by("created_at", "id")
        .select_related("person"),
        key=lambda r: r.person.name.casefold(),
    )
    rows: list[SheetRow] = []
    blank = 0
    for rsvp in rsvps:
        rows.append(SheetRow("rsvp", f"rsvp.{rsvp_ref(rsvp)}", len(rows) + 1, rsvp.person.name))
        for _ in range(rsvp.guests):
            hint = f"guest of {first_name(rsvp.person.name)}"
            rows.append(SheetRow("walkin", f"walkin.{blank}", len(rows) + 1, hint=hint))
            blank += 1
    # The sheet's blank rows fill it to capacity + 5; a form needs fewer to stay usable.
    printed = min(meeting.capacity + 5 - len(rsvps), MAX_WALK_IN_ROWS)
    wanted = min(max(printed, MIN_WALK_IN_ROWS, walk_ins), MAX_ATTENDEES)
    while blank < wanted:
        rows.append(SheetRow("walkin", f"walkin.{blank}", len(rows) + 1))
        blank += 1
    return ReportSheet(asks_for(await campaign_of(meeting)), rsvps, rows)


def walk_ins_posted(form: Mapping[str, str]) -> int:
    """How many walk-in rows a posted form used, so a re-rendered form keeps them all."""
    found = [int(m.group(1)) + 1 for key in form if (m := _ROW_INDEX.match(key))]
    return min(max(found, default=0), MAX_ATTENDEES)


# What the host typed, checked ------------------------------------------------------------


@dataclass(frozen=True)
class AttendeeInput:
    name: str
    email: str | None = None
    phone: str | None = None
    commitments: tuple[str, ...] = ()
    consent: bool = False
    # The host says this walk-in agreed to be emailed an invitation to host.
    invite_consent: bool = False
    rsvp: Rsvp | None = None

    def gets_host_invitation(self) -> bool:
        """Someone who said they'd host, with an email, who gave that address to the kit
        themselves (an RSVP) or agreed, the host says, to be sent an invitation."""
        wants = HOST_ASK in self.commitments and bool(self.email)
        return wants and (self.rsvp is not None or self.invite_consent)


@dataclass(frozen=True)
class ReportInput:
    attendees: tuple[AttendeeInput, ...]
    headcount: int
    ideas: tuple[str, ...] = ()
    story: str = ""
    story_consent: bool = False
    guide_rating: int | None = None
    feedback: str = ""


def _from_rsvp(rsvp: Rsvp, commitments: tuple[str, ...]) -> AttendeeInput:
    person = rsvp.person
    return AttendeeInput(
        person.name, person.email, person.phone, commitments, rsvp.consent, rsvp=rsvp
    )


def first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def _walk_in(
    data: Mapping[str, Any], prefix: str, p: v.Problems, asks: tuple[str, ...]
) -> AttendeeInput | None:
    """A walk-in's fields under ``prefix``; None for an empty row."""
    name = v.text(data, f"{prefix}.name", p, label="The name", max_length=120)
    email = v.email(data, f"{prefix}.email", p, required=False) or None
    phone = v.phone(data, f"{prefix}.phone", p)
    if not name and (email or phone or asks):
        p[f"{prefix}.name"] = "Please enter this person's name (or clear the row)."
    if not name:
        return None
    consent = v.boolean(data, f"{prefix}.consent")
    invite = v.boolean(data, f"{prefix}.invite_consent")
    return AttendeeInput(name, email, phone, asks, consent, invite_consent=invite)


def _ticked(
    form: Mapping[str, str], prefix: str, asks: Sequence[dict[str, str]]
) -> tuple[str, ...]:
    return tuple(a["key"] for a in asks if v.boolean(form, f"{prefix}.ask.{a['key']}"))


def parse_report_form(form: Mapping[str, str], sheet: ReportSheet) -> ReportInput:
    """The HTML form: ``rsvp.<ref>.came``, ``rsvp.<ref>.ask.<key>``, ``walkin.<n>.name`` …"""
    p: v.Problems = {}
    attendees: list[tuple[str, AttendeeInput]] = []
    for rsvp in sheet.rsvps:
        prefix = f"rsvp.{rsvp_ref(rsvp)}"
        asks = _ticked(form, prefix, sheet.asks)
        if v.boolean(form, f"{prefix}.came") or asks:  # a commitment means they came
            attendees.append((f"{prefix}.came", _from_rsvp(rsvp, asks)))
    for n in range(max(sheet.walk_in_rows, walk_ins_posted(form))):
        asks = _ticked(form, f"walkin.{n}", sheet.asks)
        if person := _walk_in(form, f"walkin.{n}", p, asks):
            attendees.append((f"walkin.{n}.email", person))
    ideas = [line for line in str(form.get("ideas") or "").splitlines() if line.strip()]
    return _finish(form, attendees, _check_ideas(ideas, "ideas", p), p)


def parse_report_json(body: Mapping[str, Any], sheet: ReportSheet) -> ReportInput:
    """The API body. An attendee whose ``email`` is a confirmed guest's is that RSVP
    checked off; anyone else is a walk-in and needs a ``name``."""
    p: v.Problems = {}
    raw = body.get("attendees") or []
    if not isinstance(raw, list) or len(raw) > MAX_ATTENDEES:
        p["attendees"] = f"attendees must be a list of at most {MAX_ATTENDEES} people."
        raw = []
    by_email = {r.person.email: r for r in sheet.rsvps}
    keys = {a["key"] for a in sheet.asks}
    attendees = []
    for n, entry in enumerate(raw):
        prefix = f"attendees.{n}"
        if not isinstance(entry, Mapping):
            p[prefix] = "Each attendee must be an object with a name or an email."
            continue
        data = {f"{prefix}.{k}": val for k, val in entry.items()}
        asks = _json_commitments(entry.get("commitments"), keys, f"{prefix}.commitments", p)
        email = v.email(data, f"{prefix}.email", {}, required=False)
        if email in by_email:
            attendees.append((f"{prefix}.email", _from_rsvp(by_email[email], asks)))
        elif person := _walk_in(data, prefix, p, asks):
            attendees.append((f"{prefix}.email", person))
        elif f"{prefix}.name" not in p:
            p[f"{prefix}.name"] = "Please give the name of each walk-in."
    ideas = body.get("ideas") or []
    if not isinstance(ideas, list) or not all(isinstance(i, str) for i in ideas):
        p["ideas"] = "ideas must be a list of short texts."
        ideas = []
    # Not flattened: nothing in a report nests, and {"story": {...}} must be refused as
    # "must be text", not read as an empty story.
    return _finish(body, attendees, _check_ideas(ideas, "ideas", p), p)


def _json_commitments(raw: Any, keys: set[str], name: str, p: v.Problems) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
        p[name] = "commitments must be a list of ask keys."
        return ()
    unknown = [k for k in raw if k not in keys]
    if unknown:
        # Echoed without what can't be encoded (half an emoji would break the JSON answer).
        shown = v.UNSTORABLE_RE.sub("\ufffd", unknown[0][:40])
        p[name] = f"Unknown ask “{shown}”. This meeting's asks: {', '.join(sorted(keys))}."
    return tuple(dict.fromkeys(k for k in raw if k in keys))


def _check_ideas(lines: Sequence[str], name: str, p: v.Problems) -> tuple[str, ...]:
    """One idea a line, checked like every other text (a NUL byte or half an emoji is
    refused, not dropped); the first problem is the one shown."""
    ideas: dict[str, str] = {}
    for n, line in enumerate(lines, start=1):
        found: v.Problems = {}
        text = v.text({name: line}, name, found, label=f"Idea {n}", max_length=IDEA_MAX)
        if found:
            p.setdefault(name, found[name])
        elif text:
            ideas.setdefault(text.casefold(), text)
    if len(ideas) > MAX_IDEAS:
        p[name] = f"That's {len(ideas)} ideas; please keep the {MAX_IDEAS} most important."
    return tuple(ideas.values())


def _finish(
    data: Mapping[str, Any],
    attendees: list[tuple[str, AttendeeInput]],
    ideas: tuple[str, ...],
    p: v.Problems,
) -> ReportInput:
    seen: set[str] = set()
    for key, person in attendees:
        if person.email and person.email in seen:
            p[key] = f"{person.email} is listed twice."
        seen.add(person.email or "")
    came = len(attendees)
    # "How many people came, including you?": left empty, it is the people listed and
    # the host, who is on no row of the sheet.
    headcount = v.integer(
        data,
        "headcount",
        p,
        label="The headcount",
        default=came + 1,
        minimum=0,
        maximum=MAX_HEADCOUNT,
    )
    if headcount is not None and headcount < came and "headcount" not in p:
        p["headcount"] = f"You listed {came} people, so the headcount is at least {came}."
    result = ReportInput(
        attendees=tuple(person for _, person in attendees),
        headcount=came + 1 if headcount is None else headcount,
        ideas=ideas,
        story=v.text(data, "story", p, label="The story", max_length=TEXT_MAX, multiline=True),
        story_consent=v.boolean(data, "story_consent"),
        guide_rating=v.integer(
            data, "guide_rating", p, label="The guide's rating", default=None, minimum=1, maximum=5
        ),
        feedback=v.text(data, "feedback", p, label="Feedback", max_length=TEXT_MAX, multiline=True),
    )
    if p:
        raise ValidationError(p)
    return result


async def load_report_form(meeting: Meeting) -> tuple[ReportSheet, dict[str, str]]:
    """The sheet and the saved report as form values (nothing ticked before a first report)."""
    report = await Report.get_or_none(meeting_id=meeting.id)
    sheet = await report_sheet(meeting)
    if report is None:
        return sheet, {}
    attendees = await Attendee.filter(meeting_id=meeting.id).order_by("id")
    row_of = {r.id: f"rsvp.{rsvp_ref(r)}" for r in sheet.rsvps}
    # Walk-ins, and guests whose RSVP was cancelled since, go on rows to fill in.
    loose = len([a for a in attendees if a.rsvp_id not in row_of])  # type: ignore[attr-defined]
    if loose + 2 > sheet.walk_in_rows:
        sheet = await report_sheet(meeting, walk_ins=loose + 2)
    asks: dict[int, list[str]] = {}
    for attendee_id, ask in await Commitment.filter(meeting_id=meeting.id).values_list(
        "attendee_id", "ask"
    ):
        asks.setdefault(int(attendee_id), []).append(str(ask))
    values: dict[str, str] = {}
    spare = iter(range(sheet.walk_in_rows))
    for a in attendees:
        prefix = row_of.get(a.rsvp_id, "")  # type: ignore[attr-defined]
        if prefix:
            values[f"{prefix}.came"] = "1"
        else:
            prefix = f"walkin.{next(spare)}"
            values.update({f"{prefix}.name": a.name, f"{prefix}.email": a.email or ""})
            values[f"{prefix}.phone"] = a.phone or ""
            values[f"{prefix}.consent"] = "1" if a.consent else ""
            values[f"{prefix}.invite_consent"] = "1" if a.invite_consent else ""
        values.update({f"{prefix}.ask.{key}": "1" for key in asks.get(a.id, [])})
    values.update(
        headcount=str(report.headcount),
        ideas="\n".join(
            await Idea.filter(meeting_id=meeting.id).order_by("id").values_list("text", flat=True)  # type: ignore[arg-type]  # tortoise types flat values_list rows as tuples
        ),
        story=report.story,
        story_consent="1" if report.story_consent else "",
        guide_rating=str(report.guide_rating or ""),
        feedback=report.feedback,
    )
    return sheet, values


# Filing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportEmails:
    """What one filing queued, and what the caps held back."""

    thank_yous: int = 0
    host_invitations: int = 0
    held_back: int = 0


@dataclass(frozen=True)
class FiledReport:
    report: Report
    created: bool  # False when the host edited an earlier report
    emails: ReportEmails = ReportEmails()


def editable_until(meeting: Meeting, campaign: Campaign | None) -> datetime:
    """The end of the campaign's last day (at the meeting's place); without a campaign end
    date, 60 days after the meeting."""
    try:
        if campaign and campaign.ends_on:
            last = datetime.combine(campaign.ends_on + timedelta(days=1), time())
            return last.replace(tzinfo=ZoneInfo(meeting.timezone)).astimezone(UTC)
        return meeting.ends_at + timedelta(days=NO_CAMPAIGN_EDIT_DAYS)
    except OverflowError:  # a stored date at the calendar's end (year 9999)
        return datetime.max.replace(tzinfo=UTC)


def check_can_report(meeting: Meeting, campaign: Campaign | None, now: datetime) -> None:
    if meeting.status not in {MeetingStatus.PUBLISHED, MeetingStatus.COMPLETED}:
        raise Conflict(f"This meeting is {meeting.status}, so there is no report to file.")
    if now < meeting.starts_at:
        raise Conflict("You can file your report once the meeting has started.")
    until = editable_until(meeting, campaign)
    if now >= until:
        day = until.astimezone(ZoneInfo(meeting.timezone)) - timedelta(seconds=1)
        raise Conflict(f"This meeting's report could be filed or changed until {day:%B %-d, %Y}.")


async def file_report(
    meeting: Meeting, data: ReportInput, *, site: Settings, now: datetime | None = None
) -> FiledReport:
    """Write (or replace) the report; the first filing completes the meeting and thanks
    everyone who left an email. ``meeting`` needs its host fetched."""
    now = now or datetime.now(UTC)
    campaign = await campaign_of(meeting)
    check_can_report(meeting, campaign, now)
    async with in_transaction():
        # One filing of a meeting at a time (PostgreSQL; SQLite's transactions take the
        # write lock up front), so two can't both find an address not yet invited.
        await Meeting.filter(id=meeting.id).select_for_update().values_list("id")
        # Exactly one filing claims "first", even when two arrive at once.
        first = bool(
            await Meeting.filter(
                id=meeting.id, status=MeetingStatus.PUBLISHED, completed_at=None
            ).update(status=MeetingStatus.COMPLETED, completed_at=now, updated_at=now)
        )
        report = await _save_report(meeting, data)
        attendees = await _replace_attendees(meeting, data)
        await _sync_ideas(meeting, data.ideas)
        await tallies.refresh(meeting.id)
        thanked = ReportEmails()
        if first:
            thanked = await _thank_attendees(meeting, campaign, data, attendees, site)
        invited = await _invite_new_hosts(meeting, campaign, attendees, site)
    if first:
        meeting.status, meeting.completed_at = MeetingStatus.COMPLETED, now
    emails = ReportEmails(
        thanked.thank_yous, invited.host_invitations, thanked.held_back + invited.held_back
    )
    return FiledReport(report, first, emails)


async def _save_report(meeting: Meeting, data: ReportInput) -> Report:
    values: dict[str, Any] = {
        "headcount": data.headcount,
        "story": data.story,
        "story_consent": data.story_consent,
        "guide_rating": data.guide_rating,
        "feedback": data.feedback,
    }
    report = await Report.get_or_none(meeting_id=meeting.id)
    if report is None:
        return await Report.create(meeting_id=meeting.id, **values)
    await report.update_from_dict(values).save()
    return report


async def _replace_attendees(
    meeting: Meeting, data: ReportInput
) -> list[tuple[Attendee, AttendeeInput]]:
    await Commitment.filter(meeting_id=meeting.id).delete()
    await Attendee.filter(meeting_id=meeting.id).delete()
    saved = []
    for person in data.attendees:
        row = await Attendee.create(
            meeting_id=meeting.id,
            rsvp_id=person.rsvp.id if person.rsvp else None,
            name=person.name,
            email=person.email,
            phone=person.phone,
            walk_in=person.rsvp is None,
            consent=person.consent,
            invite_consent=person.invite_consent,
        )
        saved.append((row, person))
    await Commitment.bulk_create(
        [
            Commitment(meeting_id=meeting.id, attendee_id=row.id, ask=ask)
            for row, person in saved
            for ask in person.commitments
        ]
    )
    return saved


async def _sync_ideas(meeting: Meeting, texts: Sequence[str]) -> None:
    """Keep ideas that are still there (with their supporters), drop removed ones, add new."""
    existing = {i.text.casefold(): i.id for i in await Idea.filter(meeting_id=meeting.id)}
    wanted = {text.casefold(): text for text in texts}
    gone = [idea_id for key, idea_id in existing.items() if key not in wanted]
    if gone:
        await Idea.filter(id__in=gone).delete()
    for key, text in wanted.items():
        if key not in existing:
            await Idea.create(
                meeting_id=meeting.id,
                campaign_id=meeting.campaign_id,  # type: ignore[attr-defined]
                text=text,
            )


def next_step(meeting: Meeting, campaign: Campaign | None, site: Settings) -> tuple[str, str]:
    """(label, url) of the one thing a guest can do next."""
    if campaign and campaign.is_public:
        label = f"See what's happening across {campaign.name}"
        return label, urls.campaign(site.base_url, campaign.slug)
    near = {"near": meeting.postal_code or meeting.locality}
    return "Find the next meeting near you", urls.find(site.base_url, near)


async def _thank_attendees(
    meeting: Meeting,
    campaign: Campaign | None,
    data: ReportInput,
    attendees: list[tuple[Attendee, AttendeeInput]],
    site: Settings,
) -> ReportEmails:
    """Everyone who left an email, except the host and those who unsubscribed; walk-ins
    up to MAX_THANKED_WALK_INS."""
    label, url = next_step(meeting, campaign, site)
    context = {
        "headcount": data.headcount,
        "commitments": sum(len(p.commitments) for _, p in attendees),
        "ideas": data.ideas,
        "next_label": label,
        "next_url": url,
    }
    sent = walk_ins = held = 0
    for row, person in attendees:
        if not row.email or row.email == meeting.host.email:
            continue
        if await notifications.opted_out(row.email):
            continue
        if person.rsvp is None:
            if walk_ins >= MAX_THANKED_WALK_INS:
                held += 1
                continue
            walk_ins += 1
        await notifications.send_from_host(
            "thank_you",
            meeting,
            row.email,
            {**context, "first_name": first_name(row.name)},
            site,
            essential=False,
        )
        sent += 1
    return ReportEmails(thank_yous=sent, held_back=held)


def host_invitation_url(
    site: Settings, meeting: Meeting, campaign: Campaign | None, name: str, email: str
) -> str:
    """The host form, pre-filled for someone who said they'd host a meeting too."""
    params = {
        "host.name": name,
        "host.email": email,
        "address.locality": meeting.locality,
        "address.country": meeting.country,
    }
    if campaign:
        params["campaign"] = campaign.slug
    params["grew_from"] = meeting.public_id
    return urls.host_form(site.base_url, params)


async def _invite_new_hosts(
    meeting: Meeting,
    campaign: Campaign | None,
    attendees: list[tuple[Attendee, AttendeeInput]],
    site: Settings,
) -> ReportEmails:
    """Each new "I'll host" gets one invitation, on a first filing or on a later edit;
    never a second one to the same address for this meeting, however often it is filed."""
    invited: set[str] = set(
        await OutboxMessage.filter(
            channel=Channel.EMAIL, meeting_id=meeting.id, kind="host_invitation"
        ).values_list("recipient", flat=True)  # type: ignore[arg-type]  # tortoise types flat values_list rows as tuples
    )
    sent = held = 0
    for row, person in attendees:
        if not person.gets_host_invitation() or not row.email:
            continue
        if row.email in invited or row.email == meeting.host.email:
            continue
        if await notifications.opted_out(row.email):
            continue
        if len(invited) >= MAX_HOST_INVITATIONS:
            held += 1
            continue
        await notifications.send_from_host(
            "host_invitation",
            meeting,
            row.email,
            {
                "first_name": first_name(row.name),
                "campaign": campaign,
                "invite_url": host_invitation_url(site, meeting, campaign, row.name, row.email),
            },
            site,
            essential=False,
        )
        invited.add(row.email)
        sent += 1
    return ReportEmails(host_invitations=sent, held_back=held)


# The manage page's link -------------------------------------------------------------------


@dataclass(frozen=True)
class ReportLink:
    state: str  # "upcoming" (not started), "due" (no report yet), "filed" or "closed"
    url: str
    editable_until: datetime
    ended: bool


def report_link(
    meeting: Meeting, token: str, site: Settings, now: datetime | None = None
) -> ReportLink | None:
    """What the manage page says about the report; None for a cancelled or hidden meeting.
    Needs ``meeting.campaign`` fetched (``get_managed_meeting`` does)."""
    if meeting.status not in {MeetingStatus.PUBLISHED, MeetingStatus.COMPLETED}:
        return None
    now = now or datetime.now(UTC)
    campaign = meeting.campaign if isinstance(meeting.campaign, Campaign) else None
    until = editable_until(meeting, campaign)
    if now >= until:
        state = "closed"
    elif meeting.completed_at is not None:
        state = "filed"
    else:
        state = "due" if now >= meeting.starts_at else "upcoming"
    return ReportLink(
        state,
        urls.report_form(site.base_url, meeting.public_id, token),
        until,
        now >= meeting.ends_at,
    )
