"""A meeting dated outside its campaign's first and last day: hosts are refused; a
signed-in coordinator who manages the campaign is warned beside the date and may tick
"Publish it outside the campaign's dates anyway", which the audit log records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from kit.coordinators.accounts import add_coordinator
from kit.core.settings import Settings
from kit.store.models import AuditEntry, CoordinatorRole, Meeting
from kit.web.app import create_app
from tests.factories import as_form, csrf_from, local, make_campaign, make_meeting, meeting_body
from tests.web.test_coordinator_pages import new_client, sign_in

REFUSED = "Pick a date within the campaign."
WARNED = "Outside the campaign's dates."
BOX = "Publish it outside the campaign&#39;s dates anyway</label>"  # the checkbox
LATE = {"starts_at": local(20, 18), "ends_at": local(20, 20)}  # the campaign ends on day 10


@pytest.fixture
def app(settings: Settings, db: str) -> Starlette:
    return create_app(settings, manage_db=False)


@pytest.fixture
async def spring(db: str) -> None:
    today = datetime.now(UTC).date()
    await make_campaign(
        "spring", name="Spring Talks", starts_on=today, ends_on=today + timedelta(10)
    )
    await make_campaign("autumn", name="Autumn Talks")


async def publish(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    """The host form as a browser posts it, for a late meeting of the spring campaign."""
    body = as_form(meeting_body(campaign="spring", title="Late spring talk", **LATE))
    token = await csrf_from(client, "/host")
    return await client.post("/host", data={**body, **fields, "csrf_token": token})


async def save(
    client: httpx.AsyncClient, public_id: str, token: str, **fields: str
) -> httpx.Response:
    """The manage page's Edit form, moved to a late date."""
    page = f"/manage/{public_id}?token={token}"
    form = {**as_form(meeting_body(campaign="spring", **LATE)), "token": token, **fields}
    form["csrf_token"] = await csrf_from(client, page)
    return await client.post(f"/manage/{public_id}", data=form)


@pytest.mark.parametrize("admin", [False, True], ids=["coordinator", "admin"])
async def test_a_coordinator_is_warned_and_may_publish_outside_the_dates(
    client: httpx.AsyncClient, spring: None, admin: bool
) -> None:
    await add_coordinator(
        "cara@example.org", campaign_slug="" if admin else "spring", is_admin=admin
    )
    await sign_in(client, "cara@example.org")
    warned = await publish(client)
    assert warned.status_code == 422 and await Meeting.all().count() == 0
    assert WARNED in warned.text and "Spring Talks runs from " in warned.text
    assert BOX in warned.text and "Not published yet" in warned.text
    assert 'value="Late spring talk"' in warned.text and 'value="417 Elm St"' in warned.text
    assert 'id="field-starts_at" name="starts_at"' in warned.text
    assert 'aria-invalid="true"' not in warned.text  # a warning, not an error of the field
    assert "error-summary" not in warned.text
    # Ticked, but the end is before the start: that is the error; the tick stays.
    backwards = await publish(client, outside_window="1", ends_at=local(20, 17))
    assert backwards.status_code == 422 and "must end after it starts" in backwards.text
    assert WARNED in backwards.text
    assert 'name="outside_window" type="checkbox" value="1" checked' in backwards.text
    published = await publish(client, outside_window="1")
    assert published.status_code == 303, published.text[:2000]
    meeting = await Meeting.get(title="Late spring talk")
    [entry] = await AuditEntry.filter(action="meeting.outside_window")
    assert (entry.actor_label, entry.meeting_id) == ("cara@example.org", meeting.id)  # type: ignore[attr-defined]
    assert entry.detail.startswith(f"Starts {datetime.now(UTC).date() + timedelta(20)}")
    log = await client.get("/coordinators/campaigns/spring/audit")
    assert "meeting.outside_window" in log.text and "outside the campaign" in log.text
    # The JSON API is for hosts: refused, even from this browser.
    api = await client.post("/api/meetings", json=meeting_body(campaign="spring", **LATE))
    assert api.status_code == 422 and REFUSED in api.json()["fields"]["starts_at"]


@pytest.mark.parametrize(
    ("email", "role", "campaign"),
    [
        ("", None, ""),  # a host: nobody signed in
        ("vi@example.org", CoordinatorRole.VIEWER, "spring"),
        ("mo@example.org", CoordinatorRole.MODERATOR, "spring"),
        ("au@example.org", CoordinatorRole.COORDINATOR, "autumn"),  # someone else's campaign
    ],
    ids=["host", "viewer", "moderator", "other-campaign"],
)
async def test_a_forged_box_from_anyone_else_still_gets_the_refusal(
    client: httpx.AsyncClient, spring: None, email: str, role: CoordinatorRole | None, campaign: str
) -> None:
    if email:
        await add_coordinator(email, campaign_slug=campaign, role=role)
        await sign_in(client, email)
    refused = await publish(client, outside_window="1")
    assert refused.status_code == 422 and await Meeting.all().count() == 0
    assert REFUSED in refused.text and "error-summary" in refused.text
    assert WARNED not in refused.text and BOX not in refused.text
    assert not await AuditEntry.filter(action="meeting.outside_window").exists()


async def test_the_manage_page_warns_a_coordinator_and_refuses_the_host(
    client: httpx.AsyncClient, app: Starlette, spring: None
) -> None:
    created = await make_meeting(campaign="spring")  # day 7: inside
    public_id, token = created.meeting.public_id, created.manage_token
    async with new_client(app) as host:  # the host alone: the box is ignored
        refused = await save(host, public_id, token, outside_window="1")
        assert refused.status_code == 422 and REFUSED in refused.text and BOX not in refused.text
    await add_coordinator("cara@example.org", campaign_slug="spring")
    await sign_in(client, "cara@example.org")
    warned = await save(client, public_id, token)
    assert warned.status_code == 422 and WARNED in warned.text and BOX in warned.text
    assert "Not saved yet" in warned.text
    assert (await Meeting.get(id=created.meeting.id)).starts_at == created.meeting.starts_at
    saved = await save(client, public_id, token, outside_window="1")
    assert saved.status_code == 200 and "Your changes are saved." in saved.text
    stored = await Meeting.get(id=created.meeting.id)
    assert stored.starts_at > created.meeting.starts_at + timedelta(days=12)
    [entry] = await AuditEntry.filter(action="meeting.outside_window")
    assert entry.actor_label == "cara@example.org"
    again = await save(client, public_id, token, title="Same late date, new title")
    assert again.status_code == 200  # the date didn't move: no warning, nothing to record
    assert await AuditEntry.filter(action="meeting.outside_window").count() == 1
