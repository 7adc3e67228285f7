"""Each meeting keeps its own tallies (RSVPs, attendees, commitments, reported) for the
dashboards, and every way those change keeps them right, on both databases."""

from __future__ import annotations

import asyncio

from kit.meetings import tallies
from kit.meetings.rsvps import RsvpInput, cancel_rsvp, record_rsvp
from kit.reports import service as reports
from kit.store.models import Attendee, Meeting, Rsvp
from tests.factories import SITE, make_meeting
from tests.reports.test_reports import REPORT, held_meeting


async def tallies_of(meeting: Meeting) -> dict[str, object]:
    row = await Meeting.get(id=meeting.id)
    return {
        "rsvps": row.rsvp_count,
        "attended": row.attendee_count,
        "committed": row.committed_count,
        "commitments": row.commitment_count,
        "reported": row.reported,
    }


async def test_rsvps_count_until_they_are_cancelled(db: str) -> None:
    meeting = (await make_meeting(capacity=2)).meeting
    await record_rsvp(meeting, RsvpInput(name="Ada", email="ada@example.org"), site=SITE)
    ada = await Rsvp.get(person__email="ada@example.org")
    await record_rsvp(meeting, RsvpInput(name="Bo", email="bo@example.org", guests=1), site=SITE)
    # Bo's party of two waits: a waitlisted RSVP is still an RSVP.
    assert (await tallies_of(meeting))["rsvps"] == 2
    # Ada RSVPs again: her RSVP stays one RSVP (and unchanged).
    await record_rsvp(meeting, RsvpInput(name="Ada", email="ada@example.org"), site=SITE)
    assert (await tallies_of(meeting))["rsvps"] == 2
    await cancel_rsvp(await Rsvp.get(id=ada.id).select_related("meeting"), site=SITE)
    assert (await tallies_of(meeting))["rsvps"] == 1


async def test_concurrent_rsvps_are_all_counted(db: str) -> None:
    # One seat: nearly everyone lands on the waitlist, where no seat update orders the
    # writers, so the recount itself must see every RSVP committed before it.
    meeting = (await make_meeting(capacity=1)).meeting
    await asyncio.gather(
        *(
            record_rsvp(meeting, RsvpInput(name=f"Guest {i}", email=f"g{i}@example.org"), site=SITE)
            for i in range(12)
        )
    )
    assert (await tallies_of(meeting))["rsvps"] == 12 == await Rsvp.filter(meeting=meeting).count()


async def test_a_report_and_its_edit_recount_people_and_commitments(db: str) -> None:
    meeting, _ = await held_meeting()
    assert await tallies_of(meeting) == {
        "rsvps": 2, "attended": 0, "committed": 0, "commitments": 0, "reported": False,
    }  # fmt: skip
    sheet = await reports.report_sheet(meeting)
    await reports.file_report(meeting, reports.parse_report_json(REPORT, sheet), site=SITE)
    # Ada (volunteer, donate), Wally (host), Pat (volunteer): three people, four commitments.
    assert await tallies_of(meeting) == {
        "rsvps": 2, "attended": 3, "committed": 3, "commitments": 4, "reported": True,
    }  # fmt: skip
    fewer = {**REPORT, "attendees": REPORT["attendees"][:1]}
    await reports.file_report(meeting, reports.parse_report_json(fewer, sheet), site=SITE)
    assert await tallies_of(meeting) == {
        "rsvps": 2, "attended": 1, "committed": 1, "commitments": 2, "reported": True,
    }  # fmt: skip


async def test_refresh_all_repairs_tallies_after_a_direct_import(db: str) -> None:
    meeting, _ = await held_meeting()
    await Attendee.create(meeting=meeting, name="Imported Person")
    await Meeting.filter(id=meeting.id).update(rsvp_count=99)
    await tallies.refresh_all()
    assert await tallies_of(meeting) == {
        "rsvps": 2, "attended": 1, "committed": 0, "commitments": 0, "reported": False,
    }  # fmt: skip
