"""Tortoise models for the whole mission: people, campaigns, meetings, RSVPs,
reports, secret links and the outbox.

Conventions: every datetime is stored in UTC (Tortoise ``use_tz``); a meeting
keeps the IANA zone of its place so pages and invites show local time. Rows
that appear in URLs carry a random ``public_id`` so that ids can't be guessed or
enumerated; the integer primary key never leaves the server.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


def new_public_id() -> str:
    """72 random bits, URL-safe: unguessable, and short enough to read aloud.

    Never starting with "-": a spreadsheet would read such a cell as a formula, and the
    CSV guard (kit.toolkit.spreadsheet) would then print the id with a quote before it.
    """
    while True:
        value = secrets.token_urlsafe(9)
        if not value.startswith("-"):
            return value


class MeetingStatus(StrEnum):
    DRAFT = "draft"
    AWAITING = "awaiting"  # waiting for a new host to confirm their email address
    PENDING = "pending"  # waiting for a coordinator's approval
    PUBLISHED = "published"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    HIDDEN = "hidden"  # taken down by a coordinator, with a reason the host is told
    DECLINED = "declined"  # a coordinator said no in the approval queue, with a reason


class VenueKind(StrEnum):
    HOME = "home"
    PUBLIC = "public"


class Visibility(StrEnum):
    PUBLIC = "public"
    UNLISTED = "unlisted"


class RsvpStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    REQUESTED = "requested"  # waiting for the host's approval (meetings that ask for it)
    CANCELLED = "cancelled"


class RsvpSource(StrEnum):
    DIRECT = "direct"
    SEARCH = "search"
    SHARE = "share"
    INVITATION = "invitation"
    CAMPAIGN = "campaign"
    DEMO = "demo"
    FLYER = "flyer"  # the QR code on the printed flyer


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry


class Channel(StrEnum):
    """How an outbox message travels; each has a sender in ``kit.outbox`` that knows
    its payload. (Texts, webhooks and federation deliveries join here.)"""

    EMAIL = "email"


class TokenKind(StrEnum):
    MEETING_MANAGE = "meeting_manage"  # the host's key to a meeting
    RSVP_MANAGE = "rsvp_manage"  # a guest's key to their RSVP
    PERSON_FEED = "person_feed"  # a person's private calendar feed
    COORDINATOR_LOGIN = "coordinator_login"  # a magic sign-in link, short-lived
    COORDINATOR_API = "coordinator_api"  # a coordinator's API token
    HOST_CONFIRM = "host_confirm"  # emailed to a new host: proves the mailbox, publishes


class IdeaStatus(StrEnum):
    NEW = "new"
    UNDER_REVIEW = "under_review"
    ADOPTED = "adopted"
    DONE = "done"
    DECLINED = "declined"


class CoordinatorRole(StrEnum):
    """What a (non-admin) coordinator may do in their campaigns."""

    COORDINATOR = "coordinator"  # everything: campaigns, approvals, contacts, exports
    MODERATOR = "moderator"  # approve, hide, read flags; no contact exports
    VIEWER = "viewer"  # read the dashboard and its aggregates only


class FlagReason(StrEnum):
    SPAM = "spam"
    UNSAFE = "unsafe"  # harassment, hate, danger
    WRONG = "wrong"  # not a real meeting, wrong details
    OTHER = "other"


class HostNotify(StrEnum):
    EACH = "each"  # an email for each new RSVP
    DIGEST = "digest"  # one email a day listing new RSVPs


class Person(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=120)
    # Lower-cased on the way in (kit.store.people) so one person is one row.
    email = fields.CharField(max_length=254, unique=True)
    phone = fields.CharField(max_length=40, null=True)
    # Set when the person followed a link the kit emailed to this address: only then
    # is the mailbox proven. Typing an address into a form proves nothing.
    email_verified_at = fields.DatetimeField(null=True)
    # Vouched for by a coordinator: higher invitation caps, links kept in their notes.
    trusted = fields.BooleanField(default=False, db_default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "person"

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else self.name


class Campaign(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    starts_on = fields.DateField(null=True)
    ends_on = fields.DateField(null=True)
    guide_markdown = fields.TextField(default="")
    # [{"title": "Welcome and introductions", "minutes": 10}, ...]
    agenda: fields.Field[list[dict[str, object]]] = fields.JSONField(default=list)
    # [{"key": "host", "label": "Host a meeting"}, ...]
    asks: fields.Field[list[dict[str, str]]] = fields.JSONField(default=list)
    # {"meetings": 300, "people": 3000, "commitments": 1000}
    goals: fields.Field[dict[str, int]] = fields.JSONField(default=dict)
    requires_approval = fields.BooleanField(default=False)
    is_public = fields.BooleanField(default=True)
    # Where the campaign's meetings usually are: the host form's defaults, and what a bare
    # postal code or an ambiguous town is read against.
    country = fields.CharField(max_length=2, default="", db_default="")
    region = fields.CharField(max_length=120, default="", db_default="")
    # Hide a meeting once this many distinct people flagged it, until a coordinator looks.
    auto_hide_flags = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "campaign"


class Meeting(Model):
    id = fields.IntField(primary_key=True)
    public_id = fields.CharField(max_length=16, unique=True, default=new_public_id)
    campaign: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="meetings", null=True, on_delete=fields.SET_NULL
    )
    host: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="hosted_meetings", on_delete=fields.RESTRICT
    )
    grew_from: fields.ForeignKeyNullableRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="offshoots", null=True, on_delete=fields.SET_NULL
    )
    title = fields.CharField(max_length=140)
    description = fields.TextField(default="")
    host_note = fields.TextField(default="")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    timezone = fields.CharField(max_length=64)
    # Private: only the host, confirmed guests and coordinators see these.
    street = fields.CharField(max_length=200, default="")
    directions = fields.CharField(max_length=500, default="")
    lat = fields.FloatField()
    lon = fields.FloatField()
    # Public: what everyone else sees.
    locality = fields.CharField(max_length=120)
    region = fields.CharField(max_length=120, default="")
    postal_code = fields.CharField(max_length=20, default="")
    country = fields.CharField(max_length=2)
    approx_lat = fields.FloatField()
    approx_lon = fields.FloatField()
    kind = fields.CharEnumField(VenueKind, max_length=10, default=VenueKind.HOME)
    venue_name = fields.CharField(max_length=120, default="", db_default="")  # "Harlem Library"
    capacity = fields.IntField(default=15)
    # Seats held by confirmed RSVPs (guests included); kept in step by a
    # conditional UPDATE so that concurrent RSVPs can never overbook.
    seats_taken = fields.IntField(default=0)
    rsvp_goal = fields.IntField(null=True)
    visibility = fields.CharEnumField(Visibility, max_length=10, default=Visibility.PUBLIC)
    status = fields.CharEnumField(MeetingStatus, max_length=10, default=MeetingStatus.PUBLISHED)
    reply_to_host = fields.BooleanField(default=False)
    # Columns added after the first release carry a database default too, so that
    # the migration can add them to tables that already hold meetings.
    waitlist_enabled = fields.BooleanField(default=True, db_default=True)
    # The host approves each guest before the exact address goes out.
    approve_guests = fields.BooleanField(default=False, db_default=False)
    host_notify = fields.CharEnumField(
        HostNotify, max_length=10, default=HostNotify.EACH, db_default="each"
    )
    host_digest_at = fields.DatetimeField(null=True)  # when the last digest went out
    # The host's own agenda timings ([{"title", "minutes"}]); None uses the campaign's.
    agenda: fields.Field[list[dict[str, object]] | None] = fields.JSONField(null=True)
    hidden_reason = fields.TextField(default="", db_default="")
    completed_at = fields.DatetimeField(null=True)
    # After the meeting: when the host was asked for a report, and reminders since.
    report_requested_at = fields.DatetimeField(null=True)
    report_reminders = fields.IntField(default=0, db_default=0)
    # iCalendar SEQUENCE: bumped whenever guests' invites must be re-sent.
    sequence = fields.IntField(default=0, db_default=0)
    # Tallies for coordinators' dashboards, recounted by kit.meetings.tallies whenever the meeting's
    # RSVPs or report change, so that a campaign's figures are one pass over its meetings
    # instead of a count of three child tables (see kit/meetings/tallies.py).
    rsvp_count = fields.IntField(default=0, db_default=0)  # RSVPs not cancelled
    attendee_count = fields.IntField(default=0, db_default=0)
    committed_count = fields.IntField(default=0, db_default=0)  # attendees with a commitment
    commitment_count = fields.IntField(default=0, db_default=0)
    reported = fields.BooleanField(default=False, db_default=False)
    # Guards against a double-clicked submit creating two meetings.
    submission_key = fields.CharField(max_length=64, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "meeting"
        indexes = (
            ("status", "starts_at"),
            ("approx_lat", "approx_lon"),
            # Coordinators' dashboards group a campaign's meetings and follow offshoots.
            ("campaign_id", "status"),
            ("grew_from_id",),
            # Its latest meetings by date, and those past due for a report (migration 0014).
            ("campaign_id", "starts_at"),
            ("campaign_id", "status", "ends_at"),
        )

    @property
    def seats_left(self) -> int:
        return max(self.capacity - self.seats_taken, 0)


class Rsvp(Model):
    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="rsvps", on_delete=fields.CASCADE
    )
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="rsvps", on_delete=fields.CASCADE
    )
    guests = fields.IntField(default=0)  # people coming along, on top of the person
    status = fields.CharEnumField(RsvpStatus, max_length=12, default=RsvpStatus.CONFIRMED)
    source = fields.CharEnumField(RsvpSource, max_length=12, default=RsvpSource.DIRECT)
    ref = fields.CharField(max_length=32, default="")
    note = fields.TextField(default="")
    consent = fields.BooleanField(default=False)  # may the campaign contact them
    reminded_at = fields.DatetimeField(null=True)
    # When the exact address was first sent to this guest (kit.address_reveals throttles it).
    address_sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "rsvp"
        unique_together = (("meeting", "person"),)
        indexes = (("meeting_id", "status"),)

    @property
    def party_size(self) -> int:
        return 1 + self.guests


class Report(Model):
    id = fields.IntField(primary_key=True)
    meeting: fields.OneToOneRelation[Meeting] = fields.OneToOneField(
        "models.Meeting", related_name="report", on_delete=fields.CASCADE
    )
    # Who came, their commitments and the ideas raised are rows (Attendee,
    # Commitment, Idea) so that campaign aggregates are computed in the database.
    headcount = fields.IntField(default=0)
    story = fields.TextField(default="")
    story_consent = fields.BooleanField(default=False)
    guide_rating = fields.IntField(null=True)
    feedback = fields.TextField(default="")
    filed_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "report"


class Attendee(Model):
    """Someone who came, as the host reported it: an RSVP checked off, or a walk-in."""

    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="attendees", on_delete=fields.CASCADE
    )
    rsvp: fields.ForeignKeyNullableRelation[Rsvp] = fields.ForeignKeyField(
        "models.Rsvp", related_name="attendance", null=True, on_delete=fields.SET_NULL
    )
    name = fields.CharField(max_length=120)
    email = fields.CharField(max_length=254, null=True)
    phone = fields.CharField(max_length=40, null=True)
    walk_in = fields.BooleanField(default=False)
    consent = fields.BooleanField(default=False)  # may the campaign contact them
    # The host says this walk-in agreed to be emailed an invitation to host a meeting.
    invite_consent = fields.BooleanField(default=False, db_default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "attendee"
        indexes = (("meeting_id",),)


class Commitment(Model):
    """One attendee's yes to one of the campaign's asks ("host", "volunteer", ...)."""

    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="commitments", on_delete=fields.CASCADE
    )
    attendee: fields.ForeignKeyRelation[Attendee] = fields.ForeignKeyField(
        "models.Attendee", related_name="commitments", on_delete=fields.CASCADE
    )
    ask = fields.CharField(max_length=40)

    class Meta:
        table = "commitment"
        unique_together = (("attendee", "ask"),)
        indexes = (("meeting_id", "attendee_id", "ask"),)


class Idea(Model):
    """An idea raised at a meeting, on its campaign's public idea board."""

    id = fields.IntField(primary_key=True)
    public_id = fields.CharField(max_length=16, unique=True, default=new_public_id)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="ideas", on_delete=fields.CASCADE
    )
    campaign: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="ideas", null=True, on_delete=fields.SET_NULL
    )
    text = fields.CharField(max_length=300)
    status = fields.CharEnumField(IdeaStatus, max_length=14, default=IdeaStatus.NEW)
    status_note = fields.TextField(default="")  # the coordinators' public note
    supporters = fields.IntField(default=0)  # kept in step with IdeaSupport rows
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "idea"
        indexes = (("campaign_id", "supporters"),)


class IdeaSupport(Model):
    """One supporter of one idea, once: keyed by a hash of their email or browser id."""

    id = fields.IntField(primary_key=True)
    idea: fields.ForeignKeyRelation[Idea] = fields.ForeignKeyField(
        "models.Idea", related_name="supports", on_delete=fields.CASCADE
    )
    supporter_key = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "idea_support"
        unique_together = (("idea", "supporter_key"),)


class Coordinator(Model):
    """A campaign organizer. Admins see every campaign, others only theirs."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=120, default="")
    is_admin = fields.BooleanField(default=False)
    role = fields.CharEnumField(
        CoordinatorRole,
        max_length=12,
        default=CoordinatorRole.COORDINATOR,
        db_default="coordinator",
    )
    password_hash = fields.CharField(max_length=255, null=True)  # argon2, optional
    # Part of every session cookie; bumped by signing out or changing the password, which
    # ends every copy of every session of this account at once.
    session_epoch = fields.IntField(default=0, db_default=0)
    campaigns: fields.ManyToManyRelation[Campaign] = fields.ManyToManyField(
        "models.Campaign", related_name="coordinators", through="coordinator_campaign"
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "coordinator"


class AccessToken(Model):
    """A secret link. Only the SHA-256 of the token is stored. Revoking sets ``revoked_at``."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    kind = fields.CharEnumField(TokenKind, max_length=20)
    meeting: fields.ForeignKeyNullableRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="tokens", null=True, on_delete=fields.CASCADE
    )
    rsvp: fields.ForeignKeyNullableRelation[Rsvp] = fields.ForeignKeyField(
        "models.Rsvp", related_name="tokens", null=True, on_delete=fields.CASCADE
    )
    person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="tokens", null=True, on_delete=fields.CASCADE
    )
    coordinator: fields.ForeignKeyNullableRelation[Coordinator] = fields.ForeignKeyField(
        "models.Coordinator", related_name="tokens", null=True, on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "access_token"


class OutboxMessage(Model):
    """Something to deliver, written in the same transaction as the change that causes
    it: an email now, and texts, webhooks and federation deliveries ride the same queue.

    ``payload`` holds what the channel's sender needs, rendered when queued, or for
    an email queued with its facts (an RSVP's) just after the commit, or by delivery
    when that process died first (``kit.outbox.email``). For an email:
    ``sender_name`` ("Quinn via House Meeting Kit"), ``reply_to``, ``subject``,
    ``body_text``, ``body_html``, ``headers`` and ``attachments``
    (``[{"filename", "content_type", "text"}]``), read and written by
    ``kit.outbox.email`` alone.
    """

    id = fields.IntField(primary_key=True)
    # Random, for the Message-ID (and any channel's idempotency key): it must not give
    # away the row id (a count of the kit's mail). Null on rows queued before it existed.
    message_key = fields.CharField(max_length=24, null=True, default=new_public_id)
    channel = fields.CharEnumField(Channel, max_length=20, default=Channel.EMAIL)
    kind = fields.CharField(max_length=40)  # what it says, e.g. "meeting_created"
    recipient = fields.CharField(max_length=500)  # an address, a phone number, an inbox URL
    payload: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    meeting: fields.ForeignKeyNullableRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="outbox_messages", null=True, on_delete=fields.SET_NULL
    )
    status = fields.CharEnumField(DeliveryStatus, max_length=10, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    last_error = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)
    # When delivering it stops helping (a reminder: the meeting's start; a sign-in link:
    # its expiry), for `kit outbox retry --all`. Null: never too late.
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_message"
        indexes = (("status", "next_attempt_at"), ("recipient", "kind"))


class RateCounter(Model):
    """Hits of one client (or meeting) in the current window. Kept in the database so that
    every worker process enforces the same limit."""

    key = fields.CharField(max_length=200, primary_key=True)
    window_start = fields.DatetimeField()
    hits = fields.IntField(default=0)

    class Meta:
        table = "rate_counter"


class GeocodeAnswer(Model):
    """A remote geocoder's answer, cached as public services ask (and to spare their quota)."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=300, unique=True)
    value: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "geocode_answer"


class EmailOptOut(Model):
    """An address that unsubscribed from non-essential email (List-Unsubscribe)."""

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "email_opt_out"


class AuditEntry(Model):
    """Something a coordinator (or an operator at the CLI) did, for coordinators to read."""

    id = fields.IntField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    actor: fields.ForeignKeyNullableRelation[Coordinator] = fields.ForeignKeyField(
        "models.Coordinator", related_name="audit_entries", null=True, on_delete=fields.SET_NULL
    )
    actor_label = fields.CharField(max_length=254, default="")  # the email then, or "cli"
    action = fields.CharField(max_length=40)  # "coordinator.invite", "meeting.hide", ...
    campaign: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="audit_entries", null=True, on_delete=fields.SET_NULL
    )
    meeting: fields.ForeignKeyNullableRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="audit_entries", null=True, on_delete=fields.SET_NULL
    )
    detail = fields.TextField(default="")

    class Meta:
        table = "audit_entry"
        indexes = (("campaign_id", "created_at"),)


class MeetingFlag(Model):
    """Someone reported a meeting ("report this meeting"), once per person."""

    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="flags", on_delete=fields.CASCADE
    )
    reason = fields.CharEnumField(FlagReason, max_length=10)
    note = fields.TextField(default="")
    email = fields.CharField(max_length=254, null=True)  # optional, for a reply
    # A keyed hash of who flagged (browser id or client): distinct people are counted.
    reporter_key = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    resolved_at = fields.DatetimeField(null=True)

    class Meta:
        table = "meeting_flag"
        unique_together = (("meeting", "reporter_key"),)
        indexes = (("resolved_at", "created_at"),)


class MapCell(Model):
    """How many listed-to-be meetings a map cell holds, by campaign and day of start.

    Kept in step with the meeting table by database triggers (migration 0013): a
    published public meeting adds itself to one row per stored level, under campaign
    key 0 (every meeting) and under its campaign's id, in the UTC day it starts.
    ``sum_lat``/``sum_lon`` add up PUBLIC points only (approx_lat/approx_lon), so a
    cluster sits at the mean of what the map would show. Rows of past days are never
    read (kit.meetings.map_clusters reads the days after today).
    """

    id = fields.IntField(primary_key=True)
    level = fields.SmallIntField()  # cells of 360 / 2**level degrees
    campaign_key = fields.IntField()  # 0: every meeting, else a campaign's id
    y = fields.IntField()
    x = fields.IntField()
    day = fields.IntField()  # days since 1970-01-01 (UTC) of starts_at
    count = fields.IntField(default=0)
    sum_lat = fields.FloatField(default=0.0)
    sum_lon = fields.FloatField(default=0.0)

    class Meta:
        table = "map_cell"
        unique_together = (("level", "campaign_key", "y", "x", "day"),)


class DashboardTally(Model):
    """A campaign's dashboard sums for one status and one place or one week.

    Kept by database triggers on the meeting table (migration 0014), so every writer of a
    meeting row moves the sums in its own transaction. A row has either a week (the
    Monday, UTC, as YYYY-MM-DD) with no place, or a place with week "". Rebuilt from
    the meetings by ``kit.coordinators.tallies.rebuild``.
    """

    id = fields.IntField(primary_key=True)
    campaign_id = fields.IntField()
    status = fields.CharField(max_length=20)
    week = fields.CharField(max_length=10, default="")
    country = fields.CharField(max_length=2, default="")
    region = fields.CharField(max_length=120, default="")
    locality = fields.CharField(max_length=120, default="")
    meetings = fields.IntField(default=0)
    reported = fields.IntField(default=0)
    rsvps = fields.IntField(default=0)
    attended = fields.IntField(default=0)
    committed = fields.IntField(default=0)
    commitments = fields.IntField(default=0)

    class Meta:
        table = "dashboard_tally"
        unique_together = (("campaign_id", "week", "status", "country", "region", "locality"),)


class DashboardOutcomeTally(Model):
    """A campaign's commitments to one ask, or (ask "") its reports' headcounts, by status.

    Kept by database triggers on the commitment, report and meeting tables (migration
    0015), in the transaction of every write. Rebuilt from those tables by
    ``kit.coordinators.tally.rebuild``.
    """

    id = fields.IntField(primary_key=True)
    campaign_id = fields.IntField()
    status = fields.CharField(max_length=20)
    ask = fields.CharField(max_length=40)
    commitments = fields.IntField(default=0, db_default=0)
    headcount = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "dashboard_outcome_tally"
        unique_together = (("campaign_id", "status", "ask"),)


class DashboardHostTally(Model):
    """How many planned meetings a host holds that grew from one campaign's meetings.

    A campaign's new hosts are its rows above zero. Kept by database triggers on the
    meeting table (migration 0015), rebuilt by ``kit.coordinators.tally.rebuild``.
    """

    id = fields.IntField(primary_key=True)
    campaign_id = fields.IntField()
    host_id = fields.IntField()
    meetings = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "dashboard_host_tally"
        unique_together = (("campaign_id", "host_id"),)


class MapCellSpan(Model):
    """How many listed-to-be meetings a map cell holds, by campaign and hour or week of start.

    Kept in step with the meeting table by database triggers (migration 0016), as
    MapCell is: a published public meeting adds itself, per stored level and campaign
    key, to the row of the hour it starts (``span`` 1) and to that of its 168-hour week
    (``span`` 168). ``hour`` is the row's first hour since 1970-01-01 (UTC). The map
    reads today's remaining hours and the weeks after this one from here, the days
    between from MapCell.
    """

    id = fields.IntField(primary_key=True)
    level = fields.SmallIntField()  # cells of 360 / 2**level degrees
    campaign_key = fields.IntField()  # 0: every meeting, else a campaign's id
    span = fields.SmallIntField()  # hours the row covers: 1 or 168
    y = fields.IntField()
    x = fields.IntField()
    hour = fields.IntField()  # hours since 1970-01-01 (UTC) of the span's start
    count = fields.IntField(default=0)
    sum_lat = fields.FloatField(default=0.0)
    sum_lon = fields.FloatField(default=0.0)

    class Meta:
        table = "map_cell_span"
        unique_together = (("level", "campaign_key", "span", "y", "x", "hour"),)
